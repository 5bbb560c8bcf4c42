// The labelling editor: a frame on a canvas with one box per animal, edited by mouse, pen or
// finger (Pointer Events). A click (a tap) inside a box removes it; a drag draws a new box
// (anywhere but on a corner: animals lie against each other, so a drag may start inside a
// neighbour's box); a drag on a corner moves that corner. Every change can be undone.
// Boxes are [x1, y1, x2, y2] in 0-1 of the frame, as the server keeps them.

import { drawZone } from "./outlines.js";

const STROKE = "rgba(255, 214, 10, 0.95)";
const SELECTED = "rgba(80, 200, 255, 1)";
const DOOMED = "rgba(255, 80, 60, 1)"; // the box a click would remove
const DRAFT = "rgba(120, 255, 140, 1)";
const SHADOW = "rgba(0, 0, 0, 0.65)";
// Corner handles, in CSS pixels: a fingertip needs more room than a mouse pointer.
const GRAB_PX = { touch: 26, pen: 16, mouse: 12 };
const DRAG_PX = { touch: 10, pen: 6, mouse: 5 }; // less movement than this is a click
const MIN_BOX_PX = 6;
const DIGITS = 4;

const clamp01 = (v) => Math.min(1, Math.max(0, v));
const round = (v) => Number(v.toFixed(DIGITS));
const copy = (boxes) => boxes.map((b) => b.slice());

// Canvas `canvas` sized to `cssWidth` x `cssHeight` CSS pixels, its backing store to the
// screen's pixels.
export function sizeCanvas(canvas, cssWidth, cssHeight) {
  const ratio = window.devicePixelRatio || 1;
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  canvas.width = Math.max(1, Math.round(cssWidth * ratio));
  canvas.height = Math.max(1, Math.round(cssHeight * ratio));
}

function strokeBox(ctx, canvas, box, color, width) {
  const [x1, y1, x2, y2] = box;
  const x = x1 * canvas.width;
  const y = y1 * canvas.height;
  const w = (x2 - x1) * canvas.width;
  const h = (y2 - y1) * canvas.height;
  ctx.lineWidth = width + 2;
  ctx.strokeStyle = SHADOW; // dark under light: shows on any floor
  ctx.strokeRect(x, y, w, h);
  ctx.lineWidth = width;
  ctx.strokeStyle = color;
  ctx.strokeRect(x, y, w, h);
}

function corners([x1, y1, x2, y2]) {
  return [
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ];
}

function dots(ctx, canvas, box, color, radius) {
  ctx.fillStyle = color;
  for (const [x, y] of corners(box)) {
    ctx.beginPath();
    ctx.arc(x * canvas.width, y * canvas.height, radius, 0, 2 * Math.PI);
    ctx.fill();
  }
}

// The picture, the platform zone (dashed) and the boxes, on `canvas` as it is sized.
// `styles`: index -> colour for boxes drawn apart from the rest.
export function drawFrame(canvas, image, boxes, { zone = null, styles = new Map(), draft = null, handles = false } = {}) {
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  // outlines.drawZone clears the canvas and draws the zone; the picture goes under it.
  if (zone?.length) drawZone(canvas, zone);
  if (image?.complete && image.naturalWidth) {
    ctx.globalCompositeOperation = "destination-over";
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    ctx.globalCompositeOperation = "source-over";
  }
  ctx.setLineDash([]);
  ctx.lineJoin = "miter";
  boxes.forEach((box, i) => {
    const color = styles.get(i) ?? STROKE;
    strokeBox(ctx, canvas, box, color, (color === STROKE ? 2 : 3) * ratio);
    if (handles) dots(ctx, canvas, box, color, (color === STROKE ? 3 : 7) * ratio);
  });
  if (draft) {
    ctx.setLineDash([6 * ratio, 4 * ratio]);
    strokeBox(ctx, canvas, draft, DRAFT, 2 * ratio);
    ctx.setLineDash([]);
  }
}

