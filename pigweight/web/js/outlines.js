// Outlines of the animals over a <video>: a canvas laid on the picture itself (not on the
// black bars around it) and the polygons drawn on it. The live view and the archive both
// use it.

const FILL = "rgba(255, 214, 10, 0.22)";
const STROKE = "rgba(255, 214, 10, 0.95)";

// Lay `canvas` (position: absolute, in the video's positioned parent) over the picture.
export function placeOver(video, canvas) {
  const boxW = video.clientWidth;
  const boxH = video.clientHeight;
  const aspect = video.videoWidth && video.videoHeight ? video.videoWidth / video.videoHeight : 16 / 9;
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

// `polygons`: one per animal, [[x, y], ...] with x and y in 0-1 of the picture.
export function drawPolygons(canvas, polygons) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
  ctx.lineJoin = "round";
  for (const polygon of polygons ?? []) {
    if (polygon.length < 3) continue;
    ctx.beginPath();
    polygon.forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, x * canvas.width, y * canvas.height));
    ctx.closePath();
    ctx.fillStyle = FILL;
    ctx.fill();
    ctx.strokeStyle = STROKE;
    ctx.stroke();
  }
}
