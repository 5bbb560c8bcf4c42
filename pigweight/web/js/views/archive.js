// The video archive: upload a recording, follow its indexing, play it (HLS), and see the
// count and the animals' outlines of the very frame on screen. The samples (count and
// outlines per counted frame) are fetched once per minute of video and refreshed while the
// indexer is still writing them; the frame on screen is read from the video clock with
// requestVideoFrameCallback, so the outlines never lag the picture.

import { onLanguage, t, locale } from "../i18n.js";
import { Timeline, parseThumbs } from "./archive-timeline.js";
import { UploadError, discardUpload, uploadFile } from "./archive-upload.js";

const $ = (id) => document.getElementById(id);
const WINDOW_S = 60; // samples are fetched a minute of video at a time
const SERIES_POINTS = 600; // timeline resolution, whatever the length of the file
const REFRESH_MS = 2500; // while indexing: series, samples and thumbnails at most this often
const SEEK_S = 5;
const LONG_SEEK_S = 60;
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];
const PENDING = ["queued", "indexing"];
const OUTLINE_FILL = "rgba(255, 214, 10, 0.28)";
const OUTLINE_STROKE = "rgba(255, 214, 10, 0.95)";

let Hls = null; // hls.js (370 KB) loads when a recording is first played, not with the page
let timeline = null;
let started = false;

const state = {
  videos: [],
  video: null, // the recording in the player (its /api/video_file entry)
  hls: null,
  windows: new Map(), // window number -> {samples, complete, loading}
  samples: [], // every loaded sample, by time
  intervalS: 1,
  frameT: null, // file time of the frame on screen
  shown: null, // the sample whose count and outlines are on screen
  asking: false,
  lastAsk: 0,
  uploadLine: null, // {key, params} of the upload's status line
  lastRefresh: 0,
  refreshTimer: 0,
  sockets: new Map(),
  upload: null, // {controller, uploadId}
  coverUntil: null,
  weighKey: null,
  error: null, // {titleKey, detail, params} on screen
};

// 75 -> "1:15", 3725 -> "1:02:05"
function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

// The time of a frame, to a hundredth: 6.04 -> "0:06.04"
function frameClock(seconds) {
  const hundredths = Math.round((seconds % 1) * 100) % 100;
  return `${clock(seconds)}${locale() === "ru-RU" ? "," : "."}${String(hundredths).padStart(2, "0")}`;
}

function megabytes(bytes) {
  return (bytes / 2 ** 20).toLocaleString(locale(), { maximumFractionDigits: 1 });
}

// The title in the operator's language; the detail is the server's or the browser's reason.
function showError(titleKey, detail = "", params = {}) {
  state.error = { titleKey, detail, params };
  $("archive-error").hidden = false;
  $("archive-error-title").textContent = t(titleKey, params);
  $("archive-error-detail").textContent = detail;
}

function clearError() {
  state.error = null;
  $("archive-error").hidden = true;
}

async function getJson(url) {
  let response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch (err) {
    throw new UploadError(0, "network", String(err.message || err));
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!response.ok) throw new UploadError(response.status, payload?.code, payload?.detail ?? `HTTP ${response.status}`);
  return payload;
}

// --- the list of recordings --------------------------------------------------------------

function progressText(index, progress) {
  if (index.state === "indexing" || index.state === "queued") {
    const percent = Math.floor(progress?.percent ?? (index.samples_total ? (100 * index.samples_done) / index.samples_total : 0));
    const eta = progress?.eta_s;
    const key = index.state === "queued" ? "archive.state.queued" : eta != null ? "archive.state.indexingEta" : "archive.state.indexing";
    return t(key, { percent, eta: clock(eta ?? 0) });
  }
  return t(`archive.state.${index.state}`, { error: index.error ?? "" });
}

