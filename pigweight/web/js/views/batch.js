// The batch the live camera's weighings belong to (a pen or a group, as livestock scales
// keep them): pick one of the camera's batches, start a new one (name, head expected,
// target weight), close it. Under the picker: head weighed against expected, the average,
// min–max and the uniformity (CV of the group averages), and a warning when more head were
// weighed than the batch has. The server decides where a weighing goes (the camera's open
// batch), so automatic weighings land in the same batch as typed ones.

import { call, refusalText } from "../api.js";
import { formatKg } from "../format.js";
import { locale, t } from "../i18n.js";
import { parseNumber } from "../numbers.js";

const $ = (id) => document.getElementById(id);
const NONE = "";
const NEW = "new";
const LIST_LIMIT = 30;

const state = {
  camera: null,
  batches: [], // this camera's, open first
  error: null, // sentence to show
  seq: 0,
};

function current() {
  return state.batches.find((b) => b.open) ?? null;
}

// {value} of the server's answer, or {error}: the sentence to show.
async function send(method, url, body) {
  const answer = await call(method, url, body);
  if (answer.status === 0) {
    console.warn("batch:", answer.payload.detail);
    return { error: t("error.network") };
  }
  if (!answer.ok) return { error: refusalText(answer, { scopes: ["batch.error"], otherwise: () => "batch.failed" }) };
  return { value: answer.payload };
}

function renderPicker() {
  const pick = $("batch-pick");
  const options = [new Option(t("batch.none"), NONE)];
  for (const b of state.batches) {
    const label = b.open ? b.name : t("batch.closedMark", { name: b.name });
    options.push(new Option(label, String(b.id)));
  }
  options.push(new Option(t("batch.newOption"), NEW));
  pick.replaceChildren(...options);
  const open = current();
  pick.value = open ? String(open.id) : NONE;
  $("batch-close").hidden = !open;
}

export function figuresText(b) {
  if (!b) return t("batch.noneHint");
  const expected = b.expected_head;
  if (b.weighings === 0) {
    return expected ? t("batch.emptyExpected", { expected }) : t("batch.empty");
  }
  const parts = [
    expected
      ? t(b.over_count ? "batch.weighedOver" : "batch.weighed", {
          animals: b.animals,
          expected,
          remaining: b.remaining,
        })
      : t("batch.weighedNoExpected", { animals: b.animals }),
    t("batch.weighings", { count: b.weighings }),
    t("batch.average", { avg: formatKg(b.avg_weight_kg) }),
    t("batch.range", { min: formatKg(b.min_avg_weight_kg), max: formatKg(b.max_avg_weight_kg) }),
  ];
  if (b.cv_percent !== null) {
    parts.push(t("batch.cv", { cv: b.cv_percent.toLocaleString(locale()) }));
  }
  if (b.vs_target_kg !== null) {
    const diff = formatKg(Math.abs(b.vs_target_kg));
    parts.push(t(b.vs_target_kg > 0 ? "batch.overTarget" : "batch.vsTarget", { diff }));
  }
  return parts.join(" · ");
}

function render() {
  renderPicker();
  const b = current();
  const figures = $("batch-figures");
  figures.textContent = figuresText(b);
  figures.title = b?.cv_percent !== null && b ? t("batch.cvTitle") : "";
  const over = $("batch-over");
  over.hidden = !b?.over_count;
  over.textContent = b?.over_count
    ? t("batch.over", { animals: b.animals, expected: b.expected_head })
    : "";
  const error = $("batch-error");
  error.hidden = !state.error;
  error.textContent = state.error ?? "";
}

export async function loadBatches() {
  if (state.camera === null) return;
  const seq = ++state.seq;
  const query = new URLSearchParams({ camera: state.camera, limit: String(LIST_LIMIT) });
  const answer = await send("GET", `/api/batches?${query}`);
  if (seq !== state.seq) return;
  if (answer.error) {
    state.error = answer.error;
  } else {
    state.batches = answer.value.batches;
  }
  render();
}

// A weighing was saved: its answer carries the batch as it stands now.
export function batchAfterWeighing(batch) {
  if (!batch) return;
  state.batches = state.batches.map((b) => (b.id === batch.id ? batch : b));
  render();
}

function showNew(on) {
  $("batch-new").hidden = !on;
  if (on) {
    for (const id of ["batch-name", "batch-head", "batch-target"]) {
      $(id).value = "";
      $(id).removeAttribute("aria-invalid");
    }
    $("batch-name").focus();
  }
}

function refuse(key, field) {
  state.error = t(key);
  render();
  $(field).setAttribute("aria-invalid", "true");
  $(field).focus();
}

async function startNew(event) {
  event.preventDefault();
  state.error = null;
  const name = $("batch-name").value.trim();
  if (!name) return refuse("batch.noName", "batch-name");
  const body = { camera_id: state.camera, name };
  const headText = $("batch-head").value.trim();
  if (headText) {
    if (!/^\d+$/.test(headText) || Number(headText) < 1) return refuse("batch.badHead", "batch-head");
    body.expected_head = Number(headText);
  }
  const targetText = $("batch-target").value.trim();
  if (targetText) {
    const target = parseNumber(targetText);
    if (target === null || target <= 0) return refuse("batch.badTarget", "batch-target");
    body.target_avg_kg = target;
  }
  const button = $("batch-start");
  button.disabled = true;
  const answer = await send("POST", "/api/batches", body);
  button.disabled = false;
  if (answer.error) {
    state.error = answer.error;
    render();
    return;
  }
  showNew(false);
  await loadBatches();
  $("weigh-total")?.focus();
}

async function pick() {
  const value = $("batch-pick").value;
  state.error = null;
  if (value === NEW) {
    renderPicker(); // the picker shows the current batch until the new one is started
    showNew(true);
    return;
  }
  showNew(false);
  const open = current();
  if (value === NONE) {
    if (open) await change("POST", `/api/batches/${open.id}/close`);
    return;
  }
  if (open && String(open.id) === value) return;
  await change("POST", `/api/batches/${value}/reopen`);
}

async function change(method, url) {
  const answer = await send(method, url);
  if (answer.error) state.error = answer.error;
  await loadBatches();
}

export function setBatchCamera(cameraId) {
  if (cameraId !== state.camera) {
    state.batches = [];
    state.error = null;
    showNew(false);
  }
  state.camera = cameraId;
  $("batch").hidden = false;
  render();
  loadBatches();
}

export function rerenderBatch() {
  render();
}

export function initBatch() {
  $("batch-pick").addEventListener("change", pick);
  $("batch-close").addEventListener("click", () => {
    const open = current();
    if (open) change("POST", `/api/batches/${open.id}/close`);
  });
  $("batch-new").addEventListener("submit", startNew);
  $("batch-cancel").addEventListener("click", () => {
    showNew(false);
    state.error = null;
    render();
  });
}
