// What is drawn over the video: the outlines of the frame on screen, and the thumbnail that
// covers the picture until a sought frame is there. Both canvases sit on the picture itself,
// not on the black bars around it.

import { $ } from "./archive-common.js";

const OUTLINE_FILL = "rgba(255, 214, 10, 0.28)";
const OUTLINE_STROKE = "rgba(255, 214, 10, 0.95)";

let coverUntil = null; // the file time the cover stands for, while it is up

// The canvas covers the picture itself, not the letterbox around it.
function placeCanvas(canvas) {
  const element = $("archive-video");
  const boxW = element.clientWidth;
  const boxH = element.clientHeight;
  const aspect = element.videoWidth && element.videoHeight ? element.videoWidth / element.videoHeight : 16 / 9;
  const width = Math.min(boxW, boxH * aspect);
  const height = width / aspect;
  canvas.style.left = `${element.offsetLeft + (boxW - width) / 2}px`;
  canvas.style.top = `${element.offsetTop + (boxH - height) / 2}px`;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
}

// `sample.outlines`: polygons of [x, y] points, each a fraction of the picture's size.
export function drawOutlines(sample) {
  const canvas = $("archive-outlines");
  placeCanvas(canvas);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!sample) return;
  ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
  ctx.lineJoin = "round";
  for (const polygon of sample.outlines) {
    if (polygon.length < 3) continue;
    ctx.beginPath();
    polygon.forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x * canvas.width, y * canvas.height));
    ctx.closePath();
    ctx.fillStyle = OUTLINE_FILL;
    ctx.fill();
    ctx.strokeStyle = OUTLINE_STROKE;
    ctx.stroke();
  }
}

// --- cover: the thumbnail over the video until the sought frame is there ------------------

// `thumb`: {image, x, y, w, h}, the tile of the thumbnail sheet for file time `t`.
export function showCover(thumb, t) {
  const cover = $("archive-cover");
  placeCanvas(cover);
  cover.getContext("2d").drawImage(thumb.image, thumb.x, thumb.y, thumb.w, thumb.h, 0, 0, cover.width, cover.height);
  cover.hidden = false;
  coverUntil = t;
}

export function hideCover() {
  $("archive-cover").hidden = true;
  coverUntil = null;
}

export function coverShown() {
  return coverUntil !== null;
}

// The frame at `t` is on screen: the cover for it (or a frame within a second) goes.
export function hideCoverAt(t) {
  if (coverUntil !== null && Math.abs(t - coverUntil) < 1) hideCover();
}