function renderItem(video) {
  let item = document.querySelector(`#archive-list [data-id="${video.id}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.id = video.id;
    item.innerHTML = `<button type="button" class="archive-item"><span class="archive-item-name"></span>
      <span class="archive-item-meta"></span><span class="archive-item-state" role="status"></span>
      <progress class="archive-item-bar" max="100"></progress></button>`;
    item.querySelector("button").addEventListener("click", () => open(video.id));
    $("archive-list").append(item);
  }
  const current = state.video?.id === video.id;
  const button = item.querySelector("button");
  if (current) button.setAttribute("aria-current", "true");
  else button.removeAttribute("aria-current");
  item.querySelector(".archive-item-name").textContent = video.name;
  item.querySelector(".archive-item-meta").textContent = `${clock(video.duration_s)} · ${video.width}×${video.height} · ${megabytes(video.size_bytes)} ${t("archive.mb")}`;
  const status = item.querySelector(".archive-item-state");
  status.dataset.state = video.index.state;
  status.textContent = progressText(video.index, video.progress);
  const bar = item.querySelector(".archive-item-bar");
  bar.hidden = !PENDING.includes(video.index.state);
  bar.value = video.progress?.percent ?? 0;
}

function renderList() {
  $("archive-list-empty").hidden = state.videos.length > 0;
  $("archive-empty").hidden = state.video !== null;
  for (const video of state.videos) renderItem(video);
}

async function loadList() {
  try {
    state.videos = await getJson("/api/video_file");
  } catch (err) {
    showError("archive.error.list", err.detail);
    return;
  }
  renderList();
  for (const video of state.videos) watch(video);
}

// Index progress over the WebSocket (the server closes it once the job has ended); a
// dropped socket comes back after a pause.
function watch(video) {
  if (!PENDING.includes(video.index.state) || state.sockets.has(video.id)) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/video_file?id=${video.id}`);
  state.sockets.set(video.id, socket);
  socket.onmessage = (event) => onProgress(video.id, JSON.parse(event.data));
  socket.onclose = () => {
    state.sockets.delete(video.id);
    const now = state.videos.find((v) => v.id === video.id);
    if (now && PENDING.includes(now.index.state)) setTimeout(() => watch(now), 2000);
  };
}

function onProgress(id, progress) {
  const video = state.videos.find((v) => v.id === id);
  if (!video) return;
  video.progress = progress;
  Object.assign(video.index, {
    state: progress.state,
    error: progress.error,
    samples_done: progress.samples_done,
    samples_total: progress.samples_total,
    indexed_until_s: progress.indexed_until_s,
  });
  renderItem(video);
  if (state.video?.id === id) {
    renderIndexState();
    scheduleRefresh(!PENDING.includes(progress.state));
  }
}

// --- the player ---------------------------------------------------------------------------

async function open(id) {
  const video = state.videos.find((v) => v.id === id);
  if (!video) return;
  clearError();
  state.video = video;
  state.windows = new Map();
  state.samples = [];
  state.shown = null;
  state.frameT = null;
  history.replaceState(null, "", `#archive?id=${id}`);
  renderList();
  renderCount();
  renderIndexState();
  timeline.reset(video.duration_s, `/api/video_file/${id}/`);
  setControls(true);
  scheduleRefresh(true);
  await attach(video);
}

async function attach(video) {
  const element = $("archive-video");
  if (state.hls) state.hls.destroy();
  state.hls = null;
  try {
    if (Hls === null) Hls = (await import("../../vendor/hls.light.esm.js")).default;
  } catch {
    Hls = false; // the module did not load: native HLS or nothing
  }
  const url = video.hls_url;
  if (Hls && Hls.isSupported()) {
    const hls = new Hls({ maxBufferLength: 20 });
    let recovered = false;
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
        recovered = true; // a decoder hiccup: one recovery before giving up
        hls.recoverMediaError();
        return;
      }
      playbackFailed(url, `${data.type}: ${data.details}`);
    });
    hls.loadSource(url);
    hls.attachMedia(element);
    state.hls = hls;
  } else if (element.canPlayType("application/vnd.apple.mpegurl")) {
    element.src = url; // Safari, iOS: HLS natively
  } else {
    showError("archive.error.noHls");
  }
}

// Says why: the server's own reason when the playlist was refused, else the player's.
async function playbackFailed(url, detail) {
  let reason = detail;
  try {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) reason = (await response.json()).detail ?? reason;
  } catch {
    reason = t("archive.error.offline");
  }
  showError("archive.error.play", reason);
}

// Media time -> file time. hls.js maps the first segment to 0 (the segments' PTS offset
// of 1 s is removed), and so does Safari's native player for a VOD playlist.
function fileTime(mediaTime) {
  return mediaTime;
}

function seek(t) {
  const video = state.video;
  if (!video) return;
  const target = Math.min(Math.max(t, 0), Math.max(0, video.duration_s - 0.05));
  $("archive-video").currentTime = target;
}

