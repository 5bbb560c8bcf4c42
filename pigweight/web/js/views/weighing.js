// The weighing panel beside the live camera: the count (the camera's stable count until the
// operator types one), the scale's total, the average per head as it is typed, Save, and
// today's records of this camera, each of which can be corrected or deleted; the weighing
// just saved can be undone for a minute. POST /api/weight/average with an Idempotency-Key,
// so pressing Save again after a lost answer never records twice.

import { answerDetail, call, refusalKey, viewTexts } from "../api.js";
import { formatKg } from "../format.js";
import { locale, t, technicalDetail } from "../i18n.js";
import { MAX_COUNT, parseCount, parseNumber } from "../numbers.js";
import { batchAfterWeighing, initBatch, rerenderBatch, setBatchCamera } from "./batch.js";
import { UNDO_S, undoWeighing } from "./record-actions.js";
import { loadList, renderList, setListCamera, showSaved } from "./weighing-list.js";

const $ = (id) => document.getElementById(id);

const state = {
  camera: null,
  liveCount: null, // the camera's stable count, null when it has none
  typed: false, // the operator typed the count: the camera no longer overwrites it
  scale: undefined, // {weight_kg, stable} of the platform's scale; null: silent; undefined: none
  totalTyped: false, // the operator typed the total: the scale no longer overwrites it
  pending: null, // {text, key} of a request whose answer has not come
  lastSaved: null,
  savedAt: 0, // performance.now() of lastSaved: it may be undone for UNDO_S seconds
  undoTimer: null,
  undone: null, // {id} of the weighing the operator took back, or {id, error}
  error: null, // {key, params, detail} of the last refusal, shown until the next Save
  duplicate: null, // {params} of the platform's own record of this group: ask before saving
};

function newKey() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// --- the form ----------------------------------------------------------------------------

// The count the record will have: typed, or the camera's (null: none yet).
function currentCount() {
  if (!state.typed) return state.liveCount;
  return parseCount($("weigh-count").value);
}

function renderCount() {
  const input = $("weigh-count");
  // Not under the operator's fingers: a count written between a tap and the first digit
  // would end up in front of it ("11" + "30").
  if (!state.typed && document.activeElement !== input) input.value = state.liveCount ?? "";
  const source = $("weigh-count-source");
  const mode = state.typed ? "typed" : state.liveCount ? "camera" : "none";
  source.dataset.source = mode;
  source.textContent = t(`weigh.source.${mode}`);
  input.placeholder = state.liveCount ? "" : t("weigh.countNeeded");
  const useCamera = $("weigh-use-camera");
  useCamera.hidden = !state.typed || !state.liveCount;
  useCamera.textContent = t("weigh.useCamera", { count: state.liveCount ?? "" });
}

// The total follows the scale's stable reading until the operator types one.
function renderTotal() {
  const input = $("weigh-total");
  const source = $("weigh-total-source");
  const useScale = $("weigh-use-scale");
  const hasScale = state.scale !== undefined;
  source.hidden = !hasScale;
  const reading = state.scale;
  const steady = reading && reading.stable && reading.weight_kg > 0 ? reading.weight_kg : null;
  if (hasScale && !state.totalTyped && document.activeElement !== input) {
    input.value = steady === null ? "" : steady.toLocaleString(locale(), { maximumFractionDigits: 3 });
  }
  const mode = !hasScale
    ? "none"
    : state.totalTyped
      ? "typed"
      : reading === null
        ? "lost"
        : steady === null
          ? "moving"
          : "scale";
  source.dataset.source = mode;
  source.textContent = hasScale ? t(`weigh.totalSource.${mode}`) : "";
  useScale.hidden = !(hasScale && state.totalTyped && steady !== null);
  useScale.textContent = t("weigh.useScale");
}

