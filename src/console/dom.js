// The one way the console puts anything on the page: h() builds elements, and every string it is given
// becomes a text node (never markup), so a repository named "<img src=x onerror=alert(1)>" shows as
// those characters. Nothing in the console assigns innerHTML, outerHTML or insertAdjacentHTML.

// h("a", {href: "#/orgs", class: "x", onclick: fn}, "text", child, [more children])
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

// Appends children: strings and numbers as text, nodes as themselves, arrays flattened, null skipped.
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replaces everything inside `el`.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// An error slot next to an action: empty until the action fails, then the API's words.
export function errorSlot() {
  return h("p", { class: "error", role: "alert" });
}
export function showError(slot, err) {
  replace(slot, err ? String(err.message || err) : "");
}