function frameStep(direction) {
  const element = $("archive-video");
  element.pause();
  const fps = state.video?.fps || 25;
  const from = state.frameT ?? element.currentTime;
  // A fifth of a frame past the frame's start: lands on it whatever the rounding.
  seek(from + direction / fps + 0.2 / fps);
}

function togglePlay() {
  const element = $("archive-video");
  if (!state.video) return;
  if (element.paused) {
    element.play().catch((err) => showError("archive.error.play", String(err.message || err)));
  } else {
    element.pause();
  }
}

function setSpeed(step) {
  const select = $("archive-speed");
  const index = SPEEDS.indexOf(Number(select.value)) + step;
  if (index < 0 || index >= SPEEDS.length) return;
  select.value = String(SPEEDS[index]);
  $("archive-video").playbackRate = SPEEDS[index];
}

function setControls(on) {
  for (const id of ["archive-play", "archive-back", "archive-frame-back", "archive-frame-next", "archive-forward", "archive-speed", "archive-weigh"]) {
    $(id).disabled = !on;
  }
}

function renderPlayButton() {
  const button = $("archive-play");
  button.dataset.i18n = $("archive-video").paused ? "archive.play" : "archive.pause";
  button.textContent = t(button.dataset.i18n);
}

function renderClock() {
  const now = state.frameT ?? 0;
  $("archive-clock").textContent = `${frameClock(now)} / ${clock(state.video?.duration_s ?? 0)}`;
}

// --- the frame on screen: count and outlines ----------------------------------------------

// The latest sample at or before t, if it is recent enough to stand for the frame at t
// (the index counts one frame per interval): count_at_time's own rule.
function sampleAt(t) {
  const list = state.samples;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].t <= t + 1e-3) lo = mid + 1;
    else hi = mid;
  }
  const sample = lo ? list[lo - 1] : null;
  const reach = state.intervalS + 1 / (state.video?.fps || 25) + 1e-3;
  return sample && t - sample.t <= reach ? sample : null;
}

function onFrame(t) {
  state.frameT = t;
  const sample = sampleAt(t);
  state.shown = sample;
  renderCount();
  drawOutlines();
  renderClock();
  timeline.setPosition(t);
  if (state.coverUntil !== null && Math.abs(t - state.coverUntil) < 1) hideCover();
  const k = Math.floor(t / WINDOW_S);
  loadWindow(k);
  if (t % WINDOW_S > WINDOW_S - 10) loadWindow(k + 1); // before playback gets there
  if (sample === null) askCount(t);
}

// Where the index has no sample yet the server counts the frame now (and keeps it); the
// window is then read again for its outlines.
async function askCount(t) {
  if (state.asking || !state.video || performance.now() - state.lastAsk < 500) return;
  state.asking = true;
  state.lastAsk = performance.now();
  const id = state.video.id;
  try {
    await getJson(`/api/video_file/count_at_time?id=${id}&t=${t.toFixed(3)}`);
    if (state.video?.id !== id) return;
    const k = Math.floor(t / WINDOW_S);
    state.windows.delete(k);
    await loadWindow(k);
    if (state.frameT !== null && state.video?.id === id) onFrame(state.frameT);
  } catch (err) {
    if (err.status === 0) showError("archive.error.offline", err.detail);
  } finally {
    state.asking = false;
  }
}

async function loadWindow(k) {
  const video = state.video;
  if (!video || k < 0 || k * WINDOW_S > video.duration_s || state.windows.has(k)) return;
  const entry = { samples: [], complete: false };
  state.windows.set(k, entry);
  const from = k * WINDOW_S;
  const to = from + WINDOW_S - 0.0005; // windows do not share their edges
  const indexedUntil = video.index.indexed_until_s;
  try {
    const answer = await getJson(`/api/video_file/${video.id}/samples?from=${from}&to=${to}`);
    if (state.video !== video || state.windows.get(k) !== entry) return;
    state.intervalS = answer.interval_s;
    entry.samples = answer.samples;
    entry.complete = video.index.state === "done" || indexedUntil >= to;
  } catch (err) {
    state.windows.delete(k);
    if (err.status === 0) showError("archive.error.offline", err.detail);
    return;
  }
  state.samples = [...state.windows.keys()].sort((a, b) => a - b).flatMap((w) => state.windows.get(w).samples);
  if (state.frameT !== null && Math.floor(state.frameT / WINDOW_S) === k) {
    state.shown = sampleAt(state.frameT);
    renderCount();
    drawOutlines();
  }
}

