// The live view: a camera picker with each camera's state, its MJPEG picture (masks and
// ids drawn by the server), the count in large digits with its stability, and a chart of
// the last 10 minutes. Updates come over WS /ws/count; a lost socket is reopened after a
// pause, and the picker's states are refreshed every few seconds.

import uPlot from "../../vendor/uplot.esm.js";
import { call, getJson } from "../api.js";
import { TIME_INCRS, timeLabels } from "../chart-time.js";
import { hasText, language, localParams, locale, onLanguage, t } from "../i18n.js";
import { createLiveVideo } from "./live-video.js";
import { createLiveZone } from "./live-zone.js";
import {
  init as initWeighing,
  rerender as rerenderWeighing,
  setLiveCamera,
  setLiveCount,
  fillWeighing,
  reloadList,
  setScaleReading,
} from "./weighing.js";

const $ = (id) => document.getElementById(id);
const RETRY_MS = 3000;
const CAMERAS_EVERY_MS = 5000;
const SCALE_EVERY_MS = 500;
const SCALE_FRESH_S = 3; // an older reading means the indicator went silent
const CHART_WINDOW_S = 600;
const CHART_HEIGHT = 140;
const STORAGE_KEY = "pigweight.camera";

const state = {
  cameras: [],
  camera: null, // id of the camera shown
  status: "stopped",
  lastError: null,
  count: null,
  stable: null, // the stable count, null while it settles
  socket: null,
  points: { ts: [], count: [], stable: [] },
  chart: null,
  shown: false,
  transport: null, // "webrtc" | "mjpeg"
  fallbackReason: "",
  countAt: null, // performance.now() when the last count came
};
const STALE_S = 2; // a count older than this is greyed out
let video = null; // createLiveVideo(): the picture, WebRTC or MJPEG
let zone = null; // createLiveZone(): the platform zone over the picture

function cameraLabel(camera) {
  const status = camera.status?.state ?? "stopped";
  return `${camera.name} — ${t(`live.${status}`)}`;
}

function renderPicker() {
  const select = $("camera-select");
  const chosen = state.camera;
  select.replaceChildren(
    ...state.cameras.map((camera) => {
      const option = document.createElement("option");
      option.value = camera.id;
      option.textContent = cameraLabel(camera);
      option.selected = camera.id === chosen;
      return option;
    }),
  );
  select.disabled = state.cameras.length < 2;
}

function render() {
  const none = state.cameras.length === 0;
  $("live-none").hidden = !none;
  const transport = $("live-transport");
  transport.hidden = none || !state.transport;
  transport.dataset.transport = state.transport ?? "";
  transport.textContent = state.transport ? t(`live.transport.${state.transport}`) : "";
  transport.title = state.fallbackReason ? t("live.fallbackWhy", { reason: state.fallbackReason }) : "";
  // A camera that is down keeps its last picture on screen, marked as such.
  const stale = !none && state.transport !== null && state.status !== "streaming";
  $("live-stale").hidden = !stale;
  $("live-picture").classList.toggle("is-stale", stale);
  const status = $("live-status");
  status.dataset.state = none ? "stopped" : state.status;
  status.textContent = none ? "" : t(`live.${state.status}`);
  const error = $("live-error");
  const showError = state.lastError && state.status !== "streaming";
  error.hidden = !showError;
  error.textContent = showError ? t("live.lastError", { error: trouble(state.lastErrorKind, state.lastError) }) : "";
  // The steady count when the frame agrees with it; else the frame's own count (settling):
  // never a number the picture contradicts (the steady count lags by its window).
  const shown = state.stable !== null && state.stable === state.count ? state.stable : state.count;
  $("live-count").textContent = shown ?? "—";
  $("live-count").classList.toggle("is-empty", shown === null);
  renderAge();
  const stability = $("live-stability");
  const mode =
    state.status !== "streaming" || state.count === null
      ? "none"
      : state.stable !== null && state.stable === state.count
        ? "stable"
        : "settling";
  stability.dataset.state = mode;
  stability.textContent = mode === "none" ? "" : t(`live.${mode}`);
  renderPicker();
}

