// Widgets the pages share: modal dialogs (confirmation, the once-only secret), a pager over keyset
// cursors, and small table helpers. Dialogs are native <dialog> elements (focus kept inside, Escape
// closes) and are removed from the document when they close, so a secret does not outlive its dialog.
import { h, replace } from "./dom.js";

// A modal dialog with `content` and buttons; resolves with the value of the button pressed (or null on
// Escape). The element is removed from the DOM when it closes.
export function modal(title, content, buttons) {
  return new Promise((resolve) => {
    const id = "dialog-title-" + Math.random().toString(36).slice(2);
    const dialog = h("dialog", { "aria-labelledby": id, class: "modal" });
    let value = null;
    const row = h(
      "div",
      { class: "buttons" },
      buttons.map((b) =>
        h(
          "button",
          {
            type: "button",
            class: b.class || "",
            "data-value": b.value,
            onclick: () => {
              value = b.value;
              dialog.close();
            },
          },
          b.label,
        ),
      ),
    );
    replace(dialog, h("h2", { id }, title), content, row);
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(value);
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = dialog.querySelector("[data-autofocus]") || row.querySelector("button");
    if (first) first.focus();
  });
}

export async function confirmAction(title, message, actionLabel) {
  const answer = await modal(title, h("p", {}, message), [
    { label: "Cancel", value: "cancel" },
    { label: actionLabel, value: "yes", class: "danger" },
  ]);
  return answer === "yes";
}

// Shows a new token's secret once. `extra` are further buttons (rotation asks whether to revoke the old
// token); resolves with the pressed button's value. The secret lives only in this dialog's nodes.
export function showSecret(title, secret, note, extra = []) {
  const code = h("code", { class: "secret", id: "new-secret", tabindex: "0" }, secret);
  const status = h("p", { class: "hint", role: "status" });
  const copy = h(
    "button",
    {
      type: "button",
      "data-autofocus": true,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(secret);
          replace(status, "Copied to the clipboard.");
        } catch {
          const range = document.createRange();
          range.selectNodeContents(code);
          const sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          replace(status, "Copying is not allowed here: the secret is selected, press Ctrl+C.");
        }
      },
    },
    "Copy secret",
  );
  const content = h(
    "div",
    {},
    h("p", {}, note),
    h("p", { class: "warning" }, "This is the only time the secret is shown. Store it now."),
    h("div", { class: "secret-row" }, code, copy),
    status,
  );
  return modal(title, content, [...extra, { label: "Close", value: "close" }]);
}

// A pager over keyset cursors: "Next page" follows the server's cursor; "Previous page" goes back
// through the cursors already seen.
export function pager(load) {
  const stack = [null];
  const info = h("span", { class: "pager-info", role: "status" });
  const prev = h("button", { type: "button", disabled: true }, "Previous page");
  const next = h("button", { type: "button", disabled: true }, "Next page");
  let nextCursor = null;
  prev.addEventListener("click", () => {
    if (stack.length > 1) {
      stack.pop();
      run();
    }
  });
  next.addEventListener("click", () => {
    if (nextCursor) {
      stack.push(nextCursor);
      run();
    }
  });
  async function run() {
    const result = await load(stack[stack.length - 1]);
    if (!result) return;
    nextCursor = result.cursor;
    prev.disabled = stack.length <= 1;
    next.disabled = !nextCursor;
    replace(info, result.summary || "");
  }
  return {
    element: h("nav", { class: "pager", "aria-label": "pages" }, prev, info, next),
    reset() {
      stack.length = 1;
      return run();
    },
  };
}

export function table(caption, headers, rows) {
  return h(
    "table",
    {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows),
  );
}

// A token state in words, with a class for colour as a second cue.
export function stateBadge(state) {
  const cls = { expired: "bad", "expiring soon": "warn", active: "ok", "never expires": "warn" }[state] || "";
  return h("span", { class: `badge ${cls}` }, state);
}