function renderCount() {
  const value = $("archive-count");
  const sample = state.shown;
  value.classList.toggle("is-empty", sample === null);
  value.textContent = sample === null ? "—" : String(sample.count);
  value.dataset.frameT = state.frameT ?? "";
  value.dataset.sampleT = sample?.t ?? "";
  const frame = $("archive-frame");
  if (state.frameT === null) frame.textContent = "";
  else if (sample === null) frame.textContent = t("archive.counting", { time: frameClock(state.frameT) });
  else frame.textContent = t("archive.frameAt", { time: frameClock(state.frameT), confidence: Math.round(sample.confidence * 100) });
}

// The canvas covers the picture itself, not the letterbox around it.
function placeCanvas(canvas) {
  const element = $("archive-video");
  const boxW = element.clientWidth;
  const boxH = element.clientHeight;
  const aspect = element.videoWidth && element.videoHeight ? element.videoWidth / element.videoHeight : 16 / 9;
  const width = Math.min(boxW, boxH * aspect);
  const height = width / aspect;
  canvas.style.left = `${element.offsetLeft + (boxW - width) / 2}px`;
  canvas.style.top = `${element.offsetTop + (boxH - height) / 2}px`;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
}

function drawOutlines() {
  const canvas = $("archive-outlines");
  placeCanvas(canvas);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const sample = state.shown;
  if (!sample) return;
  ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
  ctx.lineJoin = "round";
  for (const polygon of sample.outlines) {
    if (polygon.length < 3) continue;
    ctx.beginPath();
    polygon.forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x * canvas.width, y * canvas.height));
    ctx.closePath();
    ctx.fillStyle = OUTLINE_FILL;
    ctx.fill();
    ctx.strokeStyle = OUTLINE_STROKE;
    ctx.stroke();
  }
}

// Frames from the video clock: requestVideoFrameCallback gives the presented frame's own
// time; where a browser lacks it, timeupdate and seeked are close enough.
function followFrames() {
  const element = $("archive-video");
  if ("requestVideoFrameCallback" in element) {
    const next = (_now, meta) => {
      if (state.video) onFrame(fileTime(meta.mediaTime));
      element.requestVideoFrameCallback(next);
    };
    element.requestVideoFrameCallback(next);
  } else {
    const update = () => state.video && onFrame(fileTime(element.currentTime));
    element.addEventListener("timeupdate", update);
    element.addEventListener("seeked", update);
  }
}

// --- keeping up with the indexer ----------------------------------------------------------

// While the indexer writes, the timeline, the thumbnails and the unfinished windows are read
// again, at most every REFRESH_MS; `now` forces it (a new recording, the job's end).
function scheduleRefresh(now = false) {
  clearTimeout(state.refreshTimer);
  const wait = now ? 0 : Math.max(0, state.lastRefresh + REFRESH_MS - Date.now());
  state.refreshTimer = setTimeout(refresh, wait);
}

async function refresh() {
  const video = state.video;
  if (!video) return;
  state.lastRefresh = Date.now();
  for (const [k, entry] of state.windows) if (entry.complete === false && entry.samples) state.windows.delete(k);
  if (state.frameT !== null) loadWindow(Math.floor(state.frameT / WINDOW_S));
  else loadWindow(0);
  const step = Math.max(state.intervalS, video.duration_s / SERIES_POINTS);
  try {
    const series = await getJson(`/api/video_file/count_series?id=${video.id}&step=${step.toFixed(3)}`);
    if (state.video === video) timeline.setSeries(series.points, video.index.state === "done" ? video.duration_s : video.index.indexed_until_s);
  } catch (err) {
    if (err.status === 0) showError("archive.error.offline", err.detail);
  }
  try {
    const response = await fetch(video.thumbnails_vtt, { cache: "no-store" });
    if (response.ok && state.video === video) {
      const version = PENDING.includes(video.index.state) ? String(video.index.samples_done) : "done";
      timeline.setThumbs(parseThumbs(await response.text()), version);
    }
  } catch {
    // thumbnails are a help, not a need: the next refresh tries again
  }
}

