// The live picture: WebRTC first, MJPEG when WebRTC does not connect within FALLBACK_MS (a
// firewall, no WebRTC in the browser, the server refusing). Both show the counted frames
// with their outlines drawn on them by the server (WebRTC's `overlay`): what the operator
// sees is the frame that was counted, never outlines of one frame over a newer picture
// (drawn in the browser over every camera frame, they trailed moving pigs by the count's
// latency). A WebRTC picture that dies later is tried again, then falls back too.

import { getJson, readJson, request } from "../api.js";

const FALLBACK_MS = 3000;
const GATHER_MS = 1000; // longest wait for our ICE candidates (no STUN answer offline)
const RETRY_MS = 3000;

// `els`: {video, img}; `onTransport(name, reason)`: "webrtc" | "mjpeg" | null.
export function createLiveVideo(els, onTransport) {
  let camera = null;
  let pc = null;
  let token = 0; // which start() the async steps belong to
  let timer = 0;
  let transport = null;
  let config = null; // GET /api/config: WebRTC on or off, the STUN servers for our side

  async function webrtcConfig() {
    if (config === null) config = (await getJson("/api/config")) ?? {};
    return config;
  }

  function setTransport(name, reason = "") {
    transport = name;
    els.video.hidden = name !== "webrtc";
    els.img.hidden = name !== "mjpeg";
    onTransport(name, reason);
  }

  function closePeer() {
    clearTimeout(timer);
    if (pc) {
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.close();
      pc = null;
    }
    els.video.srcObject = null;
  }

  function mjpeg(reason) {
    closePeer();
    const src = `/api/cameras/${encodeURIComponent(camera)}/mjpeg`;
    // An MJPEG stream never ends loading: set after the page's load event, never delaying it.
    const set = () => {
      if (transport === "mjpeg" && els.img.dataset.camera === camera) els.img.src = src;
    };
    els.img.dataset.camera = camera;
    setTransport("mjpeg", reason);
    if (document.readyState === "complete") set();
    else window.addEventListener("load", set, { once: true });
  }

  async function webrtc(mine) {
    if (!("RTCPeerConnection" in window)) {
      mjpeg("unsupported");
      return;
    }
    const settings = await webrtcConfig();
    if (mine !== token) return;
    if (settings.webrtc_enabled === false) {
      mjpeg("webrtc_disabled");
      return;
    }
    timer = setTimeout(() => mine === token && mjpeg("timeout"), FALLBACK_MS);
    const stun = settings.webrtc_stun ?? [];
    const peer = new RTCPeerConnection({ iceServers: stun.length ? [{ urls: stun }] : [] });
    pc = peer;
    peer.addTransceiver("video", { direction: "recvonly" });
    peer.ontrack = (event) => {
      els.video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
      els.video.play().catch(() => {}); // muted: autoplay is allowed
    };
    peer.onconnectionstatechange = () => {
      if (mine !== token) return;
      if (peer.connectionState === "connected") {
        // WebRTC is in use once connected; a camera with no frame yet just shows none
        // (marked as reconnecting by the live view), and its frames come when it does.
        clearTimeout(timer);
        setTransport("webrtc");
      } else if (peer.connectionState === "failed" || peer.connectionState === "disconnected") {
        // It worked and died (the server restarted, the network dropped): try again; the
        // MJPEG stream takes over if that does not connect either.
        closePeer();
        setTimeout(() => mine === token && start(camera), RETRY_MS);
      }
    };
    try {
      await peer.setLocalDescription(await peer.createOffer());
      await gathered(peer);
      const offer = { sdp: peer.localDescription.sdp, type: "offer", overlay: true };
      const response = await request("POST", `/api/webrtc/${encodeURIComponent(camera)}/offer`, offer);
      if (mine !== token) return;
      if (!response.ok) {
        const body = await readJson(response);
        mjpeg(body?.code ?? `http_${response.status}`);
        return;
      }
      await peer.setRemoteDescription(await response.json());
    } catch (err) {
      if (mine === token) mjpeg(String(err?.name ?? err));
      return;
    }
  }

  // Wait until the browser has its candidates (aiortc takes no trickled ones).
  function gathered(peer) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        peer.removeEventListener("icegatheringstatechange", check);
        resolve();
      };
      const check = () => peer.iceGatheringState === "complete" && done();
      peer.addEventListener("icegatheringstatechange", check);
      setTimeout(done, GATHER_MS);
    });
  }

  function start(cameraId) {
    const mine = ++token;
    closePeer();
    camera = cameraId;
    webrtc(mine);
  }

  window.addEventListener("pagehide", closePeer); // the server's peer ends with the page

  return {
    start,
    get transport() {
      return transport;
    },
  };
}
