// The actions on repository tokens, shared by a repository's token page and the expiring-soon view:
// create (secret shown once), revoke (after confirmation), rotate (create the new one, show it, revoke
// the old one once the user confirms) and bulk revoke. Each resolves to true when something changed and
// reports failures by throwing the API's error, which the caller shows next to the action.
import { del, get, path, post } from "./api.js";
import { h } from "./dom.js";
import { confirmAction, showSecret } from "./widgets.js";
import { rfc3339 } from "./time.js";

export const DEFAULT_POLICY = { defaultLifetimeDays: 365, maxLifetimeDays: 365, expiryWarningDays: 14, known: false };

export function repoBase(provider, org, repo) {
  return `/api/v3/organizations/${path(provider, org)}/repositories/${path(repo)}`;
}

// The organization's token policy; only its admins may read it, so others get the defaults (the server
// enforces the real policy either way).
export async function policyOf(provider, org) {
  try {
    const body = await get(`/api/v3/organizations/${path(provider, org)}/settings/tokens`);
    return { ...DEFAULT_POLICY, ...body.data, known: true };
  } catch {
    return DEFAULT_POLICY;
  }
}

export async function createToken(provider, org, repo, name, lifetimeDays) {
  const body = {};
  if (name) body.name = name;
  if (lifetimeDays) body.expiresAt = rfc3339(Date.now() + lifetimeDays * 86400 * 1000);
  const answer = await post(`${repoBase(provider, org, repo)}/tokens`, body);
  const token = answer.data || answer;
  await showSecret(
    "New token created",
    token.token,
    `Token ${token.name || token.id} for ${org}/${repo}, expires ${token.expiresAt || "never"}.`,
  );
  return true;
}

export async function revokeToken(provider, org, repo, token) {
  const ok = await confirmAction(
    "Revoke token?",
    `Revoke token ${token.name} of ${org}/${repo}? Anything using it stops working at once.`,
    "Revoke",
  );
  if (!ok) return false;
  await del(`${repoBase(provider, org, repo)}/tokens/${path(token.id)}`);
  return true;
}

// A name for the replacement: the old name with a UTC date-time suffix, within the 100-character limit.
function rotatedName(name) {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 13).replace("T", "-");
  const base = name.replace(/-r\d{8}-\d{4}$/, "").slice(0, 100 - 15);
  return `${base}-r${stamp}`;
}

export async function rotateToken(provider, org, repo, token, lifetimeDays) {
  const body = { name: rotatedName(token.name) };
  if (lifetimeDays) body.expiresAt = rfc3339(Date.now() + lifetimeDays * 86400 * 1000);
  const answer = await post(`${repoBase(provider, org, repo)}/tokens`, body);
  const fresh = answer.data || answer;
  const choice = await showSecret(
    "Token rotated: new secret",
    fresh.token,
    `New token ${fresh.name} replaces ${token.name}. Put the new secret in place, then revoke the old token.`,
    [{ label: `Revoke old token ${token.name}`, value: "revoke", class: "danger" }],
  );
  if (choice === "revoke") await del(`${repoBase(provider, org, repo)}/tokens/${path(token.id)}`);
  return true;
}

export async function bulkRevoke(provider, org, repo, tokens, what) {
  if (!tokens.length) return false;
  const names = tokens.map((t) => t.name).join(", ");
  const ok = await confirmAction(
    `Revoke ${tokens.length} token${tokens.length === 1 ? "" : "s"}?`,
    h("span", {}, `Revoke ${what} of ${org}/${repo}: ${names}`),
    `Revoke ${tokens.length}`,
  );
  if (!ok) return false;
  await post(`${repoBase(provider, org, repo)}/tokens/delete`, { ids: tokens.map((t) => t.id) });
  return true;
}
