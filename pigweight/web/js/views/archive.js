// The video archive: upload a recording, follow its indexing, play it (HLS), and see the
// count and the animals' outlines of the very frame on screen. The samples (count and
// outlines per counted frame) are fetched once per minute of video and refreshed while the
// indexer is still writing them; the frame on screen is read from the video clock with
// requestVideoFrameCallback, so the outlines never lag the picture.
//
// This module is the view's coordinator: the player, its keys, and the refresh while the
// indexer writes. The rest lives beside it: archive-common (state, formats, errors),
// archive-list (recordings and their indexing), archive-samples (the frame's count),
// archive-overlay (outlines and cover over the video), archive-zone (the recording's
// platform zone, zone-editor.js), archive-upload-panel and archive-weighing (the two forms).

import { call, request } from "../api.js";
import { onLanguage, t } from "../i18n.js";
import { $, PENDING, clearError, clock, frameClock, getJson, renderError, showError, state } from "./archive-common.js";
import { loadList, renderIndexState, renderList, wireList } from "./archive-list.js";
import { coverShown, drawOutlines, hideCover, hideCoverAt, showCover } from "./archive-overlay.js";
import { WINDOW_S, askCount, exactSampleAt, loadWindow, renderCount, sampleAt } from "./archive-samples.js";
import { Timeline, parseThumbs } from "./archive-timeline.js";
import { renderUploadLine, wireUpload } from "./archive-upload-panel.js";
import { wireWeighing } from "./archive-weighing.js";
import { wireZone } from "./archive-zone.js";

const SERIES_POINTS = 600; // timeline resolution, whatever the length of the file
const REFRESH_MS = 2500; // while indexing: series, samples and thumbnails at most this often
const SEEK_S = 5;
const LONG_SEEK_S = 60;
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];

let Hls = null; // hls.js (370 KB) loads when a recording is first played, not with the page
let timeline = null;
let zone = null; // wireZone(): the recording's platform zone over the player
let started = false;

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
  clearTimeout(state.askLater); // a question held back for the last recording
  history.replaceState(null, "", `#archive?id=${id}`);
  renderList();
  renderCount();
  renderIndexState();
  timeline.reset(video.duration_s, `/api/video_file/${id}/`);
  zone.reset();
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
  const { ok, status, payload } = await call("GET", url, undefined, { cache: "no-store" });
  if (status === 0 || (!ok && payload === null)) reason = t("archive.error.offline");
  else if (!ok) reason = payload.detail ?? reason;
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

// --- the frame on screen ------------------------------------------------------------------

function onFrame(t) {
  state.frameT = t;
  // Paused, the picture stays: its outlines must be its own, not a sample's up to a second
  // away (moving animals would wear another frame's outlines). Playing, the index's nearest
  // sample stands for the frames until the next one.
  const still = $("archive-video").paused;
  const sample = still ? exactSampleAt(t) : sampleAt(t);
  state.shown = sample;
  renderCount();
  drawOutlines(sample);
  renderClock();
  timeline.setPosition(t);
  hideCoverAt(t);
  const k = Math.floor(t / WINDOW_S);
  loadWindow(k);
  if (t % WINDOW_S > WINDOW_S - 10) loadWindow(k + 1); // before playback gets there
  if (sample === null) askCount(t, onFrame, still);
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
    const response = await request("GET", video.thumbnails_vtt, undefined, { cache: "no-store" });
    if (response.ok && state.video === video) {
      const version = PENDING.includes(video.index.state) ? String(video.index.samples_done) : "done";
      timeline.setThumbs(parseThumbs(await response.text()), version);
    }
  } catch {
    // thumbnails are a help, not a need: the next refresh tries again
  }
}

// The thumbnail of the sought time over the video until its frame is there.
function coverFor(t) {
  const thumb = timeline.thumbFor(t);
  if (thumb) showCover(thumb, t);
}

// A new zone counts other animals: the frame's sample and the timeline are read again.
function recount() {
  state.windows = new Map();
  state.samples = [];
  if (state.frameT !== null) loadWindow(Math.floor(state.frameT / WINDOW_S));
  scheduleRefresh(true);
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
  element.addEventListener("pause", () => {
    renderPlayButton();
    if (state.video && state.frameT !== null) onFrame(state.frameT); // this frame's own count
  });
  element.addEventListener("waiting", () => ($("archive-buffering").hidden = false));
  for (const name of ["playing", "seeked", "canplay"]) element.addEventListener(name, () => ($("archive-buffering").hidden = true));
  element.addEventListener("seeked", () => coverShown() && setTimeout(hideCover, 200));
  element.addEventListener("error", () => showError("archive.error.play", element.error?.message ?? ""));
  element.addEventListener("click", togglePlay);
  $("archive-play").addEventListener("click", togglePlay);
  $("archive-back").addEventListener("click", () => seek((state.frameT ?? 0) - SEEK_S));
  $("archive-forward").addEventListener("click", () => seek((state.frameT ?? 0) + SEEK_S));
  $("archive-frame-back").addEventListener("click", () => frameStep(-1));
  $("archive-frame-next").addEventListener("click", () => frameStep(1));
  $("archive-speed").addEventListener("change", (e) => (element.playbackRate = Number(e.target.value)));
  wireList({ open, onIndexProgress: (progress) => scheduleRefresh(!PENDING.includes(progress.state)) });
  wireUpload(async (video) => {
    await loadList();
    if (video) open(video.id);
  });
  wireWeighing();
  zone = wireZone(recount);
  document.querySelector("#view-archive .archive-main").addEventListener("keydown", onKey);
  new ResizeObserver(() => drawOutlines(state.shown)).observe($("archive-player"));
  timeline = new Timeline($("archive-timeline"), $("archive-preview"), {
    onScrub: () => {},
    onSeek: (at) => {
      coverFor(at);
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
    renderUploadLine();
    renderError();
    zone.render();
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
