// The photo view: choose or drop a photo, see the animals marked and the count; a platform
// zone drawn on it (photo-zone.js) counts it again, and the next photos, without the animals
// outside.

import { countImage, CountError, refusalKey } from "../api.js";
import { language, onLanguage, t, technicalDetail } from "../i18n.js";
import { createPhotoZone } from "./photo-zone.js";

const root = document.documentElement;
const limits = {
  mb: Number(root.dataset.maxUploadMb) || 50,
  mp: Number(root.dataset.maxMegapixels) || 60,
};
const $ = (id) => document.getElementById(id);
const el = {
  stage: $("stage"),
  dropzone: $("dropzone"),
  input: $("file-input"),
  choose: $("choose-file"),
  another: $("choose-another"),
  figure: $("result-figure"),
  overlay: $("overlay"),
  fileName: $("file-name"),
  busy: $("busy"),
  count: $("count"),
  confidence: $("confidence"),
  confidenceFill: $("confidence-fill"),
  elapsed: $("elapsed"),
  dimensions: $("dimensions"),
  outsideRow: $("outside-row"),
  outside: $("outside"),
  zoneNote: $("photo-zone-note"),
  error: $("error"),
  errorTitle: $("error-title"),
  errorDetail: $("error-detail"),
};

// What is on screen; re-rendered as a whole when the language changes. `file`: the photo
// counted (sent again when a zone is drawn); `zone`: the platform zone every count of this
// page uses, [[x, y], ...] in 0-1, or null.
const state = { busy: false, result: null, file: null, fileName: "", error: null, zone: null };
let zoneEditor = null; // createPhotoZone(): the zone editor over the photo

function formatNumber(value, digits = 0) {
  return new Intl.NumberFormat(language(), {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  }).format(value);
}

function formatDuration(ms) {
  if (ms < 1000) return t("ms", { value: formatNumber(Math.round(ms)) });
  return t("seconds", { value: formatNumber(ms / 1000, 1) });
}

function render() {
  const { busy, result, error } = state;
  root.classList.toggle("is-busy", busy);
  el.busy.hidden = !busy;
  el.dropzone.hidden = Boolean(result) || busy;
  el.figure.hidden = !result;
  el.another.hidden = !result;
  el.count.textContent = result ? formatNumber(result.count) : "—";
  el.count.classList.toggle("is-empty", !result);
  const percent = result ? Math.round(result.confidence * 100) : 0;
  el.confidence.textContent = result ? `${formatNumber(percent)} %` : "—";
  el.confidenceFill.style.width = `${percent}%`;
  el.confidenceFill.classList.toggle("is-low", result !== null && percent < 60);
  el.elapsed.textContent = result ? formatDuration(result.ms) : "—";
  el.dimensions.textContent = result ? `${result.width} × ${result.height}` : "—";
  el.outsideRow.hidden = !(result && state.zone);
  el.outside.textContent = result ? formatNumber(result.outside ?? 0) : "—";
  el.zoneNote.hidden = !state.zone;
  el.fileName.textContent = state.fileName;
  el.error.hidden = !error;
  if (error) {
    const { key, params } = refusalKey(error, { otherwise: () => "error.unknown" });
    el.errorTitle.textContent = t(key, { ...params, ...limits });
    el.errorDetail.textContent = technicalDetail(error.detail);
  }
  zoneEditor?.render();
}

async function handleFile(file) {
  if (!file || state.busy) return;
  state.file = file;
  state.fileName = file.name;
  state.result = null;
  state.error = null;
  zoneEditor.reset(); // a zone half drawn on the last photo
  if (file.size > limits.mb * 1024 * 1024) {
    // Refused here: sending it would only earn the same 413 after a long upload.
    state.error = new CountError("upload_too_large", `${file.name}: ${formatNumber(file.size / 1048576, 1)} MB`);
    render();
    return;
  }
  state.busy = true;
  render();
  try {
    const result = await countImage(file, state.zone);
    await showOverlay(result.overlay);
    state.result = result;
  } catch (err) {
    state.error = err instanceof CountError ? err : new CountError("unknown", String(err));
  } finally {
    state.busy = false;
    render();
  }
}

// The same photo counted again with a zone drawn on it (or without one: `drawn` null).
function onZoneCounted(shown, drawn, payload) {
  if (state.result !== shown) return; // another photo was chosen meanwhile
  state.zone = drawn;
  state.result = payload;
  showOverlay(payload.overlay).then(render); // the count and the picture change together
}

// Resolve once the overlay is decoded, so the count and the picture appear together.
function showOverlay(src) {
  return new Promise((resolve) => {
    el.overlay.onload = () => resolve();
    el.overlay.onerror = () => resolve();
    el.overlay.src = src;
  });
}

function wireDragAndDrop() {
  let depth = 0;
  const hasFiles = (event) =>
    shown && Array.from(event.dataTransfer?.types ?? []).includes("Files");
  window.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    root.classList.add("is-dragging");
  });
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) root.classList.remove("is-dragging");
  });
  window.addEventListener("dragover", (event) => {
    if (hasFiles(event)) event.preventDefault();
  });
  window.addEventListener("drop", (event) => {
    event.preventDefault(); // a file dropped elsewhere must not replace the page
    if (!shown) return;
    depth = 0;
    root.classList.remove("is-dragging");
    handleFile(event.dataTransfer?.files?.[0]);
  });
}

// Drops land here whichever view is on screen only while the photo view is shown.
let shown = false;

export function show() {
  shown = true;
}

export function hide() {
  shown = false;
  zoneEditor.reset(); // Backspace and Esc belong to the other view now
}

export function init() {
  zoneEditor = createPhotoZone(
    {
      img: el.overlay,
      canvas: $("photo-zone"),
      edit: $("photo-zone-edit"),
      bar: $("photo-zone-bar"),
      hint: $("photo-zone-hint"),
      undo: $("photo-zone-undo"),
      save: $("photo-zone-save"),
      cancel: $("photo-zone-cancel"),
      remove: $("photo-zone-remove"),
      error: $("photo-zone-error"),
      errorTitle: $("photo-zone-error-title"),
      errorDetail: $("photo-zone-error-detail"),
    },
    {
      shown: () => state.result,
      file: () => state.file,
      zone: () => state.zone,
      onCounted: onZoneCounted,
    },
  );
  const openPicker = () => el.input.click();
  el.choose.addEventListener("click", openPicker);
  el.another.addEventListener("click", openPicker);
  el.input.addEventListener("change", () => {
    handleFile(el.input.files?.[0]);
    el.input.value = ""; // choosing the same file again must count it again
  });
  wireDragAndDrop();
  onLanguage(render);
  render();
}
