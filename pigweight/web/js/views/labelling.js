// «Разметка»: a camera's frames worth labelling, one at a time on a canvas with the boxes
// of its animals (the camera's model drew them first), corrected by hand and saved as a new
// version. Edits are never lost: moving to another frame keeps them (marked in the queue),
// a refused save keeps them on screen, and a save that lost a race with someone else shows
// their boxes with ours one Ctrl+Z away.
//
// This module is the view's coordinator: the camera, the frame on screen, saving and the
// keys. Beside it: labelling-queue (the list), labelling-data (an admin's frames: add,
// delete, import, export) and labelling-train (training, comparison, models).

import { onLanguage, t } from "../i18n.js";
import { createLabelEditor } from "../label-editor.js";
import { $, call, el, isOperator, number, refused, say, sayAgain, when } from "./labelling-common.js";
import { initData, setDataCamera } from "./labelling-data.js";
import { frameSaved, loadQueue, queue, reasonText, renderQueue, resetQueue } from "./labelling-queue.js";
import * as training from "./labelling-train.js";

const STORAGE_KEY = "pigweight.labellingCamera";

const state = {
  cameras: [],
  started: false,
  shown: false,
  frame: null, // the frame on screen (GET /api/labelling/frames/{id})
  wanted: null, // the id of the frame on screen or on its way: where → and ← count from
  baseVersion: 0, // the version our edits started from
  drafts: new Map(), // frame id -> {boxes, baseVersion, undo}: edits not saved
  saving: false,
  seq: 0,
};
let editor = null;

// --- the frame on screen ------------------------------------------------------------------

// The frame on screen leaves it: its edits, if any, are kept for when it comes back.
function stash() {
  const frame = state.frame;
  if (!frame) return;
  if (editor.dirty()) {
    state.drafts.set(frame.id, { boxes: editor.boxes(), baseVersion: state.baseVersion, undo: editor.undoStates() });
    queue.unsaved.add(frame.id);
  } else {
    state.drafts.delete(frame.id);
    queue.unsaved.delete(frame.id);
  }
}

export async function openFrame(id, { keepNotice = false } = {}) {
  const seq = ++state.seq;
  state.wanted = id;
  const answer = await call("GET", `/api/labelling/frames/${id}`);
  if (seq !== state.seq) return false;
  if (!answer.ok) {
    state.wanted = state.frame?.id ?? null;
    say("labelling-notice", refused(answer, "labelling.notOpened"));
    return false;
  }
  if (!keepNotice) say("labelling-notice", null);
  present(answer.payload);
  return true;
}

function present(frame, undo = []) {
  // Stashed now, not when the next frame was asked for: edits made while it loaded count.
  if (state.frame && state.frame.id !== frame.id) stash();
  state.frame = frame;
  state.wanted = frame.id;
  const draft = state.drafts.get(frame.id);
  state.baseVersion = draft?.baseVersion ?? frame.version;
  const image = new Image();
  image.decoding = "async";
  image.src = `/api/labelling/frames/${frame.id}/image.jpg`;
  editor.load(image, frame.boxes, {
    width: frame.width,
    height: frame.height,
    platform: frame.zone,
    edits: draft?.boxes ?? null,
    undo: draft?.undo ?? undo,
  });
  queue.current = frame.id;
  renderQueue();
  renderFrame();
  if (state.shown) {
    // The address names the frame: a link to it, and a reload comes back to it.
    const query = new URLSearchParams({ camera: frame.camera, frame: String(frame.id) });
    history.replaceState(null, "", `#labelling?${query}`);
  }
}

function clearFrame() {
  stash();
  state.frame = null;
  state.wanted = null;
  state.seq++;
  editor.clear();
  queue.current = null;
  renderFrame();
}

// A save's answer (or a reload's) on screen without leaving the frame.
function replaceFrame(frame) {
  state.frame = frame;
  state.baseVersion = frame.version;
  renderFrame();
}

function renderFrame() {
  const frame = state.frame;
  $("labelling-empty").hidden = Boolean(frame);
  $("labelling-canvas").hidden = !frame;
  $("labelling-frame-info").textContent = frame ? frameInfo(frame) : "";
  $("labelling-boxes-from").textContent = frame ? boxesFrom(frame) : "";
  $("labelling-delete").disabled = !frame;
  renderHistory(frame);
  renderEditState();
}

function frameInfo(frame) {
  const parts = [t("labelling.frameNo", { id: frame.id }), when(frame.ts), reasonText(frame.reason)];
  if (frame.confidence !== null && frame.confidence !== undefined) {
    parts.push(t("labelling.confidence", { value: number(frame.confidence * 100, 0) }));
  }
  if (frame.model_count !== null && frame.model_count !== undefined) {
    parts.push(t("labelling.item.model", { n: frame.model_count }));
  }
  if (frame.typed_count !== null && frame.typed_count !== undefined) {
    parts.push(t("labelling.item.typed", { n: frame.typed_count }));
  }
  return parts.join(" · ");
}

