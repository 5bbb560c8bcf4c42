// «Обучить»: an admin fine-tunes the camera's model on its labelled frames (a background job
// on the server), follows its steps and the time left (read every 2 s while the view is
// open and the job runs), may stop it; when it finishes the new model is shown beside the
// current one (labelling-compare). The camera's models with their cards, the switch, the
// rollback, and a model trained elsewhere (ONNX) brought in.

import { t, technicalDetail } from "../i18n.js";
import { $, call, duration, el, enc, followFileName, number, percent, refused, say, when } from "./labelling-common.js";
import { closeCompare, compareOpen, initCompare, modelName, openCompare, renderCompare, whyNotText } from "./labelling-compare.js";

const POLL_MS = 2000;
const RUNNING = ["running", "comparing"];
const DEFAULT_STEPS = 300;
const MAX_STEPS = 100_000;

const train = {
  camera: null,
  job: null, // GET /api/training's job, or null
  models: null, // GET /api/models's answer, or null
  visible: false,
  timer: 0,
  seq: 0,
};

const running = () => RUNNING.includes(train.job?.state);

export function setCamera(id) {
  train.camera = id;
  train.job = null;
  train.models = null;
  train.seq++;
  clearTimeout(train.timer);
  for (const note of ["labelling-train-note", "labelling-models-note", "labelling-onnx-result"]) say(note, null);
  closeCompare();
  render();
  refresh();
}

async function refresh() {
  if (!train.camera) return;
  await Promise.all([loadJob(), loadModels()]);
  // A job that finished while nobody looked: its model beside the current one, once.
  const job = train.job;
  const card = train.models?.models.find((m) => m.id === job?.model_id);
  if (job?.state === "finished" && card && !card.active && compareOpen() === null) openCompare(card.id);
}

async function loadJob() {
  const seq = train.seq;
  const was = train.job;
  const answer = await call("GET", `/api/training?camera=${enc(train.camera)}`);
  if (seq !== train.seq) return;
  if (answer.ok) {
    train.job = answer.payload.job;
    train.available = answer.payload.available !== false;
    if (!train.available) say("labelling-train-note", { key: "labelling.train.unavailable", tone: "warn" });
  } else {
    say("labelling-train-note", refused(answer));
  }
  renderJob();
  schedule();
  const ended = RUNNING.includes(was?.state) && !running();
  if (ended && was.id === train.job?.id) {
    await loadModels();
    // Shown below, not scrolled to: the admin may be labelling at the top of the page.
    const made = train.job.state === "finished" && train.job.model_id;
    say("labelling-train-note", made ? { key: "labelling.train.finished", tone: "ok" } : null);
    if (made) openCompare(train.job.model_id);
  }
}

function schedule() {
  clearTimeout(train.timer);
  if (train.visible && running()) train.timer = setTimeout(loadJob, POLL_MS);
}

async function loadModels() {
  const seq = train.seq;
  const answer = await call("GET", `/api/models?camera=${enc(train.camera)}`);
  if (seq !== train.seq) return;
  if (!answer.ok) {
    say("labelling-models-note", refused(answer));
    return;
  }
  train.models = answer.payload;
  renderModels();
  renderCompare();
}

// --- training -----------------------------------------------------------------------------

async function start(event) {
  event.preventDefault();
  const input = $("labelling-steps");
  const steps = Number(input.value.trim() || DEFAULT_STEPS);
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    input.setAttribute("aria-invalid", "true");
    say("labelling-train-note", { key: "labelling.train.badSteps", params: { max: MAX_STEPS }, tone: "error" });
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  $("labelling-train").disabled = true;
  const answer = await call("POST", `/api/training/${enc(train.camera)}`, { steps });
  if (answer.ok) {
    train.job = answer.payload;
    say("labelling-train-note", { key: "labelling.train.started", tone: "ok" });
    closeCompare();
  } else {
    say("labelling-train-note", refused(answer, "labelling.train.notStarted"));
    if (answer.payload?.code === "training_running") await loadJob();
  }
  renderJob();
  schedule();
}

