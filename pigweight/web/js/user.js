// Who is logged in, in the top bar, with "Выйти"; and the way back to /login when the
// session ends (any answer 401 while logins are required). Nothing shows while the service
// has no users (open on 127.0.0.1).

import { onLanguage, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let me = null;

function render() {
  // Admin-only controls (.admin-only): for an admin, or anyone while the service is open.
  const admin = me !== null && (!me.login_required || me.user?.role === "admin");
  document.documentElement.dataset.admin = String(admin);
  // Operator controls (.operator-only, in archive.css): operators and admins, or anyone open.
  const operator = me !== null && (!me.login_required || ["operator", "admin"].includes(me.user?.role));
  document.documentElement.dataset.operator = String(operator);
  // A viewer sees what an operator would press, disabled, with the reason beside it (not a
  // refusal after the click). Unknown yet (me null): left as they are.
  for (const control of document.querySelectorAll(".operator-control")) {
    control.disabled = me !== null && !operator;
  }
  const box = $("user-box");
  box.hidden = !me?.user;
  if (!me?.user) return;
  $("user-name").textContent = me.user.name;
  $("user-role").textContent = t(`auth.role.${me.user.role}`);
  document.documentElement.dataset.role = me.user.role;
}

function toLogin() {
  const next = location.pathname + location.search + location.hash;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

async function logout() {
  try {
    await fetch("/api/auth/logout", { method: "POST" });
  } finally {
    toLogin();
  }
}

export async function init() {
  // A session that ends while the page is open (expired, password changed): log in again.
  const original = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const response = await original(...args);
    if (response.status === 401 && me?.login_required) toLogin();
    return response;
  };
  $("user-logout").addEventListener("click", logout);
  onLanguage(render);
  try {
    const response = await original("/api/auth/me");
    if (response.ok) me = await response.json();
  } catch {
    // The server is away: the views say so.
  }
  render();
}
