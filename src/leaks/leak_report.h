// Leaked-token reports (API.md "Leaked tokens"): what a finder tells us about a secret it found, and what
// the service made of it. The service's revoke_leaked checks each secret's format and checksum before any
// lookup, revokes a match at once and audits it as `token.leaked`; the HTTP answers built from the verdicts
// say nothing about a match, except the GitHub answer's label, which only signed GitHub requests get.
#pragma once

#include <string>

namespace rt {

// Who reported: anyone (POST /tokens/revoke), GitHub's secret scanning (signed), GitLab's token
// revocation API (pre-shared token). Named in the audit entry's actor and in /metrics.
enum class LeakChannel { anyone, github, gitlab };
const char* leak_channel_name(LeakChannel channel);  // "anyone", "github", "gitlab"

// At most this many secrets in one report (GitHub sends up to 1,000 per request).
inline constexpr size_t kMaxLeakBatch = 1000;

struct LeakReport {
  std::string token;     // the secret as found; never stored, logged or echoed (except to GitHub, signed)
  std::string location;  // where it was found (a URL), as reported; may be empty
  std::string source;    // the finder's word for the kind of place ("content", "commit", ...); may be empty
};

enum class LeakVerdict {
  malformed,  // not one of our tokens (prefix, length, alphabet or checksum): no lookup was made
  unknown,    // well-formed, but no live or expired token has this secret (or it was revoked already)
  revoked,    // it was one of ours: now revoked and audited
};

}  // namespace rt
