// Numbers and days as the page writes them, for every view (history, weighing, batch,
// evidence, archive).

import { locale } from "./i18n.js";

// 212.5 -> "212,5" on a Russian page, "212.5" on an English one; grams at most.
export function formatKg(value) {
  return value.toLocaleString(locale(), { maximumFractionDigits: 3 });
}

// The browser's date as YYYY-MM-DD: the farm's day on the farm's own computer.
export function isoDay(date = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
