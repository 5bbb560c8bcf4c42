// Texts of the page in Russian (first) and English, one module per view in texts/; {name}
// placeholders are filled by t(). Elements with data-i18n (text), data-i18n-alt,
// data-i18n-label (aria-label) and data-i18n-placeholder are translated by setLanguage(),
// which then fires "pigweight:language" on document so that views re-render what they wrote.

import archive from "./texts/archive.js";
import auth from "./texts/auth.js";
import batch from "./texts/batch.js";
import central from "./texts/central.js";
import common from "./texts/common.js";
import history from "./texts/history.js";
import labelling from "./texts/labelling.js";
import live from "./texts/live.js";
import photo from "./texts/photo.js";
import weighing from "./texts/weighing.js";

const STORAGE_KEY = "pigweight.lang";
export const LANGUAGES = ["ru", "en"];
const PARTS = { common, auth, photo, live, weighing, batch, history, archive, labelling, central };

const TEXTS = { ru: {}, en: {} };
for (const part of Object.values(PARTS)) {
  for (const lang of LANGUAGES) Object.assign(TEXTS[lang], part[lang]);
}

let current = "ru";

export function language() {
  return current;
}

// "ru-RU" / "en-GB": for Intl number and date formats.
export function locale() {
  return current === "ru" ? "ru-RU" : "en-GB";
}

// The CSV downloads' query: a Russian page gets the file a Russian Excel opens (`;`,
// decimal commas, Russian headers, BOM); an English one the plain RFC 4180 file.
export function csvDialect() {
  return current === "ru" ? { dialect: "excel-ru" } : {};
}

export function t(key, params = {}) {
  const text = TEXTS[current][key] ?? TEXTS.ru[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// Numbers of a server's params as the page writes them: 99 999, 212,5.
export function localParams(params) {
  const out = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    out[name] = typeof value === "number" ? value.toLocaleString(locale(), { maximumFractionDigits: 3 }) : value;
  }
  return out;
}

// The server's or the browser's own words (English) as a technical detail: shown on an
// English page only; a Russian page says what happened in Russian and nothing else.
export function technicalDetail(detail) {
  return current === "en" && detail ? t("detailPrefix") + detail : "";
}

export function hasText(key) {
  return key in TEXTS[current];
}

// Keys one language has and the other lacks, per part (the page tests check it is empty).
export function missingTexts() {
  const missing = [];
  for (const [name, part] of Object.entries(PARTS)) {
    for (const [lang, other] of [["ru", "en"], ["en", "ru"]]) {
      for (const key of Object.keys(part[lang])) {
        if (!(key in part[other])) missing.push(`${name}: ${key} has no ${other}`);
      }
    }
  }
  return missing;
}

// The operator's last choice wins over the server's default (settings.ui_language).
export function initialLanguage(serverDefault) {
  let stored = null;
  try {
    stored = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    // Private mode or disabled storage: fall back to the server's default.
  }
  if (LANGUAGES.includes(stored)) return stored;
  return LANGUAGES.includes(serverDefault) ? serverDefault : "ru";
}

export function setLanguage(lang, params = {}) {
  current = LANGUAGES.includes(lang) ? lang : "ru";
  try {
    window.localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // Not remembered, but the page still switches.
  }
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, params);
  }
  for (const el of document.querySelectorAll("[data-i18n-alt]")) {
    el.alt = t(el.dataset.i18nAlt, params);
  }
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel, params));
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder, params);
  }
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === current));
  }
  document.dispatchEvent(new CustomEvent("pigweight:language", { detail: current }));
}

// Run `render` now and again whenever the language changes.
export function onLanguage(render) {
  document.addEventListener("pigweight:language", () => render());
}
