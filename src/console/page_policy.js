// An organization's token policy: the default and maximum lifetime of repository tokens, and the
// warning window inside which a token counts as expiring soon.
import { get, path, put } from "./api.js";
import { h, errorSlot, showError, replace } from "./dom.js";
import { orgLinks } from "./page_orgs.js";

export async function policyPage(provider, org) {
  const url = `/api/v3/organizations/${path(provider, org)}/settings/tokens`;
  const error = errorSlot();
  const status = h("p", { role: "status" });
  let policy = null;
  try {
    policy = (await get(url)).data;
  } catch (e) {
    showError(error, e);
  }
  const number = (id, value) => h("input", { id, name: id, type: "number", min: 1, max: 365, value, required: true });
  const def = number("policy-default", policy ? policy.defaultLifetimeDays : "");
  const max = number("policy-max", policy ? policy.maxLifetimeDays : "");
  const warn = number("policy-warning", policy ? policy.expiryWarningDays : "");
  const form = h(
    "form",
    { class: "card row", id: "policy" },
    h("div", { class: "field" }, h("label", { for: "policy-default" }, "Default lifetime (days)"), def),
    h("div", { class: "field" }, h("label", { for: "policy-max" }, "Maximum lifetime (days, at most 365)"), max),
    h("div", { class: "field" }, h("label", { for: "policy-warning" }, "Expiring-soon warning window (days)"), warn),
    h("button", { type: "submit", disabled: !policy }, "Save policy"),
    error,
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(error, null);
    replace(status, "");
    try {
      const saved = (
        await put(url, {
          defaultLifetimeDays: Number(def.value),
          maxLifetimeDays: Number(max.value),
          expiryWarningDays: Number(warn.value),
        })
      ).data;
      replace(status, `Saved: new tokens live ${saved.defaultLifetimeDays} days by default, ${saved.maxLifetimeDays} at most; warning ${saved.expiryWarningDays} days before expiry.`);
    } catch (err) {
      showError(error, err);
    }
  });
  return h(
    "section",
    {},
    h("p", { class: "crumbs" }, h("a", { href: "#/orgs" }, "Organizations"), " / ", `${provider}/${org}`),
    h("h1", {}, `Token policy of ${org}`),
    orgLinks(provider, org),
    form,
  );
}
