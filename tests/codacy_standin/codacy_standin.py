#!/usr/bin/python3
# A stand-in of Codacy Cloud for the CLI's integration tests: a real HTTP server on a loopback port that
# answers the few operations `repotokens provision` and `tokens` use the way Codacy's OpenAPI document
# (v3, mirrored in /work/shared/codacy-openapi.yaml) and Codacy Cloud's documented limits say, not the way
# repotokensd does:
#   - token objects are {id, token, expiresAt?}: no name, no createdAt; the list carries the secrets;
#   - tokens are plain hex, with no prefix and no checksum;
#   - cursors are base64 offsets ("MjUw" is 250) and `limit` is clamped to 100;
#   - throttling is a sliding window of requests per source address (Codacy: 2,500 per 5 minutes; here as
#     small as a test wants), refused with 503 or 504, an HTML body and no Retry-After or RateLimit header;
#   - a gateway in front may answer 502 after the create was carried out (every Nth create).
# Python's standard library only (Debian's /usr/bin/python3). Test-only introspection lives under
# /_standin/ (not throttled): GET /_standin/state.
import argparse
import base64
import collections
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs, unquote

HTML_503 = b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"
HTML_504 = b"<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center></body></html>\n"
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"


class World:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.repos = [f"r-{i:04d}" for i in range(args.repos)]
        self.tokens = {name: [] for name in self.repos}  # newest first: {"id", "token", "expiresAt"?}
        self.next_id = 1000
        self.window = collections.deque()  # arrival times of accepted requests
        self.counters = collections.Counter()
        self.creates = 0

    def admit(self):
        """Sliding window: refuse when `quota` requests were accepted in the last `seconds`."""
        if self.args.window_quota <= 0:
            return True
        now = time.monotonic()
        while self.window and self.window[0] <= now - self.args.window_seconds:
            self.window.popleft()
        if len(self.window) >= self.args.window_quota:
            return False
        self.window.append(now)
        return True


def cursor_of(offset):
    return base64.b64encode(str(offset).encode()).decode()


def offset_of(cursor):
    try:
        return int(base64.b64decode(cursor.encode(), validate=True).decode())
    except Exception:
        return None


def page(items, query):
    try:
        limit = int(query.get("limit", ["100"])[0])
    except ValueError:
        return None
    limit = max(1, min(limit, 100))  # Codacy clamps
    offset = 0
    if "cursor" in query:
        offset = offset_of(query["cursor"][0])
        if offset is None:
            return None
    chunk = items[offset:offset + limit]
    pagination = {"limit": limit, "total": len(chunk)}
    if offset + limit < len(items):
        pagination["cursor"] = cursor_of(offset + limit)
    return {"data": chunk, "pagination": pagination}


def repository_json(world, name):
    return {"repositoryId": world.repos.index(name) + 1, "provider": world.args.provider, "owner": world.args.org,
            "name": name, "fullPath": f"{world.args.org}/{name}", "visibility": "Private", "languages": [],
            "standards": [], "problems": [], "addedState": "Added"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    world = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, body=b"", content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def error(self, status, kind, message):
        self.send(status, {"error": kind, "message": message, "actions": []})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        w = self.world
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path == "/_standin/state":
            with w.lock:
                return self.send(200, {"tokens": w.tokens, "counters": dict(w.counters)})
        parts = [unquote(p) for p in url.path.split("/") if p]
        if parts[:2] != ["api", "v3"]:
            return self.error(404, "NotFound", "no such path")
        parts = parts[2:]
        with w.lock:
            w.counters["requests"] += 1
            if not w.admit():
                w.counters["refused"] += 1
                flip = w.counters["refused"] % 2
                return self.send(503 if flip else 504, HTML_503 if flip else HTML_504, "text/html")
            w.counters["accepted"] += 1
            return self.route(method, parts, parse_qs(url.query), body)

    def route(self, method, parts, query, body):
        w = self.world
        a = w.args
        if len(parts) < 3 or parts[0] != "organizations" or parts[1] != a.provider or parts[2] != a.org:
            return self.error(404, "NotFound", "Organization not found")
        rest = parts[3:]
        project_token = self.headers.get("project-token")
        api_token = self.headers.get("api-token")
        repo = rest[1] if len(rest) >= 2 and rest[0] == "repositories" else None
        if repo is not None and repo not in w.tokens:
            return self.error(404, "NotFound", "Repository not found")
        # getRepository accepts that repository's project token.
        if method == "GET" and len(rest) == 2 and repo and project_token is not None:
            if any(t["token"] == project_token for t in w.tokens[repo]):
                return self.send(200, {"data": repository_json(w, repo)})
            return self.error(401, "Unauthorized", "Invalid project token")
        if api_token != a.token:
            return self.error(401, "Unauthorized", "Invalid API token")
        if method == "GET" and not rest:
            return self.send(200, {"data": {"organization": {"identifier": 1, "remoteIdentifier": "1", "name": a.org,
                                                             "provider": a.provider, "type": "Organization"},
                                            "membership": {"userRole": "admin"}}})
        if method == "GET" and rest == ["repositories"]:
            listed = page([repository_json(w, r) for r in w.repos], query)
            return self.send(200, listed) if listed else self.error(400, "BadRequest", "invalid cursor or limit")
        if method == "GET" and len(rest) == 2 and repo:
            return self.send(200, {"data": repository_json(w, repo)})
        if len(rest) == 3 and rest[2] == "tokens" and repo:
            if method == "GET":
                listed = page(list(w.tokens[repo]), query)
                return self.send(200, listed) if listed else self.error(400, "BadRequest", "invalid cursor or limit")
            if method == "POST":
                request = json.loads(body or b"{}")
                token = {"id": w.next_id, "token": secrets.token_hex(20)}
                if isinstance(request, dict) and request.get("expiresAt"):
                    token["expiresAt"] = request["expiresAt"]
                w.next_id += 1
                w.tokens[repo].insert(0, token)
                w.creates += 1
                w.counters["created"] += 1
                if a.bad_gateway_every and w.creates % a.bad_gateway_every == 0:
                    w.counters["bad_gateway"] += 1  # carried out; the reply is lost on the way back
                    return self.send(502, HTML_502, "text/html")
                return self.send(201, {"data": token})
        if len(rest) == 4 and rest[2] == "tokens" and repo and method == "DELETE":
            before = len(w.tokens[repo])
            w.tokens[repo] = [t for t in w.tokens[repo] if str(t["id"]) != rest[3]]
            if len(w.tokens[repo]) == before:
                return self.error(404, "NotFound", "Token not found")
            w.counters["revoked"] += 1
            return self.send(204)
        return self.error(404, "NotFound", "no such operation in this stand-in")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--token", required=True)
    p.add_argument("--provider", default="gh")
    p.add_argument("--org", default="acme")
    p.add_argument("--repos", type=int, default=10)
    p.add_argument("--window-quota", type=int, default=0)
    p.add_argument("--window-seconds", type=float, default=1.0)
    p.add_argument("--bad-gateway-every", type=int, default=0)
    args = p.parse_args()
    Handler.world = World(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
