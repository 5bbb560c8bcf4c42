// The list of recordings and their indexing: each item shows the file, its index state and
// progress, kept current over a WebSocket per recording while the indexer works on it.

import { t } from "../i18n.js";
import { $, PENDING, clock, getJson, megabytes, showError, state } from "./archive-common.js";

const hooks = {
  open: (_id) => {}, // an item was clicked
  onIndexProgress: (_progress) => {}, // progress of the recording in the player
};

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
    item.querySelector("button").addEventListener("click", () => hooks.open(video.id));
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

export function renderList() {
  $("archive-list-empty").hidden = state.videos.length > 0;
  $("archive-empty").hidden = state.video !== null;
  for (const video of state.videos) renderItem(video);
}

export async function loadList() {
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
    hooks.onIndexProgress(progress);
  }
}

// The index state of the recording in the player, under the player.
export function renderIndexState() {
  const video = state.video;
  const line = $("archive-index");
  if (!video) {
    line.textContent = "";
    return;
  }
  line.dataset.state = video.index.state;
  line.textContent = progressText(video.index, video.progress);
}

export function wireList({ open, onIndexProgress }) {
  hooks.open = open;
  hooks.onIndexProgress = onIndexProgress;
}
