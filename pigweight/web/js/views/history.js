// The history view: weighings by date range and camera, with their snapshots (click to
// enlarge), each one correctable and deletable (record-actions.js), a summary per day, the
// CSV of what is shown, and "show more" for long ranges.
// The filters live in the URL (#history?from=…&to=…&camera=…), so a view can be shared.

import { answerDetail, call, getJson } from "../api.js";
import { formatKg, isoDay } from "../format.js";
import { csvDialect, language, locale, onLanguage, t, technicalDetail } from "../i18n.js";
import { snapshotThumb } from "../snapshot.js";
import { figuresText } from "./batch.js";
import { recordActions } from "./record-actions.js";

const $ = (id) => document.getElementById(id);
const PAGE_ROWS = 50;
const DEFAULT_DAYS = 7;

const state = {
  shown: false,
  names: {}, // camera id -> name
  filter: { from: "", to: "", camera: "", batch: "" },
  batches: [], // every batch, for the filter and the figures of the one picked
  records: [],
  total: 0,
  summary: [],
  loaded: false,
  error: null, // {key, params, detail}
  seq: 0,
  loadingMore: false,
};

// "2026-11-26T11:02:03+03:00" -> "26.11.2026" / "26/11/2026": the farm's date, not the browser's.
function formatDate(isoDate) {
  const [y, m, d] = isoDate.slice(0, 10).split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(locale(), { timeZone: "UTC" });
}

function cameraName(id) {
  return state.names[id] || id;
}

function daysAgo(days) {
  const date = new Date();
  date.setDate(date.getDate() - days);
  return isoDay(date);
}

// --- filters and the URL -------------------------------------------------------------------

function query(extra = {}) {
  const params = new URLSearchParams();
  const { from, to, camera, batch } = state.filter;
  if (from) params.set("from", from);
  if (to) params.set("to", to);
  if (camera) params.set("camera", camera);
  if (batch) params.set("batch", batch);
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params.toString();
}