// How old the count on screen is: it greys out past STALE_S (a camera that stopped counting
// keeps its last number, which must not pass for the animals on the platform now).
function renderAge() {
  const line = $("live-count-age");
  const counting = state.status === "streaming" && state.countAt !== null;
  line.hidden = !counting;
  const age = counting ? (performance.now() - state.countAt) / 1000 : 0;
  const old = counting && age > STALE_S;
  $("live-count").classList.toggle("is-old", old);
  line.dataset.state = old ? "old" : "fresh";
  line.textContent = counting
    ? t(old ? "live.countOld" : "live.countAge", {
        seconds: age.toLocaleString(locale(), { maximumFractionDigits: 1, minimumFractionDigits: 1 }),
      })
    : "";
}

// A camera's or a scale's last error in the page's language: its kind (the server's code);
// the English words themselves on an English page only.
function trouble(kind, error) {
  const said = t(`live.trouble.${kind ?? "other"}`);
  return language() === "en" && error ? `${said} — ${error}` : said;
}

// --- chart -------------------------------------------------------------------------------

function chartWidth() {
  return Math.max(200, $("live-chart").clientWidth || 600);
}

function makeChart() {
  const { ts, count, stable } = state.points;
  state.chart?.destroy();
  state.chart = new uPlot(
    {
      width: chartWidth(),
      height: CHART_HEIGHT,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // Always the last ten minutes, history and all: a fresh page is not "10 seconds".
        x: {
          time: true,
          range: (_u, _min, max) => {
            const end = Number.isFinite(max) ? max : Date.now() / 1000;
            return [end - CHART_WINDOW_S, end];
          },
        },
        y: { range: (_u, min, max) => [0, Math.max(5, max + 1)] },
      },
      axes: [
        {
          space: 90, // px between time labels
          incrs: TIME_INCRS,
          values: (_u, splits, _axis, _space, incr) => {
            const labels = timeLabels(splits, incr, locale());
            $("live-chart").dataset.axis = labels.join(" · "); // drawn on a canvas: kept here too
            return labels;
          },
        },
        { size: 40 },
      ],
      series: [
        {},
        { label: t("live.chartCount"), stroke: "#9bb5a6", width: 1, points: { show: false } },
        { label: t("live.chartStable"), stroke: "#2f6b4f", width: 2.5, points: { show: false } },
      ],
    },
    [ts, count, stable],
    $("live-chart"),
  );
  markChart();
}

// What the chart holds, for whoever looks at the page's DOM (tests, the curious).
function markChart() {
  const p = state.points;
  $("live-chart").dataset.points = String(p.ts.length);
  $("live-chart").dataset.since = p.ts.length ? String(p.ts[0]) : "";
}

function addPoint(ts, count, stable) {
  const p = state.points;
  if (p.ts.length && ts <= p.ts[p.ts.length - 1]) return;
  p.ts.push(ts);
  p.count.push(count);
  p.stable.push(stable);
  const oldest = ts - CHART_WINDOW_S;
  while (p.ts.length && p.ts[0] < oldest) {
    p.ts.shift();
    p.count.shift();
    p.stable.shift();
  }
}

let redrawQueued = false;

function redrawChart() {
  if (redrawQueued || !state.chart || !state.shown) return;
  redrawQueued = true;
  requestAnimationFrame(() => {
    redrawQueued = false;
    const p = state.points;
    state.chart.setData([p.ts, p.count, p.stable]);
    markChart();
  });
}

// The stored counts of the last ten minutes go in front of the points the socket has
// brought meanwhile (it often answers first: appending them after it dropped them all).
function addHistory(points) {
  const p = state.points;
  const first = p.ts.length ? p.ts[0] : Infinity;
  const older = points.filter((point) => point.ts < first);
  p.ts.unshift(...older.map((point) => point.ts));
  p.count.unshift(...older.map((point) => point.count));
  p.stable.unshift(...older.map((point) => point.stable_count));
}

async function loadSeries(cameraId) {
  state.points = { ts: [], count: [], stable: [] };
  // Unanswered, the socket's points still fill the chart.
  const series = await getJson(`/api/count_series?id=${encodeURIComponent(cameraId)}&window_s=${CHART_WINDOW_S}`);
  if (series && cameraId === state.camera) addHistory(series.points);
  if (state.shown) makeChart();
}

