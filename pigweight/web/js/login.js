// The login page: POST /api/auth/login, then back to where the user was going (?next=).
// The session cookie is HttpOnly: this script never sees it.

import { call, refusalText } from "./api.js";
import { initialLanguage, onLanguage, setLanguage, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let shown = null; // [key, params] of the message on screen, re-translated on a switch

// Only a path of this site, as the browser's own URL parser reads it: "/\evil" and
// "/<tab>/evil" start with one "/" but are "//evil", another host (the server checks too).
function nextPath() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  if (!next.startsWith("/")) return "/"; // "javascript:", "https://evil", " /x"
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin ? url.pathname + url.search : "/";
  } catch {
    return "/"; // not a URL at all
  }
}

function show(key, params = {}) {
  shown = key ? [key, params] : null;
  const error = $("login-error");
  error.hidden = !key;
  error.textContent = key ? t(key, params) : "";
}

async function submit(event) {
  event.preventDefault();
  const name = $("login-name").value.trim();
  const password = $("login-password").value;
  for (const [input, empty] of [[$("login-name"), !name], [$("login-password"), !password]]) {
    if (empty) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  if (!name || !password) {
    show("auth.empty");
    return;
  }
  const button = $("login-submit");
  button.disabled = true;
  const answer = await call("POST", "/api/auth/login", { name, password });
  const { ok, status, payload: body, headers } = answer;
  button.disabled = false;
  if (status === 0) {
    show("error.network");
    return;
  }
  if (ok) {
    location.replace(nextPath() + location.hash); // the browser kept the #view through /login
    return;
  }
  $("login-password").value = "";
  $("login-password").focus();
  if (status === 401) show("auth.wrong");
  else if (status === 429) show("auth.tooMany", { seconds: headers.get("Retry-After") || "60" });
  else if (status === 503 && body?.code === "login_busy")
    show("auth.busy", { seconds: headers.get("Retry-After") || "1" });
  else show("auth.failed", { error: refusalText(answer) });
}

function main() {
  const root = document.documentElement;
  setLanguage(initialLanguage(root.dataset.defaultLang));
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  onLanguage(() => {
    document.title = `PigWeight — ${t("auth.title")}`;
    if (shown) show(...shown);
  });
  $("login-form").addEventListener("submit", submit);
  $("login-name").focus();
}

main();
