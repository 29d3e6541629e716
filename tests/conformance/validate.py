#!/usr/bin/python3
# The conformance check: every captured response to a Codacy operation is validated against that
# operation's responses in Codacy's OpenAPI document (spec/codacy/codacy-openapi.yaml) by Debian's
# python3-jsonschema. Exchanges come as JSON lines from the integration tests' HTTP client and from the
# generated-client test (tests/support/exchange_capture.h says what a line holds).
#   validate.py [--all] DIR [DIR...]  -> 0 all conform, 1 first mismatch (named: test, operation, status,
#                                JSON path), 77 nothing was captured (no test ran: reported skipped)
#   --all: go on after a mismatch and list each distinct one once (for fixing many at a time)
import json
import pathlib
import re
import sys
import urllib.parse

try:
    import jsonschema
    import yaml
except ImportError as missing:  # scripts/install-deps installs both from Debian
    print(f"skipped: {missing.name} is missing: apt-get install python3-jsonschema python3-yaml")
    sys.exit(77)

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SPEC_PATH = ROOT / "spec/codacy/codacy-openapi.yaml"
BASE = "/api/v3"
METHODS = ("get", "post", "put", "delete", "patch")
# A status the operation does not list is checked against the error response Codacy's document defines
# for that status elsewhere (components/responses), or against its ApiError when it defines none: every
# error must still be Codacy's error body. A success status it does not list is a mismatch.
ERROR_RESPONSES = {400: "BadRequest", 401: "Unauthorized", 402: "PaymentRequired", 403: "Forbidden",
                   404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict", 413: "PayloadTooLarge",
                   422: "UnprocessableEntity", 429: "TooManyRequests", 500: "InternalServerError",
                   501: "NotImplemented", 502: "BadGateway"}


# The few places where API.md deliberately differs from Codacy's document: (operationId, JSON path with
# list indexes as [*], the required property left out) -> why. Nothing else is excused.
DEVIATIONS = {
    ("getUserApiTokens", "$.data[*]", "token"): "API.md: token lists never carry the secret",
    ("listRepositoryApiTokens", "$.data[*]", "token"): "API.md: token lists never carry the secret",
}


class Mismatch(Exception):
    def __init__(self, text, key=None):
        super().__init__(text)
        self.key = key or text  # what --all counts as one distinct mismatch


