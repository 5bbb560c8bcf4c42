// The page: a tab bar of views (live scale, history, archive, photo, labelling) switched
// by the URL's hash, and the language switch. Each view module exports init() (once, at
// start) and may export show() / hide() (when it comes on screen / leaves it). The central
// (data-role="central") has one view, its sites: it has no cameras, archive or weighing of
// its own; a site (data-role="site") shows its link to the central in the header.

import { initialLanguage, setLanguage } from "./i18n.js";
import * as user from "./user.js";
import * as siteLink from "./site-link.js";
import * as archive from "./views/archive.js";
import * as central from "./views/central.js";
import * as history from "./views/history.js";
import * as labelling from "./views/labelling.js";
import * as live from "./views/live.js";
import * as photo from "./views/photo.js";

const root = document.documentElement;
const CENTRAL = root.dataset.role === "central";
const VIEWS = CENTRAL ? { central } : { live, history, archive, photo, labelling };
const DEFAULT_VIEW = CENTRAL ? "central" : "live";
const limits = {
  mb: Number(root.dataset.maxUploadMb) || 50,
  mp: Number(root.dataset.maxMegapixels) || 60,
};
let currentView = null;

// "#archive" or "#archive?id=3": the view's name, and what follows for the view itself.
export function viewFromHash(hash = location.hash) {
  const name = hash.replace(/^#\/?/, "").split(/[?/]/)[0];
  return name in VIEWS ? name : DEFAULT_VIEW;
}

function route() {
  const name = viewFromHash();
  if (name === currentView) return;
  const previous = currentView;
  currentView = name;
  for (const [view, module] of Object.entries(VIEWS)) {
    const section = document.getElementById(`view-${view}`);
    const link = document.querySelector(`[data-view-link="${view}"]`);
    const on = view === name;
    section.hidden = !on;
    if (on) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
    if (!on && view === previous) module.hide?.();
  }
  VIEWS[name].show?.();
  root.dataset.view = name;
  // Keyboard and screen-reader users land on the new view, not on the tab they left.
  if (previous !== null) document.getElementById("main").focus({ preventScroll: true });
}

// The tabs of views this server does not have go (the central's sites, or a farm's own).
function showTabs() {
  for (const link of document.querySelectorAll("[data-view-link]")) {
    link.hidden = !(link.dataset.viewLink in VIEWS);
  }
}

function main() {
  showTabs();
  setLanguage(initialLanguage(root.dataset.defaultLang), limits);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang, limits));
  }
  user.init();
  siteLink.init();
  for (const [name, module] of Object.entries(VIEWS)) {
    try {
      module.init();
    } catch (err) {
      // One broken view must not take the others down.
      console.error(`view ${name} did not start`, err);
    }
  }
  window.addEventListener("hashchange", route);
  route();
  root.classList.add("is-ready");
  performance.mark("pigweight-ready"); // bench/page.py: time to an interactive page
}

main();
