// The count of the frame on screen: the index's samples (count and outlines per counted
// frame), fetched a minute of video at a time, and the server asked to count a frame the
// index has not reached yet.

import { t } from "../i18n.js";
import { $, frameClock, getJson, showError, state } from "./archive-common.js";
import { drawOutlines } from "./archive-overlay.js";

export const WINDOW_S = 60; // samples are fetched a minute of video at a time

// The latest sample at or before t, if it is recent enough to stand for the frame at t
// (the index counts one frame per interval): count_at_time's own rule.
export function sampleAt(t) {
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

// The sample of the very frame shown at t (a paused player shows nothing else), or null.
export function exactSampleAt(t) {
  const sample = sampleAt(t);
  const frameS = 1 / (state.video?.fps || 25);
  return sample && t - sample.t < frameS - 1e-3 ? sample : null;
}

// Where the index has no sample yet (or, `exact`, none of this very frame) the server counts
// the frame now (and keeps it); the window is then read again for its outlines, and
// `onCounted(frameT)` shows the frame again. One question at a time, at most two a second:
// a question held back is asked when its turn comes, for the frame on screen then.
export async function askCount(t, onCounted, exact = false) {
  if (!state.video) return;
  const wait = 500 - (performance.now() - state.lastAsk);
  if (state.asking || wait > 0) {
    clearTimeout(state.askLater);
    state.askLater = setTimeout(() => state.frameT !== null && onCounted(state.frameT), Math.max(wait, 100));
    return;
  }
  state.asking = true;
  state.lastAsk = performance.now();
  const id = state.video.id;
  try {
    const exactly = exact ? "&exact=true" : "";
    await getJson(`/api/video_file/count_at_time?id=${id}&t=${t.toFixed(3)}${exactly}`);
    if (state.video?.id !== id) return;
    const k = Math.floor(t / WINDOW_S);
    state.windows.delete(k);
    await loadWindow(k);
    if (state.frameT !== null && state.video?.id === id) onCounted(state.frameT);
  } catch (err) {
    if (err.status === 0) showError("archive.error.offline", err.detail);
  } finally {
    state.asking = false;
  }
}

export async function loadWindow(k) {
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
    state.shown = $("archive-video").paused ? exactSampleAt(state.frameT) : sampleAt(state.frameT);
    renderCount();
    drawOutlines(state.shown);
  }
}

export function renderCount() {
  const value = $("archive-count");
  const sample = state.shown;
  value.classList.toggle("is-empty", sample === null);
  value.textContent = sample === null ? "—" : String(sample.count);
  value.dataset.frameT = state.frameT ?? "";
  value.dataset.sampleT = sample?.t ?? "";
  const frame = $("archive-frame");
  if (state.frameT === null) frame.textContent = "";
  else if (sample === null) frame.textContent = t("archive.counting", { time: frameClock(state.frameT) });
  else {
    const outside = sample.outside_outlines?.length ?? 0; // seen beyond the zone, not counted
    const note = outside ? t("archive.outsideZone", { n: outside }) : "";
    frame.textContent = t("archive.frameAt", { time: frameClock(state.frameT), confidence: Math.round(sample.confidence * 100) }) + note;
  }
}