function renderIndexState() {
  const video = state.video;
  const line = $("archive-index");
  if (!video) {
    line.textContent = "";
    return;
  }
  line.dataset.state = video.index.state;
  line.textContent = progressText(video.index, video.progress);
}

// --- cover: the thumbnail over the video until the sought frame is there ------------------

function showCover(t) {
  const thumb = timeline.thumbFor(t);
  if (!thumb) return;
  const cover = $("archive-cover");
  placeCanvas(cover);
  cover.getContext("2d").drawImage(thumb.image, thumb.x, thumb.y, thumb.w, thumb.h, 0, 0, cover.width, cover.height);
  cover.hidden = false;
  state.coverUntil = t;
}

function hideCover() {
  $("archive-cover").hidden = true;
  state.coverUntil = null;
}

// --- upload -------------------------------------------------------------------------------

function uploadLine(key, params = {}) {
  const line = $("archive-upload-state");
  state.uploadLine = { key, params };
  line.dataset.key = key;
  line.textContent = t(key, params);
}

async function startUpload(file) {
  if (!file || state.upload) return;
  clearError();
  const controller = new AbortController();
  state.upload = { controller, uploadId: null };
  $("archive-upload").hidden = false;
  $("archive-upload-name").textContent = `${file.name} · ${megabytes(file.size)} ${t("archive.mb")}`;
  const bar = $("archive-upload-bar");
  bar.value = 0;
  $("archive-upload-cancel").hidden = false;
  uploadLine("archive.upload.sending", { percent: 0 });
  const chunkBytes = Number($("view-archive").dataset.chunkBytes) || undefined;
  try {
    const video = await uploadFile(file, {
      chunkBytes,
      signal: controller.signal,
      onUploadId: (id) => (state.upload.uploadId = id),
      onBytes: (sent) => {
        const percent = Math.floor((100 * sent) / file.size);
        bar.value = percent;
        uploadLine(sent >= file.size ? "archive.upload.checking" : "archive.upload.sending", { percent });
      },
      onRetry: (delayMs) => uploadLine("archive.upload.retrying", { seconds: Math.round(delayMs / 1000) }),
    });
    bar.value = 100;
    uploadLine("archive.upload.done");
    await loadList();
    if (video) open(video.id);
  } catch (err) {
    if (err.name === "AbortError") {
      uploadLine("archive.upload.cancelled");
    } else {
      const key = err.status === 0 ? "archive.upload.offline" : "archive.upload.refused";
      uploadLine(key, { status: err.status });
      showError(key, err.detail, { status: err.status });
    }
  } finally {
    state.upload = null;
    $("archive-upload-cancel").hidden = true;
    $("archive-file").value = "";
  }
}

function cancelUpload() {
  if (!state.upload) return;
  const { controller, uploadId } = state.upload;
  controller.abort();
  if (uploadId) discardUpload(uploadId);
}

// --- a weighing from the frame on screen ---------------------------------------------------

function openWeighing() {
  if (!state.video || state.frameT === null) return;
  $("archive-video").pause();
  const form = $("archive-weigh-form");
  form.hidden = false;
  form.dataset.t = String(state.frameT);
  form.dataset.count = state.shown ? String(state.shown.count) : "";
  $("archive-weigh-count").value = form.dataset.count;
  $("archive-weigh-result").textContent = "";
  state.weighKey = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  $("archive-weight").focus();
}

async function submitWeighing(event) {
  event.preventDefault();
  const form = $("archive-weigh-form");
  const result = $("archive-weigh-result");
  const total = Number(String($("archive-weight").value).replace(",", "."));
  const typed = $("archive-weigh-count").value.trim();
  if (!(total > 0)) {
    result.dataset.state = "error";
    result.textContent = t("archive.weighNeedsWeight");
    $("archive-weight").focus();
    return;
  }
  const body = { t: Number(form.dataset.t), total_weight_kg: total };
  // The frame's own count stays "auto" (with its confidence); a changed one is "manual".
  if (typed && typed !== form.dataset.count) body.count = Number(typed);
  const note = $("archive-weigh-note").value.trim();
  if (note) body.note = note;
  let response;
  let payload = null;
  try {
    response = await fetch(`/api/video_file/${state.video.id}/weighing`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": state.weighKey },
      body: JSON.stringify(body),
    });
    payload = await response.json();
  } catch (err) {
    result.dataset.state = "error";
    result.textContent = `${t("archive.error.offline")}: ${err.message || err}`;
    return;
  }
  if (!response.ok) {
    result.dataset.state = "error";
    result.textContent = `${t("archive.weighRefused")}: ${payload?.detail ?? response.status}`;
    return;
  }
  result.dataset.state = "ok";
  result.textContent = t("archive.weighSaved", {
    id: payload.id,
    count: payload.count,
    avg: payload.avg_weight_kg.toLocaleString(locale(), { maximumFractionDigits: 3 }),
  });
  form.hidden = true;
  form.reset();
  $("archive-weigh").focus();
}

