// Who is logged in, in the top bar, with "Выйти"; and the way back to /login when the
// session ends (any answer 401 while logins are required). Nothing shows while the service
// has no users (open on 127.0.0.1).

import { call, getJson, whenUnauthorized } from "./api.js";
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
  await call("POST", "/api/auth/logout");
  toLogin();
}

export async function init() {
  // A session that ends while the page is open (expired, password changed): log in again.
  whenUnauthorized(() => {
    if (me?.login_required) toLogin();
  });
  $("user-logout").addEventListener("click", logout);
  onLanguage(render);
  // Unanswered (the server is away): the views say so.
  me = await getJson("/api/auth/me");
  render();
}