def excused(op_id, error):
    if error.validator != "required" or not isinstance(error.instance, dict):
        return False
    pattern = "".join("[*]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    missing = [name for name in error.validator_value if name not in error.instance]
    return all((op_id, "$" + pattern, name) in DEVIATIONS for name in missing)


def describe(error):
    # jsonschema's message quotes the whole failing value, which may be a page of data: keep it short.
    if len(error.message) <= 160:
        return error.message
    value = json.dumps(error.instance)
    return f"{value[:80]}... fails {error.validator} {json.dumps(error.validator_value)[:80]}"


def json_path(error):
    out = "$"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class Spec:
    def __init__(self, path=SPEC_PATH):
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.operations = []  # (specificity, segments, method, operationId, operation)
        for template, item in self.doc["paths"].items():
            segments = template.strip("/").split("/")
            for method, op in item.items():
                if method in METHODS:
                    rank = [1 if s.startswith("{") else 0 for s in segments]
                    self.operations.append((rank, segments, method.upper(), op["operationId"], op))
        self.operations.sort(key=lambda o: o[0])
        self._validators = {}

    def operation(self, method, target):
        """The Codacy operation a request addresses, as (operationId, operation), or None."""
        path = urllib.parse.urlsplit(target).path
        if not path.startswith(BASE + "/"):
            return None
        segments = [urllib.parse.unquote(s) for s in path[len(BASE) + 1:].split("/")]
        for _, pattern, op_method, op_id, op in self.operations:
            if op_method != method or len(pattern) != len(segments):
                continue
            if all(p.startswith("{") and s != "" or p == s for p, s in zip(pattern, segments)):
                return op_id, op
        return None

    def response_spec(self, op, status):
        """(response object, how it was chosen) for `status`, after following $ref."""
        responses = op["responses"]
        response = responses.get(str(status))
        chosen = "documented"
        if response is None:
            if status < 400:
                documented = ", ".join(sorted(responses))
                raise Mismatch(f"status {status} is not one the operation documents ({documented})")
            name = ERROR_RESPONSES.get(status)
            response = {"$ref": f"#/components/responses/{name}"} if name else {
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}}
            chosen = "Codacy's error body"
        while "$ref" in response:
            _, response = self.resolver.resolve(response["$ref"])
        return response, chosen

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            # OpenAPI 3.0 schemas are JSON Schema draft 4/5 with extra annotations (example, ...), which a
            # draft-4 validator ignores; $ref resolves against the whole document.
            self._validators[key] = jsonschema.Draft4Validator(schema, resolver=self.resolver)
        return self._validators[key]

    def check(self, exchange):
        """None when the exchange is not a Codacy operation; else its operationId. Raises Mismatch."""
        found = self.operation(exchange["method"], exchange["target"])
        if found is None:
            return None
        op_id, op = found
        status = int(exchange["status"])
        try:
            response, chosen = self.response_spec(op, status)
            body = exchange.get("body", "")
            media = (response.get("content") or {}).get("application/json")
            if media is None or "schema" not in media:
                if body.strip():
                    raise Mismatch(f"status {status} has no body in Codacy's document, but one was sent")
                return op_id
            try:
                value = json.loads(body)
            except ValueError:
                raise Mismatch(f"status {status} must carry JSON ({chosen}); the body is not JSON: {body[:120]!r}")
            errors = sorted((e for e in self.validator(media["schema"]).iter_errors(value) if not excused(op_id, e)),
                            key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
            if errors:
                e = errors[0]
                pattern = re.sub(r"\[\d+\]", "[*]", json_path(e))
                raise Mismatch(f"status {status} ({chosen}): at {json_path(e)}: {describe(e)}",
                               key=(status, pattern, e.validator, str(e.validator_value)[:80]))
        except Mismatch as m:
            raise Mismatch(f"{op_id} ({exchange['method']} {exchange['target']}): {m}", key=(op_id, m.key)) from None
        return op_id


def exchanges(dirs):
    for d in dirs:
        for f in sorted(pathlib.Path(d).glob("*.jsonl")):
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    yield f"{f.name}:{n}", json.loads(line)


def main(argv):
    keep_going = argv[:1] == ["--all"]
    argv = argv[1:] if keep_going else argv
    if not argv:
        print("usage: validate.py [--all] CAPTURE_DIR [CAPTURE_DIR...]", file=sys.stderr)
        return 2
    spec = Spec()
    seen, checked, ops, distinct = 0, 0, {}, set()
    for where, ex in exchanges(argv):
        seen += 1
        try:
            op_id = spec.check(ex)
        except Mismatch as m:
            if m.key in distinct:
                continue
            distinct.add(m.key)
            print(f"conformance: {ex.get('test', '?')} ({where}): {m}", file=sys.stderr)
            print(f"conformance: response body: {ex.get('body', '')[:400]}", file=sys.stderr)
            if not keep_going:
                return 1
            continue
        if op_id:
            checked += 1
            ops[op_id] = ops.get(op_id, 0) + 1
    if distinct:
        print(f"conformance: {len(distinct)} distinct mismatches", file=sys.stderr)
        return 1
    if seen == 0:
        print("conformance: no exchanges were captured (did no integration test run?): skipped")
        return 77
    print(f"conformance: {checked} responses to {len(ops)} Codacy operations conform "
          f"({seen - checked} other exchanges not Codacy operations)")
    for op_id in sorted(ops):
        print(f"  {op_id}: {ops[op_id]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
