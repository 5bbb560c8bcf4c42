// The platform zone of the photo on screen, drawn by anyone who may count photos
// (zone-editor.js): «Сохранить» counts the same photo again with the zone, «Сбросить»
// without one. Nothing is stored on the server; the photo view keeps the zone for the next
// photos of the page, since a farm photographs the same platform again and again.

import { call, photoForm } from "../api.js";
import { createZoneEditor } from "../zone-editor.js";

// `els`: the overlay <img> ({img}) and the editor's elements (zone-editor.js); `photo`: {
//   shown(): the result on screen or null; file(): its photo (a File);
//   zone(): the zone it was counted with, or null;
//   onCounted(shown, zone, payload): the same photo counted again with `zone` (or null) }
export function createPhotoZone(els, photo) {
  let sent = null; // the zone of the count in flight: the answer does not repeat it

  const editor = createZoneEditor(els, {
    texts: "photo.zone",
    subject: photo.shown,
    picture: () => (photo.shown() ? els.img : null),
    // The server draws the zone into the overlay it sends back: only a draft is drawn here.
    savedZone: () => null,
    canRemove: () => photo.zone() !== null,
    send: (shown, zone) => {
      sent = zone;
      return call("POST", "/api/count_image", photoForm(photo.file(), zone));
    },
    onSaved: (shown, payload) => photo.onCounted(shown, sent, payload),
    watch: [els.img],
  });
  els.img.addEventListener("load", editor.redraw); // a new overlay may have another aspect
  return editor;
}