async function cancel() {
  const job = train.job;
  if (!job) return;
  $("labelling-cancel").disabled = true;
  const answer = await call("POST", `/api/training/${job.id}/cancel`);
  $("labelling-cancel").disabled = false;
  if (answer.ok) train.job = answer.payload;
  else say("labelling-train-note", refused(answer));
  renderJob();
  schedule();
}

function renderJob() {
  const job = train.job;
  const box = $("labelling-job");
  box.hidden = !job;
  $("labelling-train").disabled = running() || train.available === false;
  $("labelling-cancel").hidden = !running();
  if (!job) return;
  box.dataset.state = job.state;
  box.dataset.jobId = String(job.id);
  const resumed = job.resumes > 0 ? ` (${t("labelling.job.resumed", { n: job.resumes })})` : "";
  $("labelling-job-state").textContent = t(`labelling.job.${job.state}`) + resumed;
  const progress = $("labelling-progress");
  progress.max = Math.max(1, job.steps);
  progress.value = Math.min(job.step, job.steps);
  const eta = running()
    ? job.eta_s === null ? t("labelling.job.etaUnknown") : t("labelling.job.eta", { eta: duration(job.eta_s) })
    : "";
  $("labelling-job-figures").textContent = [
    t("labelling.job.step", { step: job.step, steps: job.steps }),
    t("labelling.job.elapsed", { elapsed: duration(job.elapsed_s) }),
    eta,
  ].filter(Boolean).join(" · ");
  const frames = t("labelling.job.frames", { train: job.train_frames, held: job.held_out_frames });
  // Held-out frames at night (infrared) and none learnt from, or the reverse: the new model
  // is measured on a picture it never saw, and will count it badly in the pen too.
  const nightOnlyHeld = job.held_out_infrared > 0 && job.train_infrared === 0;
  const dayOnlyHeld = job.held_out_infrared < job.held_out_frames && job.train_infrared >= job.train_frames;
  const lights = job.train_infrared === null || job.train_infrared === undefined
    ? ""
    : t("labelling.job.night", { train: job.train_infrared, held: job.held_out_infrared });
  const mismatch = $("labelling-job-mismatch");
  mismatch.hidden = !(nightOnlyHeld || dayOnlyHeld);
  mismatch.textContent = nightOnlyHeld ? t("labelling.job.noNight") : dayOnlyHeld ? t("labelling.job.noDay") : "";
  const loss = job.loss === null || job.loss === undefined ? "" : t("labelling.job.loss", { loss: number(job.loss, 3) });
  $("labelling-job-frames").textContent = [frames, lights, loss].filter(Boolean).join(" · ");
  $("labelling-job-detail").textContent = technicalDetail(job.message);
}

// --- models -------------------------------------------------------------------------------

function card(model) {
  const li = el("li", "labelling-model");
  li.dataset.modelId = model.id;
  li.dataset.active = String(model.active);
  li.dataset.origin = model.origin;
  const title = el("h4", "labelling-model-name", modelName(model.id));
  if (model.active) title.append(" ", el("span", "labelling-model-badge", t("labelling.models.working")));
  li.append(title);
  const meta = [t(`labelling.origin.${model.origin}`)];
  if (model.created_ts) meta.push(when(model.created_ts));
  const frames = model.frames;
  if (frames?.train) meta.push(t("labelling.models.frames", { train: frames.train, held: frames.held_out }));
  else if (frames) meta.push(t("labelling.models.checked", { held: frames.held_out }));
  li.append(el("p", "labelling-model-meta", meta.join(" · ")));
  const ev = model.evaluation;
  li.append(
    el(
      "p",
      "labelling-model-eval",
      ev
        ? t("labelling.models.eval", { mae: number(ev.mae, 2), exact: percent(ev.exact), ms: number(ev.ms_per_frame, 0), frames: ev.frames })
        : t("labelling.models.noEval"),
    ),
  );
  if (!model.active && !model.can_activate && model.why_not) {
    li.append(el("p", "labelling-model-why", whyNotText(model.why_not)));
  }
  const buttons = el("div", "labelling-model-buttons");
  if (ev) buttons.append(button("compare", t("labelling.models.compare")));
  if (model.why_not === "compared_with_other" || (!ev && !model.active && model.origin !== "shipped")) {
    buttons.append(button("recompare", t("labelling.models.recompare")));
  }
  if (!model.active) {
    const on = button("activate", t("labelling.models.activate"));
    on.disabled = !model.can_activate;
    buttons.append(on);
  }
  li.append(buttons);
  return li;
}