function renderAverage() {
  const total = parseNumber($("weigh-total").value);
  const count = currentCount();
  const output = $("weigh-avg");
  const ok = total !== null && total > 0 && count;
  output.classList.toggle("is-empty", !ok);
  output.textContent = ok ? t("weigh.kg", { value: formatKg(Math.round((total / count) * 1000) / 1000) }) : "—";
}

function clearInvalid() {
  for (const id of ["weigh-total", "weigh-count"]) $(id).removeAttribute("aria-invalid");
}

function renderError() {
  const error = state.error;
  $("weigh-error").hidden = !error;
  $("weigh-error-title").textContent = error ? t(error.key, error.params) : "";
  $("weigh-error-detail").textContent = technicalDetail(error?.detail);
}

function showError(key, params = {}, detail = "", field = null) {
  state.error = { key, params, detail };
  state.lastSaved = null; // the last success is not this attempt's answer
  state.undone = null;
  renderError();
  renderSaved();
  if (field) {
    $(field).setAttribute("aria-invalid", "true");
    $(field).focus();
  }
}

function undoLeft() {
  const r = state.lastSaved;
  if (!r || r.replayed) return 0;
  return Math.max(0, Math.ceil(UNDO_S - (performance.now() - state.savedAt) / 1000));
}

function renderSaved() {
  const box = $("weigh-saved");
  const r = state.lastSaved;
  box.replaceChildren();
  if (!r && state.undone) {
    box.hidden = false;
    box.dataset.state = state.undone.error ? "error" : "undone";
    box.append(
      state.undone.error
        ? t("record.undoFailed", { id: state.undone.id, error: state.undone.error })
        : t("record.undone", { id: state.undone.id }),
    );
    return;
  }
  box.hidden = !r;
  delete box.dataset.state;
  if (!r) return;
  box.append(
    t(r.replayed ? "weigh.savedAgain" : "weigh.saved", {
      id: r.id,
      count: r.count,
      source: t(`weigh.sourceShort.${r.count_source}`),
      total: formatKg(r.total_weight_kg),
      avg: formatKg(r.avg_weight_kg),
    }),
  );
  // The record is safe in either case; what it lacks is said, so nobody looks for it later.
  // More head weighed than the batch has: said here, where the operator looks after saving.
  if (r.batch?.over_count) {
    const warning = document.createElement("span");
    warning.className = "weigh-saved-warning";
    warning.dataset.warning = "over_count";
    warning.textContent = ` ${t("batch.over", { animals: r.batch.animals, expected: r.batch.expected_head })}`;
    box.append(warning);
  }
  for (const [field, key] of [
    ["csv_error", "weigh.csvError"],
    ["snapshot_error", "weigh.snapshotError"],
  ]) {
    if (!r[field]) continue;
    const warning = document.createElement("span");
    warning.className = "weigh-saved-warning";
    warning.dataset.warning = field;
    warning.textContent = t(key, { error: r[field] });
    box.append(warning);
  }
  const left = undoLeft();
  if (left > 0) {
    const undo = document.createElement("button");
    undo.type = "button";
    undo.id = "weigh-undo";
    undo.className = "weigh-link weigh-undo operator-only";
    undo.textContent = t("record.undo", { seconds: left });
    undo.addEventListener("click", undoLast);
    box.append(undo);
  }
}

// The Undo button counts down and goes after UNDO_S seconds; one timer, stopped with it.
function startUndoClock() {
  clearInterval(state.undoTimer);
  state.undoTimer = setInterval(() => {
    const left = undoLeft();
    const button = $("weigh-undo");
    if (button && left > 0) button.textContent = t("record.undo", { seconds: left });
    if (left <= 0) {
      clearInterval(state.undoTimer);
      state.undoTimer = null;
      renderSaved();
    }
  }, 1000);
}

