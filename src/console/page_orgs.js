// Organizations the signed-in user belongs to (all of them for an instance admin), each leading to its
// repositories and, for its admins, to its audit log, people and token policy.
import { get, items, nextCursor, path, query } from "./api.js";
import { h, errorSlot, showError, replace } from "./dom.js";
import { pager, table } from "./widgets.js";

export function orgLinks(provider, org) {
  const p = path(provider, org);
  return h(
    "ul",
    { class: "inline" },
    h("li", {}, h("a", { href: `#/org/${p}` }, "Repositories")),
    h("li", {}, h("a", { href: `#/audit/${p}` }, "Audit log")),
    h("li", {}, h("a", { href: `#/people/${p}` }, "People")),
    h("li", {}, h("a", { href: `#/policy/${p}` }, "Token policy")),
  );
}

export async function organizationsPage() {
  const error = errorSlot();
  const body = h("tbody");
  const list = pager(async (cursor) => {
    try {
      const answer = await get("/api/v3/user/organizations" + query({ cursor, limit: 50 }));
      replace(
        body,
        items(answer).map((o) =>
          h(
            "tr",
            {},
            h("td", {}, h("a", { href: `#/org/${path(o.provider, o.name)}` }, o.name)),
            h("td", {}, o.provider),
            h("td", {}, o.userRole || (o.joinStatus ? "member" : "instance admin")),
            h("td", {}, o.userRole === "member" ? "" : orgLinks(o.provider, o.name)),
          ),
        ),
      );
      if (!items(answer).length) replace(body, h("tr", {}, h("td", { colspan: 4 }, "You belong to no organization yet.")));
      const total = answer.pagination ? answer.pagination.total : items(answer).length;
      return { cursor: nextCursor(answer), summary: `${total} organization${total === 1 ? "" : "s"}` };
    } catch (e) {
      showError(error, e);
      return null;
    }
  });
  await list.reset();
  const t = table("Organizations", ["Organization", "Provider", "Your role", "Manage"], []);
  t.querySelector("tbody").replaceWith(body);
  return h("section", {}, h("h1", {}, "Organizations"), error, t, list.element);
}
