// Today's weighings of the camera under the weighing form: the newest LIST_ROWS, each with
// its picture, its figures and what may be done with it (correct, delete, confirm).

import { answerDetail, call } from "../api.js";
import { formatKg, isoDay } from "../format.js";
import { csvDialect, t } from "../i18n.js";
import { snapshotThumb } from "../snapshot.js";
import { loadBatches } from "./batch.js";
import { recordActions } from "./record-actions.js";
import { isAutomatic, reviewControls } from "./weighing-review.js";

const $ = (id) => document.getElementById(id);
const LIST_ROWS = 10;

const state = {
  camera: null,
  records: [],
  total: 0,
  listError: null,
  loadSeq: 0,
};

function thumb(record, className) {
  const caption = t("weigh.photoCaption", {
    id: record.id,
    time: record.local_time.slice(11, 16),
    count: record.count,
  });
  return snapshotThumb(record, className, caption, t("weigh.noPhoto"));
}

function line(className, text) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}

function listItem(record) {
  const item = document.createElement("li");
  item.className = "weigh-item";
  item.dataset.recordId = record.id;
  const body = document.createElement("div");
  body.className = "weigh-item-body";
  body.append(
    line("weigh-item-avg", t("weigh.itemAvg", { avg: formatKg(record.avg_weight_kg) })),
    line(
      "weigh-item-meta",
      t("weigh.itemMeta", {
        time: record.local_time.slice(11, 16),
        count: record.count,
        source: t(`weigh.sourceShort.${record.count_source}`),
        total: formatKg(record.total_weight_kg),
      }),
    ),
  );
  if (record.note) body.append(line("weigh-item-note", record.note));
  if (isAutomatic(record)) {
    item.classList.add("is-automatic");
    body.append(reviewControls(record, changed));
  } else if (record.corrects_id) {
    body.append(line("weigh-item-corrected", t("record.corrected", { id: record.corrects_id })));
  }
  body.append(recordActions(record, body, changed));
  item.append(thumb(record, "weigh-thumb"), body);
  return item;
}

// A record was corrected, deleted or confirmed here: this list, and History, read again.
function changed() {
  document.dispatchEvent(new CustomEvent("pigweight:records-changed", { detail: "weighing" }));
  loadList();
}

export function renderList() {
  // A correction being typed in the list is not swept away by a new record arriving: the
  // list is drawn again when the form closes.
  if (document.querySelector("#weigh-list .weigh-fix")) return;
  const shown = state.records.slice(0, LIST_ROWS);
  $("weigh-list").replaceChildren(...shown.map(listItem));
  $("weigh-empty").hidden = shown.length > 0 || state.listError !== null;
  $("weigh-more-text").textContent =
    state.total > shown.length ? t("weigh.more", { shown: shown.length, total: state.total }) : "";
  const error = $("weigh-list-error");
  error.hidden = state.listError === null;
  error.textContent = state.listError === null ? "" : t("weigh.listError", { error: state.listError });
  const day = isoDay();
  const query = new URLSearchParams({ from: day, to: day, camera: state.camera ?? "", ...csvDialect() });
  $("weigh-csv").href = `/api/weight/records.csv?${query}`;
}

export async function loadList() {
  if (state.camera === null) return;
  loadBatches(); // a weighing recorded, corrected or deleted changes its batch's figures
  const seq = ++state.loadSeq;
  const day = isoDay();
  const query = `from=${day}&to=${day}&camera=${encodeURIComponent(state.camera)}&limit=${LIST_ROWS}`;
  const answer = await call("GET", `/api/weight/records?${query}`);
  if (seq !== state.loadSeq) return; // another camera's or a newer answer wins
  const page = answer.payload;
  if (!answer.ok || !page) {
    state.listError = answerDetail(answer); // a lost connection: the browser's words
  } else {
    state.listError = null;
    state.records = page.records;
    state.total = page.total;
  }
  renderList();
}

// Another camera: its list (empty until its answer comes).
export function setListCamera(cameraId) {
  if (cameraId !== state.camera) {
    state.records = [];
    state.total = 0;
  }
  state.camera = cameraId;
}

// A weighing just saved here: at the top of the list (a replayed one is not counted twice).
export function showSaved(record) {
  state.records = [record, ...state.records.filter((r) => r.id !== record.id)];
  if (!record.replayed) state.total += 1;
  renderList();
}
