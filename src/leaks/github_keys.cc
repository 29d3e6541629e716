// GitHub's secret-scanning key set: parsing (nlohmann), PEM keys and ECDSA P-256 SHA-256 verification
// (OpenSSL 3 EVP), standard base64 (libsodium), the re-read of the source when an unknown key is named,
// and the two sources (a file, a URL fetched by fetch/).
#include "leaks/github_keys.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/metrics.h"
#include "fetch/fetchable_url.h"

namespace rt {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Result<Pkey> parse_p256_pem(std::string_view pem, const std::string& id) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return make_error(ErrorKind::internal, "out of memory reading a GitHub key");
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return make_error(ErrorKind::invalid,
                      fmt::format("key '{:.80}' is not a PEM public key (-----BEGIN PUBLIC KEY-----)", id));
  char group[64] = {};
  size_t length = 0;
  if (!EVP_PKEY_is_a(key.get(), "EC") ||
      EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1 ||
      std::string_view(group, length) != "prime256v1")
    return make_error(ErrorKind::invalid,
                      fmt::format("key '{:.80}' is not an ECDSA P-256 key, which GitHub's secret scanning uses", id));
  return key;
}

// Standard base64 with padding (RFC 4648 section 4), as GitHub sends signatures; the whole text must decode.
std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  out.resize(length);
  return out;
}

// /metrics: each read of the key set's source, by outcome ("ok", "failed": not read, "invalid": not a key set).
void count_read(std::string_view result) {
  metrics::add("repotokens_github_key_set_reads_total", fmt::format("result=\"{}\"", result));
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

struct GitHubKeySet::Keys {
  std::map<std::string, Pkey, std::less<>> by_id;
};

GitHubKeySet::GitHubKeySet() : keys_(std::make_unique<Keys>()) {}
GitHubKeySet::~GitHubKeySet() = default;
size_t GitHubKeySet::size() const { return keys_->by_id.size(); }

Result<std::shared_ptr<const GitHubKeySet>> GitHubKeySet::parse(std::string_view json_text) {
  using nlohmann::json;
  json doc = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded()) return make_error(ErrorKind::invalid, "the GitHub key set is not JSON");
  if (!doc.is_object() || !doc.contains("public_keys") || !doc["public_keys"].is_array())
    return make_error(ErrorKind::invalid,
                      "the GitHub key set must be an object with a \"public_keys\" array, as "
                      "https://api.github.com/meta/public_keys/secret_scanning answers");
  std::shared_ptr<GitHubKeySet> set(new GitHubKeySet());
  size_t index = 0;
  for (const json& entry : doc["public_keys"]) {
    if (!entry.is_object() || !entry.contains("key_identifier") || !entry["key_identifier"].is_string() ||
        !entry.contains("key") || !entry["key"].is_string())
      return make_error(ErrorKind::invalid,
                        fmt::format("public_keys[{}] must be an object with string \"key_identifier\" and \"key\"", index));
    std::string id = entry["key_identifier"];
    if (id.empty()) return make_error(ErrorKind::invalid, fmt::format("public_keys[{}] has an empty key_identifier", index));
    RT_TRY(Pkey key, parse_p256_pem(entry["key"].get<std::string>(), id));
    if (!set->keys_->by_id.emplace(id, std::move(key)).second)
      return make_error(ErrorKind::invalid, fmt::format("key_identifier '{:.80}' appears twice in the GitHub key set", id));
    ++index;
  }
  if (set->keys_->by_id.empty()) return make_error(ErrorKind::invalid, "the GitHub key set holds no keys");
  return std::shared_ptr<const GitHubKeySet>(std::move(set));
}

GitHubKeySet::Check GitHubKeySet::verify(std::string_view key_identifier, std::string_view signature_base64,
                                         std::string_view body) const {
  auto it = keys_->by_id.find(key_identifier);
  if (it == keys_->by_id.end()) return Check::unknown_key;
  auto der = base64_decode(signature_base64);
  if (!der || der->empty()) return Check::bad_signature;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, it->second.get()) != 1)
    return Check::bad_signature;
  // 1 is a valid signature; 0 a wrong one; a negative value a malformed DER. Only 1 admits.
  int verified = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der->data()), der->size(),
                                  reinterpret_cast<const unsigned char*>(body.data()), body.size());
  return verified == 1 ? Check::valid : Check::bad_signature;
}

GitHubKeys::GitHubKeys(std::string source_name, Loader loader, GitHubKeysOptions options,
                       std::shared_ptr<const GitHubKeySet> set, double last_read)
    : source_name_(std::move(source_name)),
      loader_(std::move(loader)),
      options_(std::move(options)),
      set_(std::move(set)),
      last_read_(last_read) {}

