// Secretless CI's trust machinery (API.md "Secretless CI"): the configured CI issuers, the match of a
// trust rule's claims (with `*` globs) against a job's OIDC token, JWK -> public key conversion (OpenSSL 3),
// the per-issuer key cache fed by discovery + JWKS, and the verification of one JWT (libjwt). OpenSSL and
// libjwt headers stay in oidc.cc.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/time.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY; <openssl/evp.h> stays in oidc.cc

namespace rt {

// The kinds of issuer the documentation describes; they decide which claims are immutable ids and which
// names compare without case.
enum class CiIssuerKind { github, github_enterprise, gitlab };
std::string_view ci_issuer_kind_name(CiIssuerKind kind);  // "github", "github-enterprise", "gitlab"

struct CiIssuer {
  std::string url;  // exactly as JWTs name it in `iss` (no trailing slash)
  CiIssuerKind kind = CiIssuerKind::github;
};

// Parses one --ci-issuer value: `URL` or `KIND=URL` (KIND: github, github-enterprise, gitlab). Without a
// kind: https://token.actions.githubusercontent.com is github, a URL ending in /_services/token is
// github-enterprise, anything else gitlab. `invalid` (saying what is right) unless the URL is https://, or
// http:// on a loopback address (127.0.0.0/8, [::1]; for tests), with a host and no query or fragment.
Result<CiIssuer> parse_ci_issuer(std::string_view text);

// Whether `value` matches `pattern`, where `*` matches any run of characters (also none) and every other
// character itself; ASCII case is ignored when `ignore_case`.
bool glob_match(std::string_view pattern, std::string_view value, bool ignore_case);

// The claims a rule of this kind of issuer must bind to count as bound to an immutable id
// (repository_id/repository_owner_id on GitHub, project_id/namespace_id on GitLab).
const std::vector<std::string>& ci_id_claims(CiIssuerKind kind);
// Whether the provider treats this claim's values as names without case (repository, project_path, ...).
bool ci_claim_ignores_case(CiIssuerKind kind, std::string_view claim);

// A rule's claims against a token's claims (each already as text: strings as they are, numbers and
// booleans as JSON writes them). Every rule claim must be present and match; returns the first that does
// not, or nullopt when all match.
std::optional<std::string> first_mismatch(CiIssuerKind kind, const std::vector<std::pair<std::string, std::string>>& rule,
                                          const std::map<std::string, std::string>& token);

// A JWT payload's top-level claims as text (strings as they are; integers and booleans as JSON writes
// them); objects, arrays and null are left out.
std::map<std::string, std::string> ci_claims_as_text(const std::string& payload_json);

// One public key from a JWKS, as PEM (SubjectPublicKeyInfo), with the JWS alg family it may verify.
struct CiPublicKey {
  std::string kid;
  std::string alg;  // "RS256" or "ES256"
  std::string pem;  // SubjectPublicKeyInfo; what `key` was made from when it is null
  // The key as OpenSSL uses it, made once when the JWKS is read (re-decoding the PEM on every verification
  // costs ~0.8 ms under OpenSSL 3; docs/design.md "Secretless CI"). Shared read-only between threads.
  std::shared_ptr<evp_pkey_st> key;
};
// Parses a JWKS document ({"keys": [...]}): RSA keys (n, e) and EC P-256 keys (x, y) become CiPublicKeys;
// keys of other types or curves, keys without kid, and keys whose `use` is not "sig" are skipped. `invalid`
// when the document is not a JWKS or a usable-looking key is malformed (bad base64url, bad point).
Result<std::vector<CiPublicKey>> parse_jwks(std::string_view json_text);

// Fetches a URL's body: ok with the body on a 2xx answer, an error saying what failed otherwise.
using CiFetcher = std::function<Result<std::string>(const std::string& url)>;

// The keys of every configured issuer, by kid. A kid not in the cache makes one refetch (discovery, then
// jwks_uri) unless that issuer was refetched less than `refetch_seconds` ago; a failed refetch keeps the
// keys cached so far. Thread-safe.
class CiKeyCache {
 public:
  CiKeyCache(CiFetcher fetcher, const Clock& clock, int refetch_seconds = 60);
  // The key, or `unauthorized` saying why not (unknown kid after a refetch, keys unreachable).
  Result<CiPublicKey> key(const std::string& issuer, const std::string& kid);

 private:
  struct IssuerKeys {
    std::mutex mu;
    std::map<std::string, CiPublicKey> keys;
    std::optional<UnixTime> last_fetch;
    std::string last_error;
  };
  Status refetch(const std::string& issuer, IssuerKeys& keys);
  CiFetcher fetcher_;
  const Clock& clock_;
  int refetch_seconds_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<IssuerKeys>> issuers_;
};

// A JWT's parts before any check: its header's alg and kid, and its payload as JSON text.
struct CiJwtParts {
  std::string alg;
  std::string kid;
  std::string payload_json;
};
// `unauthorized` ("malformed: ...") unless the token is three base64url parts whose first two are JSON
// objects.
Result<CiJwtParts> split_jwt(std::string_view jwt);

// Whether the signature of `jwt` verifies with `key` under exactly the alg `key.alg` (OpenSSL 3 EVP:
// RSASSA-PKCS1-v1_5 SHA-256, or ECDSA P-256 SHA-256 over JWS's raw r||s), and the JWT's header names that
// alg. Never HMAC, never none.
bool verify_jwt_signature(std::string_view jwt, const CiPublicKey& key);

}  // namespace rt
