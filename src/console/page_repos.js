// One organization's repositories, a page at a time (the server's keyset cursor), searchable, each with
// its live-token count, soonest expiry and the status of its last coverage upload, from the console's
// overview extension (one call per page, never one per repository).
import { get, items, nextCursor, path, query } from "./api.js";
import { h, errorSlot, showError, replace } from "./dom.js";
import { relative, exact } from "./time.js";
import { pager, table } from "./widgets.js";
import { orgLinks } from "./page_orgs.js";

const PAGE = 50;

function coverageCell(upload) {
  if (!upload) return "no upload yet";
  const pct = upload.coveragePercentage === undefined ? "" : ` ${upload.coveragePercentage.toFixed(1)}%`;
  return h("span", { title: exact(upload.uploadedAt) }, `${upload.status}${pct}, ${relative(upload.uploadedAt)}`);
}

export async function repositoriesPage(provider, org) {
  const error = errorSlot();
  const body = h("tbody");
  const search = h("input", { id: "repo-search", type: "search", name: "search", autocomplete: "off" });
  const list = pager(async (cursor) => {
    showError(error, null);
    try {
      const answer = await get(
        `/api/v3/console/organizations/${path(provider, org)}/repositories` +
          query({ cursor, limit: PAGE, search: search.value.trim() }),
      );
      const rows = items(answer).map((o) => {
        const r = o.repository;
        return h(
          "tr",
          {},
          h("td", {}, h("a", { href: `#/repo/${path(provider, org, r.name)}` }, r.name)),
          h("td", {}, r.visibility),
          h("td", { class: "num" }, String(o.liveTokens)),
          h(
            "td",
            {},
            o.soonestExpiry ? h("span", { title: exact(o.soonestExpiry) }, relative(o.soonestExpiry)) : "no live token",
          ),
          h("td", {}, coverageCell(o.lastUpload)),
        );
      });
      replace(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 5 }, "No repository matches.")));
      const total = answer.pagination ? answer.pagination.total : rows.length;
      return { cursor: nextCursor(answer), summary: `${total} repositor${total === 1 ? "y" : "ies"}` };
    } catch (e) {
      showError(error, e);
      return null;
    }
  });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => list.reset(), 250);
  });
  const form = h(
    "form",
    { class: "toolbar", role: "search", onsubmit: (e) => (e.preventDefault(), list.reset()) },
    h("label", { for: "repo-search" }, "Search repositories"),
    search,
    h("button", { type: "submit" }, "Search"),
  );
  await list.reset();
  const t = table(`Repositories of ${org}`, ["Repository", "Visibility", "Live tokens", "Soonest expiry", "Last coverage upload"], []);
  t.querySelector("tbody").replaceWith(body);
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, h("a", { href: "#/orgs" }, "Organizations"), " / ", `${provider}/${org}`),
    h("h1", {}, `Repositories of ${org}`),
    orgLinks(provider, org),
    form,
    error,
    t,
    list.element,
  );
}
