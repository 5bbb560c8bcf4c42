// The archive's timeline: the count curve of the whole recording on a canvas, the part not
// indexed yet shaded, the playhead; a thumbnail of the moment under the pointer (from the
// indexer's WebVTT sprite map). Dragging scrubs the preview and seeks once, on release:
// seeking on every pointer move would queue a segment download per pixel.

const CURVE = "#2f6b4f";
const CURVE_FILL = "rgba(47, 107, 79, 0.18)";
const SPREAD = "rgba(47, 107, 79, 0.35)";
const NOT_INDEXED = "rgba(91, 104, 97, 0.12)";
const PLAYHEAD = "#a8231b";
const SCRUB = "#1f5fbf";

// "00:01:10.000" -> 70
function vttSeconds(text) {
  const parts = text.trim().split(":").map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

// WebVTT cues "a --> b" / "sprite_0.jpg#xywh=x,y,w,h" -> [{start, end, file, x, y, w, h}]
export function parseThumbs(text) {
  const cues = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length - 1; i++) {
    if (!lines[i].includes("-->")) continue;
    const [a, b] = lines[i].split("-->");
    const match = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[i + 1].trim());
    if (!match) continue;
    const [x, y, w, h] = match.slice(2).map(Number);
    cues.push({ start: vttSeconds(a), end: vttSeconds(b), file: match[1], x, y, w, h });
  }
  return cues;
}

