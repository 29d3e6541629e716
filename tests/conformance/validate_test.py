#!/usr/bin/python3
# The conformance validator fails on real mismatches (known-bad responses of the shapes repotokensd
# answered before issue 9) and names the operation and the JSON path; it passes Codacy's own shapes.
import json
import pathlib
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import validate  # noqa: E402

SPEC = validate.Spec()
ORG = "/api/v3/organizations/gh/acme"
ORGANIZATION = {"identifier": 1, "remoteIdentifier": "1", "name": "acme", "avatar": "", "created": "2026-01-01T00:00:00Z",
                "provider": "gh", "joinMode": "auto", "type": "Organization", "singleProviderLogin": False,
                "hasDastAccess": False, "hasScaEnabled": False}


def exchange(method, target, status, body):
    return {"test": "T.t", "method": method, "target": target, "status": status,
            "body": body if isinstance(body, str) else json.dumps(body)}


class Validator(unittest.TestCase):
    def mismatch(self, ex):
        with self.assertRaises(validate.Mismatch) as caught:
            SPEC.check(ex)
        return str(caught.exception)

    def test_undocumented_success_status_is_a_mismatch(self):
        text = self.mismatch(exchange("POST", "/api/v3/organizations", 201, {"data": ORGANIZATION}))
        self.assertIn("addOrganization", text)
        self.assertIn("status 201", text)

    def test_envelope_where_codacy_has_none_is_a_mismatch(self):
        text = self.mismatch(exchange("POST", "/api/v3/organizations", 200, {"data": ORGANIZATION}))
        self.assertIn("addOrganization", text)
        self.assertIn("at $: 'organization' is a required property", text)

    def test_codacys_shape_passes(self):
        ok = exchange("POST", "/api/v3/organizations", 200, {"organization": ORGANIZATION, "warnings": []})
        self.assertEqual(SPEC.check(ok), "addOrganization")

    def test_missing_required_field_names_its_json_path(self):
        person = {"name": "ada", "email": "ada@example.com", "userId": 1}
        text = self.mismatch(exchange("GET", ORG + "/people?limit=5", 200,
                                      {"data": [person], "pagination": {"limit": 5, "total": 1}}))
        self.assertIn("listPeopleFromOrganization", text)
        self.assertIn("at $.data[0]:", text)
        self.assertIn("is a required property", text)

    def test_wrong_type_names_its_json_path(self):
        text = self.mismatch(exchange("GET", "/api/v3/version", 200, {"data": 3}))
        self.assertIn("getVersion", text)
        self.assertIn("at $.data: 3 is not of type 'string'", text)

    def test_value_outside_an_enum_is_a_mismatch(self):
        report = {"targetCommitSha": "abc", "createdAt": "2026-01-01T00:00:00Z", "status": "final"}
        text = self.mismatch(exchange("GET", ORG + "/repositories/api/coverage/status", 200,
                                      {"data": {"hasCoverageOverview": True, "lastReports": [report]}}))
        self.assertIn("listCoverageReports", text)
        self.assertIn("$.data.lastReports[0].status", text)

    def test_error_bodies_must_be_codacys(self):
        text = self.mismatch(exchange("GET", ORG, 404, {"error": "no such organization"}))
        self.assertIn("getOrganization", text)
        self.assertIn("'actions' is a required property", text)
        # An error status the operation does not list still needs Codacy's error body.
        self.assertEqual(SPEC.check(exchange("GET", ORG, 429,
                                             {"error": "TooManyRequests", "message": "slow down", "actions": []})),
                         "getOrganization")

    def test_only_api_mds_deviations_are_excused(self):
        listed = {"data": [{"id": 4, "name": "ci", "createdAt": "2026-01-01T00:00:00Z"}], "pagination": {"limit": 100}}
        self.assertEqual(SPEC.check(exchange("GET", ORG + "/repositories/api/tokens", 200, listed)),
                         "listRepositoryApiTokens")
        self.assertEqual(SPEC.check(exchange("GET", "/api/v3/user/tokens", 200, listed)), "getUserApiTokens")
        # ... but the id is still required, and a created token must carry its secret.
        text = self.mismatch(exchange("GET", "/api/v3/user/tokens", 200, {"data": [{"name": "ci"}]}))
        self.assertIn("'id' is a required property", text)
        self.assertIn("'token' is a required property", self.mismatch(exchange("POST", "/api/v3/user/tokens", 200, {"id": 1})))

    def test_long_values_are_not_quoted_whole(self):
        text = self.mismatch(exchange("GET", ORG + "/audit", 200, {"data": [{"x": "y" * 500}]}))
        self.assertIn("listAuditLogsForOrganization", text)
        self.assertIn("fails type \"array\"", text)
        self.assertLess(len(text), 400)

    def test_no_content_status_must_have_no_body(self):
        self.assertEqual(SPEC.check(exchange("DELETE", "/api/v3/user/tokens/4", 204, "")), "deleteUserApiToken")
        self.assertIn("no body", self.mismatch(exchange("DELETE", "/api/v3/user/tokens/4", 204, {"data": {}})))

    def test_unserved_operation_answers_codacys_not_implemented_body(self):
        body = {"error": "NotImplemented", "message": "repotokensd does not serve listRepositoryBranches", "actions": []}
        self.assertEqual(SPEC.check(exchange("GET", ORG + "/repositories/api/branches", 501, body)),
                         "listRepositoryBranches")

    def test_paths_that_are_no_codacy_operation_are_not_checked(self):
        self.assertIsNone(SPEC.check(exchange("POST", "/api/v3/admin/users", 201, {"data": {}})))
        self.assertIsNone(SPEC.check(exchange("GET", ORG + "/repositories/api/nonsense", 404, "x")))
        self.assertIsNone(SPEC.check(exchange("POST", "/2.0/coverage/abc/python", 200, {"success": "x"})))

    def test_literal_segments_win_over_parameters(self):
        self.assertEqual(SPEC.operation("POST", ORG + "/people/remove")[0], "removePeopleFromOrganization")
        self.assertEqual(SPEC.operation("GET", "/api/v3/organizations/gh/installation/7")[0],
                         "getOrganizationByInstallationId")
        self.assertEqual(SPEC.operation("GET", ORG + "/repositories/a%20b?limit=1")[0], "getRepository")

    def test_command_line_exits_1_on_the_first_mismatch_and_77_on_nothing(self):
        script = pathlib.Path(validate.__file__)
        with tempfile.TemporaryDirectory() as empty:
            run = subprocess.run([sys.executable, str(script), empty], capture_output=True, text=True)
            self.assertEqual(run.returncode, 77, run.stdout + run.stderr)
        with tempfile.TemporaryDirectory() as d:
            lines = [exchange("GET", "/api/v3/version", 200, {"data": "1.0"}),
                     exchange("GET", "/api/v3/version", 200, {"data": 1}),
                     exchange("GET", "/api/v3/user", 200, {})]
            (pathlib.Path(d) / "1.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
            run = subprocess.run([sys.executable, str(script), d], capture_output=True, text=True)
            self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
            self.assertIn("T.t (1.jsonl:2): getVersion (GET /api/v3/version)", run.stderr)
            self.assertNotIn("getUser", run.stderr)  # stopped at the first mismatch
            run = subprocess.run([sys.executable, str(script), "--all", d], capture_output=True, text=True)
            self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
            self.assertIn("getUser (GET /api/v3/user)", run.stderr)
            self.assertIn("2 distinct mismatches", run.stderr)
            (pathlib.Path(d) / "1.jsonl").write_text(json.dumps(lines[0]) + "\n")
            run = subprocess.run([sys.executable, str(script), d], capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            self.assertIn("1 responses to 1 Codacy operations conform", run.stdout)


if __name__ == "__main__":
    unittest.main()
