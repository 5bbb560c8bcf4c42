// The central's "Group model" card (issue 21 part 3): the frames each site labelled (how
// many, a few pictures), the admin's "train a group model" on the chosen sites with its
// progress and a cancel, and the group models with their held-out figures, each sent to a
// site as an uploaded model is.

import { call, refusalKey, viewTexts } from "../api.js";
import { cell } from "../table.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);
const THUMBNAILS = 6;
const REFUSALS = { scopes: ["central.group", "labelling.error", "central"], otherwise: viewTexts("central").otherwise };
let group = null;
let result = null; // {key, params, why} of the last action's outcome, written again on a language change
const pictures = new Map(); // site -> {frames, ids}: the thumbnails shown, read again when the count changes
const unchecked = new Set(); // sites the admin left out of the next training

function thumbnails(site) {
  const box = document.createElement("div");
  box.className = "central-thumbs";
  for (const id of pictures.get(site)?.ids ?? []) {
    const img = document.createElement("img");
    img.src = `/api/central/labels/${encodeURIComponent(site)}/${id}.jpg`;
    img.alt = t("central.group.picture", { site, id });
    img.loading = "lazy";
    img.width = 96;
    box.append(img);
  }
  return box;
}

function renderSites() {
  const body = $("central-labels-body");
  body.replaceChildren();
  for (const site of group?.sites ?? []) {
    const row = document.createElement("tr");
    row.dataset.site = site.site;
    cell(row, site.site);
    cell(row, String(site.frames), "num");
    cell(row, String(site.copied), "num");
    cell(row, "").append(thumbnails(site.site));
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = !unchecked.has(site.site);
    box.setAttribute("aria-label", t("central.group.use", { site: site.site }));
    box.addEventListener("change", () => (box.checked ? unchecked.delete(site.site) : unchecked.add(site.site)));
    cell(row, "").append(box);
    body.append(row);
  }
}

function jobText(job) {
  const parts = [t(`labelling.job.${job.state}`)];
  if (job.state === "running") parts.push(t("labelling.job.step", { step: job.step, steps: job.steps }));
  if (job.loss !== null && job.loss !== undefined) parts.push(t("labelling.job.loss", { loss: job.loss }));
  parts.push(t("labelling.job.frames", { train: job.train_frames, held: job.held_out_frames }));
  if (job.state === "failed" && job.message) parts.push(job.message);
  return parts.join(" · ");
}

function resultText({ key, params, why }) {
  return t(key, why ? { ...params, why: t(why.key, why.params) } : params);
}

function renderJob() {
  const job = group?.job ?? null;
  const active = job !== null && (job.state === "running" || job.state === "comparing");
  $("central-group-job").textContent = job ? jobText(job) : "";
  $("central-group-train").disabled = active || group?.available === false;
  $("central-group-cancel").hidden = !active;
  $("central-group-result").textContent = result ? resultText(result) : "";
}

function sendCell(model) {
  const form = document.createElement("form");
  form.className = "central-group-send";
  const select = document.createElement("select");
  select.className = "history-input";
  select.setAttribute("aria-label", t("central.col.site"));
  for (const site of group?.sites ?? []) select.append(new Option(site.site, site.site));
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "button";
  button.textContent = t("central.modelSend");
  form.append(select, button);
  form.addEventListener("submit", (event) => send(event, model.id, select.value));
  return form;
}

function renderModels() {
  const body = $("central-group-models-body");
  body.replaceChildren();
  const models = group?.models ?? [];
  $("central-group-models-empty").hidden = models.length > 0;
  for (const model of models) {
    const row = document.createElement("tr");
    row.dataset.model = model.id;
    const evaluation = model.evaluation;
    cell(row, model.id);
    cell(row, String(evaluation?.frames ?? "—"), "num");
    const figures = cell(row, evaluation ? `${evaluation.mae} / ${evaluation.against_mae}` : "—", "num");
    for (const [site, f] of Object.entries(model.by_site ?? {})) {
      const line = document.createElement("div");
      line.className = "central-group-site";
      line.textContent = t("central.group.bySite", { site, frames: f.frames, mae: f.mae, against: f.against_mae });
      figures.append(line);
    }
    cell(row, "").append(sendCell(model));
    body.append(row);
  }
}

export function render() {
  renderSites();
  renderJob();
  renderModels();
}

async function readPictures() {
  for (const site of group?.sites ?? []) {
    if (pictures.get(site.site)?.frames === site.frames) continue;
    const answer = await call("GET", `/api/central/labels/${encodeURIComponent(site.site)}`, undefined, { cache: "no-store" });
    if (!answer.ok) continue;
    const ids = answer.payload.frames.slice(-THUMBNAILS).map((f) => f.frame_id);
    pictures.set(site.site, { frames: site.frames, ids });
  }
}

export async function refresh() {
  const answer = await call("GET", "/api/central/group", undefined, { cache: "no-store" });
  if (answer.ok) {
    group = answer.payload;
    await readPictures();
  }
  render();
}

function refused(answer, key) {
  result = { key, params: {}, why: refusalKey(answer, REFUSALS) };
}

async function train(event) {
  event.preventDefault();
  const sites = (group?.sites ?? []).map((s) => s.site).filter((s) => !unchecked.has(s));
  const steps = Number($("central-group-steps").value);
  $("central-group-train").disabled = true;
  const answer = await call("POST", "/api/central/group/train", { sites, steps });
  if (answer.ok) result = { key: "central.group.started", params: { n: answer.payload.train_frames + answer.payload.held_out_frames } };
  else refused(answer, "central.group.notStarted");
  await refresh();
}

async function cancel() {
  const job = group?.job;
  if (!job) return;
  await call("POST", `/api/training/${job.id}/cancel`);
  await refresh();
}

async function send(event, modelId, site) {
  event.preventDefault();
  const answer = await call("POST", `/api/central/group/models/${encodeURIComponent(modelId)}/send`, { site });
  if (answer.ok) result = { key: "central.modelSent", params: { name: modelId, site } };
  else refused(answer, "central.group.notSent");
  render();
}

export function init() {
  $("central-group-form").addEventListener("submit", train);
  $("central-group-cancel").addEventListener("click", cancel);
}
