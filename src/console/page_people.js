// The people of an organization with their roles (org admins change roles and remove members; the
// repository page grants per-repository permissions).
import { del, get, items, nextCursor, path, put, query } from "./api.js";
import { h, errorSlot, showError, replace } from "./dom.js";
import { confirmAction, pager, table } from "./widgets.js";
import { orgLinks } from "./page_orgs.js";

export async function peoplePage(provider, org) {
  const base = `/api/v3/organizations/${path(provider, org)}/people`;
  const error = errorSlot();
  const actionError = errorSlot();
  const body = h("tbody");
  const list = pager(async (cursor) => {
    showError(error, null);
    try {
      const answer = await get(base + query({ cursor, limit: 100 }));
      const rows = items(answer).map((p) => {
        const id = p.id || p.userId;
        const email = (p.emails && p.emails[0]) || p.email || "";
        const role = h("select", { "aria-label": `Role of ${p.name}` }, ["member", "admin"].map((r) => h("option", { value: r, selected: p.role === r }, r)));
        role.addEventListener("change", async () => {
          showError(actionError, null);
          try {
            await put(`${base}/${path(id)}`, { role: role.value });
          } catch (e) {
            showError(actionError, e);
            role.value = p.role;
          }
        });
        const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove ${p.name}` }, "Remove");
        remove.addEventListener("click", async () => {
          showError(actionError, null);
          if (!(await confirmAction("Remove member?", `Remove ${p.name} from ${org}? Their repository permissions go too.`, "Remove"))) return;
          try {
            await del(`${base}/${path(id)}`);
            await list.reset();
          } catch (e) {
            showError(actionError, e);
          }
        });
        return h("tr", {}, h("td", {}, p.name), h("td", {}, email), h("td", {}, role), h("td", { class: "actions" }, remove));
      });
      replace(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 4 }, "No member.")));
      const total = answer.pagination ? answer.pagination.total : rows.length;
      return { cursor: nextCursor(answer), summary: `${total} ${total === 1 ? "person" : "people"}` };
    } catch (e) {
      showError(error, e);
      return null;
    }
  });
  await list.reset();
  const t = table(`People of ${org}`, ["Name", "E-mail", "Role", "Actions"], []);
  t.querySelector("tbody").replaceWith(body);
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, h("a", { href: "#/orgs" }, "Organizations"), " / ", `${provider}/${org}`),
    h("h1", {}, `People of ${org}`),
    orgLinks(provider, org),
    error,
    actionError,
    t,
    list.element,
  );
}