export class Timeline {
  // onScrub(t) while dragging, onSeek(t) on release, onHover(t | null).
  constructor(canvas, preview, { onSeek, onScrub }) {
    this.canvas = canvas;
    this.preview = preview;
    this.previewImg = preview.querySelector("img");
    this.previewTime = preview.querySelector(".archive-preview-time");
    this.onSeek = onSeek;
    this.onScrub = onScrub;
    this.duration = 0;
    this.points = [];
    this.cues = [];
    this.thumbBase = "";
    this.thumbVersion = "";
    this.indexedUntil = 0;
    this.position = 0;
    this.scrubAt = null;
    this.formatTime = (t) => String(t);
    canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    canvas.addEventListener("pointerleave", () => this.scrubAt === null && this.hidePreview());
    canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    canvas.addEventListener("pointerup", (e) => this.pointerUp(e));
    canvas.addEventListener("pointercancel", () => this.endScrub());
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  reset(duration, thumbBase) {
    this.duration = duration;
    this.thumbBase = thumbBase;
    this.points = [];
    this.cues = [];
    this.indexedUntil = 0;
    this.position = 0;
    this.canvas.setAttribute("aria-valuemax", String(Math.round(duration)));
    this.draw();
  }

  setSeries(points, indexedUntil) {
    this.points = points;
    this.indexedUntil = indexedUntil;
    this.draw();
  }

  // `version` changes while the indexer still fills the sprite sheets (they are rewritten).
  setThumbs(cues, version) {
    this.cues = cues;
    this.thumbVersion = version;
  }

  setPosition(t) {
    this.position = t;
    this.canvas.setAttribute("aria-valuenow", String(Math.round(t)));
    this.canvas.setAttribute("aria-valuetext", this.formatTime(t));
    this.draw();
  }

  timeAt(clientX) {
    const box = this.canvas.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    return share * this.duration;
  }

  pointerMove(event) {
    if (!this.duration) return;
    const t = this.timeAt(event.clientX);
    this.showPreview(t, event.clientX);
    if (this.scrubAt !== null) {
      this.scrubAt = t;
      this.onScrub(t);
      this.draw();
    }
  }

  pointerDown(event) {
    if (!this.duration || event.button !== 0) return;
    this.canvas.setPointerCapture(event.pointerId);
    this.scrubAt = this.timeAt(event.clientX);
    this.showPreview(this.scrubAt, event.clientX);
    this.onScrub(this.scrubAt);
    this.draw();
  }

  pointerUp(event) {
    if (this.scrubAt === null) return;
    const t = this.timeAt(event.clientX);
    this.endScrub();
    this.onSeek(t);
  }

  endScrub() {
    this.scrubAt = null;
    this.hidePreview();
    this.draw();
  }

  cueAt(t) {
    return this.cues.find((cue) => t >= cue.start && t < cue.end) ?? this.cues.at(-1) ?? null;
  }

  showPreview(t, clientX) {
    const cue = this.cueAt(t);
    const tile = this.preview.querySelector(".archive-preview-tile");
    tile.hidden = cue === null;
    if (cue !== null) {
      const version = this.thumbVersion ? `?v=${this.thumbVersion}` : "";
      const src = `${this.thumbBase}${cue.file}${version}`;
      if (this.previewImg.getAttribute("src") !== src) this.previewImg.src = src;
      tile.style.width = `${cue.w}px`;
      tile.style.height = `${cue.h}px`;
      this.previewImg.style.transform = `translate(${-cue.x}px, ${-cue.y}px)`;
    }
    this.previewTime.textContent = this.formatTime(t);
    this.preview.hidden = false;
    // Centred on the pointer, kept inside the timeline's box (no horizontal scroll).
    const box = this.canvas.getBoundingClientRect();
    const width = this.preview.offsetWidth;
    const left = Math.min(Math.max(clientX - box.left - width / 2, 0), box.width - width);
    this.preview.style.left = `${Math.max(0, left)}px`;
  }

  hidePreview() {
    this.preview.hidden = true;
  }

  // Where the preview's tile lies in its sprite, for a cover drawn over the video.
  thumbFor(t) {
    const cue = this.cueAt(t);
    if (cue === null || !this.previewImg.complete || !this.previewImg.naturalWidth) return null;
    return { image: this.previewImg, ...cue };
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    if (!this.duration) return;
    const x = (t) => (t / this.duration) * width;
    const top = 6 * ratio;
    const bottom = height - 4 * ratio;
    const most = Math.max(1, ...this.points.map((p) => p.count));
    const y = (count) => bottom - ((bottom - top) * count) / most;
    if (this.indexedUntil < this.duration) {
      ctx.fillStyle = NOT_INDEXED;
      ctx.fillRect(x(this.indexedUntil), 0, width - x(this.indexedUntil), height);
    }
    this.drawCurve(ctx, x, y, bottom, ratio);
    this.drawLine(ctx, x(this.position), PLAYHEAD, 2 * ratio, height);
    if (this.scrubAt !== null) this.drawLine(ctx, x(this.scrubAt), SCRUB, 2 * ratio, height);
  }

  drawCurve(ctx, x, y, bottom, ratio) {
    if (!this.points.length) return;
    const step = this.points.length > 1 ? this.points[1].t - this.points[0].t : this.duration;
    ctx.fillStyle = SPREAD;
    for (const p of this.points) {
      // The bucket's min..max: a wide bar is animals walking on and off.
      if (p.min < p.count) ctx.fillRect(x(p.t), y(p.count), Math.max(1, x(p.t + step) - x(p.t)), y(p.min) - y(p.count));
    }
    ctx.beginPath();
    ctx.moveTo(x(this.points[0].t), bottom);
    for (const p of this.points) {
      ctx.lineTo(x(p.t), y(p.count));
      ctx.lineTo(x(p.t + step), y(p.count));
    }
    ctx.lineTo(x(this.points.at(-1).t + step), bottom);
    ctx.closePath();
    ctx.fillStyle = CURVE_FILL;
    ctx.fill();
    ctx.strokeStyle = CURVE;
    ctx.lineWidth = 2 * ratio;
    ctx.stroke();
  }

  drawLine(ctx, at, colour, lineWidth, height) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = lineWidth;
    ctx.beginPath();
    ctx.moveTo(at, 0);
    ctx.lineTo(at, height);
    ctx.stroke();
  }
}