async function undoLast() {
  const record = state.lastSaved;
  if (!record || undoLeft() <= 0) return;
  const button = $("weigh-undo");
  if (button) button.disabled = true;
  const problem = await undoWeighing(record);
  clearInterval(state.undoTimer);
  state.undoTimer = null;
  state.lastSaved = null;
  state.undone = problem ? { id: record.id, error: problem } : { id: record.id };
  renderSaved();
  document.dispatchEvent(new CustomEvent("pigweight:records-changed", { detail: "weighing" }));
  loadList();
}

// The request body, or null after showing what to fix.
function request() {
  const totalText = $("weigh-total").value;
  const total = parseNumber(totalText);
  if (total === null || total <= 0) {
    showError(totalText.trim() ? "weigh.badTotal" : "weigh.noTotal", {}, "", "weigh-total");
    return null;
  }
  const body = { camera_id: state.camera, total_weight_kg: total };
  const countText = $("weigh-count").value.trim();
  if (state.typed && countText) {
    const count = parseCount(countText);
    if (count === null) {
      showError("weigh.badCount", { max: MAX_COUNT }, "", "weigh-count");
      return null;
    }
    body.count = count;
  }
  // No count typed: the server takes the camera's stable count at this moment.
  if (state.scale !== undefined && !state.totalTyped) body.weight_source = "scale";
  const note = $("weigh-note").value.trim();
  if (note) body.note = note;
  return body;
}

async function post(text) {
  const headers = { "Idempotency-Key": state.pending.key };
  const answer = await call("POST", "/api/weight/average", text, { headers });
  const { ok, status, payload } = answer;
  if (status === 0) {
    showError("error.network", {}, answerDetail(answer));
    return null;
  }
  if (ok && payload) return payload;
  const code = payload?.code ?? "unknown";
  if (code === "duplicate_weighing") {
    askDuplicate(payload.params ?? {});
    return null;
  }
  const problem = payload?.params?.problem;
  const field = code === "count_unavailable" || problem?.startsWith("count") ? "weigh-count" : problem?.startsWith("total") ? "weigh-total" : null;
  if (field === "weigh-count") state.typed = true; // the operator types it now; the camera must not refill it
  // The check that refused it says what to fix, with its numbers, in the page's language.
  const { key, params } = refusalKey(answer, viewTexts("weigh.error"));
  showError(key, params, answerDetail(answer), field);
  return null;
}

// The platform recorded this group by itself already: the operator says whether to record
// it again (a second group that looks the same) or not (the usual case: nothing is sent).
function askDuplicate(params) {
  state.duplicate = { params };
  renderDuplicate();
  $("weigh-duplicate-no").focus();
}

function renderDuplicate() {
  const box = $("weigh-duplicate");
  box.hidden = !state.duplicate;
  if (!state.duplicate) return;
  const p = state.duplicate.params;
  $("weigh-duplicate-text").textContent = t("weigh.duplicate.ask", {
    id: p.record_id ?? "",
    count: p.count ?? "",
    total: typeof p.total_weight_kg === "number" ? formatKg(p.total_weight_kg) : "",
    time: p.time ?? "",
  });
}

function answerDuplicate(again) {
  state.duplicate = null;
  renderDuplicate();
  if (again) {
    save(null, { allowDuplicate: true });
    return;
  }
  state.pending = null;
  $("weigh-total").focus();
}