function button(action, text) {
  const b = el("button", "labelling-button", text);
  b.type = "button";
  b.dataset.action = action;
  return b;
}

function renderModels() {
  const m = train.models;
  $("labelling-active").textContent = m ? t("labelling.models.activeNow", { name: modelName(m.active) }) : "";
  $("labelling-models").replaceChildren(...(m?.models ?? []).map(card));
  $("labelling-rollback").disabled = !m?.history.length;
  $("labelling-model-history").replaceChildren(
    ...(m?.history ?? []).map((h) =>
      el("li", "", t(`labelling.models.log.${h.action}`, { name: modelName(h.model_id), user: h.user, when: when(h.ts) })),
    ),
  );
  $("labelling-model-history-empty").hidden = Boolean(m?.history.length);
}

// A change of the camera's models; the answer is the camera's models as they are now.
async function change(url, body, noteId, doneKey, named = null) {
  const answer = await call("POST", url, body);
  if (!answer.ok) {
    say(noteId, refused(answer));
    return;
  }
  train.models = answer.payload;
  renderModels();
  renderCompare();
  say(noteId, { key: doneKey, params: { name: modelName(named ?? train.models.active) }, tone: "ok" });
}

function activate(modelId, noteId = "labelling-models-note") {
  return change(`/api/models/${enc(train.camera)}/activate`, { model_id: modelId }, noteId, "labelling.models.activated");
}

// Measured beside another model than the one counting now: measure it again.
async function recompare(modelId, noteId = "labelling-models-note") {
  say(noteId, { key: "labelling.models.checking" });
  await change(`/api/models/${enc(train.camera)}/compare`, { model_id: modelId }, noteId, "labelling.models.recompared", modelId);
  if (compareOpen() === modelId) openCompare(modelId);
}

function rollback() {
  return change(`/api/models/${enc(train.camera)}/rollback`, undefined, "labelling-models-note", "labelling.models.rolledBack");
}

async function importOnnx(event) {
  event.preventDefault();
  const file = $("labelling-onnx-file").files[0];
  if (!file) {
    say("labelling-onnx-result", { key: "labelling.onnx.choose", tone: "error" });
    return;
  }
  const body = new FormData();
  body.append("file", file, file.name);
  const submit = $("labelling-onnx-submit");
  submit.disabled = true;
  say("labelling-onnx-result", { key: "labelling.onnx.busy" });
  const answer = await call("POST", `/api/models/${enc(train.camera)}/import`, body);
  submit.disabled = false;
  if (!answer.ok) {
    say("labelling-onnx-result", refused(answer, "labelling.onnx.failed"));
    return;
  }
  $("labelling-onnx-file").value = "";
  $("labelling-onnx-file").dispatchEvent(new Event("change"));
  say("labelling-onnx-result", { key: "labelling.onnx.done", params: { name: answer.payload.name }, tone: "ok" });
  await loadModels();
  if (answer.payload.evaluation) openCompare(answer.payload.id, { scroll: true });
}

// --- the view -----------------------------------------------------------------------------

export function render() {
  renderJob();
  renderModels();
  renderCompare();
}

export function init() {
  initCompare({ models: () => train.models, activate, recompare });
  $("labelling-train-form").addEventListener("submit", start);
  $("labelling-cancel").addEventListener("click", cancel);
  $("labelling-rollback").addEventListener("click", rollback);
  $("labelling-onnx-form").addEventListener("submit", importOnnx);
  followFileName("labelling-onnx-file", "labelling-onnx-name");
  $("labelling-models").addEventListener("click", (event) => {
    const target = event.target.closest("[data-action]");
    const id = target?.closest("[data-model-id]")?.dataset.modelId;
    if (!id) return;
    if (target.dataset.action === "compare") openCompare(id, { scroll: true });
    else if (target.dataset.action === "activate") activate(id);
    else if (target.dataset.action === "recompare") recompare(id);
  });
}

export function show() {
  train.visible = true;
  if (train.camera) refresh();
}

export function hide() {
  train.visible = false;
  clearTimeout(train.timer);
}
