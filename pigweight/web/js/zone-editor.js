// Drawing a platform zone on a picture (a live camera's, a paused recording's): its outline
// drawn dashed over the picture and, for those allowed, a new one drawn on the picture
// itself. Each click (a tap on a phone) adds a corner; Backspace or «Убрать точку» takes the
// last one back, Esc or «Отмена» leaves without a change; «Сохранить» saves the corners,
// «Убрать зону» saves null. Animals outside the zone are not counted (the server decides;
// the page only shows it).

import { answerDetail, refusalKey, viewTexts } from "./api.js";
import { t, technicalDetail } from "./i18n.js";
import { drawZone, placeOver } from "./outlines.js";

const MIN_POINTS = 3;
const DIGITS = 4; // 0.0001 of the picture: finer than any click

// `els`: the zone's {canvas}, the button that starts drawing ({edit}) and the drawing bar
// ({bar, hint, undo, save, cancel, remove, error, errorTitle, errorDetail}).
// `how`: {
//   texts: the key prefix ("live.zone"): its .hint, .error.CODE, .error.server, .error.unknown;
//   subject(): what the zone belongs to (a camera, a recording) or null;
//   picture(): the element the zone lies over (<video>, <img>) or null;
//   savedZone(picture): the saved zone to draw over that picture, or null;
//   note(): more words for the hint ("" for none); canRemove(): whether «Убрать зону» shows;
//   send(subject, zone): the api.js call() that saves it ({ok, status, payload});
//   onSaved(subject, payload): the server's answer applied (a redraw follows);
//   canStart(): whether drawing may begin now (optional);
//   watch: elements whose size moves the picture }
export function createZoneEditor(els, how) {
  let draft = null; // the corners drawn so far, [[x, y], ...] in 0-1; null: not drawing
  let busy = false; // a save in flight
  let error = null; // {key, detail} of the last refusal

  function redraw() {
    const shown = how.subject();
    const over = how.picture();
    const saved = over ? how.savedZone(over) : null;
    const points = draft ?? saved ?? null;
    const visible = Boolean(over && shown && (draft !== null || points?.length));
    els.canvas.hidden = !visible;
    els.canvas.classList.toggle("is-drawing", draft !== null);
    els.canvas.dataset.points = String(points?.length ?? 0);
    if (!visible) return;
    placeOver(over, els.canvas);
    drawZone(els.canvas, points, draft !== null);
  }

  function render() {
    const shown = how.subject();
    const drawing = draft !== null;
    els.edit.hidden = !shown || drawing;
    els.bar.hidden = !drawing;
    if (drawing) {
      const note = how.note?.() ?? "";
      els.hint.textContent = t(`${how.texts}.hint`, { n: draft.length }) + (note ? ` ${note}` : "");
      els.undo.disabled = busy || draft.length === 0;
      els.save.disabled = busy || draft.length < MIN_POINTS;
      els.remove.hidden = !how.canRemove();
      els.remove.disabled = busy;
    }
    els.error.hidden = !error;
    els.errorTitle.textContent = error ? t(error.key) : "";
    els.errorDetail.textContent = technicalDetail(error?.detail);
    redraw();
  }

  function start() {
    if (how.canStart && !how.canStart()) return;
    draft = [];
    error = null;
    render();
    els.canvas.focus({ preventScroll: true });
  }

  function stop() {
    draft = null;
    render();
  }

  function addPoint(event) {
    if (draft === null || busy) return;
    event.stopPropagation(); // a click on the drawing is not a click on the player
    const width = els.canvas.clientWidth;
    const height = els.canvas.clientHeight;
    if (!width || !height) return;
    const clamp = (v) => Math.min(1, Math.max(0, Number(v.toFixed(DIGITS))));
    draft.push([clamp(event.offsetX / width), clamp(event.offsetY / height)]);
    render();
  }

  function undo() {
    if (draft === null || busy || !draft.length) return;
    draft.pop();
    render();
  }

  async function send(zone) {
    const shown = how.subject();
    if (!shown || busy) return;
    busy = true;
    error = null;
    render();
    try {
      const answer = await how.send(shown, zone);
      if (answer.status === 0) {
        error = { key: "error.network", detail: answerDetail(answer) };
      } else if (answer.ok && answer.payload) {
        draft = null;
        how.onSaved(shown, answer.payload);
      } else {
        const { key } = refusalKey(answer, viewTexts(`${how.texts}.error`));
        error = { key, detail: answerDetail(answer) };
      }
    } catch (err) {
      error = { key: "error.network", detail: String(err?.message ?? err) };
    } finally {
      busy = false;
      render();
    }
  }

  function onKey(event) {
    if (draft === null || event.defaultPrevented) return;
    const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
    if (typing) return; // Backspace in a form is the form's
    if (event.key === "Escape") {
      event.preventDefault();
      stop();
    } else if (event.key === "Backspace") {
      event.preventDefault();
      undo();
    }
  }

  els.edit.addEventListener("click", start);
  els.canvas.addEventListener("click", addPoint);
  els.undo.addEventListener("click", undo);
  els.save.addEventListener("click", () => draft?.length >= MIN_POINTS && send(draft));
  els.cancel.addEventListener("click", stop);
  els.remove.addEventListener("click", () => send(null));
  document.addEventListener("keydown", onKey);
  for (const element of how.watch ?? []) new ResizeObserver(redraw).observe(element);

  return {
    render,
    redraw,
    drawing: () => draft !== null,
    // Another camera or recording on screen: a zone half drawn for the last one is dropped.
    reset() {
      draft = null;
      error = null;
      render();
    },
  };
}