async function save(event, { allowDuplicate = false } = {}) {
  event?.preventDefault();
  if (state.camera === null || $("weigh-save").disabled) return;
  state.error = null;
  state.duplicate = null;
  renderError();
  renderDuplicate();
  clearInvalid();
  const body = request();
  if (!body) return;
  if (allowDuplicate) body.allow_duplicate = true;
  const text = JSON.stringify(body);
  // The same weighing sent again (its answer was lost) keeps its key: recorded once.
  if (!state.pending || state.pending.text !== text) state.pending = { text, key: newKey() };
  const button = $("weigh-save");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const record = await post(text);
    if (!record) return;
    state.pending = null;
    state.lastSaved = record;
    state.savedAt = performance.now();
    state.undone = null;
    startUndoClock();
    $("weigh-total").value = "";
    $("weigh-note").value = "";
    state.typed = false;
    state.totalTyped = false;
    renderTotal();
    renderCount();
    renderAverage();
    renderSaved();
    showSaved(record); // at the top of the list at once, before the list is read again
    batchAfterWeighing(record.batch);
    document.dispatchEvent(new CustomEvent("pigweight:weighing-saved", { detail: record }));
    $("weigh-total").focus();
    loadList();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// --- what live.js calls ------------------------------------------------------------------

export function setLiveCamera(cameraId) {
  setListCamera(cameraId);
  if (cameraId !== state.camera) {
    state.typed = false;
    state.lastSaved = null;
    state.undone = null;
    clearInterval(state.undoTimer);
    state.undoTimer = null;
    state.error = null;
    renderError();
    renderSaved();
  }
  state.camera = cameraId;
  setBatchCamera(cameraId);
  $("weighing").hidden = false;
  renderCount();
  renderAverage();
  renderList();
  loadList();
}

export function setLiveCount(count) {
  const value = count || null; // 0 animals is no count to weigh by
  if (value === state.liveCount) return;
  state.liveCount = value;
  renderCount();
  renderAverage();
}

// The platform's scale (live.js polls it): {weight_kg, stable}, null while it is silent,
// undefined when the camera has none.
export function setScaleReading(reading) {
  state.scale = reading;
  renderTotal();
  renderAverage();
}

// A weighing was recorded elsewhere (the platform, by itself): today's list again.
export function reloadList() {
  loadList();
}

// The platform asks the operator to confirm a weighing: its count and total, typed in.
export function fillWeighing(count, totalKg) {
  state.typed = count !== null && count !== undefined;
  state.totalTyped = totalKg !== null && totalKg !== undefined;
  if (state.typed) $("weigh-count").value = String(count);
  if (state.totalTyped) {
    $("weigh-total").value = totalKg.toLocaleString(locale(), { maximumFractionDigits: 3 });
  }
  renderCount();
  renderTotal();
  renderAverage();
  $("weigh-save").focus();
}

export function rerender() {
  rerenderBatch();
  renderDuplicate();
  renderTotal();
  renderCount();
  renderAverage();
  renderSaved();
  renderError();
  renderList();
}

export function init() {
  initBatch();
  $("weigh-form").addEventListener("submit", (event) => save(event));
  $("weigh-duplicate-yes").addEventListener("click", () => answerDuplicate(true));
  $("weigh-duplicate-no").addEventListener("click", () => answerDuplicate(false));
  document.addEventListener("pigweight:records-changed", (event) => {
    if (event.detail !== "weighing") loadList();
  });
  const count = $("weigh-count");
  count.addEventListener("input", () => {
    state.typed = true;
    count.removeAttribute("aria-invalid");
    renderCount();
    renderAverage();
  });
  count.addEventListener("focus", () => count.select()); // a tap, then digits replace it
  // Left empty: the camera's count again.
  count.addEventListener("blur", () => {
    if (state.typed && !count.value.trim()) state.typed = false;
    renderCount();
    renderAverage();
  });
  $("weigh-use-camera").addEventListener("click", () => {
    state.typed = false;
    count.removeAttribute("aria-invalid");
    renderCount();
    renderAverage();
    $("weigh-total").focus();
  });
  const total = $("weigh-total");
  total.addEventListener("input", () => {
    total.removeAttribute("aria-invalid");
    state.totalTyped = true;
    renderTotal();
    renderAverage();
  });
  // Left empty: the scale's reading again.
  total.addEventListener("blur", () => {
    if (state.totalTyped && !total.value.trim()) state.totalTyped = false;
    renderTotal();
    renderAverage();
  });
  $("weigh-use-scale").addEventListener("click", () => {
    state.totalTyped = false;
    renderTotal();
    renderAverage();
  });
  renderCount();
  renderAverage();
  renderSaved();
}
