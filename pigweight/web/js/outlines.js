// Outlines of the animals over a <video>: a canvas laid on the picture itself (not on the
// black bars around it) and the polygons drawn on it. The live view and the archive both
// use it.

const FILL = "rgba(255, 214, 10, 0.22)";
const STROKE = "rgba(255, 214, 10, 0.95)";
// Animals outside the platform zone: kept on screen (the operator sees why they do not
// count), greyed.
const OUTSIDE_FILL = "rgba(160, 160, 160, 0.18)";
const OUTSIDE_STROKE = "rgba(200, 200, 200, 0.8)";
const ZONE_STROKE = "rgba(80, 200, 255, 0.95)";
const ZONE_SHADOW = "rgba(0, 0, 0, 0.7)";

// Lay `canvas` (position: absolute, in the video's positioned parent) over the picture;
// `video` may also be an <img> (the live view's MJPEG picture).
export function placeOver(video, canvas) {
  const boxW = video.clientWidth;
  const boxH = video.clientHeight;
  const w = video.videoWidth ?? video.naturalWidth;
  const h = video.videoHeight ?? video.naturalHeight;
  const aspect = w && h ? w / h : 16 / 9;
  const width = Math.min(boxW, boxH * aspect);
  const height = width / aspect;
  canvas.style.left = `${video.offsetLeft + (boxW - width) / 2}px`;
  canvas.style.top = `${video.offsetTop + (boxH - height) / 2}px`;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
}

function trace(ctx, canvas, points, closed) {
  ctx.beginPath();
  points.forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x * canvas.width, y * canvas.height));
  if (closed) ctx.closePath();
}

function fillAll(ctx, canvas, polygons, fill, stroke) {
  for (const polygon of polygons ?? []) {
    if (polygon.length < 3) continue;
    trace(ctx, canvas, polygon, true);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.strokeStyle = stroke;
    ctx.stroke();
  }
}

// `polygons`: one per animal, [[x, y], ...] with x and y in 0-1 of the picture; `outside`:
// the animals outside the platform zone, the same way, drawn greyed.
export function drawPolygons(canvas, polygons, outside = []) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
  ctx.lineJoin = "round";
  ctx.setLineDash([]);
  fillAll(ctx, canvas, outside, OUTSIDE_FILL, OUTSIDE_STROKE);
  fillAll(ctx, canvas, polygons, FILL, STROKE);
}

// The platform zone, [[x, y], ...] in 0-1, as a dashed line (dark under light: it shows on
// any picture). `open`: a zone being drawn, its points marked and its last edge not closed
// unless it has 3 points.
export function drawZone(canvas, points, open = false) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!points?.length) return;
  const ratio = window.devicePixelRatio || 1;
  ctx.lineJoin = "round";
  const closed = points.length >= 3;
  for (const [color, width, dash] of [
    [ZONE_SHADOW, 5, []],
    [ZONE_STROKE, 3, [10, 7]],
  ]) {
    trace(ctx, canvas, points, closed);
    ctx.lineWidth = width * ratio;
    ctx.setLineDash(dash.map((d) => d * ratio));
    ctx.strokeStyle = color;
    ctx.stroke();
  }
  if (!open) return;
  ctx.setLineDash([]);
  for (const [x, y] of points) {
    ctx.beginPath();
    ctx.arc(x * canvas.width, y * canvas.height, 6 * ratio, 0, 2 * Math.PI);
    ctx.fillStyle = ZONE_STROKE;
    ctx.fill();
    ctx.lineWidth = 2 * ratio;
    ctx.strokeStyle = ZONE_SHADOW;
    ctx.stroke();
  }
}
