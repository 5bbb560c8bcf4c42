// An admin's frames: add the camera's picture of now to the queue, drop a useless frame
// (asked twice: it cannot come back), and the labels out and in as a YOLO folder (zip) for
// `pigweight train` on another machine, or from CVAT / Label Studio.

import { $, call, enc, followFileName, refused, say } from "./labelling-common.js";
import { frameAdded, frameDropped, loadQueue, queue } from "./labelling-queue.js";

let camera = null;
let view = null; // {frame(), opened(frame), dropped(id, nextId)} from labelling.js

export function setDataCamera(id) {
  camera = id;
  $("labelling-export").href = `/api/labelling/${enc(id)}/export.zip`;
  $("labelling-export").setAttribute("download", `labels-${id}.zip`);
  askDelete(false);
  say("labelling-import-result", null);
}

async function addLive() {
  const button = $("labelling-add-live");
  button.disabled = true;
  const answer = await call("POST", `/api/labelling/${enc(camera)}/frames`, { source: "live" });
  button.disabled = false;
  if (!answer.ok) {
    say("labelling-notice", refused(answer, "labelling.notAdded"));
    return;
  }
  frameAdded(answer.payload);
  await view.opened(answer.payload);
  say("labelling-notice", { key: "labelling.added", params: { id: answer.payload.id }, tone: "ok" });
}

function askDelete(on) {
  $("labelling-delete-confirm").hidden = !on;
  $("labelling-delete").hidden = on;
  if (on) $("labelling-delete-no").focus();
}

async function drop() {
  const frame = view.frame();
  askDelete(false);
  if (!frame) return;
  const answer = await call("DELETE", `/api/labelling/frames/${frame.id}`);
  if (!answer.ok) {
    say("labelling-notice", refused(answer, "labelling.notDeleted"));
    return;
  }
  // The frame after it in the list comes on screen (the one before it at the list's end).
  const index = queue.frames.findIndex((f) => f.id === frame.id);
  const next = queue.frames[index + 1] ?? queue.frames[index - 1] ?? null;
  frameDropped(frame.id);
  say("labelling-notice", { key: "labelling.deleted", params: { id: frame.id }, tone: "ok" });
  await view.dropped(frame.id, next && index >= 0 ? next.id : null);
}

async function importZip(event) {
  event.preventDefault();
  const file = $("labelling-import-file").files[0];
  if (!file) {
    say("labelling-import-result", { key: "labelling.import.choose", tone: "error" });
    return;
  }
  const body = new FormData();
  body.append("file", file, file.name);
  const button = $("labelling-import-submit");
  button.disabled = true;
  say("labelling-import-result", { key: "labelling.import.busy" });
  const answer = await call("POST", `/api/labelling/${enc(camera)}/import`, body);
  button.disabled = false;
  if (!answer.ok) {
    say("labelling-import-result", refused(answer, "labelling.import.failed"));
    return;
  }
  const { imported, labelled, skipped } = answer.payload;
  say("labelling-import-result", {
    key: skipped.length ? "labelling.import.doneSkipped" : "labelling.import.done",
    // File names are names, not sentences: shown as they are.
    params: { imported, labelled, skipped: skipped.length, names: skipped.slice(0, 5).join(", ") },
    tone: "ok",
  });
  $("labelling-import-file").value = "";
  $("labelling-import-file").dispatchEvent(new Event("change"));
  await loadQueue();
}

export function initData(callbacks) {
  view = callbacks;
  $("labelling-add-live").addEventListener("click", addLive);
  $("labelling-delete").addEventListener("click", () => askDelete(true));
  $("labelling-delete-no").addEventListener("click", () => askDelete(false));
  $("labelling-delete-yes").addEventListener("click", drop);
  $("labelling-import-form").addEventListener("submit", importZip);
  followFileName("labelling-import-file", "labelling-import-name");
}
