// The CI job's own OIDC ID token on GitHub Actions: requested from the runner's endpoint
// (ACTIONS_ID_TOKEN_REQUEST_URL, authorised by ACTIONS_ID_TOKEN_REQUEST_TOKEN) for one audience. Only moves
// the bytes; which source a job uses (GitHub, a GitLab variable, a file) is the CLI's choice.
#pragma once

#include <string>

#include "client/http_transport.h"
#include "core/result.h"

namespace rt::client {

// GET `request_url` + "&audience=<aud>" ("?" when the URL has no query yet) with
// `Authorization: bearer <request_token>` and returns the JWT in the JSON answer's `value`. The timeouts
// and extra trust anchors are `settings`' (its API URL and token are not used). A throttled or unavailable
// answer (429, 5xx) or a lost connection is tried again, up to `settings.max_attempts` (at most 5) with
// backoff. Errors say what GitHub answered (status and its message), never the request token:
// `unauthorized` for 401/403, `unavailable` when no answer came, `internal` for any other answer.
Result<std::string> request_github_id_token(const ConnectionSettings& settings, const std::string& request_url,
                                            const std::string& request_token, const std::string& audience);

// True when `text` has the shape of a JWT: three dot-separated non-empty base64url parts (the last may be
// empty only for alg none, which no server accepts; it is refused here too). Nothing is decoded or checked.
bool looks_like_jwt(const std::string& text);

}  // namespace rt::client
