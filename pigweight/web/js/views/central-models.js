// The central's "Models of the sites" card (issue 21 part 3): which model the central sent
// each site and what the site made of it (pending, counting, refused and why), and the
// admin's form that sends an ONNX model to one site's cameras (all when none is named).

import { call, answerDetail } from "../api.js";
import { cell } from "../table.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);
let models = null;

function stateText(site) {
  if (site.state === "refused") return t("central.model.refused", { reason: site.report?.reason ?? "" });
  return t(`central.model.${site.state}`);
}

export function render() {
  const body = $("central-models-body");
  body.replaceChildren();
  const select = $("central-model-site");
  const chosen = select.value;
  select.replaceChildren();
  for (const site of models?.sites ?? []) {
    const row = document.createElement("tr");
    row.dataset.site = site.site;
    cell(row, site.site);
    cell(row, site.sent ? site.sent.name : "—");
    cell(row, stateText(site)).dataset.state = site.state;
    body.append(row);
    const option = document.createElement("option");
    option.value = option.textContent = site.site;
    select.append(option);
  }
  if (chosen) select.value = chosen;
}

export async function refresh() {
  const answer = await call("GET", "/api/central/models", undefined, { cache: "no-store" });
  if (answer.ok) models = answer.payload;
  render();
}

async function send(event) {
  event.preventDefault();
  const file = $("central-model-file").files[0];
  const site = $("central-model-site").value;
  if (!file || !site) return;
  const body = new FormData();
  body.append("file", file);
  body.append("cameras", $("central-model-cameras").value);
  $("central-model-send").disabled = true;
  const answer = await call("POST", `/api/central/models/${encodeURIComponent(site)}/import`, body);
  $("central-model-send").disabled = false;
  $("central-model-result").textContent = answer.ok
    ? t("central.modelSent", { name: file.name, site })
    : t("central.modelRefused", { detail: answerDetail(answer) });
  await refresh();
}

export function init() {
  $("central-model-form").addEventListener("submit", send);
}