Result<std::shared_ptr<GitHubKeys>> GitHubKeys::open(std::string source_name, Loader loader,
                                                     GitHubKeysOptions options) {
  auto text = loader();
  Result<std::shared_ptr<const GitHubKeySet>> set = text ? GitHubKeySet::parse(*text) : text.error();
  if (text && !set) set = make_error(ErrorKind::invalid, fmt::format("{}: {}", source_name, set.error().message));
  count_read(set ? "ok" : text ? "invalid" : "failed");
  if (set) {
    // A miss right after start reads again at once: the set was good, so a new identifier may be a rotation.
    return std::shared_ptr<GitHubKeys>(
        new GitHubKeys(std::move(source_name), std::move(loader), std::move(options), std::move(set).value(), -1e18));
  }
  if (!options.start_without_keys) return set.error();
  if (options.warn)
    options.warn(fmt::format("{}; starting without GitHub's key set: secret-scanning alerts are answered 503 until "
                             "a read succeeds (tried when an alert arrives, at most every {} s)",
                             set.error().message, options.refresh_cooldown_seconds));
  // The read just failed: the next one waits for the cooldown like any other.
  return std::shared_ptr<GitHubKeys>(
      new GitHubKeys(std::move(source_name), std::move(loader), std::move(options), nullptr, steady_seconds()));
}

std::shared_ptr<const GitHubKeySet> GitHubKeys::current() {
  std::lock_guard lock(mu_);
  return set_;
}

bool GitHubKeys::has_key_set() { return current() != nullptr; }

// Reads the source again, unless another thread replaced `seen` meanwhile (then that set is the answer) or
// a read was tried less than the cooldown ago (anyone can name an unknown key; then nullptr). A failed or
// invalid read keeps the set in use and answers nullptr.
std::shared_ptr<const GitHubKeySet> GitHubKeys::refresh(const std::shared_ptr<const GitHubKeySet>& seen) {
  std::lock_guard reading(read_mu_);
  {
    std::lock_guard lock(mu_);
    if (set_ != seen) return set_;
    const double now = steady_seconds();
    if (now - last_read_ < options_.refresh_cooldown_seconds) return nullptr;
    last_read_ = now;
  }
  const char* keeping = seen ? "the key set read before stays in use" : "alerts are still answered 503";
  auto text = loader_();
  if (!text) {
    count_read("failed");
    if (options_.warn) options_.warn(fmt::format("{}; {}", text.error().message, keeping));
    return nullptr;
  }
  auto fresh = GitHubKeySet::parse(*text);
  if (!fresh) {
    count_read("invalid");
    if (options_.warn) options_.warn(fmt::format("{}: {}; {}", source_name_, fresh.error().message, keeping));
    return nullptr;
  }
  count_read("ok");
  if (options_.info) options_.info(fmt::format("{}: read {} GitHub keys", source_name_, (*fresh)->size()));
  std::lock_guard lock(mu_);
  set_ = std::move(fresh).value();
  return set_;
}

GitHubKeySet::Check GitHubKeys::verify(std::string_view key_identifier, std::string_view signature_base64,
                                       std::string_view body) {
  std::shared_ptr<const GitHubKeySet> seen = current();
  if (seen) {
    auto check = seen->verify(key_identifier, signature_base64, body);
    if (check != GitHubKeySet::Check::unknown_key) return check;
  }
  // An identifier we do not hold (GitHub may have rotated its keys), or no set yet: read the source again.
  auto fresh = refresh(seen);
  if (!fresh) return seen ? GitHubKeySet::Check::unknown_key : GitHubKeySet::Check::no_key_set;
  return fresh->verify(key_identifier, signature_base64, body);
}

Result<GitHubKeySource> github_key_source(std::string_view value, const fetch::FetchLimits& limits) {
  GitHubKeySource source;
  source.name = fmt::format("--github-secret-scanning-keys {:.200}", value);
  if (value.starts_with("https://") || value.starts_with("http://")) {
    RT_TRY_STATUS(fetch::check_fetchable_url(value, "--github-secret-scanning-keys"));
    source.remote = true;
    source.loader = [url = std::string(value), limits]() -> Result<std::string> {
      auto body = fetch::https_get(url, limits);
      if (!body) return make_error(body.error().kind, fmt::format("GitHub key set {}: {}", url, body.error().message));
      return body;
    };
    return source;
  }
  if (value.find("://") != std::string_view::npos)
    return make_error(ErrorKind::invalid,
                      fmt::format("--github-secret-scanning-keys '{:.200}' is neither a file nor an https:// URL "
                                  "(http:// only on loopback addresses), e.g. "
                                  "https://api.github.com/meta/public_keys/secret_scanning",
                                  value));
  source.loader = [path = std::string(value)]() -> Result<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorKind::invalid, "cannot read --github-secret-scanning-keys file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().size() > (1u << 20))
      return make_error(ErrorKind::invalid, "--github-secret-scanning-keys file " + path + " is over 1 MiB");
    return text.str();
  };
  return source;
}

}  // namespace rt
