// At a site (SITE_ID): the header says how the link to the central stands, from
// /api/health's site_link, read every few seconds: "Центр: связь есть · отправлено 14:02" or
// "Центр: нет связи · в очереди 12 записей (записи сохраняются здесь)".

import { getJson } from "./api.js";
import { language, locale, onLanguage, t } from "./i18n.js";

const EVERY_MS = 5000;
let link = null; // the last site_link read; null before the first answer

// "12 записей" / "12 records": the count with the word its number takes.
export function recordsText(n) {
  const form = new Intl.PluralRules(language() === "ru" ? "ru-RU" : "en-GB").select(n);
  return t(`link.n.${form}`, { n: n.toLocaleString(locale()) });
}

// 14:02 today, 06.12 14:02 another day: the site's clock, the browser's time zone.
export function clockText(ts) {
  const when = new Date(ts * 1000);
  const time = when.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
  if (when.toDateString() === new Date().toDateString()) return time;
  return `${when.toLocaleDateString(locale(), { day: "2-digit", month: "2-digit" })} ${time}`;
}

function render(box) {
  box.hidden = false;
  box.classList.toggle("is-down", link !== null && link.link_up !== true);
  if (link === null || (link.connected && link.link_up === null)) {
    box.textContent = t("link.unknown");
  } else if (!link.connected) {
    box.textContent = t("link.local", { waiting: recordsText(link.waiting) });
  } else if (link.link_up) {
    box.textContent = link.last_sent_ts ? t("link.up", { time: clockText(link.last_sent_ts) }) : t("link.upNothing");
  } else if (link.waiting > 0) {
    box.textContent = t("link.down", { waiting: recordsText(link.waiting) });
  } else {
    box.textContent = t("link.downEmpty");
  }
}

export function init() {
  const box = document.getElementById("site-link");
  if (!box || document.documentElement.dataset.role !== "site") return;
  const read = async () => {
    const health = await getJson("/api/health", { cache: "no-store" });
    if (health?.site_link) link = health.site_link;
    render(box);
  };
  onLanguage(() => render(box));
  read();
  setInterval(read, EVERY_MS);
}
