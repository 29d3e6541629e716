// A repository's tokens: who created each and when, when it was last used, when it expires (relative,
// and "expiring soon" / "expired" in words inside the organization's warning window), with create,
// rotate, revoke and bulk revoke (selected, expired, never-expiring). Org admins also grant permissions.
import { get, items, nextCursor, path, put, query } from "./api.js";
import { h, errorSlot, showError, replace } from "./dom.js";
import { exact, relative, tokenState } from "./time.js";
import { stateBadge, table } from "./widgets.js";
import { bulkRevoke, createToken, policyOf, repoBase, revokeToken, rotateToken } from "./tokens.js";

async function allTokens(base) {
  const out = [];
  let cursor = null;
  do {
    const answer = await get(`${base}/tokens` + query({ cursor, limit: 100 }));
    out.push(...items(answer));
    cursor = nextCursor(answer);
  } while (cursor && out.length < 1000);
  return out;
}

function creator(t) {
  return t.createdBy ? t.createdBy.replace(/^user:/, "") : "unknown";
}

export async function tokensPage(provider, org, repo) {
  const base = repoBase(provider, org, repo);
  const policy = await policyOf(provider, org);
  const listError = errorSlot();
  const actionError = errorSlot();
  const createError = errorSlot();
  const bulkError = errorSlot();
  const body = h("tbody");
  const counts = h("p", { role: "status", class: "hint" });
  let tokens = [];

  async function reload() {
    showError(listError, null);
    try {
      tokens = await allTokens(base);
    } catch (e) {
      showError(listError, e);
      return;
    }
    const now = Date.now();
    const rows = tokens.map((t) => {
      const state = tokenState(t.expiresAt, policy.expiryWarningDays, now);
      const label = `Select token ${t.name}`;
      return h(
        "tr",
        { "data-token-id": t.id, "data-state": state },
        h("td", {}, h("input", { type: "checkbox", class: "select", value: t.id, "aria-label": label })),
        h("td", { class: "name" }, t.name),
        h("td", {}, h("span", { title: exact(t.createdAt) }, relative(t.createdAt)), " by ", creator(t)),
        h("td", {}, t.lastUsedAt ? h("span", { title: exact(t.lastUsedAt) }, relative(t.lastUsedAt)) : "never"),
        h(
          "td",
          {},
          t.expiresAt ? h("span", { title: exact(t.expiresAt) }, relative(t.expiresAt)) : "never",
          " ",
          stateBadge(state),
        ),
        h(
          "td",
          { class: "actions" },
          state === "expired"
            ? null
            : h("button", { type: "button", "aria-label": `Rotate token ${t.name}`, onclick: () => act(() => rotateToken(provider, org, repo, t, policy.known ? policy.defaultLifetimeDays : null)) }, "Rotate"),
          h("button", { type: "button", class: "danger", "aria-label": `Revoke token ${t.name}`, onclick: () => act(() => revokeToken(provider, org, repo, t)) }, "Revoke"),
        ),
      );
    });
    replace(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 6 }, "This repository has no token.")));
    const expired = tokens.filter((t) => tokenState(t.expiresAt, 0, now) === "expired").length;
    const live = tokens.length - expired;
    replace(counts, `${live} live token${live === 1 ? "" : "s"}, ${expired} expired. Warning window: ${policy.expiryWarningDays} days.`);
  }

  async function act(action, slot = actionError) {
    showError(slot, null);
    try {
      if (await action()) await reload();
    } catch (e) {
      showError(slot, e);
      await reload();
    }
  }

  // Create.
  const nameInput = h("input", { id: "new-token-name", name: "name", maxlength: 100, pattern: "[A-Za-z0-9-]+", autocomplete: "off", "aria-describedby": "new-token-hint" });
  const daysInput = h("input", { id: "new-token-days", name: "days", type: "number", min: 1, max: policy.maxLifetimeDays, value: policy.defaultLifetimeDays, required: true });
  const createForm = h(
    "form",
    { class: "card row", id: "create-token" },
    h("h2", {}, "Create a token"),
    h("div", { class: "field" }, h("label", { for: "new-token-name" }, "Name"), nameInput),
    h("div", { class: "field" }, h("label", { for: "new-token-days" }, `Lifetime in days (at most ${policy.maxLifetimeDays})`), daysInput),
    h("button", { type: "submit" }, "Create token"),
    h("p", { id: "new-token-hint", class: "hint" }, "Names: letters, digits and dashes; left empty, the server picks one. The secret is shown once."),
    createError,
  );
  createForm.addEventListener("submit", (e) => {
    e.preventDefault();
    act(async () => {
      const done = await createToken(provider, org, repo, nameInput.value.trim(), Number(daysInput.value));
      nameInput.value = "";
      return done;
    }, createError);
  });

  // Bulk.
  const selected = () => {
    const ids = new Set([...body.querySelectorAll("input.select:checked")].map((c) => Number(c.value)));
    return tokens.filter((t) => ids.has(t.id));
  };
  const bulk = h(
    "div",
    { class: "toolbar", role: "group", "aria-label": "bulk revoke" },
    h("button", { type: "button", id: "revoke-selected", class: "danger", onclick: () => act(() => bulkRevoke(provider, org, repo, selected(), "the selected tokens"), bulkError) }, "Revoke selected"),
    h("button", { type: "button", id: "revoke-expired", class: "danger", onclick: () => act(() => bulkRevoke(provider, org, repo, tokens.filter((t) => tokenState(t.expiresAt, 0) === "expired"), "every expired token"), bulkError) }, "Revoke all expired"),
    h("button", { type: "button", id: "revoke-never", class: "danger", onclick: () => act(() => bulkRevoke(provider, org, repo, tokens.filter((t) => !t.expiresAt), "every token that never expires"), bulkError) }, "Revoke all never-expiring"),
  );

  await reload();
  const t = table(`Tokens of ${org}/${repo}`, ["Select", "Name", "Created", "Last used", "Expires", "Actions"], []);
  t.querySelector("tbody").replaceWith(body);
  return h(
    "section",
    {},
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/orgs" }, "Organizations"),
      " / ",
      h("a", { href: `#/org/${path(provider, org)}` }, `${provider}/${org}`),
      " / ",
      repo,
    ),
    h("h1", {}, `Tokens of ${org}/${repo}`),
    counts,
    listError,
    bulk,
    bulkError,
    actionError,
    t,
    createForm,
    await permissionsSection(provider, org, repo),
  );
}

