// The console's shell: finds out whether a session exists, shows the sign-in page or the navigation and
// the page the address names (#/orgs, #/org/gh/acme, #/repo/gh/acme/api, #/expiring, #/audit/gh/acme,
// #/people/gh/acme, #/policy/gh/acme). Addresses hold names only, never a secret.
import { get, del, setCsrfToken, whenSignedOut } from "./api.js";
import { h, replace } from "./dom.js";
import { signInPage } from "./page_signin.js";
import { organizationsPage } from "./page_orgs.js";
import { repositoriesPage } from "./page_repos.js";
import { tokensPage } from "./page_tokens.js";
import { expiringPage } from "./page_expiring.js";
import { auditPage } from "./page_audit.js";
import { peoplePage } from "./page_people.js";
import { policyPage } from "./page_policy.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let user = null;

const routes = [
  [/^#\/orgs$/, () => organizationsPage()],
  [/^#\/org\/([^/]+)\/([^/]+)$/, (p, o) => repositoriesPage(p, o)],
  [/^#\/repo\/([^/]+)\/([^/]+)\/([^/]+)$/, (p, o, r) => tokensPage(p, o, r)],
  [/^#\/expiring$/, () => expiringPage()],
  [/^#\/audit\/([^/]+)\/([^/]+)$/, (p, o) => auditPage(p, o)],
  [/^#\/people\/([^/]+)\/([^/]+)$/, (p, o) => peoplePage(p, o)],
  [/^#\/policy\/([^/]+)\/([^/]+)$/, (p, o) => policyPage(p, o)],
];

function showNav() {
  if (!user) {
    replace(nav);
    return;
  }
  const signOut = h("button", { type: "button", id: "sign-out", onclick: signOutNow }, "Sign out");
  replace(
    nav,
    h(
      "ul",
      {},
      h("li", {}, h("a", { href: "#/orgs" }, "Organizations")),
      h("li", {}, h("a", { href: "#/expiring" }, "Expiring soon")),
    ),
    h("p", { class: "who" }, "Signed in as ", h("strong", {}, user.name), " ", signOut),
  );
}

async function signOutNow() {
  try {
    await del("/api/v3/console/session");
  } catch {
    // Already ended: the page forgets it either way.
  }
  signedOut("You are signed out.");
}

function signedOut(message) {
  user = null;
  setCsrfToken("");
  showNav();
  replace(main, signInPage(message, signedIn));
  focusHeading();
}

function signedIn(session) {
  user = session.user;
  setCsrfToken(session.csrfToken);
  showNav();
  if (!location.hash || location.hash === "#/" || location.hash === "#") location.hash = "#/orgs";
  else render();
}

function focusHeading() {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

async function render() {
  if (!user) return;
  const hash = location.hash || "#/orgs";
  for (const [pattern, page] of routes) {
    const m = hash.match(pattern);
    if (!m) continue;
    const args = m.slice(1).map((s) => decodeURIComponent(s));
    replace(main, h("p", { role: "status" }, "Loading…"));
    const content = await page(...args);
    replace(main, content);
    focusHeading();
    return;
  }
  location.hash = "#/orgs";
}

whenSignedOut((message) => signedOut(message));
window.addEventListener("hashchange", render);

(async function start() {
  try {
    const body = await get("/api/v3/console/session");
    signedIn(body.data);
  } catch {
    signedOut("");
  }
})();