// --- camera and socket ---------------------------------------------------------------------

function connect(cameraId) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/ws/count?id=${encodeURIComponent(cameraId)}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onmessage = (event) => {
    if (socket !== state.socket) return;
    const message = JSON.parse(event.data);
    state.status = message.status;
    state.lastError = message.last_error ?? null;
    state.lastErrorKind = message.last_error_kind ?? null;
    const shown = state.cameras.find((c) => c.id === cameraId);
    if (shown) shown.status = { ...shown.status, state: message.status }; // the picker too
    state.count = message.count ?? null;
    state.stable = message.stable_count ?? null;
    if (message.count !== null && message.count !== undefined) {
      state.countAt = performance.now();
      if (!performance.getEntriesByName("pigweight-first-count").length) {
        performance.mark("pigweight-first-count"); // bench/page.py
      }
      addPoint(message.ts, message.count, message.stable_count);
      redrawChart();
    }
    setLiveCount(message.status === "streaming" ? message.stable_count : null);
    if (shown && "zone" in message) shown.zone = message.zone; // the zone in effect
    zone.redraw();
    render();
  };
  socket.onclose = () => {
    if (socket !== state.socket) return; // replaced by another camera's socket
    state.status = "reconnecting";
    render();
    setTimeout(() => {
      if (socket === state.socket) connect(cameraId);
    }, RETRY_MS);
  };
}

function choose(cameraId) {
  const camera = state.cameras.find((c) => c.id === cameraId);
  if (!camera) return;
  state.camera = camera.id;
  state.status = camera.status.state;
  state.lastError = camera.status.last_error;
  state.lastErrorKind = camera.status.last_error_kind ?? null;
  state.count = camera.status.count;
  state.stable = camera.status.stable_count;
  state.countAt = null; // no count of this camera has come over the socket yet
  try {
    window.localStorage.setItem(STORAGE_KEY, camera.id);
  } catch {
    // Not remembered: the first camera next time.
  }
  const old = state.socket;
  state.socket = null;
  old?.close();
  video.start(camera.id);
  connect(camera.id);
  pollScale(camera);
  zone.reset();
  setLiveCamera(camera.id);
  loadSeries(camera.id);
  render();
}

// The platform's scale, when the camera has one: its reading beside the count, and the
// weighing panel's total.
let scaleTimer = 0;

function renderScale(body) {
  const line = $("live-scale");
  if (body === undefined) {
    line.hidden = true;
    return;
  }
  line.hidden = false;
  const reading = body?.reading;
  const fresh = reading && reading.age_s <= SCALE_FRESH_S;
  let mode = "lost";
  const why = body?.last_error ? trouble(body.last_error_kind, body.last_error) : "";
  let text = t("live.scaleLost", { error: why ? `(${why})` : "" });
  if (fresh && reading.weight_kg === null) {
    mode = "moving";
    text = t(`live.scaleStatus.${reading.status}`);
  } else if (fresh) {
    mode = reading.stable ? "stable" : "moving";
    const kg = reading.weight_kg.toLocaleString(locale(), { maximumFractionDigits: 3 });
    text = t(reading.stable ? "live.scaleStable" : "live.scaleMoving", { kg });
  }
  line.dataset.state = mode;
  line.textContent = text;
  renderAuto(body?.events);
}

// Why the platform asks: its code and numbers, said in the page's language.
function autoWhy(action) {
  const params = localParams(action.params);
  if (action.code === "not_recorded") {
    const why = params.problem && hasText(`problem.${params.problem}`) ? t(`problem.${params.problem}`, params) : "";
    return `${t("live.autoWhy.not_recorded")} ${why}`.trim();
  }
  const key = `live.autoWhy.${action.code}`;
  return hasText(key) ? t(key, params) : t("live.autoWhy.other");
}

