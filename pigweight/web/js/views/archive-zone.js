// The platform zone of a recording, drawn by an operator or an admin on the paused player
// (zone-editor.js): saved with PUT /api/video_file/{id}/zone, removed with null. The zone
// is drawn dashed over the video; the count of the frame and the timeline follow it.

import { call } from "../api.js";
import { createZoneEditor } from "../zone-editor.js";
import { $, state } from "./archive-common.js";

// `onSaved()`: the recording's counts changed (the frame's and the timeline's).
export function wireZone(onSaved) {
  const video = $("archive-video");
  const editor = createZoneEditor(
    {
      canvas: $("archive-zone"),
      edit: $("archive-zone-edit"),
      bar: $("archive-zone-bar"),
      hint: $("archive-zone-hint"),
      undo: $("archive-zone-undo"),
      save: $("archive-zone-save"),
      cancel: $("archive-zone-cancel"),
      remove: $("archive-zone-remove"),
      error: $("archive-zone-error"),
      errorTitle: $("archive-zone-error-title"),
      errorDetail: $("archive-zone-error-detail"),
    },
    {
      texts: "archive.zone",
      subject: () => state.video,
      picture: () => (state.video ? video : null),
      savedZone: () => state.video?.zone ?? null,
      canRemove: () => Boolean(state.video?.zone),
      // The corners are laid on a still frame: the player pauses while they are drawn.
      canStart: () => {
        video.pause();
        return true;
      },
      send: (shown, zone) => call("PUT", `/api/video_file/${shown.id}/zone`, { zone }),
      onSaved: (shown, payload) => {
        shown.zone = payload.zone ?? null;
        if (state.video === shown) onSaved();
      },
      watch: [$("archive-player")],
    },
  );
  video.addEventListener("loadedmetadata", editor.redraw); // the recording's own aspect
  return editor;
}
