// The rule for every URL the server itself fetches from (OIDC discovery and JWKS, GitHub's secret-scanning
// key set): https://, or http:// only on a loopback address, with a host and no query or fragment.
#pragma once

#include <string_view>

#include "core/result.h"

namespace rt::fetch {

// Whether `host` (as written in a URL: "127.0.0.1", "[::1]") is a loopback address: 127.0.0.0/8 as a dotted
// quad, or [::1]. Names (localhost) are not: what they resolve to is not the URL's to say.
bool is_loopback_host(std::string_view host);

// ok for https://HOST[:PORT][/PATH], and for http:// when HOST is a loopback address (for tests); `invalid`
// naming `what` and saying what is accepted otherwise (no user info, query or fragment either).
Status check_fetchable_url(std::string_view url, std::string_view what);

}  // namespace rt::fetch