function boxesFrom(frame) {
  if (frame.boxes_from === "model") return t("labelling.from.model");
  return t("labelling.from.labels", { version: frame.version, user: frame.labelled_by ?? "—" });
}

function renderHistory(frame) {
  const list = $("labelling-history");
  const rows = frame?.history ?? [];
  list.replaceChildren(
    ...rows.map((h) => {
      const li = el("li", "labelling-history-row");
      li.dataset.version = String(h.version);
      li.append(el("span", "labelling-history-who", t("labelling.history.who", { version: h.version, user: h.user, when: when(h.ts) })));
      li.append(el("span", "labelling-history-what", t("labelling.history.what", h)));
      return li;
    }),
  );
  $("labelling-history-empty").hidden = !frame || rows.length > 0;
}

function renderEditState({ count = null, dirty = null } = {}) {
  const frame = state.frame;
  const counted = count ?? (frame ? editor.boxes().length : null);
  const output = $("labelling-count");
  output.textContent = frame ? String(counted) : "—";
  output.classList.toggle("is-empty", !frame);
  output.dataset.count = frame ? String(counted) : "";
  const edited = dirty ?? (frame ? editor.dirty() : false);
  const line = $("labelling-state");
  line.dataset.state = !frame
    ? "none"
    : state.saving
      ? "saving"
      : edited
        ? "dirty"
        : frame.version > 0
          ? "clean"
          : "todo";
  line.textContent = !frame ? "" : t(`labelling.state.${line.dataset.state}`, { version: frame.version });
  if (frame) $("labelling-boxes-from").textContent = boxesFrom(frame);
  if (frame && edited !== queue.unsaved.has(frame.id)) {
    if (edited) queue.unsaved.add(frame.id);
    else queue.unsaved.delete(frame.id);
    renderQueue(); // its «не сохранено» mark
  }
  $("labelling-undo").disabled = !frame || !editor.canUndo();
  $("labelling-accept").disabled = !frame || state.saving || !isOperator();
}

// --- saving -------------------------------------------------------------------------------

async function accept() {
  const frame = state.frame;
  if (!frame || state.saving || !isOperator()) return;
  if (frame.version > 0 && !editor.dirty() && !state.drafts.has(frame.id)) {
    await step(1); // labelled already, nothing changed: on to the next
    return;
  }
  const boxes = editor.boxes();
  const wasTodo = frame.version === 0;
  state.saving = true;
  renderEditState();
  const answer = await call("PUT", `/api/labelling/frames/${frame.id}/labels`, {
    base_version: state.baseVersion,
    boxes,
  });
  state.saving = false;
  if (answer.ok) {
    state.drafts.delete(frame.id);
    queue.unsaved.delete(frame.id);
    replaceFrame(answer.payload);
    editor.saved();
    frameSaved(answer.payload, wasTodo);
    const params = { count: boxes.length, version: answer.payload.version };
    say("labelling-notice", { key: "labelling.saved", params, tone: "ok" });
    if (!(await step(1, { keepNotice: true, quiet: true }))) {
      say("labelling-notice", { key: "labelling.savedLast", params, tone: "ok" });
    }
  } else if (answer.status === 409 && answer.payload?.code === "label_conflict") {
    await conflict(frame, boxes, answer.payload.params ?? {});
  } else {
    renderEditState(); // the edits stay on screen: nothing is lost
    say("labelling-notice", refused(answer, "labelling.notSaved"));
  }
}

// Someone saved this frame since we opened it: their boxes on screen, ours one undo away.
async function conflict(frame, mine, params) {
  const undo = [...editor.undoStates(), mine];
  const answer = await call("GET", `/api/labelling/frames/${frame.id}`);
  if (!answer.ok) {
    renderEditState();
    say("labelling-notice", refused(answer, "labelling.notSaved"));
    return;
  }
  state.drafts.delete(frame.id);
  queue.unsaved.delete(frame.id);
  present(answer.payload, undo);
  frameSaved(answer.payload, frame.version === 0);
  say("labelling-notice", {
    key: "labelling.conflict",
    params: { user: params.user ?? "—", when: when(params.ts), version: params.version ?? answer.payload.version },
    tone: "warn",
  });
}

// --- moving -------------------------------------------------------------------------------

// The next (1) or previous (-1) frame of the list; false when there is none.
async function step(direction, { quiet = false, ...options } = {}) {
  if (state.saving) return false;
  const index = queue.frames.findIndex((f) => f.id === state.wanted);
  let target = index < 0 ? queue.frames[0] : queue.frames[index + direction];
  if (!target && direction > 0 && queue.frames.length < queue.total && (await loadQueue(true))) {
    target = queue.frames[index + 1];
  }
  if (!target) {
    if (!quiet) say("labelling-notice", { key: direction > 0 ? "labelling.last" : "labelling.first" });
    return false;
  }
  await openFrame(target.id, options);
  return true;
}