// Granting a permission on this repository to a member (org admins; others do not see the section).
async function permissionsSection(provider, org, repo) {
  let people;
  try {
    people = items(await get(`/api/v3/organizations/${path(provider, org)}/people` + query({ limit: 1000 })));
  } catch {
    return null;
  }
  const error = errorSlot();
  const status = h("p", { role: "status" });
  const who = h("select", { id: "grant-user", name: "user" }, people.map((p) => h("option", { value: p.id || p.userId }, `${p.name} (${(p.emails && p.emails[0]) || p.email || "no e-mail"})`)));
  const what = h("select", { id: "grant-permission", name: "permission" }, ["read", "write", "admin"].map((x) => h("option", { value: x }, x)));
  const form = h(
    "form",
    { class: "card row" },
    h("h2", {}, "Grant a permission on this repository"),
    h("div", { class: "field" }, h("label", { for: "grant-user" }, "Person"), who),
    h("div", { class: "field" }, h("label", { for: "grant-permission" }, "Permission"), what),
    h("button", { type: "submit" }, "Grant"),
    error,
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(error, null);
    replace(status, "");
    try {
      await put(`${repoBase(provider, org, repo)}/people/${path(who.value)}`, { permission: what.value });
      replace(status, `${who.selectedOptions[0].textContent} now has ${what.value} permission on ${repo}.`);
    } catch (err) {
      showError(error, err);
    }
  });
  return form;
}
