// Secretless CI's trust machinery (see oidc.h): issuer parsing, glob and claim matching, JWKS parsing
// with OpenSSL 3's EVP_PKEY_fromdata (JWK -> EVP_PKEY, kept for verifying), the per-issuer key cache, and
// signature verification by OpenSSL's EVP_DigestVerify. No signature arithmetic of our own.
#include "ci/oidc.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "core/metrics.h"
#include "core/secret.h"
#include "fetch/fetchable_url.h"

namespace rt {
namespace {

using json = nlohmann::json;

Error invalid(std::string message) { return make_error(ErrorKind::invalid, std::move(message)); }
Error refused(std::string message) { return make_error(ErrorKind::unauthorized, std::move(message)); }

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// base64url (no padding) as bytes; nullopt when malformed.
std::optional<std::string> b64url(const json& value) {
  if (!value.is_string()) return std::nullopt;
  auto bytes = base64url_decode(value.get<std::string>());
  if (!bytes || bytes->empty()) return std::nullopt;
  return bytes;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Builds a public key of `type` ("RSA" or "EC") from OSSL parameters.
Pkey from_params(const char* type, OSSL_PARAM* params) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) (void)EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  return Pkey(key);
}

Pkey rsa_key(const std::string& n, const std::string& e) {
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
    params = OSSL_PARAM_BLD_to_param(bld);
  Pkey key = params ? from_params("RSA", params) : nullptr;
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return key;
}

Pkey ec_p256_key(const std::string& x, const std::string& y) {
  // RFC 7518 wants each coordinate at the full 32 bytes, but some JWK writers (PyJWT before 2.8 among
  // them) drop leading zero bytes, about one key in 128: those are left-padded, not refused.
  if (x.empty() || y.empty() || x.size() > 32 || y.size() > 32) return nullptr;
  std::string point = "\x04" + std::string(32 - x.size(), '\0') + x + std::string(32 - y.size(), '\0') + y;
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end(),
  };
  Pkey key = from_params("EC", params);
  // fromdata does not check the point is on the curve; EVP_PKEY_public_check does.
  if (key) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr);
    const bool on_curve = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!on_curve) return nullptr;
  }
  return key;
}

std::optional<std::string> to_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return std::nullopt;
  std::optional<std::string> pem;
  if (PEM_write_bio_PUBKEY(bio, key) == 1) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    if (len > 0) pem = std::string(data, static_cast<size_t>(len));
  }
  BIO_free(bio);
  return pem;
}

// The text a claim value is compared as; nullopt for objects, arrays and null (never matched).
std::optional<std::string> claim_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

}  // namespace

std::string_view ci_issuer_kind_name(CiIssuerKind kind) {
  switch (kind) {
    case CiIssuerKind::github: return "github";
    case CiIssuerKind::github_enterprise: return "github-enterprise";
    case CiIssuerKind::gitlab: return "gitlab";
  }
  return "github";
}

Result<CiIssuer> parse_ci_issuer(std::string_view text) {
  CiIssuer issuer;
  std::string_view url = text;
  std::optional<CiIssuerKind> kind;
  if (size_t eq = text.find('='); eq != std::string_view::npos && text.substr(0, eq).find(':') == std::string_view::npos) {
    std::string_view name = text.substr(0, eq);
    if (name == "github") kind = CiIssuerKind::github;
    else if (name == "github-enterprise") kind = CiIssuerKind::github_enterprise;
    else if (name == "gitlab") kind = CiIssuerKind::gitlab;
    else
      return invalid(fmt::format("CI issuer kind '{}' is unknown: expected github, github-enterprise or gitlab "
                                 "(as KIND=URL)", name.substr(0, 50)));
    url = text.substr(eq + 1);
  }
  RT_TRY_STATUS(fetch::check_fetchable_url(url, "CI issuer"));
  if (url.ends_with("/"))
    return invalid(fmt::format("CI issuer '{}' ends with '/': write it exactly as its tokens' iss claim does, "
                               "without the trailing slash", url.substr(0, 200)));
  issuer.url = std::string(url);
  if (kind) issuer.kind = *kind;
  else if (url == "https://token.actions.githubusercontent.com") issuer.kind = CiIssuerKind::github;
  else if (url.ends_with("/_services/token")) issuer.kind = CiIssuerKind::github_enterprise;
  else issuer.kind = CiIssuerKind::gitlab;
  return issuer;
}

