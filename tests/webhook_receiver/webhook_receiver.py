#!/usr/bin/python3
"""A webhook receiver for the integration tests: a real HTTP server on a loopback port chosen at run time
(printed as "listening PORT" on the first line of stdout). It records every POST (path, headers, raw body)
and answers according to its mode: "ok" (204), "fail" (500) or "hang" (sleeps 60 s before answering).

Control (not recorded): GET /_control/requests -> JSON list of the recorded requests, in arrival order
(body as text); POST /_control/mode with the body ok|fail|hang."""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
requests = []
mode = {"value": "ok"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        if self.path == "/_control/requests":
            with lock:
                self._reply(200, json.dumps(requests).encode())
        else:
            self._reply(404)

    def do_POST(self):
        body = self._body()
        if self.path == "/_control/mode":
            with lock:
                mode["value"] = body.decode().strip()
            self._reply(204)
            return
        with lock:
            current = mode["value"]
            requests.append({"path": self.path, "mode": current,
                             "headers": {k.lower(): v for k, v in self.headers.items()},
                             "body": body.decode("utf-8", "replace")})
        if current == "hang":
            time.sleep(60)
            self._reply(200)
        elif current == "fail":
            self._reply(500, b'{"error":"told to fail"}')
        else:
            self._reply(204)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
