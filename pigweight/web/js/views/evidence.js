// What a weighing the platform recorded by itself was decided on, as a table the operator
// reads: time, the scale's reading, whether it was steady, the head the camera counted on
// that frame; and a summary of the counts seen. The indicator's raw frames and the JSON are
// behind «Подробнее» (details), for whoever checks the scale's wiring.

import { getJson } from "../api.js";
import { formatKg } from "../format.js";
import { locale, t } from "../i18n.js";

let dialog = null;

function clock(ts) {
  return new Date(ts * 1000).toLocaleTimeString(locale(), {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    fractionalSecondDigits: 1,
  });
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

// The count the camera showed at `ts`: that of its newest frame at or before it.
function countAt(counts, ts) {
  let found = null;
  for (const c of counts) {
    if (c.ts <= ts + 0.05) found = c;
    else break;
  }
  return found;
}

function table(evidence) {
  const frames = evidence.scale?.frames ?? [];
  const counts = [...(evidence.counts ?? [])].sort((a, b) => a.ts - b.ts);
  const box = element("div", "evidence-table-box");
  const tableEl = element("table", "evidence-table");
  const head = element("tr");
  for (const key of ["time", "weight", "stable", "count"]) {
    const th = element("th", key === "time" ? "" : "num", t(`evidence.col.${key}`));
    th.scope = "col";
    head.append(th);
  }
  const thead = element("thead");
  thead.append(head);
  const body = element("tbody");
  const rows = frames.length ? frames : counts.map((c) => ({ ts: c.ts }));
  for (const frame of rows) {
    const row = element("tr");
    const seen = countAt(counts, frame.ts);
    row.append(
      element("td", "", clock(frame.ts)),
      element("td", "num", typeof frame.weight_kg === "number" ? formatKg(frame.weight_kg) : "—"),
      element("td", "num", frame.stable === undefined ? "—" : t(frame.stable ? "evidence.yes" : "evidence.no")),
      element("td", "num", seen?.count ?? "—"),
    );
    body.append(row);
  }
  tableEl.append(thead, body);
  box.append(tableEl);
  return box;
}

function summary(record, evidence) {
  const seen = Object.entries(evidence.count_histogram ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([count, times]) => t("evidence.seenItem", { count, times }))
    .join(", ");
  const lines = [
    t("evidence.recorded", {
      time: clock(evidence.settled_at ?? record.ts),
      count: evidence.count ?? record.count,
      total: formatKg(evidence.total_kg ?? record.total_weight_kg),
      window: (evidence.window_s ?? 0).toLocaleString(locale()),
    }),
  ];
  if (seen) lines.push(t("evidence.seen", { seen }));
  return lines.map((text) => element("p", "evidence-line", text));
}

function details(record, evidence) {
  const more = element("details", "evidence-more");
  more.append(element("summary", "", t("evidence.more")));
  const scale = evidence.scale ?? {};
  more.append(
    element("p", "evidence-line", t("evidence.scale", { protocol: scale.protocol ?? "—", where: scale.where ?? "—" })),
  );
  const raw = (scale.frames ?? []).map((f) => `${clock(f.ts)}  ${f.raw}`).join("\n");
  more.append(element("pre", "evidence-raw", raw || "—"));
  const link = element("a", "evidence-json", t("evidence.json"));
  link.href = record.evidence_url;
  link.target = "_blank";
  link.rel = "noopener";
  more.append(link);
  return more;
}

// Open the evidence of `record` in a modal dialog; Escape or the button closes it.
export async function openEvidence(record) {
  if (!dialog) {
    dialog = element("dialog", "evidence-dialog");
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    document.body.append(dialog);
  }
  const title = element("h2", "evidence-title", t("evidence.title", { id: record.id }));
  const content = element("div", "evidence-content", t("evidence.loading"));
  const close = element("button", "button primary evidence-close", t("history.close"));
  close.type = "button";
  close.addEventListener("click", () => dialog.close());
  dialog.replaceChildren(title, content, close);
  dialog.setAttribute("aria-label", title.textContent);
  dialog.showModal();
  close.focus();
  const evidence = await getJson(record.evidence_url);
  if (!evidence) {
    content.textContent = t("evidence.failed");
    return;
  }
  content.replaceChildren(...summary(record, evidence), table(evidence), details(record, evidence));
}
