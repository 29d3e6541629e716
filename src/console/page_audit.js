// An organization's audit log, newest first, filtered by action, actor, repository and time, a page at
// a time (the console's filtered extension of listAuditLogsForOrganization).
import { get, items, nextCursor, path, query } from "./api.js";
import { h, errorSlot, showError, replace } from "./dom.js";
import { exact, relative, rfc3339 } from "./time.js";
import { pager, table } from "./widgets.js";
import { orgLinks } from "./page_orgs.js";

const ACTIONS = [
  "repository.token.create",
  "repository.token.delete",
  "repository.create",
  "repository.delete",
  "repository.permission.set",
  "organization.create",
  "organization.token_policy.set",
  "member.set",
  "member.remove",
];

function field(id, label, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

// The details of an event: Codacy's description is "target: details".
function detailsOf(e) {
  const d = e.description || "";
  return e.target && d.startsWith(e.target) ? d.slice(e.target.length).replace(/^: /, "") : d;
}

export async function auditPage(provider, org) {
  const error = errorSlot();
  const body = h("tbody");
  const action = h("select", { id: "audit-action", name: "action" }, h("option", { value: "" }, "any action"), ACTIONS.map((a) => h("option", { value: a }, a)));
  const actor = h("input", { id: "audit-actor", name: "actor", autocomplete: "off" });
  const repository = h("input", { id: "audit-repository", name: "repository", autocomplete: "off" });
  const from = h("input", { id: "audit-from", name: "from", type: "datetime-local" });
  const to = h("input", { id: "audit-to", name: "to", type: "datetime-local" });
  // datetime-local is read as UTC, as the table shows times.
  const utc = (input) => (input.value ? rfc3339(Date.parse(input.value + "Z")) : "");
  const list = pager(async (cursor) => {
    showError(error, null);
    try {
      const answer = await get(
        `/api/v3/console/organizations/${path(provider, org)}/audit` +
          query({ cursor, limit: 50, action: action.value, actor: actor.value.trim(), repository: repository.value.trim(), from: utc(from), to: utc(to) }),
      );
      const rows = items(answer).map((e) =>
        h(
          "tr",
          {},
          h("td", {}, h("span", { title: relative(e.timestamp) }, exact(e.timestamp))),
          // Codacy's AuditLog names the actor by e-mail and role; our actorName says who it was.
          h("td", {}, e.actorName || (typeof e.actor === "object" && e.actor ? e.actor.email || "" : e.actor || "")),
          h("td", {}, e.action),
          h("td", {}, e.target || ""),
          h("td", {}, e.details || detailsOf(e)),
        ),
      );
      replace(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 5 }, "No event matches.")));
      const total = answer.pagination ? answer.pagination.total : rows.length;
      return { cursor: nextCursor(answer), summary: `${total} event${total === 1 ? "" : "s"}` };
    } catch (e) {
      showError(error, e);
      return null;
    }
  });
  const form = h(
    "form",
    { class: "card row", id: "audit-filters" },
    h("h2", {}, "Filters"),
    field("audit-action", "Action", action),
    field("audit-actor", "Actor contains", actor),
    field("audit-repository", "Repository name", repository),
    field("audit-from", "From (UTC)", from),
    field("audit-to", "To (UTC)", to),
    h("button", { type: "submit" }, "Apply filters"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    list.reset();
  });
  await list.reset();
  const t = table(`Audit log of ${org}`, ["Time (UTC)", "Actor", "Action", "Target", "Details"], []);
  t.querySelector("tbody").replaceWith(body);
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, h("a", { href: "#/orgs" }, "Organizations"), " / ", `${provider}/${org}`),
    h("h1", {}, `Audit log of ${org}`),
    orgLinks(provider, org),
    form,
    error,
    t,
    list.element,
  );
}
