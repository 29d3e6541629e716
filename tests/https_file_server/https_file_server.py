#!/usr/bin/python3
"""A real HTTPS server for the integration tests (tests/support/https_file_server.h): Python's http.server
wrapped in ssl, serving GETs of the files of --root with the certificate and key given (made at test time
by `openssl req`), on 127.0.0.1 and --port (0: chosen at start; printed as "listening PORT" on the first
line of stdout). Each GET's path is appended to --log, one a line, so a test can count fetches."""
import argparse
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_GET(self):
            with lock, open(args.log, "a") as log:
                log.write(self.path + "\n")
            name = os.path.normpath(self.path.lstrip("/"))
            path = os.path.join(args.root, name)
            if name.startswith("..") or not os.path.isfile(path):
                body, status = b'{"message": "not found"}', 404
            else:
                with open(path, "rb") as f:
                    body, status = f.read(), 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.allow_reuse_address = True  # a restart takes the same port back at once
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