bool glob_match(std::string_view pattern, std::string_view value, bool ignore_case) {
  auto same = [&](char a, char b) { return ignore_case ? lower(a) == lower(b) : a == b; };
  // Iterative wildcard match with backtracking to the last star: linear in practice, no recursion.
  size_t p = 0, v = 0, star = std::string_view::npos, mark = 0;
  while (v < value.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = v;
    } else if (p < pattern.size() && same(pattern[p], value[v])) {
      ++p;
      ++v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const std::vector<std::string>& ci_id_claims(CiIssuerKind kind) {
  static const std::vector<std::string> github = {"repository_id", "repository_owner_id"};
  static const std::vector<std::string> gitlab = {"project_id", "namespace_id"};
  return kind == CiIssuerKind::gitlab ? gitlab : github;
}

bool ci_claim_ignores_case(CiIssuerKind kind, std::string_view claim) {
  static constexpr std::string_view github[] = {"repository", "repository_owner", "actor", "triggering_actor"};
  static constexpr std::string_view gitlab[] = {"project_path", "namespace_path", "user_login"};
  if (kind == CiIssuerKind::gitlab) return std::find(std::begin(gitlab), std::end(gitlab), claim) != std::end(gitlab);
  return std::find(std::begin(github), std::end(github), claim) != std::end(github);
}

std::optional<std::string> first_mismatch(CiIssuerKind kind, const std::vector<std::pair<std::string, std::string>>& rule,
                                          const std::map<std::string, std::string>& token) {
  for (const auto& [claim, pattern] : rule) {
    auto it = token.find(claim);
    if (it == token.end() || !glob_match(pattern, it->second, ci_claim_ignores_case(kind, claim))) return claim;
  }
  return std::nullopt;
}

Result<std::vector<CiPublicKey>> parse_jwks(std::string_view json_text) {
  json doc = json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array())
    return invalid("the JWKS is not a JSON object with a \"keys\" array");
  std::vector<CiPublicKey> out;
  for (const json& jwk : doc["keys"]) {
    if (!jwk.is_object() || !jwk.contains("kid") || !jwk["kid"].is_string()) continue;
    if (jwk.contains("use") && jwk["use"] != "sig") continue;
    const std::string kid = jwk["kid"].get<std::string>();
    const std::string kty = jwk.value("kty", "");
    CiPublicKey key;
    key.kid = kid;
    Pkey pkey;
    if (kty == "RSA") {
      if (jwk.contains("alg") && jwk["alg"] != "RS256") continue;
      auto n = b64url(jwk.value("n", json()));
      auto e = b64url(jwk.value("e", json()));
      if (!n || !e) return invalid(fmt::format("JWKS key '{}': n and e must be base64url", kid.substr(0, 100)));
      key.alg = "RS256";
      pkey = rsa_key(*n, *e);
    } else if (kty == "EC") {
      if (jwk.value("crv", "") != "P-256" || (jwk.contains("alg") && jwk["alg"] != "ES256")) continue;
      auto x = b64url(jwk.value("x", json()));
      auto y = b64url(jwk.value("y", json()));
      if (!x || !y) return invalid(fmt::format("JWKS key '{}': x and y must be base64url", kid.substr(0, 100)));
      key.alg = "ES256";
      pkey = ec_p256_key(*x, *y);
    } else {
      continue;  // oct (HMAC) keys and others are never used
    }
    if (!pkey) return invalid(fmt::format("JWKS key '{}' is not a valid {} public key", kid.substr(0, 100), key.alg));
    auto pem = to_pem(pkey.get());
    if (!pem) return invalid(fmt::format("JWKS key '{}' could not be encoded", kid.substr(0, 100)));
    key.pem = std::move(*pem);
    key.key = std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
    out.push_back(std::move(key));
  }
  return out;
}

CiKeyCache::CiKeyCache(CiFetcher fetcher, const Clock& clock, int refetch_seconds)
    : fetcher_(std::move(fetcher)), clock_(clock), refetch_seconds_(refetch_seconds) {}

Status CiKeyCache::refetch(const std::string& issuer, IssuerKeys& keys) {
  keys.last_fetch = clock_.now();
  const std::string discovery_url = issuer + "/.well-known/openid-configuration";
  auto discovery = fetcher_(discovery_url);
  if (!discovery) return refused(fmt::format("{}: {}", discovery_url, discovery.error().message));
  json doc = json::parse(*discovery, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("jwks_uri") || !doc["jwks_uri"].is_string())
    return refused(discovery_url + " is not an OpenID configuration with a jwks_uri");
  const std::string jwks_uri = doc["jwks_uri"].get<std::string>();
  if (auto st = fetch::check_fetchable_url(jwks_uri, "jwks_uri"); !st) return refused(discovery_url + ": " + st.error().message);
  auto jwks = fetcher_(jwks_uri);
  if (!jwks) return refused(fmt::format("{}: {}", jwks_uri, jwks.error().message));
  auto parsed = parse_jwks(*jwks);
  if (!parsed) return refused(fmt::format("{}: {}", jwks_uri, parsed.error().message));
  keys.keys.clear();
  for (CiPublicKey& k : *parsed) keys.keys[k.kid] = std::move(k);
  return ok_status();
}

Result<CiPublicKey> CiKeyCache::key(const std::string& issuer, const std::string& kid) {
  IssuerKeys* entry = nullptr;
  {
    std::lock_guard lock(mu_);
    auto& slot = issuers_[issuer];
    if (!slot) slot = std::make_unique<IssuerKeys>();
    entry = slot.get();
  }
  std::lock_guard lock(entry->mu);
  if (auto it = entry->keys.find(kid); it != entry->keys.end()) return it->second;
  const UnixTime now = clock_.now();
  if (!entry->last_fetch || now - *entry->last_fetch >= refetch_seconds_) {
    Status st = refetch(issuer, *entry);
    entry->last_error = st ? std::string() : st.error().message;
    metrics::add("repotokens_ci_jwks_fetches_total",
                 fmt::format("issuer=\"{}\",result=\"{}\"", issuer, st ? "ok" : "failed"));
    if (auto it = entry->keys.find(kid); it != entry->keys.end()) return it->second;
  }
  std::string why = entry->last_error.empty() ? "" : " (the issuer's keys could not be fetched: " + entry->last_error + ")";
  return refused(fmt::format("signature: the issuer has no key with kid '{}'{}", kid.substr(0, 100), why));
}

Result<CiJwtParts> split_jwt(std::string_view jwt) {
  size_t first = jwt.find('.');
  size_t second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
  if (second == std::string_view::npos || jwt.find('.', second + 1) != std::string_view::npos)
    return refused("malformed: the JWT must be three base64url parts joined by '.'");
  auto header_text = base64url_decode(jwt.substr(0, first));
  auto payload_text = base64url_decode(jwt.substr(first + 1, second - first - 1));
  if (!header_text || !payload_text) return refused("malformed: a part of the JWT is not base64url");
  json header = json::parse(*header_text, nullptr, false);
  json payload = json::parse(*payload_text, nullptr, false);
  if (header.is_discarded() || !header.is_object() || payload.is_discarded() || !payload.is_object())
    return refused("malformed: the JWT's header and payload must be JSON objects");
  CiJwtParts parts;
  if (header.contains("alg") && header["alg"].is_string()) parts.alg = header["alg"].get<std::string>();
  if (header.contains("kid") && header["kid"].is_string()) parts.kid = header["kid"].get<std::string>();
  parts.payload_json = std::move(*payload_text);
  return parts;
}

namespace {

// The key of a CiPublicKey made from its PEM alone (tests build them so); null when it is not a public key.
std::shared_ptr<EVP_PKEY> key_from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

// JWS's ES256 signature is r||s, 32 bytes each; OpenSSL verifies the DER ECDSA-Sig-Value.
std::optional<std::string> es256_der(const std::string& raw) {
  if (raw.size() != 64) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  std::optional<std::string> der;
  if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    unsigned char* out = nullptr;
    if (int len = i2d_ECDSA_SIG(sig, &out); len > 0) der.emplace(reinterpret_cast<char*>(out), len);
    OPENSSL_free(out);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return der;
}

}  // namespace

bool verify_jwt_signature(std::string_view jwt, const CiPublicKey& key) {
  const bool rsa = key.alg == "RS256";
  if (!rsa && key.alg != "ES256") return false;
  auto parts = split_jwt(jwt);
  if (!parts || parts->alg != key.alg) return false;
  const size_t signed_end = jwt.rfind('.');
  auto signature = base64url_decode(jwt.substr(signed_end + 1));
  if (!signature) return false;
  if (!rsa) {
    signature = es256_der(*signature);
    if (!signature) return false;
  }
  std::shared_ptr<EVP_PKEY> pkey = key.key ? key.key : key_from_pem(key.pem);
  if (!pkey || !EVP_PKEY_is_a(pkey.get(), rsa ? "RSA" : "EC")) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey.get()) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                                   reinterpret_cast<const unsigned char*>(jwt.data()), signed_end) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::map<std::string, std::string> ci_claims_as_text(const std::string& payload_json) {
  std::map<std::string, std::string> out;
  json doc = json::parse(payload_json, nullptr, false);
  if (!doc.is_object()) return out;
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (auto text = claim_text(it.value())) out[it.key()] = std::move(*text);
  return out;
}

}  // namespace rt
