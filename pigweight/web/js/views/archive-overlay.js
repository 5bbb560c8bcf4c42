// What is drawn over the video: the outlines of the frame on screen, and the thumbnail that
// covers the picture until a sought frame is there. Both canvases sit on the picture itself,
// not on the black bars around it.

import { drawPolygons, placeOver } from "../outlines.js";
import { $ } from "./archive-common.js";

let coverUntil = null; // the file time the cover stands for, while it is up

function placeCanvas(canvas) {
  placeOver($("archive-video"), canvas);
}

// `sample.outlines`: polygons of [x, y] points, each a fraction of the picture's size (the
// animals counted); `sample.outside_outlines`: those outside the platform zone, greyed.
export function drawOutlines(sample) {
  const canvas = $("archive-outlines");
  placeCanvas(canvas);
  drawPolygons(canvas, sample ? sample.outlines : [], sample?.outside_outlines ?? []);
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
