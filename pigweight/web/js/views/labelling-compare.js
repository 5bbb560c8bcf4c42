// A model beside the camera's current one, on the held-out frames (the newest fifth of the
// labelled ones, never trained on): count error (MAE), exact counts and time a frame, then
// the frames where the two count differently, side by side, each with its own boxes. The
// admin switches with one click, and only when the server allows it (not worse).

import { t, technicalDetail } from "../i18n.js";
import { drawFrame } from "../label-editor.js";
import { $, call, el, number, percent, refused, say } from "./labelling-common.js";

const PAGE = 8; // frame pairs shown at a time
const SHIPPED = "shipped"; // the model that comes with PigWeight
const CANVAS_MAX_PX = 640;

const compare = {
  modelId: null,
  frames: null, // the comparison's frames where the models differ; null while loading
  total: 0, // held-out frames compared
  shown: PAGE,
  seq: 0,
};
// {models(): GET /api/models's answer or null, activate(modelId, noteId), recompare(...)}
let how = null;

export function compareOpen() {
  return compare.modelId;
}

export function closeCompare() {
  compare.modelId = null;
  compare.seq++;
  renderCompare();
}

export async function openCompare(modelId, { scroll = false } = {}) {
  compare.modelId = modelId;
  compare.frames = null;
  compare.total = 0;
  compare.shown = PAGE;
  const seq = ++compare.seq;
  say("labelling-compare-note", null);
  renderCompare();
  if (scroll) $("labelling-compare").scrollIntoView({ block: "start", behavior: "smooth" });
  const answer = await call("GET", `/api/models/${encodeURIComponent(modelId)}/comparison`);
  if (seq !== compare.seq) return;
  if (!answer.ok) {
    compare.frames = [];
    say("labelling-compare-note", refused(answer, "labelling.compare.failed"));
    renderCompare();
    return;
  }
  compare.total = answer.payload.frames.length;
  compare.frames = answer.payload.frames.filter((f) => f.current !== f.candidate);
  renderCompare();
}

export function modelName(id) {
  if (id === SHIPPED) return t("labelling.models.shipped");
  return how.models()?.models.find((m) => m.id === id)?.name ?? id;
}

// Why the server will not switch to it: its reason in words when we know the code.
export function whyNotText(code) {
  if (!code) return "";
  const key = `labelling.whyNot.${code}`;
  return t(key) === key ? `${t("labelling.whyNot.other")} ${technicalDetail(code)}`.trim() : t(key);
}

function metricRow(label, current, candidate, lowerIsBetter, format) {
  const tr = el("tr");
  tr.append(el("th", "", label));
  const better = current === null || candidate === null || current === candidate
    ? null
    : (candidate < current) === lowerIsBetter;
  const a = el("td", "num", format(current));
  const b = el("td", "num", format(candidate));
  if (better === true) b.classList.add("is-better");
  if (better === false) b.classList.add("is-worse");
  tr.append(a, b);
  return tr;
}

function renderTable(card) {
  const ev = card?.evaluation;
  const head = el("tr");
  head.append(el("th", "", t("labelling.compare.metric")));
  head.append(el("th", "num", t("labelling.compare.current", { name: modelName(ev?.against ?? how.models()?.active) })));
  head.append(el("th", "num", t("labelling.compare.candidate", { name: modelName(compare.modelId) })));
  const body = ev
    ? [
        metricRow(t("labelling.compare.mae"), ev.against_mae, ev.mae, true, (v) => number(v, 2)),
        metricRow(t("labelling.compare.exact"), ev.against_exact, ev.exact, false, (v) => `${percent(v)} %`),
        metricRow(t("labelling.compare.ms"), ev.against_ms_per_frame, ev.ms_per_frame, true, (v) => number(v, 0)),
      ]
    : [];
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  tbody.append(...body);
  $("labelling-compare-table").replaceChildren(thead, tbody);
  $("labelling-compare-frames").textContent = ev ? t("labelling.compare.frames", { n: ev.frames }) : t("labelling.compare.notEvaluated");
}

function side(frame, which, count, boxes) {
  const box = el("div", "labelling-diff-side");
  const canvas = el("canvas", "labelling-diff-canvas");
  canvas.dataset.model = which;
  canvas.dataset.count = String(count);
  const caption = el("p", "labelling-diff-count", t(`labelling.compare.${which}Count`, { n: count }));
  caption.dataset.right = String(count === frame.truth);
  box.append(canvas, caption);
  return { box, canvas, boxes };
}

function pair(frame) {
  const figure = el("figure", "labelling-diff");
  figure.dataset.frameId = String(frame.frame_id);
  const sides = [
    side(frame, "current", frame.current, frame.current_boxes),
    side(frame, "candidate", frame.candidate, frame.candidate_boxes),
  ];
  const row = el("div", "labelling-diff-pair");
  row.append(...sides.map((s) => s.box));
  const caption = el("figcaption", "labelling-diff-caption", t("labelling.compare.truth", { id: frame.frame_id, n: frame.truth }));
  figure.append(row, caption);
  const image = new Image();
  image.addEventListener("load", () => {
    const scale = Math.min(1, CANVAS_MAX_PX / image.naturalWidth);
    for (const s of sides) {
      s.canvas.width = Math.round(image.naturalWidth * scale);
      s.canvas.height = Math.round(image.naturalHeight * scale);
      drawFrame(s.canvas, image, s.boxes);
      s.canvas.dataset.ready = "true";
    }
  });
  image.src = `/api/labelling/frames/${frame.frame_id}/image.jpg`;
  return figure;
}

function renderDiffs() {
  const frames = compare.frames;
  const list = $("labelling-diffs");
  if (frames === null) {
    $("labelling-diffs-title").textContent = t("labelling.compare.loading");
    list.replaceChildren();
    $("labelling-diffs-more").hidden = true;
    return;
  }
  $("labelling-diffs-title").textContent = frames.length
    ? t("labelling.compare.differ", { n: frames.length, total: compare.total })
    : t("labelling.compare.same", { total: compare.total });
  list.replaceChildren(...frames.slice(0, compare.shown).map(pair));
  $("labelling-diffs-more").hidden = frames.length <= compare.shown;
}

export function renderCompare() {
  const card = how.models()?.models.find((m) => m.id === compare.modelId) ?? null;
  $("labelling-compare").hidden = compare.modelId === null;
  if (compare.modelId === null) return;
  $("labelling-compare").dataset.modelId = compare.modelId;
  $("labelling-compare-title").textContent = t("labelling.compare.title", { name: modelName(compare.modelId) });
  renderTable(card);
  const activate = $("labelling-activate");
  activate.hidden = Boolean(card?.active);
  activate.disabled = !card?.can_activate;
  $("labelling-recompare").hidden = card?.why_not !== "compared_with_other";
  const verdict = $("labelling-verdict");
  verdict.dataset.allowed = String(Boolean(card?.can_activate));
  verdict.textContent = !card
    ? ""
    : card.active
      ? t("labelling.compare.isActive")
      : card.can_activate
        ? t("labelling.compare.canActivate")
        : whyNotText(card.why_not) || t("labelling.whyNot.other");
  renderDiffs();
}

export function initCompare(callbacks) {
  how = callbacks;
  $("labelling-activate").addEventListener("click", () => how.activate(compare.modelId, "labelling-compare-note"));
  $("labelling-compare-close").addEventListener("click", closeCompare);
  $("labelling-recompare").addEventListener("click", () => how.recompare(compare.modelId, "labelling-compare-note"));
  $("labelling-diffs-more").addEventListener("click", () => {
    compare.shown += PAGE;
    renderDiffs();
  });
}
