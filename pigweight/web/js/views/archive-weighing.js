// A weighing from the frame on screen: the form takes the scale's total, keeps the frame's
// count (or the one typed over it) and posts them for that recording's frame.

import { t, locale } from "../i18n.js";
import { $, state } from "./archive-common.js";

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
  weighKey = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  $("archive-weight").focus();
}

async function submitWeighing(event) {
  event.preventDefault();
  const form = $("archive-weigh-form");
  const result = $("archive-weigh-result");
  const total = Number(String($("archive-weight").value).replace(",", "."));
  const typed = $("archive-weigh-count").value.trim();
  if (!(total > 0)) {
    result.dataset.state = "error";
    result.textContent = t("archive.weighNeedsWeight");
    $("archive-weight").focus();
    return;
  }
  const body = { t: Number(form.dataset.t), total_weight_kg: total };
  // The frame's own count stays "auto" (with its confidence); a changed one is "manual".
  if (typed && typed !== form.dataset.count) body.count = Number(typed);
  const note = $("archive-weigh-note").value.trim();
  if (note) body.note = note;
  let response;
  let payload = null;
  try {
    response = await fetch(`/api/video_file/${state.video.id}/weighing`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": weighKey },
      body: JSON.stringify(body),
    });
    payload = await response.json();
  } catch (err) {
    result.dataset.state = "error";
    result.textContent = `${t("archive.error.offline")}: ${err.message || err}`;
    return;
  }
  if (!response.ok) {
    result.dataset.state = "error";
    result.textContent = `${t("archive.weighRefused")}: ${payload?.detail ?? response.status}`;
    return;
  }
  result.dataset.state = "ok";
  result.textContent = t("archive.weighSaved", {
    id: payload.id,
    count: payload.count,
    avg: payload.avg_weight_kg.toLocaleString(locale(), { maximumFractionDigits: 3 }),
  });
  form.hidden = true;
  form.reset();
  $("archive-weigh").focus();
}

export function wireWeighing() {
  $("archive-weigh").addEventListener("click", openWeighing);
  $("archive-weigh-form").addEventListener("submit", submitWeighing);
  $("archive-weigh-cancel").addEventListener("click", () => ($("archive-weigh-form").hidden = true));
}
