// The weighing panel beside the live camera: the scale's total, the count (the camera's
// by default), Save, and today's records. POST /api/weight/average with an
// Idempotency-Key, so pressing Save again after a lost answer never records twice.

import { language, t } from "../i18n.js";

const $ = (id) => document.getElementById(id);
const HISTORY_ROWS = 20;
const state = { camera: null, liveCount: null, pending: null, lastSaved: null };

// "412,5" (Russian keyboards) and "412.5" are the same weight.
function parseNumber(text) {
  const clean = text.trim().replace(/\s/g, "").replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(clean)) return null;
  return Number(clean);
}

function newKey() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function formatKg(value) {
  return value.toLocaleString(language() === "ru" ? "ru-RU" : "en-GB", { maximumFractionDigits: 3 });
}

function showError(key, params = {}, detail = "") {
  $("weigh-error-title").textContent = t(key, params);
  $("weigh-error-detail").textContent = detail ? t("detailPrefix") + detail : "";
  $("weigh-error").hidden = false;
  $("weigh-saved").hidden = true; // the last success is not this attempt's answer
}

function renderCountHint() {
  const input = $("weigh-count");
  input.placeholder = state.liveCount ? t("weigh.countAuto", { count: state.liveCount }) : t("weigh.countNeeded");
}

function renderSaved() {
  const box = $("weigh-saved");
  const r = state.lastSaved;
  if (!r) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.textContent = t("weigh.saved", {
    id: r.id,
    count: r.count,
    total: formatKg(r.total_weight_kg),
    avg: formatKg(r.avg_weight_kg),
  });
}

function request() {
  const total = parseNumber($("weigh-total").value);
  if (total === null || total <= 0) {
    showError("weigh.badTotal");
    $("weigh-total").focus();
    return null;
  }
  const body = { camera_id: state.camera, total_weight_kg: total };
  const countText = $("weigh-count").value.trim();
  if (countText) {
    const count = Number(countText);
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      showError("weigh.badCount");
      $("weigh-count").focus();
      return null;
    }
    body.count = count;
  }
  const note = $("weigh-note").value.trim();
  if (note) body.note = note;
  return body;
}

async function save(event) {
  event.preventDefault();
  $("weigh-error").hidden = true;
  const body = request();
  if (!body) return;
  const text = JSON.stringify(body);
  // The same weighing sent again (its answer was lost) keeps its key: recorded once.
  if (!state.pending || state.pending.text !== text) state.pending = { text, key: newKey() };
  const button = $("weigh-save");
  button.disabled = true;
  try {
    let response;
    try {
      response = await fetch("/api/weight/average", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": state.pending.key },
        body: text,
      });
    } catch (err) {
      showError("error.network", {}, String(err.message || err));
      return;
    }
    const payload = await response.json().catch(() => null);
    if (!response.ok) {
      const code = payload?.code ?? "unknown";
      const key = `weigh.error.${code}`;
      showError(t(key) === key ? "weigh.error.unknown" : key, {}, payload?.detail ?? `HTTP ${response.status}`);
      return;
    }
    state.pending = null;
    state.lastSaved = payload;
    $("weigh-total").value = "";
    $("weigh-count").value = "";
    $("weigh-note").value = "";
    renderSaved();
    await loadHistory();
  } finally {
    button.disabled = false;
  }
}

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function cell(row, text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

async function loadHistory() {
  let page;
  try {
    const response = await fetch(`/api/weight/records?from=${today()}&limit=${HISTORY_ROWS}`);
    if (!response.ok) return;
    page = await response.json();
  } catch {
    return;
  }
  const body = $("weigh-history-body");
  body.replaceChildren();
  for (const r of page.records) {
    const row = document.createElement("tr");
    row.dataset.recordId = r.id;
    cell(row, r.local_time.slice(11, 16));
    cell(row, r.camera);
    cell(row, `${r.count}${r.count_source === "auto" ? " " + t("weigh.auto") : ""}`, "num");
    cell(row, formatKg(r.total_weight_kg), "num");
    cell(row, formatKg(r.avg_weight_kg), "num");
    const photo = cell(row, "");
    if (r.snapshot_url) {
      const link = document.createElement("a");
      link.href = r.snapshot_url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = t("weigh.photo");
      photo.append(link);
    }
    cell(row, r.note);
    body.append(row);
  }
  $("weigh-empty").hidden = page.records.length > 0;
  $("weigh-history-total").textContent = page.total > page.records.length
    ? t("weigh.more", { shown: page.records.length, total: page.total })
    : "";
  $("weigh-csv").href = `/api/weight/records.csv?from=${today()}&to=${today()}`;
}

// live.js tells us the camera and its stable count.
export function setLiveCamera(cameraId) {
  state.camera = cameraId;
  $("weighing").hidden = false;
  renderCountHint();
  loadHistory();
}

export function setLiveCount(count) {
  if (count === state.liveCount) return;
  state.liveCount = count;
  renderCountHint();
}

export function rerender() {
  renderCountHint();
  renderSaved();
  loadHistory();
}

export function init() {
  $("weigh-form").addEventListener("submit", save);
}
