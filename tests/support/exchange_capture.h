// Test harness: records each HTTP exchange the integration tests make, so that the conformance check
// (tests/conformance/validate.py, ctest "conformance.codacy_responses") can validate every response to a
// Codacy operation against Codacy's OpenAPI document after the tests ran.
#pragma once

#include <string>

namespace rt::test {

// Appends one JSON line {"test", "method", "target", "status", "contentType", "body"} to
// <dir>/<pid>.jsonl, where <dir> is $REPOTOKENS_CAPTURE_DIR or else the build's conformance/exchanges
// folder, and only when that folder exists (ctest's "conformance.setup" creates it empty). `target` is
// the path and query as sent, without scheme and host; `test` is the running gtest test's full name.
// Thread-safe; never fails the caller (a capture that cannot be written is reported once on stderr).
void record_exchange(const std::string& method, const std::string& url, long status,
                     const std::string& content_type, const std::string& body);

}  // namespace rt::test
