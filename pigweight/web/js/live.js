// The live camera: its MJPEG stream with masks, the stable count and the status in words.
// Updates come over WS /ws/count; a lost socket is reopened after a pause.

import { t } from "./i18n.js";
import { rerender as rerenderWeighing, setLiveCamera, setLiveCount } from "./weighing.js";

const $ = (id) => document.getElementById(id);
const RETRY_MS = 3000;
const state = { camera: null, status: "stopped", count: null };

function render() {
  $("live-count").textContent = state.count ?? "—";
  $("live-count").classList.toggle("is-empty", state.count === null);
  const status = $("live-status");
  status.dataset.state = state.status;
  status.textContent = t(`live.${state.status}`);
}

function connect(cameraId) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/count?id=${encodeURIComponent(cameraId)}`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    state.status = message.status;
    state.count = message.stable_count ?? message.count ?? state.count;
    setLiveCount(message.status === "streaming" ? message.stable_count : null);
    render();
  };
  socket.onclose = () => setTimeout(() => connect(cameraId), RETRY_MS);
}

async function main() {
  let cameras = [];
  try {
    const response = await fetch("/api/cameras");
    cameras = response.ok ? await response.json() : [];
  } catch {
    return; // the photo page still works without the live section
  }
  const camera = cameras.find((c) => c.enabled) ?? cameras[0];
  if (!camera) return;
  state.camera = camera.id;
  state.status = camera.status.state;
  $("live-name").textContent = `· ${camera.name}`;
  // An MJPEG stream never ends loading: set after the page's load event, never delaying it
  // (a camera with no picture yet would hold it back for ever).
  const stream = () => ($("live-stream").src = `/api/cameras/${encodeURIComponent(camera.id)}/mjpeg`);
  if (document.readyState === "complete") stream();
  else window.addEventListener("load", stream, { once: true });
  $("live").hidden = false;
  // Re-render texts when the language buttons switch the page.
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setTimeout(() => {
      render();
      rerenderWeighing();
    }, 0));
  }
  render();
  setLiveCamera(camera.id);
  connect(camera.id);
}

main();