// The platform's automatic weighing: its state, what it recorded, what it asks.
function renderAuto(events) {
  $("live-auto").hidden = !events;
  if (!events) return;
  $("live-auto-state").textContent = t(`live.auto.${events.state}`);
  const record = events.last_record;
  if (record && record.id !== state.lastAutoRecord) {
    state.lastAutoRecord = record.id;
    reloadList(); // it belongs at the top of today's weighings
  }
  $("live-auto-record").hidden = !record;
  if (record) {
    const total = record.total_kg.toLocaleString(locale(), { maximumFractionDigits: 3 });
    $("live-auto-record").textContent = t("live.autoRecorded", { id: record.id, count: record.count, total });
  }
  const pending = events.pending;
  $("live-auto-pending").hidden = !pending;
  if (pending) {
    $("live-auto-pending-text").textContent = t("live.autoConfirm", { reason: autoWhy(pending) });
  }
  $("live-auto-warning").hidden = !events.warning;
  if (events.warning) $("live-auto-warning").textContent = t("live.autoRezero", { reason: autoWhy(events.warning) });
}

async function dismissPending() {
  // Unanswered, the next poll shows it again: nothing is lost.
  await call("POST", `/api/scales/${encodeURIComponent(state.camera)}/dismiss`);
}

async function pollScale(camera) {
  clearTimeout(scaleTimer);
  if (!camera.has_scale) {
    renderScale(undefined);
    setScaleReading(undefined);
    return;
  }
  // Unanswered (the server is away): shown as a silent scale.
  const body = await getJson(`/api/scales/${encodeURIComponent(camera.id)}`);
  if (camera.id !== state.camera) return;
  state.scaleBody = body;
  renderScale(body);
  const reading = body?.reading;
  setScaleReading(reading && reading.age_s <= SCALE_FRESH_S ? reading : null);
  scaleTimer = setTimeout(() => pollScale(camera), SCALE_EVERY_MS);
}

async function refreshCameras() {
  const cameras = await getJson("/api/cameras");
  if (!cameras) return;
  state.cameras = cameras;
  renderPicker();
  zone?.render();
}

async function main() {
  await refreshCameras();
  if (!state.cameras.length) {
    render();
    return;
  }
  let remembered = null;
  try {
    remembered = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    // Private mode: the first camera.
  }
  const first =
    state.cameras.find((c) => c.id === remembered) ??
    state.cameras.find((c) => c.enabled) ??
    state.cameras[0];
  choose(first.id);
  setInterval(() => {
    if (state.shown && document.visibilityState === "visible") refreshCameras();
  }, CAMERAS_EVERY_MS);
}

export function init() {
  initWeighing();
  setInterval(renderAge, 500); // the age ticks on between counts
  video = createLiveVideo(
    { video: $("live-video"), img: $("live-stream") },
    (transport, reason) => {
      state.transport = transport;
      state.fallbackReason = reason;
      render();
      zone.redraw();
    },
  );
  zone = createLiveZone(
    {
      video: $("live-video"),
      img: $("live-stream"),
      canvas: $("live-zone"),
      edit: $("live-zone-edit"),
      bar: $("live-zone-bar"),
      hint: $("live-zone-hint"),
      undo: $("live-zone-undo"),
      save: $("live-zone-save"),
      cancel: $("live-zone-cancel"),
      remove: $("live-zone-remove"),
      error: $("live-zone-error"),
      errorTitle: $("live-zone-error-title"),
      errorDetail: $("live-zone-error-detail"),
    },
    () => state.cameras.find((c) => c.id === state.camera) ?? null,
  );
  $("camera-select").addEventListener("change", (event) => choose(event.target.value));
  $("live-auto-fill").addEventListener("click", () => {
    const pending = state.scaleBody?.events?.pending;
    if (pending) fillWeighing(pending.count, pending.total_kg);
    dismissPending();
  });
  $("live-auto-dismiss").addEventListener("click", dismissPending);
  onLanguage(() => {
    render();
    zone.render();
    const camera = state.cameras.find((c) => c.id === state.camera);
    if (camera?.has_scale) renderScale(state.scaleBody);
    rerenderWeighing();
    if (state.shown && state.camera) makeChart();
  });
  // The chart follows its box (a window resize, the phone layout, a late style sheet).
  new ResizeObserver(() => {
    if (state.chart && state.shown) state.chart.setSize({ width: chartWidth(), height: CHART_HEIGHT });
  }).observe($("live-chart"));
  render();
  main();
}

export function show() {
  state.shown = true;
  if (state.camera) makeChart();
}

export function hide() {
  state.shown = false;
}

