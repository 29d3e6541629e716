// Sign in: the account API token is posted once and answered with the session cookie; the field is
// cleared at once, and the token is kept nowhere in the page.
import { post } from "./api.js";
import { h, errorSlot, showError } from "./dom.js";

export function signInPage(message, onSignedIn) {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "token-hint",
  });
  const error = errorSlot();
  const form = h(
    "form",
    { class: "card", id: "sign-in" },
    h("label", { for: "token" }, "Account API token"),
    input,
    h("p", { id: "token-hint", class: "hint" }, "Starts with rtka_. It is sent once and not stored by this page."),
    h("button", { type: "submit" }, "Sign in"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    input.value = "";
    showError(error, null);
    try {
      const body = await post("/api/v3/console/session", { token });
      onSignedIn(body.data);
    } catch (e) {
      showError(error, e);
      input.focus();
    }
  });
  return h(
    "section",
    {},
    h("h1", {}, "Sign in to repotokens"),
    message ? h("p", { role: "status" }, message) : null,
    form,
  );
}
