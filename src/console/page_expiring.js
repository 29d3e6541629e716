// Tokens expiring soon across every organization the user administers: live tokens inside their
// organization's warning window, soonest first, with rotate and revoke.
import { get, items, nextCursor, path, query } from "./api.js";
import { h, errorSlot, showError, replace } from "./dom.js";
import { exact, relative } from "./time.js";
import { pager, stateBadge, table } from "./widgets.js";
import { revokeToken, rotateToken } from "./tokens.js";

export async function expiringPage() {
  const error = errorSlot();
  const actionError = errorSlot();
  const body = h("tbody");
  const list = pager(async (cursor) => {
    showError(error, null);
    try {
      const answer = await get("/api/v3/console/expiring" + query({ cursor, limit: 100 }));
      const rows = items(answer).map((e) => {
        const t = e.token;
        const r = e.repository;
        const act = async (fn) => {
          showError(actionError, null);
          try {
            if (await fn()) await list.reset();
          } catch (err) {
            showError(actionError, err);
          }
        };
        return h(
          "tr",
          { "data-token-id": t.id },
          h("td", {}, `${r.provider}/${r.owner}`),
          h("td", {}, h("a", { href: `#/repo/${path(r.provider, r.owner, r.name)}` }, r.name)),
          h("td", { class: "name" }, t.name),
          h("td", {}, h("span", { title: exact(t.expiresAt) }, relative(t.expiresAt)), " ", stateBadge("expiring soon")),
          h("td", {}, t.lastUsedAt ? relative(t.lastUsedAt) : "never"),
          h(
            "td",
            { class: "actions" },
            h("button", { type: "button", "aria-label": `Rotate token ${t.name} of ${r.name}`, onclick: () => act(() => rotateToken(r.provider, r.owner, r.name, t, null)) }, "Rotate"),
            h("button", { type: "button", class: "danger", "aria-label": `Revoke token ${t.name} of ${r.name}`, onclick: () => act(() => revokeToken(r.provider, r.owner, r.name, t)) }, "Revoke"),
          ),
        );
      });
      replace(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 6 }, "No token expires inside its organization's warning window.")));
      const total = answer.pagination ? answer.pagination.total : rows.length;
      return { cursor: nextCursor(answer), summary: `${total} token${total === 1 ? "" : "s"} expiring soon` };
    } catch (e) {
      showError(error, e);
      return null;
    }
  });
  await list.reset();
  const t = table("Tokens expiring soon", ["Organization", "Repository", "Token", "Expires", "Last used", "Actions"], []);
  t.querySelector("tbody").replaceWith(body);
  return h(
    "section",
    {},
    h("h1", {}, "Expiring soon"),
    h("p", { class: "hint" }, "Live tokens inside their organization's warning window (set in each organization's token policy), in every organization you administer."),
    error,
    actionError,
    t,
    list.element,
  );
}