function readHash() {
  const [name, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  if (name !== "history" || !search) return false;
  const params = new URLSearchParams(search);
  state.filter = {
    from: params.get("from") ?? "",
    to: params.get("to") ?? "",
    camera: params.get("camera") ?? "",
    batch: params.get("batch") ?? "",
  };
  return true;
}

function renderFilters() {
  $("history-from").value = state.filter.from;
  $("history-to").value = state.filter.to;
  $("history-camera").value = state.filter.camera;
  $("history-batch").value = state.filter.batch;
  const today = isoDay();
  for (const button of document.querySelectorAll(".history-range")) {
    const days = Number(button.dataset.days);
    const on = state.filter.to === today && state.filter.from === daysAgo(days - 1);
    button.setAttribute("aria-pressed", String(on));
  }
  $("history-csv").href = `/api/weight/records.csv?${query(csvDialect())}`;
  $("history-xlsx").href = `/api/weight/records.xlsx?${query({ lang: language() })}`;
}

function applyFilters() {
  state.filter = {
    from: $("history-from").value,
    to: $("history-to").value,
    camera: $("history-camera").value,
    batch: $("history-batch").value,
  };
  if (state.shown) window.history.replaceState(null, "", `#history?${query()}`);
  renderFilters();
  load();
}

function renderCameras(cameras) {
  state.names = Object.fromEntries(cameras.map((c) => [c.id, c.name || c.id]));
  const select = $("history-camera");
  const all = select.options[0];
  const ids = cameras.map((c) => c.id);
  // A camera taken out of the configuration still has its records: keep it choosable.
  if (state.filter.camera && !ids.includes(state.filter.camera)) ids.push(state.filter.camera);
  select.replaceChildren(
    all,
    ...ids.map((id) => {
      const option = document.createElement("option");
      option.value = id;
      option.textContent = cameraName(id);
      return option;
    }),
  );
  select.value = state.filter.camera;
}

function batchLabel(b) {
  return b.open ? b.name : t("batch.closedMark", { name: b.name });
}

function renderBatches() {
  const select = $("history-batch");
  const all = select.options[0];
  select.replaceChildren(
    all,
    ...state.batches.map((b) => new Option(`${batchLabel(b)} · ${cameraName(b.camera)}`, String(b.id))),
  );
  select.value = state.filter.batch;
  const picked = state.batches.find((b) => String(b.id) === state.filter.batch);
  const figures = $("history-batch-figures");
  figures.hidden = !picked;
  figures.textContent = picked
    ? t("history.batchFigures", {
        name: picked.name,
        closed: picked.open ? "" : t("history.batchClosed"),
        figures: figuresText(picked),
      })
    : "";
  const over = $("history-batch-over");
  over.hidden = !picked?.over_count;
  over.textContent = picked?.over_count
    ? t("batch.over", { animals: picked.animals, expected: picked.expected_head })
    : "";
}

async function loadBatches() {
  // Unanswered, the records still show; the filter lists no batch.
  const page = await getJson("/api/batches?limit=500");
  if (page) state.batches = page.batches;
  renderBatches();
}

async function loadCameras() {
  // Unanswered, the records still show, by camera id.
  const cameras = await getJson("/api/cameras");
  if (cameras) renderCameras(cameras);
}

// --- loading -----------------------------------------------------------------------------

class LoadError extends Error {
  constructor(key, detail) {
    super(detail);
    this.key = key;
    this.detail = detail;
  }
}

// The JSON of GET `url`; a lost connection or a refusal is a LoadError.
async function loadJson(url) {
  const answer = await call("GET", url);
  if (answer.status === 0) throw new LoadError("error.network", answerDetail(answer));
  if (!answer.ok || answer.payload === null) throw new LoadError("history.error.load", answerDetail(answer));
  return answer.payload;
}

async function load() {
  const seq = ++state.seq;
  const { from, to } = state.filter;
  if (from && to && from > to) {
    state.error = { key: "history.error.range", params: {}, detail: "" };
    state.records = [];
    state.summary = [];
    state.total = 0;
    render();
    return;
  }
  loadBatches(); // the picked batch's figures change with its records
  try {
    const [page, summary] = await Promise.all([
      loadJson(`/api/weight/records?${query({ limit: PAGE_ROWS })}`),
      loadJson(`/api/weight/summary?${query()}`),
    ]);
    if (seq !== state.seq) return; // the filters changed while this was on its way
    state.records = page.records;
    state.total = page.total;
    state.summary = summary;
    state.error = null;
  } catch (error) {
    if (seq !== state.seq) return;
    state.error = { key: error.key, params: {}, detail: error.detail };
  }
  state.loaded = true;
  render();
}

async function loadMore() {
  if (state.loadingMore) return;
  const seq = state.seq;
  state.loadingMore = true;
  $("history-more").disabled = true;
  try {
    const offset = state.records.length;
    const page = await loadJson(`/api/weight/records?${query({ limit: PAGE_ROWS, offset })}`);
    if (seq !== state.seq) return;
    const known = new Set(state.records.map((r) => r.id));
    state.records.push(...page.records.filter((r) => !known.has(r.id)));
    state.total = page.total;
    state.error = null;
  } catch (error) {
    if (seq !== state.seq) return;
    state.error = { key: error.key, params: {}, detail: error.detail };
  } finally {
    state.loadingMore = false;
    $("history-more").disabled = false;
  }
  render();
}

// --- rendering ---------------------------------------------------------------------------

// A cell with its column's name in data-label: on phones the rows become cards that show it.
function cell(row, label, content, className = "") {
  const td = document.createElement("td");
  td.dataset.label = t(label);
  if (className) td.className = className;
  if (typeof content === "string") td.textContent = content;
  else if (content) td.append(content);
  row.append(td);
  return td;
}

function thumb(record) {
  const caption = t("history.photoCaption", {
    id: record.id,
    date: formatDate(record.local_time),
    time: record.local_time.slice(11, 16),
    count: record.count,
    avg: formatKg(record.avg_weight_kg),
  });
  return snapshotThumb(record, "history-thumb", caption, t("history.noPhoto"));
}

function countCell(record) {
  const span = document.createElement("span");
  span.append(String(record.count), " ");
  const badge = document.createElement("span");
  badge.className = "count-source";
  badge.dataset.source = record.count_source;
  badge.textContent = t(`history.source.${record.count_source}`);
  span.append(badge);
  return span;
}

function recordRow(record) {
  const row = document.createElement("tr");
  row.dataset.recordId = record.id;
  cell(row, "history.col.time", `${formatDate(record.local_time)} ${record.local_time.slice(11, 16)}`);
  cell(row, "history.col.camera", cameraName(record.camera));
  cell(row, "history.col.batch", record.batch_name ?? "", record.batch_name ? "" : "is-blank");
  cell(row, "history.col.count", countCell(record), "num");
  cell(row, "history.col.total", formatKg(record.total_weight_kg), "num");
  cell(row, "history.col.avg", formatKg(record.avg_weight_kg), "num strong");
  cell(row, "history.col.photo", thumb(record), "history-photo");
  const note = cell(row, "history.col.note", record.note, record.note ? "note" : "note is-blank");
  if (record.corrects_id) {
    const fixed = document.createElement("span");
    fixed.className = "history-corrected";
    fixed.textContent = t("record.corrected", { id: record.corrects_id });
    note.classList.remove("is-blank");
    note.append(fixed);
  }
  const actions = cell(row, "history.col.actions", null, "history-actions operator-only");
  actions.append(recordActions(record, actions, changed));
  return row;
}

// A record was corrected or deleted here: the table, the summary and the live panel's list
// read again.
function changed() {
  document.dispatchEvent(new CustomEvent("pigweight:records-changed", { detail: "history" }));
  load();
}

function summaryRow(day, dateText, cameraText) {
  const row = document.createElement("tr");
  cell(row, "history.col.date", dateText);
  cell(row, "history.col.camera", cameraText);
  cell(row, "history.col.weighings", String(day.weighings), "num");
  cell(row, "history.col.animals", String(day.animals), "num");
  cell(row, "history.col.total", formatKg(day.total_weight_kg), "num");
  cell(row, "history.col.mean", formatKg(day.mean_avg_weight_kg), "num strong");
  cell(
    row,
    "history.col.range",
    `${formatKg(day.min_avg_weight_kg)} – ${formatKg(day.max_avg_weight_kg)}`,
    "num",
  );
  return row;
}

function renderSummary() {
  const days = state.summary;
  $("history-summary-body").replaceChildren(
    ...days.map((day) => summaryRow(day, formatDate(day.date), cameraName(day.camera))),
  );
  const foot = $("history-summary-foot");
  foot.replaceChildren();
  if (days.length > 1) {
    const sum = (name) => days.reduce((acc, d) => acc + d[name], 0);
    const animals = sum("animals");
    const total = Math.round(sum("total_weight_kg") * 1000) / 1000;
    const all = {
      weighings: sum("weighings"),
      animals,
      total_weight_kg: total,
      mean_avg_weight_kg: Math.round((total / animals) * 1000) / 1000,
      min_avg_weight_kg: Math.min(...days.map((d) => d.min_avg_weight_kg)),
      max_avg_weight_kg: Math.max(...days.map((d) => d.max_avg_weight_kg)),
    };
    foot.append(summaryRow(all, t("history.totalRow"), ""));
  }
  $("history-summary").hidden = days.length === 0;
  $("history-summary-empty").hidden = !state.loaded || days.length > 0 || state.error !== null;
}

function renderRecords() {
  // A correction being typed is not swept away by a reload: the table is drawn again when
  // its form closes.
  if ($("history-records-body").querySelector(".weigh-fix")) return;
  $("history-records-body").replaceChildren(...state.records.map(recordRow));
  const none = state.records.length === 0;
  $("history-records").hidden = none;
  $("history-records-empty").hidden = !state.loaded || !none || state.error !== null;
  $("history-shown").textContent = none
    ? ""
    : t("history.shown", { shown: state.records.length, total: state.total });
  $("history-more").hidden = state.records.length >= state.total;
}

function renderError() {
  const error = state.error;
  $("history-error").hidden = !error;
  $("history-error-title").textContent = error ? t(error.key, error.params) : "";
  $("history-error-detail").textContent = technicalDetail(error?.detail);
}

function render() {
  renderFilters();
  renderBatches();
  renderError();
  renderSummary();
  renderRecords();
}

// --- the view ----------------------------------------------------------------------------

export function init() {
  if (!readHash()) {
    state.filter = { from: daysAgo(DEFAULT_DAYS - 1), to: isoDay(), camera: "", batch: "" };
  }
  const form = $("history-filters");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    applyFilters();
  });
  for (const id of ["history-from", "history-to", "history-camera"]) {
    $(id).addEventListener("change", applyFilters);
  }
  for (const button of document.querySelectorAll(".history-range")) {
    button.addEventListener("click", () => {
      $("history-from").value = daysAgo(Number(button.dataset.days) - 1);
      $("history-to").value = isoDay();
      applyFilters();
    });
  }
  // A batch is its own span of days: picking one shows all of it.
  $("history-batch").addEventListener("change", () => {
    if ($("history-batch").value) {
      $("history-from").value = "";
      $("history-to").value = "";
    }
    applyFilters();
  });
  $("history-more").addEventListener("click", loadMore);
  document.addEventListener("pigweight:weighing-saved", () => {
    if (state.shown) load();
  });
  document.addEventListener("pigweight:records-changed", (event) => {
    if (state.shown && event.detail !== "history") load();
  });
  onLanguage(render);
  render();
}

export function show() {
  state.shown = true;
  if (readHash()) renderFilters();
  loadCameras().then(() => {
    if (state.shown) render();
  });
  load();
}

export function hide() {
  state.shown = false;
}