// `how`: {canEdit(): whether edits are allowed now; onChange({count, dirty, canUndo}): after
// every change; maxHeight(): the most CSS pixels the canvas may be high}.
export function createLabelEditor(canvas, how) {
  let image = null;
  let aspect = 16 / 9;
  let zone = null;
  let boxes = [];
  let base = "[]"; // the boxes as loaded, to tell an edited frame
  let undoStack = [];
  let selected = -1;
  let hovered = -1;
  let gesture = null; // {id, type, start, mode: pending|draw|resize, index, corner, moved}
  let draft = null;
  let loaded = false; // a frame is on the canvas

  function cssPoint(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top, w: rect.width, h: rect.height };
  }

  function norm(p) {
    return [clamp01(p.x / p.w), clamp01(p.y / p.h)];
  }

  // The smallest box around the point: with animals side by side, the one meant.
  function boxAt([x, y]) {
    let best = -1;
    let bestArea = Infinity;
    boxes.forEach(([x1, y1, x2, y2], i) => {
      const area = (x2 - x1) * (y2 - y1);
      if (x >= x1 && x <= x2 && y >= y1 && y <= y2 && area < bestArea) {
        best = i;
        bestArea = area;
      }
    });
    return best;
  }

  // The corner within reach of the pointer, the selected box's first; null if none.
  function cornerAt(p, type) {
    const reach = GRAB_PX[type] ?? GRAB_PX.mouse;
    let best = null;
    boxes.forEach((box, index) => {
      corners(box).forEach(([cx, cy], corner) => {
        const d = Math.hypot(cx * p.w - p.x, cy * p.h - p.y) - (index === selected ? reach / 2 : 0);
        if (d <= reach && (best === null || d < best.d)) best = { index, corner, d };
      });
    });
    return best;
  }

  function remember() {
    undoStack.push(copy(boxes));
    if (undoStack.length > 200) undoStack.shift();
  }

  function changed() {
    const json = JSON.stringify(boxes.map((b) => b.map(round)));
    canvas.dataset.count = String(boxes.length);
    canvas.dataset.boxes = json;
    canvas.dataset.selected = selected >= 0 ? String(selected) : "";
    how.onChange?.({ count: boxes.length, dirty: json !== base, canUndo: undoStack.length > 0 });
    paint();
  }

  function paint() {
    const styles = new Map();
    if (hovered >= 0 && !gesture) styles.set(hovered, DOOMED);
    if (selected >= 0) styles.set(selected, SELECTED);
    drawFrame(canvas, image, boxes, { zone, styles, draft, handles: true });
  }

  function fit() {
    const parent = canvas.parentElement;
    const width = parent.clientWidth;
    if (!width) return;
    const height = Math.min(width / aspect, how.maxHeight?.() ?? Infinity);
    sizeCanvas(canvas, Math.round(height * aspect), Math.round(height));
    paint();
  }

  function cursorFor(p) {
    if (!how.canEdit()) return "default";
    const corner = cornerAt(p, "mouse");
    if (corner) return corner.corner % 2 === 0 ? "nwse-resize" : "nesw-resize";
    return boxAt(norm(p)) >= 0 ? "pointer" : "crosshair";
  }

  function onDown(event) {
    if (gesture || !loaded || !how.canEdit() || event.button > 0) return;
    event.preventDefault();
    const p = cssPoint(event);
    const corner = cornerAt(p, event.pointerType);
    gesture = { id: event.pointerId, type: event.pointerType, start: p, mode: "pending", corner };
    canvas.setPointerCapture(event.pointerId);
    canvas.focus({ preventScroll: true, focusVisible: false }); // the keys act on it now
    paint();
  }

  function onMove(event) {
    const p = cssPoint(event);
    if (!gesture) {
      if (event.pointerType !== "mouse") return;
      const index = how.canEdit() ? boxAt(norm(p)) : -1;
      canvas.style.cursor = cursorFor(p);
      if (index !== hovered) {
        hovered = index;
        paint();
      }
      return;
    }
    if (event.pointerId !== gesture.id) return;
    const far = Math.hypot(p.x - gesture.start.x, p.y - gesture.start.y) >= (DRAG_PX[gesture.type] ?? DRAG_PX.mouse);
    if (gesture.mode === "pending" && far) {
      gesture.mode = gesture.corner ? "resize" : "draw";
      if (gesture.mode === "resize") remember();
    }
    if (gesture.mode === "draw") {
      const [ax, ay] = norm(gesture.start);
      const [bx, by] = norm(p);
      draft = [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)];
      paint();
    } else if (gesture.mode === "resize") {
      resize(gesture.corner, norm(p));
    }
  }

  // Moves one corner; the opposite one stays where it is.
  function resize({ index, corner }, [x, y]) {
    const [x1, y1, x2, y2] = undoStack[undoStack.length - 1][index];
    const fixed = corners([x1, y1, x2, y2])[(corner + 2) % 4];
    boxes[index] = [Math.min(fixed[0], x), Math.min(fixed[1], y), Math.max(fixed[0], x), Math.max(fixed[1], y)];
    selected = index;
    changed();
  }

  function onUp(event) {
    if (!gesture || event.pointerId !== gesture.id) return;
    const { mode, start } = gesture;
    gesture = null;
    const p = cssPoint(event);
    if (mode === "pending") {
      const index = boxAt(norm(start));
      if (index >= 0) {
        remember();
        boxes.splice(index, 1);
        selected = -1;
        hovered = -1;
      } else {
        selected = -1;
      }
    } else if (mode === "draw" && draft) {
      const big = (draft[2] - draft[0]) * p.w >= MIN_BOX_PX && (draft[3] - draft[1]) * p.h >= MIN_BOX_PX;
      if (big) {
        remember();
        boxes.push(draft.map(round));
        selected = boxes.length - 1;
      }
    } else if (mode === "resize") {
      const box = boxes[selected];
      if ((box[2] - box[0]) * p.w < MIN_BOX_PX || (box[3] - box[1]) * p.h < MIN_BOX_PX) {
        boxes = undoStack.pop(); // squeezed to nothing: not what was meant
      } else {
        boxes[selected] = box.map(round);
      }
    }
    draft = null;
    changed();
  }

  function onCancel(event) {
    if (!gesture || event.pointerId !== gesture.id) return;
    if (gesture.mode === "resize") boxes = undoStack.pop();
    gesture = null;
    draft = null;
    changed();
  }

  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("pointercancel", onCancel);
  canvas.addEventListener("pointerleave", () => {
    if (hovered >= 0 && !gesture) {
      hovered = -1;
      paint();
    }
  });
  new ResizeObserver(fit).observe(canvas.parentElement);
  window.addEventListener("resize", fit);

  return {
    // A frame to edit: its picture (an <img>, maybe still loading), its saved boxes and
    // zone; `edits`: boxes changed here and not saved yet (shown instead); `undo`: earlier
    // states Ctrl+Z goes back to (a refused save's own boxes, say).
    load(picture, savedBoxes, { width, height, platform = null, edits = null, undo = [] } = {}) {
      loaded = true;
      image = picture;
      aspect = width && height ? width / height : 16 / 9;
      zone = platform;
      base = JSON.stringify(savedBoxes.map((b) => b.map(round)));
      boxes = copy(edits ?? savedBoxes);
      undoStack = undo.map(copy);
      selected = -1;
      hovered = -1;
      gesture = null;
      draft = null;
      canvas.dataset.ready = String(Boolean(image?.complete));
      const shown = picture;
      picture?.addEventListener("load", () => {
        if (image !== shown) return; // another frame since
        canvas.dataset.ready = "true";
        paint();
      }, { once: true });
      fit();
      changed();
    },
    // No frame: an empty canvas that takes no edits.
    clear() {
      loaded = false;
      image = null;
      zone = null;
      boxes = [];
      base = "[]";
      undoStack = [];
      selected = -1;
      hovered = -1;
      gesture = null;
      draft = null;
      canvas.dataset.ready = "false";
      changed();
    },
    boxes: () => copy(boxes),
    undoStates: () => undoStack.map(copy),
    canUndo: () => undoStack.length > 0,
    dirty: () => JSON.stringify(boxes.map((b) => b.map(round))) !== base,
    undo() {
      if (!undoStack.length || gesture) return false;
      boxes = undoStack.pop();
      selected = -1;
      changed();
      return true;
    },
    removeSelected() {
      const index = selected >= 0 ? selected : hovered;
      if (index < 0 || gesture) return false;
      remember();
      boxes.splice(index, 1);
      selected = -1;
      hovered = -1;
      changed();
      return true;
    },
    // The boxes as saved: what is on screen is no longer an edit.
    saved() {
      base = JSON.stringify(boxes.map((b) => b.map(round)));
      changed();
    },
    fit,
  };
}
