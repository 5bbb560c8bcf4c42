// The central's "Sites" view (pigweight serve --central): which site is online and since
// when it is not, its cameras, records today and last record; the records of every site
// (or one) in each site's own local time; the batches with head, average and uniformity.
// Read again every 10 s while on screen.

import { call, refusalKey, viewTexts, answerDetail } from "../api.js";
import { cell } from "../table.js";
import { locale, onLanguage, t, technicalDetail } from "../i18n.js";
import { formatKg } from "../format.js";
import { clockText } from "../site-link.js";
import * as siteModels from "./central-models.js";
import * as groupModel from "./central-group.js";

const EVERY_MS = 10000;
const $ = (id) => document.getElementById(id);
const state = { sites: null, records: null, batches: null, error: null };
let timer = null;

// "2026-05-28T23:26:40+03:00" -> "28.05.2026 23:26" (ru) / "28/05/2026 23:26" (en): the
// site's wall time as it was recorded, never converted to the browser's zone.
export function siteTime(localTime) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(localTime || "");
  if (!m) return localTime || "";
  const [, y, mo, d, h, mi] = m;
  const sep = locale() === "ru-RU" ? "." : "/";
  return `${d}${sep}${mo}${sep}${y} ${h}:${mi}`;
}

function number(value) {
  return value === null || value === undefined ? "—" : formatKg(value);
}

function linkText(site) {
  if (site.last_heard_ts === null) return t("central.neverHeard");
  return site.online ? t("central.online") : t("central.offlineSince", { time: clockText(site.last_heard_ts) });
}

function renderSites() {
  const body = $("central-sites-body");
  body.replaceChildren();
  const sites = state.sites?.sites ?? [];
  $("central-sites-empty").hidden = state.sites === null || sites.length > 0;
  for (const site of sites) {
    const row = document.createElement("tr");
    row.dataset.site = site.site;
    cell(row, site.site).classList.add("central-site-name");
    const link = cell(row, linkText(site), site.online ? "central-online" : "central-offline");
    link.dataset.online = String(site.online);
    cell(row, site.last_heard_ts === null ? "—" : clockText(site.last_heard_ts));
    const total = site.cameras.length;
    cell(row, total ? t("central.camerasOnline", { online: site.cameras_online, total }) : t("central.noCameras"));
    cell(row, site.records_today.toLocaleString(locale()), "num");
    const last = site.last_record;
    const lastText = last
      ? t("central.lastRecord", { time: siteTime(last.local_time), count: last.count, avg: number(last.avg_weight_kg) })
      : "—";
    cell(row, lastText);
    const ingest = site.ingest;
    let ingestText = ingest
      ? t("central.ingest", { taken: ingest.taken, repeats: ingest.repeats, refused: ingest.refused })
      : "—";
    if (ingest?.last_error) ingestText += ` · ${t("central.ingestError", { error: ingest.last_error })}`;
    cell(row, ingestText);
    body.append(row);
  }
  const select = $("central-site");
  const chosen = select.value;
  const names = sites.map((s) => s.site);
  if ([...select.options].slice(1).map((o) => o.value).join() !== names.join()) {
    for (const option of [...select.options].slice(1)) option.remove();
    for (const name of names) select.append(new Option(name, name));
    select.value = names.includes(chosen) ? chosen : "";
  }
}

function renderRecords() {
  const body = $("central-records-body");
  body.replaceChildren();
  const records = state.records?.records ?? [];
  for (const r of records) {
    const row = document.createElement("tr");
    row.dataset.uuid = r.uuid;
    cell(row, r.site);
    cell(row, siteTime(r.local_time));
    cell(row, r.camera);
    cell(row, r.count.toLocaleString(locale()), "num");
    cell(row, number(r.total_weight_kg), "num");
    cell(row, number(r.avg_weight_kg), "num");
    cell(row, r.note);
    body.append(row);
  }
  $("central-records-empty").hidden = state.records === null || records.length > 0;
  $("central-records-shown").textContent = state.records
    ? t("central.shown", { shown: records.length.toLocaleString(locale()), total: state.records.total.toLocaleString(locale()) })
    : "";
}

function renderBatches() {
  const body = $("central-batches-body");
  body.replaceChildren();
  const batches = state.batches?.batches ?? [];
  for (const b of batches) {
    const row = document.createElement("tr");
    cell(row, b.site);
    cell(row, b.name);
    cell(row, b.camera);
    const head = b.expected_head === null
      ? b.animals.toLocaleString(locale())
      : t("central.headOf", { animals: b.animals.toLocaleString(locale()), expected: b.expected_head.toLocaleString(locale()) });
    cell(row, head, "num");
    cell(row, number(b.avg_weight_kg), "num");
    cell(row, number(b.cv_percent), "num");
    cell(row, b.open ? t("central.open") : t("central.closed"));
    body.append(row);
  }
  $("central-batches-empty").hidden = state.batches === null || batches.length > 0;
}

function renderError() {
  const box = $("central-error");
  box.hidden = state.error === null;
  if (state.error === null) return;
  const { key, params } = refusalKey(state.error, viewTexts("central"));
  $("central-error-title").textContent = t(key, params);
  $("central-error-detail").textContent = technicalDetail(answerDetail(state.error));
}

function render() {
  renderSites();
  renderRecords();
  renderBatches();
  renderError();
}

function query() {
  const params = new URLSearchParams({ limit: "100" });
  const site = $("central-site").value;
  if (site) params.set("site", site);
  if ($("central-from").value) params.set("from_date", $("central-from").value);
  if ($("central-to").value) params.set("to_date", $("central-to").value);
  return params;
}

async function refresh() {
  const params = query();
  const batchParams = new URLSearchParams();
  if (params.has("site")) batchParams.set("site", params.get("site"));
  const [sites, records, batches] = await Promise.all([
    call("GET", "/api/central/sites", undefined, { cache: "no-store" }),
    call("GET", `/api/central/records?${params}`, undefined, { cache: "no-store" }),
    call("GET", `/api/central/batches?${batchParams}`, undefined, { cache: "no-store" }),
  ]);
  const failed = [sites, records, batches].find((answer) => !answer.ok);
  state.error = failed ?? null;
  if (sites.ok) state.sites = sites.payload;
  if (records.ok) state.records = records.payload;
  if (batches.ok) state.batches = batches.payload;
  render();
  await siteModels.refresh();
  await groupModel.refresh();
}

export function init() {
  for (const id of ["central-site", "central-from", "central-to"]) {
    $(id).addEventListener("change", refresh);
  }
  $("central-filters").addEventListener("submit", (event) => event.preventDefault());
  siteModels.init();
  groupModel.init();
  onLanguage(() => {
    render();
    siteModels.render();
    groupModel.render();
  });
}

export function show() {
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, EVERY_MS);
}

export function hide() {
  clearInterval(timer);
  timer = null;
}
