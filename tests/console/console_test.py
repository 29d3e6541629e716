#!/usr/bin/python3
"""End-to-end test of the web console in a real browser: Debian's chromium, headless, driven by
chromium-driver through python3-selenium, against a real repotokensd on a loopback port chosen at run
time. One browser session walks what a token owner does (sign in, see the organization and repository,
create, revoke, rotate and bulk revoke tokens, the expiring-soon view, the audit log, people, sign out),
with keyboard-only sign-in and revoke, and checks each effect through the API as well. It writes
screenshots of the main pages at 1280x800 into --screenshots.

Exit status: 0 passed, 1 failed, 77 skipped (no chromium, chromium-driver or selenium on this machine).
"""
import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

SKIP = 77
MARKUP = "<img src=x onerror=alert(1)>"


def skip(why):
    print(f"SKIPPED: {why}", flush=True)
    sys.exit(SKIP)


try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service as ChromeService
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip("python3-selenium is not installed (scripts/install-deps installs it)")

CHROMIUM = os.environ.get("REPOTOKENS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("REPOTOKENS_CHROMEDRIVER", "/usr/bin/chromedriver")


# --- the server and the API, without the browser -------------------------------------------------

class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=None, project=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("api-token", token)
        if project:
            req.add_header("project-token", project)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read().decode()
                return r.status, json.loads(text) if text else None, r.headers
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text) if text else None, e.headers
            except ValueError:
                return e.code, text, e.headers

    def ok(self, method, path, body=None, token=None, want=(200, 201, 204)):
        status, data, _ = self.call(method, path, body, token=token)
        if status not in want:
            raise AssertionError(f"{method} {path} -> {status} {data}")
        return data


class Server:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="repotokens-console-")
        self.db = f"sqlite:{self.dir}/console.db"
        self.admin = subprocess.run(
            [binary, "admin", "create-user", "--db", self.db, "--name", "ada", "--instance-admin"],
            check=True, capture_output=True, text=True).stdout.strip()
        port_file = f"{self.dir}/port"
        self.log = open(f"{self.dir}/server.log", "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--db", self.db, "--listen", "127.0.0.1:0", "--port-file", port_file, "--threads", "1",
             "--rate-limit-per-address", "0", "--rate-limit-per-token", "0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(port_file):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("repotokensd exited at start; see " + self.log.name)
            time.sleep(0.05)
        self.port = int(open(port_file).read())
        self.origin = f"http://127.0.0.1:{self.port}"
        self.api = Api(self.origin + "/api/v3")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def repo_path(org, repo):
    return f"/organizations/gh/{org}/repositories/{repo}"


# --- a forged page on another origin --------------------------------------------------------------

def start_evil_site(target):
    """A page on another site (localhost is not 127.0.0.1) that posts a form at the console's API."""
    page = f"""<!doctype html><html><body>
<form id="f" method="POST" enctype="text/plain" action="{target}">
<input name='{{"name":"forged","x":"' value='"}}'></form>
<script>document.getElementById("f").submit();</script></body></html>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 2  # chromium keeps idle (speculative) connections open: never wait on them long

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://localhost:{httpd.server_address[1]}/"


# --- the browser ------------------------------------------------------------------------------------

class Browser:
    def __init__(self, shots):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1280,800", "--force-device-scale-factor=1", "--no-first-run",
                    "--disable-extensions", "--lang=en-US"):
            options.add_argument(arg)
        self.d = webdriver.Chrome(service=ChromeService(executable_path=CHROMEDRIVER), options=options)
        self.viewport(1280, 800)
        self.wait = WebDriverWait(self.d, 10)
        self.shots = shots

    def quit(self):
        self.d.quit()

    def viewport(self, width, height):
        """The page's own size (a window's outer size would include the browser's frame)."""
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def shot(self, name):
        self.d.save_screenshot(os.path.join(self.shots, f"{name}.png"))

    def css(self, selector):
        return self.wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, selector)))

    def heading(self, text):
        self.wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "main h1"), text))

    def go(self, url):
        if self.d.current_url == url:
            self.d.refresh()  # the same address: a navigation to it would change nothing
        else:
            self.d.get(url)

    def no_alert(self):
        try:
            alert = self.d.switch_to.alert
            text = alert.text
            alert.dismiss()
            raise AssertionError(f"a script ran: an alert said {text!r}")
        except NoAlertPresentException:
            pass

    def tab_to(self, predicate, limit=80):
        """Presses Tab until the focused element satisfies predicate(element); fails after `limit`."""
        body = self.d.find_element(By.TAG_NAME, "body")
        for _ in range(limit):
            el = self.d.switch_to.active_element
            if predicate(el):
                return el
            el.send_keys(Keys.TAB) if el.tag_name != "body" else body.send_keys(Keys.TAB)
        raise AssertionError("Tab never reached the wanted control")

    def dialog(self):
        return self.wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "dialog[open]")))

    def press(self, dialog, label):
        for b in dialog.find_elements(By.TAG_NAME, "button"):
            if b.text.strip() == label:
                b.click()
                self.wait.until(EC.staleness_of(dialog))
                return
        raise AssertionError(f"no button {label!r} in the dialog")

    def token_row(self, name):
        try:
            for row in self.d.find_elements(By.CSS_SELECTOR, "tbody tr[data-token-id]"):
                if row.find_element(By.CSS_SELECTOR, "td.name").text == name:
                    return row
        except StaleElementReferenceException:  # the table was redrawn meanwhile
            return None
        return None

    def wait_row(self, name, present=True):
        self.wait.until(lambda d: (self.token_row(name) is not None) == present)


