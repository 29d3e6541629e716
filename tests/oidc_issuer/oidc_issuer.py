#!/usr/bin/python3
# A test OIDC issuer for secretless CI (tests/support/oidc_issuer.h): a real HTTP server on a loopback port
# chosen at start (printed as "listening PORT"), serving /.well-known/openid-configuration and /jwks with
# an RSA and an EC P-256 key generated at start, and signing job tokens on request with PyJWT and
# cryptography (Debian's python3-jwt, python3-cryptography). Test-only controls live under /_issuer/:
#   POST /_issuer/sign   {"claims": {...}, "key": "rsa"|"ec"|"unpublished", "alg"?: "none"|"HS256",
#                         "tamper"?: true}  -> {"jwt": "..."}
#   POST /_issuer/sign-many {"requests": [sign request, ...]} -> {"jwts": [...]} (for bench/ci_exchange.sh)
#   POST /_issuer/rotate -> a new RSA key replaces the published one ({"kid"})
#   POST /_issuer/down   {"down": true|false} -> discovery and JWKS answer 503 while down
#   GET  /_issuer/state  -> {"jwks_fetches": n, "actions_audiences": [aud of each ID-token request served]}
#   POST /_issuer/actions {"request_token": "...", "claims": {...}} -> arms the GitHub Actions stand-in below
# A stand-in for GitHub Actions' ID-token endpoint (what ACTIONS_ID_TOKEN_REQUEST_URL points at), test-only:
#   GET  /_actions/idtoken?api-version=2.0&audience=AUD with "Authorization: bearer <request_token>"
#        -> {"count": 1, "value": "<JWT of the armed claims, iss this issuer, aud AUD, fresh jti and times>"};
#        401 for a missing or wrong request token, 400 without an audience, 404 before it is armed.
import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Key:
    def __init__(self, kind):
        self.kind = kind
        self.kid = f"{kind}-{uuid.uuid4().hex[:12]}"
        if kind == "ec":
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"

    def jwk(self):
        algo = ECAlgorithm if self.kind == "ec" else RSAAlgorithm
        out = json.loads(algo.to_jwk(self.private.public_key()))
        out.update({"kid": self.kid, "use": "sig", "alg": self.alg})
        return out

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.keys = {"rsa": Key("rsa"), "ec": Key("ec"), "unpublished": Key("rsa")}
        self.jwks_fetches = 0
        self.down = False
        self.actions = None  # {"request_token", "claims"} once armed
        self.actions_audiences = []


STATE = State()


def sign(req):
    claims = req.get("claims", {})
    with STATE.lock:
        key = STATE.keys[req.get("key", "rsa")]
    alg = req.get("alg")
    if alg == "none":
        header = {"alg": "none", "typ": "JWT", "kid": key.kid}
        token = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode()) + "."
    elif alg == "HS256":
        # The classic confusion attack: HMAC keyed with the issuer's public key, which anyone can fetch.
        header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
        token = signing_input + "." + b64url(mac)
    else:
        token = jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})
    if req.get("tamper"):
        header, payload, signature = token.split(".")
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        body["repository_id"] = "999999"
        token = header + "." + b64url(json.dumps(body).encode()) + "." + signature
    return {"jwt": token, "kid": key.kid}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def actions_id_token(self, query):
        with STATE.lock:
            armed = STATE.actions
        if armed is None:
            return self.answer(404, {"message": "the Actions stand-in is not armed"})
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token, armed["request_token"]):
            return self.answer(401, {"message": "bad or missing request token"})
        audience = urllib.parse.parse_qs(query).get("audience", [""])[0]
        if not audience:
            return self.answer(400, {"message": "audience is required"})
        now = int(time.time())
        claims = dict(armed["claims"])
        claims.update({"iss": self.base(), "aud": audience, "iat": now, "nbf": now - 5, "exp": now + 300,
                       "jti": uuid.uuid4().hex})
        with STATE.lock:
            STATE.actions_audiences.append(audience)
        return self.answer(200, {"count": 1, "value": sign({"claims": claims, "key": "rsa"})["jwt"]})

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/_actions/idtoken":
            return self.actions_id_token(query)
        if self.path == "/_issuer/state":
            with STATE.lock:
                return self.answer(200, {"jwks_fetches": STATE.jwks_fetches,
                                         "actions_audiences": STATE.actions_audiences})
        with STATE.lock:
            down = STATE.down
        if down:
            return self.answer(503, {"error": "down"})
        if self.path == "/.well-known/openid-configuration":
            return self.answer(200, {"issuer": self.base(), "jwks_uri": self.base() + "/jwks"})
        if self.path == "/jwks":
            with STATE.lock:
                STATE.jwks_fetches += 1
                keys = [STATE.keys["rsa"].jwk(), STATE.keys["ec"].jwk()]
            return self.answer(200, {"keys": keys})
        return self.answer(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/_issuer/sign":
            return self.answer(200, sign(req))
        if self.path == "/_issuer/sign-many":
            return self.answer(200, {"jwts": [sign(r)["jwt"] for r in req.get("requests", [])]})
        if self.path == "/_issuer/rotate":
            with STATE.lock:
                STATE.keys["rsa"] = Key("rsa")
                return self.answer(200, {"kid": STATE.keys["rsa"].kid})
        if self.path == "/_issuer/actions":
            with STATE.lock:
                STATE.actions = {"request_token": str(req["request_token"]), "claims": req.get("claims", {})}
            return self.answer(200, {})
        if self.path == "/_issuer/down":
            with STATE.lock:
                STATE.down = bool(req.get("down"))
            return self.answer(200, {})
        return self.answer(404, {"error": "not found"})


def main():
    parser = argparse.ArgumentParser()
    parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
