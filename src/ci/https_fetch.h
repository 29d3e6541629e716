// A bounded HTTP(S) GET for the documents the server itself fetches (secretless CI's OIDC discovery and
// JWKS): libcurl with certificate verification, no redirects, a total timeout and a size cap.
#pragma once

#include <cstddef>
#include <string>

#include "core/result.h"

namespace rt::ci {

struct FetchLimits {
  long timeout_ms = 5000;
  size_t max_bytes = 256 * 1024;
};

// The body of a 200 answer; `unavailable` saying what failed (connection, TLS, timeout, status, size).
Result<std::string> https_get(const std::string& url, const FetchLimits& limits = {});

}  // namespace rt::ci
