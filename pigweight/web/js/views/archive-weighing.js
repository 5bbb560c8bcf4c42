// A weighing from the frame on screen: the form takes the scale's total, keeps the frame's
// count (or the one typed over it) and posts them for that recording's frame. The total is
// read as the live form reads it (numbers.js) and shown, with the average, as it is typed.
// The weighing is dated when it happened: the recording's start (from its file name or the
// file itself, GET /api/video_file/{id}) plus the frame's time, or what the operator enters
// where the recording does not say.

import { answerDetail, call, refusalText } from "../api.js";
import { formatKg } from "../format.js";
import { locale, t } from "../i18n.js";
import { MAX_COUNT, parseCount, parseNumber } from "../numbers.js";
import { $, getJson, state } from "./archive-common.js";

let weighKey = null; // Idempotency-Key of the form now open: a resent form saves once

function openWeighing() {
  if (!state.video || state.frameT === null) return;
  $("archive-video").pause();
  const form = $("archive-weigh-form");
  form.hidden = false;
  form.dataset.t = String(state.frameT);
  form.dataset.count = state.shown ? String(state.shown.count) : "";
  $("archive-weigh-count").value = form.dataset.count;
  $("archive-weigh-result").textContent = "";
  renderPreview();
  weighKey = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  $("archive-weight").focus();
  fillMoment(state.video.id, state.frameT);
}

// "2024-05-14T07:30:04+03:00" + 12.4 s -> "2024-05-14T07:30:16": the farm's wall clock, as
// a datetime-local field shows it (whole seconds: the field's step).
function plusSeconds(localIso, seconds) {
  const moment = new Date(`${localIso.slice(0, 19)}Z`);
  moment.setTime(moment.getTime() + Math.floor(seconds) * 1000);
  return moment.toISOString().slice(0, 19);
}

async function fillMoment(videoId, frameT) {
  const field = $("archive-weigh-at");
  const source = $("archive-weigh-at-source");
  field.value = "";
  field.required = false;
  source.dataset.source = "loading";
  source.textContent = t("archive.weighAtFrom.loading");
  let start = null;
  try {
    start = (await getJson(`/api/video_file/${videoId}`)).recorded_at;
  } catch {
    start = null; // the server says so on Save, if it cannot tell either
  }
  if (state.video?.id !== videoId || $("archive-weigh-form").hidden) return;
  source.dataset.source = start ? start.source : "unknown";
  source.textContent = t(`archive.weighAtFrom.${source.dataset.source}`);
  field.required = !start;
  if (start) field.value = plusSeconds(start.local_time, frameT);
}

// What Save would send, as typed now: {total, count} (count null: the frame's), {empty},
// or {error, field} naming the text key of the mistake and the field it is in.
function reading() {
  const totalText = $("archive-weight").value;
  const countText = $("archive-weigh-count").value.trim();
  if (!totalText.trim()) return { empty: true };
  const total = parseNumber(totalText);
  if (total === null || total <= 0) return { error: "archive.weighBadWeight", field: "archive-weight" };
  const count = countText ? parseCount(countText) : null;
  if (countText && count === null) return { error: "archive.weighBadCount", field: "archive-weigh-count" };
  return { total, count };
}

// The line under the weight: what will be recorded, or what is wrong (and Save is off).
function renderPreview() {
  const preview = $("archive-weigh-preview");
  const save = $("archive-weigh-form").querySelector("button[type=submit]");
  const r = reading();
  for (const id of ["archive-weight", "archive-weigh-count"]) $(id).removeAttribute("aria-invalid");
  save.disabled = Boolean(r.error);
  if (r.error) {
    preview.dataset.state = "error";
    preview.textContent = t(r.error, { max: MAX_COUNT });
    $(r.field).setAttribute("aria-invalid", "true");
    return;
  }
  preview.dataset.state = r.empty ? "empty" : "ok";
  if (r.empty) preview.textContent = "";
  else if (r.count === null) preview.textContent = t("archive.weighPreviewTotal", { total: formatKg(r.total) });
  else {
    const avg = formatKg(Math.round((r.total / r.count) * 1000) / 1000);
    preview.textContent = t("archive.weighPreview", { total: formatKg(r.total), avg });
  }
}

async function submitWeighing(event) {
  event.preventDefault();
  const form = $("archive-weigh-form");
  const result = $("archive-weigh-result");
  const typed = $("archive-weigh-count").value.trim();
  const r = reading();
  if (r.empty || r.error) {
    result.dataset.state = "error";
    result.textContent = r.empty ? t("archive.weighNeedsWeight") : t(r.error, { max: MAX_COUNT });
    $(r.field ?? "archive-weight").focus();
    return;
  }
  const body = { t: Number(form.dataset.t), total_weight_kg: r.total };
  // The frame's own count stays "auto" (with its confidence); a changed one is "manual".
  if (typed && typed !== form.dataset.count) body.count = r.count;
  const note = $("archive-weigh-note").value.trim();
  if (note) body.note = note;
  const at = $("archive-weigh-at").value;
  if (at) body.at = at.length === 16 ? `${at}:00` : at;
  else if ($("archive-weigh-at").required) {
    result.dataset.state = "error";
    result.textContent = t("archive.weighNeedsTime");
    $("archive-weigh-at").setAttribute("aria-invalid", "true");
    $("archive-weigh-at").focus();
    return;
  }
  const url = `/api/video_file/${state.video.id}/weighing`;
  const answer = await call("POST", url, body, { headers: { "Idempotency-Key": weighKey } });
  const { ok, status, payload } = answer;
  if (status === 0 || payload === null) {
    // No answer, or none that can be read (a proxy's page): the server is away.
    result.dataset.state = "error";
    console.warn("archive weighing:", answerDetail(answer));
    result.textContent = t("archive.error.offline");
    return;
  }
  if (!ok) {
    result.dataset.state = "error";
    result.textContent = `${t("archive.weighRefused")}: ${refusalText(answer, { scopes: ["weigh.error", "error"] })}`;
    return;
  }
  result.dataset.state = "ok";
  result.textContent = t("archive.weighSaved", {
    id: payload.id,
    count: payload.count,
    avg: payload.avg_weight_kg.toLocaleString(locale(), { maximumFractionDigits: 3 }),
  });
  // Saved, but without its CSV line or its picture (a full disk): said, as the live form does.
  if (payload.csv_error) result.textContent += t("weigh.csvError", { error: payload.csv_error });
  if (payload.snapshot_error) result.textContent += t("weigh.snapshotError", { error: payload.snapshot_error });
  form.hidden = true;
  form.reset();
  renderPreview();
  $("archive-weigh").focus();
}

export function wireWeighing() {
  $("archive-weigh").addEventListener("click", openWeighing);
  $("archive-weigh-form").addEventListener("submit", submitWeighing);
  $("archive-weight").addEventListener("input", renderPreview);
  $("archive-weigh-count").addEventListener("input", renderPreview);
  $("archive-weigh-at").addEventListener("input", () => $("archive-weigh-at").removeAttribute("aria-invalid"));
  // The language switch writes the line again in the new language.
  document.addEventListener("pigweight:language", renderPreview);
  $("archive-weigh-cancel").addEventListener("click", () => ($("archive-weigh-form").hidden = true));
}
