// The platform zone of the live camera, drawn by an admin on the camera's picture
// (zone-editor.js): saved with PUT /api/cameras/{id}/zone, removed with null.

import { call } from "../api.js";
import { t } from "../i18n.js";
import { createZoneEditor } from "../zone-editor.js";

// `els`: the picture ({video, img}) and the editor's elements (zone-editor.js); `camera()`:
// the camera on screen ({id, zone, zone_source}) or null.
export function createLiveZone(els, camera) {
  function picture() {
    if (!els.video.hidden) return els.video;
    if (!els.img.hidden) return els.img;
    return null;
  }

  const editor = createZoneEditor(els, {
    texts: "live.zone",
    subject: camera,
    picture,
    // Both pictures (WebRTC and MJPEG) are the counted frames with the zone drawn in by the
    // server: only a draft is drawn over them.
    savedZone: () => null,
    note: () => (camera()?.zone_source === "file" ? t("live.zone.fromFile") : ""),
    canRemove: () => camera()?.zone_source === "page",
    send: (shown, zone) => call("PUT", `/api/cameras/${encodeURIComponent(shown.id)}/zone`, { zone }),
    onSaved: (shown, payload) => {
      shown.zone = payload.zone ?? null;
      shown.zone_source = payload.zone_source ?? null;
    },
    watch: [els.video, els.img],
  });
  els.img.addEventListener("load", editor.redraw); // the first MJPEG frame gives the picture's size
  return editor;
}