function onKey(event) {
  if (!state.shown || event.defaultPrevented || event.altKey || event.metaKey) return;
  if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
  const onControl = event.target.closest?.("button, a, summary");
  const key = event.key;
  const code = event.code; // KeyN is N on a Russian layout too (where it types «т»)
  let done = true;
  if (key === "ArrowRight" || (code === "KeyN" && !event.ctrlKey)) step(1);
  else if (key === "ArrowLeft" || (code === "KeyP" && !event.ctrlKey)) step(-1);
  else if (code === "KeyZ" && !event.shiftKey) editor.undo();
  else if (key === "Enter" && !onControl) accept();
  else if (key === "Delete" || (key === "Backspace" && !onControl)) editor.removeSelected();
  else done = false;
  if (done) event.preventDefault();
}

// --- the camera ---------------------------------------------------------------------------

async function loadCameras() {
  const answer = await call("GET", "/api/cameras");
  if (!answer.ok) {
    say("labelling-error", refused(answer));
    return;
  }
  say("labelling-error", null);
  state.cameras = answer.payload;
  const select = $("labelling-camera");
  select.replaceChildren(...state.cameras.map((c) => new Option(c.name || c.id, c.id)));
  $("labelling-no-camera").hidden = state.cameras.length > 0;
}

function hashParams() {
  const query = location.hash.split("?")[1] ?? "";
  return new URLSearchParams(query);
}

async function chooseCamera(id, frameId = null) {
  if (!id) return;
  $("labelling-camera").value = id;
  try {
    window.localStorage.setItem(STORAGE_KEY, id);
  } catch {
    // Private mode: not remembered.
  }
  clearFrame();
  resetQueue(id);
  setDataCamera(id);
  training.setCamera(id);
  const listed = await loadQueue();
  if (frameId !== null) await openFrame(frameId);
  else if (listed && queue.frames.length) await openFrame(queue.frames[0].id);
  else renderFrame();
}

async function start() {
  await loadCameras();
  if (!state.cameras.length) return;
  const params = hashParams();
  let remembered = null;
  try {
    remembered = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    // Private mode: the first camera.
  }
  const wanted = params.get("camera") ?? remembered;
  const camera = state.cameras.find((c) => c.id === wanted) ?? state.cameras[0];
  const frameId = Number(params.get("frame")) || null;
  await chooseCamera(camera.id, camera.id === params.get("camera") ? frameId : null);
}

// --- the view -----------------------------------------------------------------------------

export function init() {
  editor = createLabelEditor($("labelling-canvas"), {
    canEdit: () => isOperator() && !state.saving,
    onChange: (change) => renderEditState(change),
    // Short enough that the keys under the frame stay on a 768 px high screen.
    maxHeight: () => Math.max(240, window.innerHeight - 250),
  });
  $("labelling-camera").addEventListener("change", (event) => chooseCamera(event.target.value));
  $("labelling-queue").addEventListener("click", (event) => {
    const button = event.target.closest("[data-frame-id]");
    if (button) openFrame(Number(button.dataset.frameId));
  });
  for (const button of document.querySelectorAll("[data-labelling-status]")) {
    button.addEventListener("click", () => {
      queue.status = button.dataset.labellingStatus;
      loadQueue();
    });
  }
  $("labelling-more").addEventListener("click", () => loadQueue(true));
  $("labelling-prev").addEventListener("click", () => step(-1));
  $("labelling-next").addEventListener("click", () => step(1));
  $("labelling-undo").addEventListener("click", () => editor.undo());
  $("labelling-accept").addEventListener("click", accept);
  document.addEventListener("keydown", onKey);
  // Edits not saved are in this page only: leaving it would lose them.
  window.addEventListener("beforeunload", (event) => {
    if (state.drafts.size || (state.frame && editor.dirty())) event.preventDefault();
  });
  initData({
    frame: () => state.frame,
    opened: (frame) => openFrame(frame.id),
    dropped: async (id, nextId) => {
      const shown = state.frame?.id === id;
      if (shown) clearFrame();
      state.drafts.delete(id);
      queue.unsaved.delete(id);
      renderQueue();
      if (shown && nextId !== null) await openFrame(nextId, { keepNotice: true });
    },
  });
  training.init();
  onLanguage(() => {
    renderQueue();
    renderFrame();
    sayAgain();
    training.render();
  });
}

export function show() {
  state.shown = true;
  training.show();
  if (!state.started) {
    state.started = true;
    start();
  }
  editor.fit();
}

export function hide() {
  state.shown = false;
  training.hide();
}
