// The video archive: pick a recording, play it (HLS through hls.js), and see the count
// at the moment shown, from the index (computed on the spot where not indexed yet).

import { onLanguage, t } from "../i18n.js";

let Hls = null; // hls.js (370 KB) loads when the archive is first shown, not with the page

const $ = (id) => document.getElementById(id);
const COUNT_EVERY_MS = 250;
const STATE_EVERY_MS = 2000;
const state = { videos: [], current: null, hls: null, lastAsk: 0, asking: false, video: null, timer: 0 };

// 75 -> "1:15", 3725 -> "1:02:05": how long a recording is, as players show it.
function clock(seconds) {
  const s = Math.round(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

function renderState() {
  const el = $("archive-state");
  const v = state.video;
  if (!v) {
    el.textContent = "";
    return;
  }
  const index = v.index;
  const percent = index.samples_total ? Math.round((100 * index.samples_done) / index.samples_total) : 0;
  el.dataset.state = index.state;
  el.textContent = t(`archive.state.${index.state}`, { percent });
}

// One poll at a time: switching recordings cancels the previous one's timer, and an
// answer that arrives for a recording no longer shown is dropped.
async function refreshState() {
  clearTimeout(state.timer);
  const id = state.current;
  if (id === null) return;
  try {
    const response = await fetch(`/api/video_file/${id}`);
    if (!response.ok || id !== state.current) return;
    state.video = await response.json();
  } catch {
    return;
  }
  renderState();
  if (["queued", "indexing"].includes(state.video.index.state)) {
    state.timer = setTimeout(refreshState, STATE_EVERY_MS);
  }
}

async function askCount() {
  const video = $("archive-video");
  const now = performance.now();
  if (state.asking || now - state.lastAsk < COUNT_EVERY_MS || state.current === null) return;
  state.asking = true;
  state.lastAsk = now;
  try {
    const at = Math.min(video.currentTime, state.video?.duration_s ?? video.currentTime);
    const id = state.current;
    const response = await fetch(`/api/video_file/count_at_time?id=${id}&t=${at.toFixed(3)}`);
    if (!response.ok || id !== state.current) return;
    const answer = await response.json();
    $("archive-count").textContent = answer.count;
    $("archive-count").classList.remove("is-empty");
  } catch {
    // The next timeupdate asks again.
  } finally {
    state.asking = false;
  }
}

async function play(id) {
  if (Hls === null) Hls = (await import("../../vendor/hls.light.esm.js")).default;
  state.current = id;
  state.video = state.videos.find((v) => v.id === id) ?? null;
  $("archive-count").textContent = "—";
  $("archive-count").classList.add("is-empty");
  const video = $("archive-video");
  const url = `/api/video_file/stream_hls/${id}`;
  if (state.hls) state.hls.destroy();
  state.hls = null;
  if (Hls.isSupported()) {
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) {
        window.__archiveError = `${data.type}: ${data.details}`;
        $("archive-state").textContent = t("archive.playError");
      }
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    state.hls = hls;
  } else {
    video.src = url; // Safari plays HLS natively
  }
  renderState();
  refreshState();
}

async function main() {
  try {
    const response = await fetch("/api/video_file");
    state.videos = response.ok ? await response.json() : [];
  } catch {
    return;
  }
  if (!state.videos.length) return;
  const select = $("archive-select");
  for (const v of state.videos) {
    const option = document.createElement("option");
    option.value = v.id;
    option.textContent = `${v.name} · ${clock(v.duration_s)}`;
    select.append(option);
  }
  select.addEventListener("change", () => play(Number(select.value)));
  $("archive-video").addEventListener("timeupdate", askCount);
  $("archive-video").addEventListener("seeked", () => {
    state.lastAsk = 0;
    askCount();
  });
  onLanguage(renderState);
  play(state.videos[0].id);
}

let started = false;

export function init() {}

export function show() {
  if (!started) {
    started = true;
    main();
  }
}

export function hide() {
  $("archive-video").pause();
}
