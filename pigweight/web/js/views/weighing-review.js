// The operator's review of a weighing the platform recorded by itself, in today's list:
// "Подтвердить" (POST …/confirmation) says it is right; "Исправить" opens the count and the
// total in place and sends a correction (a new record replaces it, the old one stays in the
// database). The scale's raw frames and the counts seen are one link away (…/evidence).

import { locale, t } from "../i18n.js";
import { MAX_COUNT, parseCount, parseNumber } from "../numbers.js";

// A record the platform wrote by itself: only those keep an evidence bundle.
export function isAutomatic(record) {
  return Boolean(record.evidence_url);
}

function button(className, key, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `weigh-link ${className}`;
  b.textContent = t(key);
  b.addEventListener("click", onClick);
  return b;
}

function field(labelKey, value, inputmode) {
  const label = document.createElement("label");
  label.className = "weigh-fix-field";
  const span = document.createElement("span");
  span.textContent = t(labelKey);
  const input = document.createElement("input");
  input.type = "text";
  input.inputMode = inputmode;
  input.autocomplete = "off";
  input.className = "weigh-fix-input";
  input.value = value;
  label.append(span, input);
  return { label, input };
}

async function send(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (err) {
    return t("error.network") + " " + String(err.message || err);
  }
  if (response.ok) return null;
  const payload = await response.json().catch(() => null);
  const detail = payload?.detail;
  return typeof detail === "string" ? detail : `HTTP ${response.status}`;
}

function correctionForm(record, box, onChanged) {
  const form = document.createElement("form");
  form.className = "weigh-fix";
  form.noValidate = true;
  const count = field("weigh.auto.fixCount", String(record.count), "numeric");
  const total = field(
    "weigh.auto.fixTotal",
    record.total_weight_kg.toLocaleString(locale(), { maximumFractionDigits: 3 }),
    "decimal",
  );
  const error = document.createElement("p");
  error.className = "weigh-fix-error";
  error.setAttribute("role", "alert");
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "button primary weigh-fix-save";
  save.textContent = t("weigh.auto.fixSave");
  const close = () => {
    form.remove();
    onChanged(); // the list waited while the form was open
  };
  const cancel = button("weigh-fix-cancel", "weigh.auto.fixCancel", close);
  form.append(count.label, total.label, save, cancel, error);
  for (const input of [count.input, total.input]) {
    input.addEventListener("input", () => {
      input.removeAttribute("aria-invalid");
      error.textContent = "";
    });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const n = parseCount(count.input.value);
    const kg = parseNumber(total.input.value);
    if (n === null) {
      error.textContent = t("weigh.auto.badCount", { max: MAX_COUNT });
      count.input.setAttribute("aria-invalid", "true");
      return;
    }
    if (kg === null || kg <= 0) {
      error.textContent = t("weigh.badTotal");
      total.input.setAttribute("aria-invalid", "true");
      return;
    }
    const body = {};
    if (n !== record.count) body.count = n;
    if (kg !== record.total_weight_kg) body.total_weight_kg = kg;
    if (!Object.keys(body).length) {
      close(); // nothing changed
      return;
    }
    save.disabled = true;
    const problem = await send(`/api/weight/records/${record.id}/correction`, body);
    save.disabled = false;
    if (problem) {
      error.textContent = t("weigh.auto.fixFailed", { error: problem });
      return;
    }
    close();
  });
  box.append(form);
  count.input.focus();
  count.input.select();
}

// The review line of an automatic record: its state, confirm / correct, and the evidence.
export function reviewControls(record, onChanged) {
  const box = document.createElement("div");
  box.className = "weigh-review";
  const tag = document.createElement("p");
  tag.className = "weigh-review-state";
  // A correction of an automatic record keeps its evidence: the operator already checked it.
  const checked = Boolean(record.confirmed_ts || record.corrects_id);
  tag.dataset.confirmed = checked ? "yes" : "no";
  tag.textContent = record.corrects_id
    ? t("weigh.auto.corrected", { id: record.corrects_id })
    : t(checked ? "weigh.auto.confirmed" : "weigh.auto.recorded");
  box.append(tag);
  const actions = document.createElement("div");
  actions.className = "weigh-review-actions";
  if (!checked) {
    const problem = document.createElement("p");
    problem.className = "weigh-fix-error";
    problem.setAttribute("role", "alert");
    const confirm = button("weigh-confirm", "weigh.auto.confirm", async () => {
      confirm.disabled = true;
      const error = await send(`/api/weight/records/${record.id}/confirmation`, {});
      confirm.disabled = false;
      if (error) problem.textContent = t("weigh.auto.confirmFailed", { error });
      else onChanged();
    });
    actions.append(confirm);
    box.append(problem);
  }
  const fix = button("weigh-correct", "weigh.auto.correct", () => {
    if (!box.querySelector(".weigh-fix")) correctionForm(record, box, onChanged);
  });
  const evidence = document.createElement("a");
  evidence.className = "weigh-evidence";
  evidence.href = record.evidence_url;
  evidence.target = "_blank";
  evidence.rel = "noopener";
  evidence.textContent = t("weigh.auto.evidence");
  actions.append(fix, evidence);
  box.insertBefore(actions, box.children[1] ?? null);
  return box;
}
