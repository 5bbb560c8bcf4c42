// Correct or delete any weighing record, in today's list and in History, and undo the last
// weighing. A correction is a new record that replaces the old one (POST …/correction; the
// old one stays in the database, marked); a deletion keeps the row with its reason
// (DELETE …). Both leave the day's CSV and summary at once. The buttons are for operators
// and admins (.operator-only): a viewer does not see them.

import { call, refusalText, viewTexts } from "../api.js";
import { locale, t } from "../i18n.js";
import { MAX_COUNT, parseCount, parseNumber } from "../numbers.js";

export const UNDO_S = 60; // how long after saving the operator may take a weighing back

export function button(className, key, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `weigh-link ${className}`;
  b.textContent = t(key);
  b.addEventListener("click", onClick);
  return b;
}

// null when the server took it, else the sentence to show.
export async function send(method, url, body) {
  const answer = await call(method, url, body);
  if (answer.ok) return null;
  if (answer.status === 0) return t("record.error.network");
  return refusalText(answer, viewTexts("record.error"));
}

function field(labelKey, value, inputmode, className = "") {
  const label = document.createElement("label");
  label.className = `weigh-fix-field ${className}`.trim();
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

function formShell(className, saveKey, onClose) {
  const form = document.createElement("form");
  form.className = `weigh-fix ${className}`;
  form.noValidate = true;
  const error = document.createElement("p");
  error.className = "weigh-fix-error";
  error.setAttribute("role", "alert");
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "button primary weigh-fix-save";
  save.textContent = t(saveKey);
  const close = () => {
    form.remove();
    onClose(); // the list waited while the form was open
  };
  const cancel = button("weigh-fix-cancel", "record.cancel", close);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  return { form, error, save, cancel, close };
}

// Save pressed: the button waits for the answer; the form closes, or says what went wrong.
async function sendAndClose(shell, method, url, body, failedKey) {
  shell.save.disabled = true;
  const problem = await send(method, url, body);
  shell.save.disabled = false;
  if (problem) shell.error.textContent = t(failedKey, { error: problem });
  else shell.close();
}

function invalid(input, error, text) {
  error.textContent = text;
  input.setAttribute("aria-invalid", "true");
  input.focus();
}

function clearOnInput(inputs, error) {
  for (const input of inputs) {
    input.addEventListener("input", () => {
      input.removeAttribute("aria-invalid");
      error.textContent = "";
    });
  }
}

// The count, the total and the note in place; the new average shown before saving.
export function correctionForm(record, box, onChanged) {
  const shell = formShell("record-fix", "record.fixSave", onChanged);
  const count = field("record.fixCount", String(record.count), "numeric");
  const total = field(
    "record.fixTotal",
    record.total_weight_kg.toLocaleString(locale(), { maximumFractionDigits: 3 }),
    "decimal",
  );
  const note = field("record.fixNote", record.note ?? "", "text", "is-wide");
  const average = document.createElement("p");
  average.className = "record-fix-average";
  const showAverage = () => {
    const n = parseCount(count.input.value);
    const kg = parseNumber(total.input.value);
    average.textContent =
      n !== null && kg !== null && kg > 0
        ? t("record.fixAverage", {
            avg: (Math.round((kg / n) * 1000) / 1000).toLocaleString(locale(), {
              maximumFractionDigits: 3,
            }),
          })
        : "";
  };
  clearOnInput([count.input, total.input, note.input], shell.error);
  count.input.addEventListener("input", showAverage);
  total.input.addEventListener("input", showAverage);
  showAverage();
  shell.form.append(
    count.label,
    total.label,
    note.label,
    average,
    shell.save,
    shell.cancel,
    shell.error,
  );
  shell.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const n = parseCount(count.input.value);
    const kg = parseNumber(total.input.value);
    if (n === null) return invalid(count.input, shell.error, t("record.badCount", { max: MAX_COUNT }));
    if (kg === null || kg <= 0) return invalid(total.input, shell.error, t("record.badTotal"));
    const body = {};
    if (n !== record.count) body.count = n;
    if (kg !== record.total_weight_kg) body.total_weight_kg = kg;
    if (note.input.value.trim() !== (record.note ?? "")) body.note = note.input.value.trim();
    if (!Object.keys(body).length) return shell.close(); // nothing changed
    await sendAndClose(shell, "POST", `/api/weight/records/${record.id}/correction`, body, "record.fixFailed");
  });
  box.append(shell.form);
  count.input.focus();
  count.input.select();
}

// Why the record goes (kept with it in the database), then DELETE.
export function deletionForm(record, box, onChanged) {
  const shell = formShell("record-delete", "record.deleteSave", onChanged);
  const reason = field("record.deleteReason", "", "text", "is-wide");
  reason.input.placeholder = t("record.deleteReasonExample");
  clearOnInput([reason.input], shell.error);
  shell.save.classList.replace("primary", "danger");
  shell.form.append(reason.label, shell.save, shell.cancel, shell.error);
  shell.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const why = reason.input.value.trim();
    if (!why) return invalid(reason.input, shell.error, t("record.noReason"));
    await sendAndClose(shell, "DELETE", `/api/weight/records/${record.id}`, { reason: why }, "record.deleteFailed");
  });
  box.append(shell.form);
  reason.input.focus();
}

// «Исправить» and «Удалить» for one record; `box` is where their form opens.
export function recordActions(record, box, onChanged) {
  const actions = document.createElement("div");
  actions.className = "record-actions operator-only";
  const open = (makeForm) => {
    if (!box.querySelector(".weigh-fix")) makeForm(record, box, onChanged);
  };
  actions.append(
    button("record-correct", "record.correct", () => open(correctionForm)),
    button("record-delete-open", "record.delete", () => open(deletionForm)),
  );
  return actions;
}

// Take back a weighing just saved: it is deleted with the reason "undone".
export function undoWeighing(record) {
  return send("DELETE", `/api/weight/records/${record.id}`, { reason: t("record.undoReason") });
}