// --- keyboard ------------------------------------------------------------------------------

const KEYS = {
  " ": () => togglePlay(),
  k: () => togglePlay(),
  ArrowLeft: (e) => seek((state.frameT ?? 0) - (e.shiftKey ? LONG_SEEK_S : SEEK_S)),
  ArrowRight: (e) => seek((state.frameT ?? 0) + (e.shiftKey ? LONG_SEEK_S : SEEK_S)),
  ",": () => frameStep(-1),
  ".": () => frameStep(1),
  "[": () => setSpeed(-1),
  "]": () => setSpeed(1),
  Home: () => seek(0),
  End: () => seek(state.video?.duration_s ?? 0),
};

function onKey(event) {
  const target = event.target;
  // Form fields and buttons keep their own keys (space presses a focused button).
  if (target.closest("input, select, textarea, button") || event.ctrlKey || event.metaKey || event.altKey) return;
  const action = KEYS[event.key];
  if (!action || !state.video) return;
  event.preventDefault();
  action(event);
}

// --- start ---------------------------------------------------------------------------------

function wire() {
  const element = $("archive-video");
  followFrames();
  element.addEventListener("play", renderPlayButton);
  element.addEventListener("pause", renderPlayButton);
  element.addEventListener("waiting", () => ($("archive-buffering").hidden = false));
  for (const name of ["playing", "seeked", "canplay"]) element.addEventListener(name, () => ($("archive-buffering").hidden = true));
  element.addEventListener("seeked", () => state.coverUntil !== null && setTimeout(hideCover, 200));
  element.addEventListener("error", () => showError("archive.error.play", element.error?.message ?? ""));
  element.addEventListener("click", togglePlay);
  $("archive-play").addEventListener("click", togglePlay);
  $("archive-back").addEventListener("click", () => seek((state.frameT ?? 0) - SEEK_S));
  $("archive-forward").addEventListener("click", () => seek((state.frameT ?? 0) + SEEK_S));
  $("archive-frame-back").addEventListener("click", () => frameStep(-1));
  $("archive-frame-next").addEventListener("click", () => frameStep(1));
  $("archive-speed").addEventListener("change", (e) => (element.playbackRate = Number(e.target.value)));
  $("archive-file").addEventListener("change", (e) => startUpload(e.target.files[0]));
  $("archive-upload-cancel").addEventListener("click", cancelUpload);
  $("archive-weigh").addEventListener("click", openWeighing);
  $("archive-weigh-form").addEventListener("submit", submitWeighing);
  $("archive-weigh-cancel").addEventListener("click", () => ($("archive-weigh-form").hidden = true));
  document.querySelector("#view-archive .archive-main").addEventListener("keydown", onKey);
  new ResizeObserver(() => drawOutlines()).observe($("archive-player"));
  timeline = new Timeline($("archive-timeline"), $("archive-preview"), {
    onScrub: () => {},
    onSeek: (at) => {
      showCover(at);
      seek(at);
    },
  });
  timeline.formatTime = clock;
  onLanguage(() => {
    renderList();
    renderCount();
    renderClock();
    renderIndexState();
    renderPlayButton();
    if (state.uploadLine) uploadLine(state.uploadLine.key, state.uploadLine.params);
    if (state.error) showError(state.error.titleKey, state.error.detail, state.error.params);
  });
}

async function start() {
  await loadList();
  const wanted = Number(new URLSearchParams(location.hash.split("?")[1] ?? "").get("id"));
  const first = state.videos.find((v) => v.id === wanted) ?? state.videos[0];
  if (first) open(first.id);
}

export function init() {
  wire();
}

export function show() {
  if (!started) {
    started = true;
    start();
  } else {
    loadList();
  }
}

export function hide() {
  $("archive-video").pause();
}
