// The operator's review of a weighing the platform recorded by itself, in today's list:
// "Подтвердить" (POST …/confirmation) says it is right; correcting and deleting it are the
// same as for any record (record-actions.js). The scale's raw frames and the counts seen are
// one link away (…/evidence).

import { t } from "../i18n.js";
import { openEvidence } from "./evidence.js";
import { button, send } from "./record-actions.js";

// A record the platform wrote by itself: only those keep an evidence bundle.
export function isAutomatic(record) {
  return Boolean(record.evidence_url);
}

// The review line of an automatic record: its state, confirm, and the evidence.
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
      const error = await send("POST", `/api/weight/records/${record.id}/confirmation`, {});
      confirm.disabled = false;
      if (error) problem.textContent = t("weigh.auto.confirmFailed", { error });
      else onChanged();
    });
    confirm.classList.add("operator-only");
    actions.append(confirm);
    box.append(problem);
  }
  const evidence = document.createElement("a");
  evidence.className = "weigh-evidence";
  evidence.href = record.evidence_url;
  evidence.target = "_blank";
  evidence.rel = "noopener";
  evidence.textContent = t("weigh.auto.evidence");
  // A readable table in a dialog; the link itself still opens the raw data (a new tab).
  evidence.addEventListener("click", (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    openEvidence(record);
  });
  actions.append(evidence);
  box.insertBefore(actions, box.children[1] ?? null);
  return box;
}
