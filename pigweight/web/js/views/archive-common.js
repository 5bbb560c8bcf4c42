// What the archive view's modules share: the view's state, the element lookup, time and size
// formats, the JSON fetch and the error box.

import { answerDetail, call } from "../api.js";
import { locale, t, technicalDetail } from "../i18n.js";
import { UploadError } from "./archive-upload.js";

export const $ = (id) => document.getElementById(id);
export const PENDING = ["queued", "indexing"];

export const state = {
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
  askLater: null, // the timer of a count question held back (one at a time, two a second)
  lastRefresh: 0,
  refreshTimer: 0,
  sockets: new Map(),
};

let error = null; // {titleKey, detail, params} on screen

// 75 -> "1:15", 3725 -> "1:02:05"
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

// The time of a frame, to a hundredth: 6.04 -> "0:06.04"
export function frameClock(seconds) {
  const hundredths = Math.round((seconds % 1) * 100) % 100;
  return `${clock(seconds)}${locale() === "ru-RU" ? "," : "."}${String(hundredths).padStart(2, "0")}`;
}

export function megabytes(bytes) {
  return (bytes / 2 ** 20).toLocaleString(locale(), { maximumFractionDigits: 1 });
}

// The title in the operator's language; the detail is the server's or the browser's reason.
export function showError(titleKey, detail = "", params = {}) {
  error = { titleKey, detail, params };
  $("archive-error").hidden = false;
  $("archive-error-title").textContent = t(titleKey, params);
  $("archive-error-detail").textContent = technicalDetail(detail);
}

export function clearError() {
  error = null;
  $("archive-error").hidden = true;
}

// The error on screen again, in the language just chosen.
export function renderError() {
  if (error) showError(error.titleKey, error.detail, error.params);
}

// The JSON of GET `url`; a refusal or a lost connection (status 0) is an UploadError.
export async function getJson(url) {
  const answer = await call("GET", url, undefined, { cache: "no-store" });
  if (!answer.ok) throw new UploadError(answer.status, answer.payload?.code, answerDetail(answer));
  return answer.payload;
}
