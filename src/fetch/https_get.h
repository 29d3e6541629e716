// A bounded HTTP(S) GET for the documents the server itself fetches (secretless CI's OIDC discovery and
// JWKS, GitHub's secret-scanning key set): libcurl with certificate verification, no redirects, a total
// timeout and a size cap. Which URLs may be fetched at all is fetchable_url.h's rule, checked by callers.
#pragma once

#include <cstddef>
#include <string>

#include "core/result.h"

namespace rt::fetch {

struct FetchLimits {
  long timeout_ms = 5000;
  size_t max_bytes = 256 * 1024;
  // PEM file of the certificate authorities to trust instead of the system's (--outbound-ca-file); empty:
  // libcurl's default bundle.
  std::string ca_file;
};

// The body of a 200 answer; `unavailable` saying what failed (connection, TLS, timeout, status, size).
Result<std::string> https_get(const std::string& url, const FetchLimits& limits = {});

// ok when `path` is a readable file holding at least one PEM certificate (what --outbound-ca-file must
// name); `invalid` saying which it is not.
Status check_ca_file(const std::string& path);

}  // namespace rt::fetch
