// What the labelling view's modules share: the element lookup, the JSON call, the notes
// (a line of text that may be a server's refusal, said again in the language just chosen),
// roles and the time formats.

import { call as apiCall, refusalText } from "../api.js";
import { locale, t, technicalDetail } from "../i18n.js";

export const $ = (id) => document.getElementById(id);
export const enc = encodeURIComponent;

const root = document.documentElement;
export const isAdmin = () => root.dataset.admin === "true";
export const isOperator = () => root.dataset.operator === "true";

// {ok, status, payload} of api.js's call(), never from the browser's cache: never throws; a
// lost connection is status 0, code "network".
export function call(method, url, body) {
  return apiCall(method, url, body, { cache: "no-store" });
}

// A note: {key, params, tone} (our words) or {answer, tone} (a refusal: its code in Russian,
// its English detail only on an English page). Kept so a language switch says it again.
const notes = new Map(); // element id -> note

export function say(id, note) {
  const element = $(id);
  if (!element) return;
  if (note) notes.set(id, note);
  else notes.delete(id);
  element.hidden = !note;
  element.dataset.tone = note?.tone ?? "";
  if (!note) {
    element.textContent = "";
    return;
  }
  if (note.answer) {
    const title = refusalText(note.answer, { scopes: ["labelling.error", "error"] });
    const detail = technicalDetail(note.answer.payload?.detail);
    element.textContent = note.key ? `${t(note.key, note.params)} ${title}` : title;
    if (detail) element.append(document.createElement("br"), detail);
  } else {
    element.textContent = t(note.key, note.params);
  }
}

export function refused(answer, key = null) {
  return { answer, key, tone: "error" };
}

export function sayAgain() {
  for (const [id, note] of notes) say(id, note);
}

// 1710000000.5 -> "09.03.2024, 18:40"
export function when(ts) {
  if (ts === null || ts === undefined) return "—";
  return new Date(ts * 1000).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" });
}

// 45 -> "45 с", 125 -> "2 мин 05 с", 3725 -> "1 ч 02 мин"
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 60) return t("labelling.dur.s", { s });
  if (s < 3600) return t("labelling.dur.ms", { m: Math.floor(s / 60), s: pad(s % 60) });
  return t("labelling.dur.hm", { h: Math.floor(s / 3600), m: pad(Math.floor((s % 3600) / 60)) });
}

export function number(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  return value.toLocaleString(locale(), { maximumFractionDigits: digits });
}

export function percent(fraction) {
  if (fraction === null || fraction === undefined) return "—";
  return (fraction * 100).toLocaleString(locale(), { maximumFractionDigits: 1 });
}

// An element with its class and text, for the lists the view builds.
export function el(tag, className = "", text = "") {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text) element.textContent = text;
  return element;
}

// The chosen file's name beside its button (the input hides behind its label); "no file"
// again, in the page's language, when it is cleared (fire "change" after clearing it).
export function followFileName(inputId, nameId) {
  const input = $(inputId);
  const name = $(nameId);
  input.addEventListener("change", () => {
    const file = input.files[0];
    if (file) {
      delete name.dataset.i18n;
      name.textContent = file.name;
    } else {
      name.dataset.i18n = "labelling.import.none";
      name.textContent = t("labelling.import.none");
    }
  });
}
