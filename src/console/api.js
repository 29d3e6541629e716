// The console's only door to the server: same-origin fetches of the v3 API and the console extensions,
// authenticated by the HttpOnly session cookie (which no script can read). Requests that change
// something carry the session's CSRF token, kept in this module's memory only (never in storage or URLs).
let csrfToken = "";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function setCsrfToken(token) {
  csrfToken = token || "";
}

// Called when the server says the session is gone (401), so the app can show the sign-in page.
let onSignedOut = () => {};
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

// Path segments are percent-encoded here, once: names may hold any character.
export function path(...segments) {
  return segments.map((s) => encodeURIComponent(String(s))).join("/");
}

export async function call(method, url, body, { raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
    });
  } catch (e) {
    throw new ApiError(0, "the server could not be reached (" + e.message + ")");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message = data && data.message ? data.message : `${response.status} ${response.statusText}`;
    if (response.status === 401 && !url.endsWith("/console/session")) onSignedOut(message);
    throw new ApiError(response.status, message);
  }
  return raw ? { data, response } : data;
}

export const get = (url) => call("GET", url);
export const post = (url, body) => call("POST", url, body === undefined ? {} : body);
export const put = (url, body) => call("PUT", url, body);
export const del = (url) => call("DELETE", url);

// A query string from an object, skipping empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

// Lists come as {"data": [...], "pagination": {cursor?, limit, total}}; some Codacy shapes are bare arrays.
export function items(body) {
  if (Array.isArray(body)) return body;
  return body && Array.isArray(body.data) ? body.data : [];
}
export function nextCursor(body) {
  return body && body.pagination && body.pagination.cursor ? body.pagination.cursor : null;
}
