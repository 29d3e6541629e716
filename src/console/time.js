// Times as people read them: "in 3 days", "2 hours ago", with the exact UTC time beside for a tooltip,
// and a token's state in words ("expired", "expiring soon", "active"), never in colour alone.
const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

export function relative(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 30) return "just now";
  for (const [unit, size] of UNITS) {
    if (abs >= size) {
      const n = Math.round(abs / size);
      const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
      return seconds < 0 ? `${text} ago` : `in ${text}`;
    }
  }
  return "just now";
}

export function exact(iso) {
  return iso ? iso.replace("T", " ").replace("Z", " UTC") : "";
}

// "expired" | "expiring soon" | "active" | "never expires"
export function tokenState(expiresAt, warningDays, now = Date.now()) {
  if (!expiresAt) return "never expires";
  const at = Date.parse(expiresAt);
  if (at <= now) return "expired";
  if (at <= now + warningDays * 86400 * 1000) return "expiring soon";
  return "active";
}

// RFC 3339 in UTC, whole seconds, as the API wants.
export function rfc3339(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
