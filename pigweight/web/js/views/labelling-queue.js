// The camera's queue of frames to label, newest first: to do, labelled or all; its counts
// and its size on disk. A page of frames at a time; «Показать ещё» reads the next.

import { t } from "../i18n.js";
import { $, call, el, enc, number, refused, say, when } from "./labelling-common.js";

const PAGE = 50;

export const queue = {
  camera: null,
  status: "todo", // todo | labelled | all
  frames: [],
  total: 0,
  counts: null, // {todo, labelled, queue_mb, limit_mb}
  current: null, // the id of the frame on screen
  unsaved: new Set(), // ids of frames with edits not saved
  seq: 0,
};

// The list from its start (more = false) or its next page; false when it did not come.
export async function loadQueue(more = false) {
  if (!queue.camera) return false;
  const seq = ++queue.seq;
  const query = new URLSearchParams({
    status: queue.status,
    limit: String(PAGE),
    offset: String(more ? queue.frames.length : 0),
  });
  const answer = await call("GET", `/api/labelling/${enc(queue.camera)}/frames?${query}`);
  if (seq !== queue.seq) return false;
  if (!answer.ok) {
    say("labelling-queue-error", refused(answer));
    renderQueue();
    return false;
  }
  say("labelling-queue-error", null);
  const { frames, total, todo, labelled, queue_mb, limit_mb } = answer.payload;
  const known = new Set(queue.frames.map((f) => f.id));
  queue.frames = more ? [...queue.frames, ...frames.filter((f) => !known.has(f.id))] : frames;
  queue.total = total;
  queue.counts = { todo, labelled, queue_mb, limit_mb };
  renderQueue();
  return true;
}

export function resetQueue(camera) {
  queue.camera = camera;
  queue.frames = [];
  queue.total = 0;
  queue.counts = null;
  queue.current = null;
  queue.seq++;
  renderQueue();
}

// A frame saved, added or dropped: the list and the counts follow without a reload (a
// reload would reorder the list under the labeller's hands).
export function frameSaved(frame, wasTodo) {
  const index = queue.frames.findIndex((f) => f.id === frame.id);
  if (index >= 0) queue.frames[index] = { ...queue.frames[index], ...pick(frame) };
  if (wasTodo && queue.counts) {
    queue.counts.todo = Math.max(0, queue.counts.todo - 1);
    queue.counts.labelled += 1;
  }
  renderQueue();
}

export function frameAdded(frame) {
  if (queue.status !== "labelled") {
    queue.frames = [pick(frame), ...queue.frames.filter((f) => f.id !== frame.id)];
    queue.total += 1;
  }
  if (queue.counts) queue.counts.todo += 1;
  renderQueue();
}

export function frameDropped(id) {
  const gone = queue.frames.find((f) => f.id === id);
  queue.frames = queue.frames.filter((f) => f.id !== id);
  if (gone) queue.total = Math.max(0, queue.total - 1);
  if (gone && queue.counts) {
    const key = gone.version > 0 ? "labelled" : "todo";
    queue.counts[key] = Math.max(0, queue.counts[key] - 1);
  }
  renderQueue();
}

const FRAME_FIELDS = ["id", "camera", "ts", "reason", "model_count", "typed_count", "confidence", "version", "count", "labelled_by"];

function pick(frame) {
  return Object.fromEntries(FRAME_FIELDS.map((k) => [k, frame[k]]));
}

export function reasonText(reason) {
  const key = `labelling.reason.${reason}`;
  return t(key) === key ? reason : t(key);
}

// "модель 27 · введено 30 · размечено 30 (Анна)"
export function countsText(frame) {
  const parts = [];
  if (frame.model_count !== null && frame.model_count !== undefined) {
    parts.push(t("labelling.item.model", { n: frame.model_count }));
  }
  if (frame.typed_count !== null && frame.typed_count !== undefined) {
    parts.push(t("labelling.item.typed", { n: frame.typed_count }));
  }
  if (frame.version > 0) {
    parts.push(t("labelling.item.labelled", { n: frame.count ?? "—", user: frame.labelled_by ?? "—" }));
  }
  return parts.join(" · ");
}

function item(frame) {
  const button = el("button", "labelling-item");
  button.type = "button";
  button.dataset.frameId = String(frame.id);
  button.dataset.status = frame.version > 0 ? "labelled" : "todo";
  if (frame.id === queue.current) button.setAttribute("aria-current", "true");
  const head = el("span", "labelling-item-head");
  head.append(el("span", "labelling-item-time", when(frame.ts)));
  head.append(el("span", "labelling-item-mark", t(frame.version > 0 ? "labelling.item.done" : "labelling.item.todo")));
  button.append(head, el("span", "labelling-item-reason", reasonText(frame.reason)));
  const counts = countsText(frame);
  if (counts) button.append(el("span", "labelling-item-counts", counts));
  if (queue.unsaved.has(frame.id)) button.append(el("span", "labelling-item-unsaved", t("labelling.item.unsaved")));
  const li = el("li");
  li.append(button);
  return li;
}

export function renderQueue() {
  $("labelling-queue").replaceChildren(...queue.frames.map(item));
  const c = queue.counts;
  $("labelling-counts").textContent = c
    ? t("labelling.counts", { todo: c.todo, labelled: c.labelled, total: queue.total })
    : "";
  $("labelling-queue-size").textContent = c
    ? t("labelling.queueSize", { mb: number(c.queue_mb, 1), limit: number(c.limit_mb, 0) })
    : "";
  $("labelling-queue-empty").hidden = !c || queue.frames.length > 0;
  $("labelling-queue-empty").textContent = t(`labelling.empty.${queue.status}`);
  $("labelling-more").hidden = queue.frames.length >= queue.total;
  for (const button of document.querySelectorAll("[data-labelling-status]")) {
    button.setAttribute("aria-pressed", String(button.dataset.labellingStatus === queue.status));
  }
  keepInSight($("labelling-queue"));
}

// The frame on screen stays in sight in the list's own scroll (never the page's: the page
// must not jump while someone labels).
function keepInSight(list) {
  const current = list.querySelector('[aria-current="true"]');
  if (!current) return;
  const top = current.offsetTop; // the list is positioned: its own coordinates
  const bottom = top + current.offsetHeight;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (bottom > list.scrollTop + list.clientHeight) list.scrollTop = bottom - list.clientHeight;
}