# --- the scenario ------------------------------------------------------------------------------------

checks = []
started = time.monotonic()


def check(what, condition, detail=""):
    checks.append(what)
    if not condition:
        raise AssertionError(f"{what}: {detail}")
    print(f"ok - {what} ({time.monotonic() - started:.1f} s)", flush=True)


def live_token_names(api, admin, repo):
    data = api.ok("GET", repo_path("acme", repo) + "/tokens?limit=1000", token=admin)
    return {t["name"]: t for t in data["data"]}


def scenario(server, b):
    api, admin = server.api, server.admin
    # The world: an organization with a short warning window, two repositories, tokens inside and
    # outside the window, two that expire in a moment, and a member whose name is markup.
    api.ok("POST", "/organizations", {"provider": "gh", "name": "acme"}, token=admin)
    for name in ("api", "web"):
        api.ok("POST", "/repositories", {"provider": "gh", "repositoryFullPath": f"acme/{name}"}, token=admin)
    api.ok("PUT", "/organizations/gh/acme/settings/tokens",
           {"defaultLifetimeDays": 90, "maxLifetimeDays": 365, "expiryWarningDays": 10}, token=admin)
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    mk = lambda repo, name, at: api.ok("POST", repo_path("acme", repo) + "/tokens",
                                       {"name": name, "expiresAt": iso(at)}, token=admin)["data"]
    mk("web", "soon", now + 5 * 86400)
    mk("web", "later", now + 30 * 86400)
    mk("web", "gone-1", now + 8)
    mk("web", "gone-2", now + 8)
    mallory = api.ok("POST", "/admin/users", {"name": MARKUP, "email": "m@example.com"}, token=admin)["data"]
    api.ok("PUT", f"/organizations/gh/acme/people/{mallory['id']}", {"role": "admin"}, token=admin)
    mallory_token = api.ok("POST", f"/admin/users/{mallory['id']}/tokens", {}, token=admin)["data"]["token"]
    mk_by = api.ok("POST", repo_path("acme", "api") + "/tokens", {"name": "by-markup"}, token=mallory_token)
    check("a member named with markup created a token", mk_by["data"]["name"] == "by-markup")

    # Sign in with the keyboard alone.
    b.go(server.origin + "/")
    b.css("#token")
    b.shot("sign-in")
    field = b.tab_to(lambda el: el.get_attribute("id") == "token")
    field.send_keys(admin)
    field.send_keys(Keys.ENTER)
    b.heading("Organizations")
    check("keyboard-only sign in reaches the organizations page", True)
    check("the token is not in the page after sign in", admin not in b.d.page_source)
    storage = b.d.execute_script(
        "return JSON.stringify(Object.assign({}, localStorage)) + JSON.stringify(Object.assign({}, sessionStorage)) + document.cookie")
    check("no secret in localStorage, sessionStorage or script-visible cookies", "rtk" not in storage, storage)
    check("no secret in the address", "rtk" not in b.d.current_url, b.d.current_url)
    cookie = next(c for c in b.d.get_cookies() if c["name"] == "rt_console")
    check("the session cookie is HttpOnly and SameSite=Strict",
          cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie)
    b.wait.until(lambda d: "acme" in d.find_element(By.TAG_NAME, "main").text)
    b.shot("organizations")

    # The organization's repositories, with live-token counts.
    b.d.find_element(By.LINK_TEXT, "acme").click()
    b.heading("Repositories of acme")
    b.wait.until(lambda d: "web" in d.find_element(By.TAG_NAME, "tbody").text)
    rows = {r.find_element(By.CSS_SELECTOR, "td").text: r.find_element(By.CSS_SELECTOR, "td.num").text
            for r in b.d.find_elements(By.CSS_SELECTOR, "tbody tr")}
    check("the repository list shows both repositories", set(rows) == {"api", "web"}, rows)
    check("with their live-token counts", rows == {"api": "1", "web": "4"}, rows)
    b.shot("repositories")

    # A repository's tokens: create one, read the secret once, check it over the API.
    b.d.find_element(By.LINK_TEXT, "api").click()
    b.heading("Tokens of acme/api")
    b.wait_row("by-markup")
    row = b.token_row("by-markup")
    check("the creator named with markup shows as text", MARKUP in row.text, row.text)
    check("markup in a name creates no element", len(b.d.find_elements(By.CSS_SELECTOR, "main img")) == 0)
    b.no_alert()
    b.d.find_element(By.ID, "new-token-name").send_keys("console-made")
    days = b.d.find_element(By.ID, "new-token-days")
    days.clear()
    days.send_keys("30")
    b.d.find_element(By.CSS_SELECTOR, "#create-token button[type=submit]").click()
    dlg = b.dialog()
    secret = dlg.find_element(By.ID, "new-secret").text
    check("the new secret is shown once in a dialog", secret.startswith("rtkr_"), secret)
    b.shot("token-created")
    status, _, _ = api.call("GET", repo_path("acme", "api"), project=secret)
    check("the shown secret authenticates its repository", status == 200, status)
    status, _, _ = api.call("GET", repo_path("acme", "web"), project=secret)
    check("and no other repository", status in (401, 403, 404), status)
    b.press(dlg, "Close")
    b.wait_row("console-made")
    check("the secret is gone from the DOM once the dialog closes",
          secret not in b.d.page_source and not b.d.find_elements(By.ID, "new-secret"))
    check("the dialog itself is gone", not b.d.find_elements(By.TAG_NAME, "dialog"))
    b.shot("tokens")

    # Revoke it (with confirmation): the API refuses it afterwards.
    b.token_row("console-made").find_element(By.XPATH, ".//button[text()='Revoke']").click()
    b.press(b.dialog(), "Revoke")
    b.wait_row("console-made", present=False)
    status, _, _ = api.call("GET", repo_path("acme", "api"), project=secret)
    check("a revoked token is refused by the API", status == 401, status)

    # Rotate: a new secret is shown, and the old one is revoked once the user says so.
    old = api.ok("POST", repo_path("acme", "api") + "/tokens", {"name": "ci"}, token=admin)["data"]
    b.go(server.origin + "/console/#/repo/gh/acme/api")
    b.heading("Tokens of acme/api")
    b.wait_row("ci")
    b.token_row("ci").find_element(By.XPATH, ".//button[text()='Rotate']").click()
    dlg = b.dialog()
    fresh = dlg.find_element(By.ID, "new-secret").text
    b.press(dlg, "Revoke old token ci")
    b.wait_row("ci", present=False)
    names = live_token_names(api, admin, "api")
    rotated = [n for n in names if n.startswith("ci-r")]
    check("rotation made a replacement named after the old token", len(rotated) == 1, names)
    check("the new secret works", api.call("GET", repo_path("acme", "api"), project=fresh)[0] == 200)
    check("the old secret is refused", api.call("GET", repo_path("acme", "api"), project=old["token"])[0] == 401)

    # Bulk revoke of expired tokens (gone-1 and gone-2 expired 8 s after they were made).
    time.sleep(max(0, now + 9 - time.time()))
    b.go(server.origin + "/console/#/repo/gh/acme/web")
    b.heading("Tokens of acme/web")
    b.wait_row("gone-1")
    check("expired tokens say so in words", "expired" in b.token_row("gone-1").text)
    check("a token inside the window says expiring soon", "expiring soon" in b.token_row("soon").text)
    check("a token outside the window is active", "active" in b.token_row("later").text)
    b.d.find_element(By.ID, "revoke-expired").click()
    b.press(b.dialog(), "Revoke 2")
    b.wait_row("gone-1", present=False)
    check("bulk revoke removed exactly the expired tokens", set(live_token_names(api, admin, "web")) == {"soon", "later"})

    # Expiring soon: exactly the tokens inside their organization's window.
    b.d.find_element(By.LINK_TEXT, "Expiring soon").click()
    b.heading("Expiring soon")
    b.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "tbody tr[data-token-id]") or
                 "No token" in d.find_element(By.TAG_NAME, "tbody").text)
    listed = [r.find_element(By.CSS_SELECTOR, "td.name").text for r in b.d.find_elements(By.CSS_SELECTOR, "tbody tr[data-token-id]")]
    check("expiring soon lists exactly the tokens inside the window", listed == ["soon"], listed)
    b.shot("expiring")

    # The audit log shows what was just done, and filters by action.
    b.go(server.origin + "/console/#/audit/gh/acme")
    b.heading("Audit log of acme")
    b.wait.until(lambda d: "repository.token.delete" in d.find_element(By.TAG_NAME, "tbody").text)
    text = b.d.find_element(By.TAG_NAME, "tbody").text
    check("the audit log shows the creations and revocations", "repository.token.create" in text and "user:ada" in text)
    check("the audit log shows the markup-named actor as text", MARKUP in text)
    b.shot("audit")
    from selenium.webdriver.support.ui import Select
    Select(b.d.find_element(By.ID, "audit-action")).select_by_value("repository.token.delete")
    b.d.find_element(By.CSS_SELECTOR, "#audit-filters button[type=submit]").click()
    b.wait.until(lambda d: "repository.token.create" not in d.find_element(By.TAG_NAME, "tbody").text)
    actions = {r.find_elements(By.TAG_NAME, "td")[2].text for r in b.d.find_elements(By.CSS_SELECTOR, "tbody tr")}
    check("the action filter keeps only that action", actions == {"repository.token.delete"}, actions)

    # People, with the markup-named member as text and no script run.
    b.go(server.origin + "/console/#/people/gh/acme")
    b.heading("People of acme")
    b.wait.until(lambda d: MARKUP in d.find_element(By.TAG_NAME, "tbody").text)
    check("no element was created from a name", len(b.d.find_elements(By.CSS_SELECTOR, "main img")) == 0)
    b.no_alert()

    # A forged cross-site POST: from a page on another site, and by hand with the real cookie but
    # another Origin and no CSRF token. Both are refused and nothing changes.
    before = set(live_token_names(api, admin, "api"))
    httpd, evil = start_evil_site(server.origin + "/api/v3" + repo_path("acme", "api") + "/tokens")
    b.go(evil)
    time.sleep(1.0)
    body = b.d.find_element(By.TAG_NAME, "body").text
    check("a cross-site form post is refused", '"error"' in body and "forged" not in live_token_names(api, admin, "api"), body)
    httpd.shutdown()
    httpd.server_close()
    status, data, _ = api.call("POST", repo_path("acme", "api") + "/tokens", {"name": "forged2"},
                               headers={"Cookie": f"rt_console={cookie['value']}", "Origin": "http://evil.example",
                                        "Sec-Fetch-Site": "cross-site"})
    check("a forged POST with the session cookie is 403", status == 403, (status, data))
    status, data, _ = api.call("POST", repo_path("acme", "api") + "/tokens", {"name": "forged3"},
                               headers={"Cookie": f"rt_console={cookie['value']}"})
    check("a POST with the cookie but no CSRF token is 403", status == 403, (status, data))
    check("nothing changed", set(live_token_names(api, admin, "api")) == before)

    # Keyboard-only revoke: Tab to the token's Revoke button, Enter, Tab to the dialog's Revoke, Enter.
    api.ok("POST", repo_path("acme", "api") + "/tokens", {"name": "by-keyboard"}, token=admin)
    b.go(server.origin + "/console/#/repo/gh/acme/api")
    b.heading("Tokens of acme/api")
    b.wait_row("by-keyboard")
    button = b.tab_to(lambda el: el.get_attribute("aria-label") == "Revoke token by-keyboard", limit=200)
    button.send_keys(Keys.ENTER)
    dlg = b.dialog()
    confirm = b.tab_to(lambda el: el.text == "Revoke" and el.tag_name == "button")
    confirm.send_keys(Keys.ENTER)
    b.wait_row("by-keyboard", present=False)
    check("keyboard-only revoke works", "by-keyboard" not in live_token_names(api, admin, "api"))

    # Narrow screens: nothing wider than 360 px.
    for width in (360, 1600):
        b.viewport(width, 800)
        inner = b.d.execute_script(
            "const wide = [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > innerWidth)"
            ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8);"
            "return [document.documentElement.scrollWidth, window.innerWidth, wide]")
        b.shot(f"tokens-{width}px")
        check(f"the tokens page fits a {width} px wide window", inner[0] <= inner[1], inner)
    b.viewport(1280, 800)

    # Token policy page.
    b.go(server.origin + "/console/#/policy/gh/acme")
    b.heading("Token policy of acme")
    b.wait.until(lambda d: d.find_element(By.ID, "policy-warning").get_attribute("value") == "10")
    b.shot("policy")

    # Sign out: the cookie no longer opens anything.
    b.d.find_element(By.ID, "sign-out").click()
    b.heading("Sign in")
    status, _, _ = api.call("GET", "/user", headers={"Cookie": f"rt_console={cookie['value']}"})
    check("after sign-out the old cookie is refused", status == 401, status)

    # Revoking the account token ends its sessions (here without the browser).
    second = api.ok("POST", "/user/tokens", {}, token=admin)
    status, data, headers = api.call("POST", "/console/session", {"token": second["token"]})
    session = headers["Set-Cookie"].split(";")[0]
    check("a second session opens", status == 201 and api.call("GET", "/user", headers={"Cookie": session})[0] == 200)
    api.ok("DELETE", f"/user/tokens/{second['id']}", token=admin)
    check("revoking the token ends its session", api.call("GET", "/user", headers={"Cookie": session})[0] == 401)

    # Every console answer carries the security headers.
    with urllib.request.urlopen(server.origin + "/console/") as r:
        csp = r.headers["Content-Security-Policy"]
        check("the console's CSP has no unsafe-inline and no other origin",
              csp and "unsafe" not in csp and "http" not in csp and "frame-ancestors 'none'" in csp, csp)
        check("nosniff and no-referrer", r.headers["X-Content-Type-Options"] == "nosniff" and
              r.headers["Referrer-Policy"] == "no-referrer")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True, help="the repotokensd binary")
    parser.add_argument("--screenshots", required=True, help="folder for the screenshots")
    args = parser.parse_args()
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            skip(f"{path} not found (Debian package {package}; scripts/install-deps installs it)")
    os.makedirs(args.screenshots, exist_ok=True)
    server = Server(args.server)
    browser = None
    try:
        browser = Browser(args.screenshots)
        scenario(server, browser)
        print(f"PASSED: {len(checks)} checks; screenshots in {args.screenshots}", flush=True)
        return 0
    except Exception:
        traceback.print_exc()
        if browser:
            try:
                browser.d.save_screenshot(os.path.join(args.screenshots, "failure.png"))
            except Exception:
                pass
        print("server log:\n" + open(server.log.name).read()[-3000:], flush=True)
        return 1
    finally:
        if browser:
            browser.quit()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
