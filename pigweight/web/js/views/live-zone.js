// The platform zone of the live camera: its outline drawn dashed over the picture, and, for
// admins, drawing a new one on the picture itself. Each click (a tap on a phone) adds a
// corner; Backspace or «Убрать точку» takes the last one back, Esc or «Отмена» leaves
// without a change; «Сохранить» sends PUT /api/cameras/{id}/zone, «Убрать зону» sends null.
// Animals outside the zone are not counted (the server decides; the page only shows it).

import { t } from "../i18n.js";
import { drawZone, placeOver } from "../outlines.js";

const MIN_POINTS = 3;
const DIGITS = 4; // 0.0001 of the picture: finer than any click

// `els`: the picture ({video, img}), the zone's {canvas}, the button that starts drawing
// ({edit}) and the drawing bar ({bar, hint, undo, save, cancel, remove, error, errorTitle,
// errorDetail}); `camera()`: the camera on screen ({id, zone, zone_source}) or null.
export function createZoneEditor(els, camera) {
  let draft = null; // the corners drawn so far, [[x, y], ...] in 0-1; null: not drawing
  let busy = false; // a PUT in flight
  let error = null; // {key, detail} of the last refusal

  function picture() {
    if (!els.video.hidden) return els.video;
    if (!els.img.hidden) return els.img;
    return null;
  }

  function redraw() {
    const shown = camera();
    const over = picture();
    // The MJPEG frames have the zone drawn in by the server: only a draft is drawn over them.
    const saved = over === els.video ? shown?.zone : null;
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
    const shown = camera();
    const drawing = draft !== null;
    els.edit.hidden = !shown || drawing;
    els.bar.hidden = !drawing;
    if (drawing) {
      const note = shown?.zone_source === "file" ? ` ${t("live.zone.fromFile")}` : "";
      els.hint.textContent = t("live.zone.hint", { n: draft.length }) + note;
      els.undo.disabled = busy || draft.length === 0;
      els.save.disabled = busy || draft.length < MIN_POINTS;
      els.remove.hidden = shown?.zone_source !== "page";
      els.remove.disabled = busy;
    }
    els.error.hidden = !error;
    els.errorTitle.textContent = error ? t(error.key) : "";
    els.errorDetail.textContent = error?.detail ? t("detailPrefix") + error.detail : "";
    redraw();
  }

  function start() {
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

  function errorKey(status, code) {
    const key = `live.zone.error.${code}`;
    if (t(key) !== key) return key;
    return status >= 500 ? "live.zone.error.server" : "live.zone.error.unknown";
  }

  async function send(zone) {
    const shown = camera();
    if (!shown || busy) return;
    busy = true;
    error = null;
    render();
    try {
      const response = await fetch(`/api/cameras/${encodeURIComponent(shown.id)}/zone`, {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ zone }),
      });
      const payload = await response.json().catch(() => null);
      if (response.ok && payload) {
        shown.zone = payload.zone ?? null;
        shown.zone_source = payload.zone_source ?? null;
        draft = null;
      } else {
        const code = payload?.code ?? `http_${response.status}`;
        error = { key: errorKey(response.status, code), detail: payload?.detail ?? `HTTP ${response.status}` };
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
    if (typing) return; // Backspace in the weighing form is the form's
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
  new ResizeObserver(redraw).observe(els.video);
  new ResizeObserver(redraw).observe(els.img);
  els.img.addEventListener("load", redraw); // the first MJPEG frame gives the picture's size

  return {
    render,
    redraw,
    // Another camera on screen: a zone half drawn for the last one is dropped.
    reset() {
      draft = null;
      error = null;
      render();
    },
  };
}
