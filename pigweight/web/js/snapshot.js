// A weighing's snapshot: a small picture in a list (history, today's weighings) that opens
// full size in a modal dialog.

import { t } from "./i18n.js";

let dialog = null;

// The snapshot full size in a modal dialog; Escape, the button or a click outside closes it.
export function openSnapshot(url, caption) {
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.className = "snapshot-dialog";
    dialog.innerHTML = `<figure class="snapshot-figure"><img class="snapshot-image" alt="">
      <figcaption class="snapshot-caption"></figcaption></figure>
      <button type="button" class="button primary snapshot-close"></button>`;
    dialog.querySelector(".snapshot-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close(); // the backdrop, not the picture
    });
    document.body.append(dialog);
  }
  dialog.setAttribute("aria-label", caption);
  dialog.querySelector(".snapshot-image").src = url;
  dialog.querySelector(".snapshot-image").alt = caption;
  dialog.querySelector(".snapshot-caption").textContent = caption;
  dialog.querySelector(".snapshot-close").textContent = t("history.close");
  dialog.showModal();
  dialog.querySelector(".snapshot-close").focus();
}

// A record's snapshot as a small picture that opens full size (or a "no photo" box).
export function snapshotThumb(record, className, caption, noPhoto) {
  if (!record.snapshot_url) {
    const none = document.createElement("span");
    none.className = `snapshot-thumb ${className} is-none`;
    none.textContent = noPhoto;
    return none;
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = `snapshot-thumb ${className}`;
  const img = document.createElement("img");
  img.src = record.snapshot_url;
  img.alt = caption;
  img.loading = "lazy";
  button.append(img);
  button.addEventListener("click", () => openSnapshot(record.snapshot_url, caption));
  return button;
}
