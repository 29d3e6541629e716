// GitHub secret scanning's public keys and the check of a request's signature with them. GitHub signs the
// raw body of each alert with ECDSA P-256 SHA-256, sends the base64 DER signature in
// Github-Public-Key-Signature and names the key in Github-Public-Key-Identifier; its keys are published as
// {"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}, which the server reads from a file or
// fetches from a URL (fetch/). OpenSSL 3 (EVP) does the cryptography; its headers stay in github_keys.cc.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.h"
#include "fetch/https_get.h"

namespace rt {

// One parsed key set: immutable, safe to share between threads.
class GitHubKeySet {
 public:
  // Parses GitHub's format. `invalid` saying what is wrong (not JSON, no "public_keys" array, an entry
  // without a string key_identifier or key, a key that is not PEM, not an EC key or not on P-256, a
  // repeated identifier, no keys at all).
  static Result<std::shared_ptr<const GitHubKeySet>> parse(std::string_view json_text);
  ~GitHubKeySet();

  // no_key_set comes only from GitHubKeys::verify: no key set could be read yet (GitHubKeysOptions).
  enum class Check { valid, unknown_key, bad_signature, no_key_set };
  // Whether `signature_base64` (standard base64 of a DER ECDSA signature) is the signature of `body` by the
  // key named `key_identifier`. Malformed base64 or DER is bad_signature.
  Check verify(std::string_view key_identifier, std::string_view signature_base64, std::string_view body) const;
  size_t size() const;

 private:
  GitHubKeySet();
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

struct GitHubKeysOptions {
  // A request naming an unknown key reads the source again at most this often.
  double refresh_cooldown_seconds = 10;
  // When the first read fails (or what it read is not a key set): false, open() fails with that error;
  // true (a URL: GitHub being down must not stop the server), open() succeeds without a key set, warns,
  // verify() answers no_key_set, and a request tries the read again at most once per cooldown.
  bool start_without_keys = false;
  // Told of each failed or invalid read after the first and of each key set read (what and from where;
  // never a secret). Either may be empty.
  std::function<void(std::string_view)> warn;
  std::function<void(std::string_view)> info;
};

// The key set in use and where it comes from. When a request names a key the set does not hold (GitHub
// rotated its keys), the source is read again, at most once per cooldown; a failed or invalid re-read
// keeps the set in use. One read at a time; requests naming known keys are not held up by a read.
// Thread-safe.
class GitHubKeys {
 public:
  using Loader = std::function<Result<std::string>()>;  // the key set's text (a file's bytes, a URL's body)

  // Reads and parses the source once; its error (the loader's, or parse's) when that fails, unless
  // options.start_without_keys.
  static Result<std::shared_ptr<GitHubKeys>> open(std::string source_name, Loader loader,
                                                  GitHubKeysOptions options = {});
  GitHubKeySet::Check verify(std::string_view key_identifier, std::string_view signature_base64,
                             std::string_view body);
  const std::string& source_name() const { return source_name_; }
  bool has_key_set();
  double refresh_cooldown_seconds() const { return options_.refresh_cooldown_seconds; }

 private:
  GitHubKeys(std::string source_name, Loader loader, GitHubKeysOptions options,
             std::shared_ptr<const GitHubKeySet> set, double last_read);
  std::shared_ptr<const GitHubKeySet> current();
  std::shared_ptr<const GitHubKeySet> refresh(const std::shared_ptr<const GitHubKeySet>& seen);
  std::string source_name_;
  Loader loader_;
  GitHubKeysOptions options_;
  std::mutex read_mu_;  // held during a read of the source
  std::mutex mu_;       // guards set_ and last_read_
  std::shared_ptr<const GitHubKeySet> set_;  // null until a read succeeds
  double last_read_;                         // steady seconds of the last read attempted after open()
};

// What --github-secret-scanning-keys names: a file, or an https:// URL (http:// only on a loopback address,
// fetch/fetchable_url.h) fetched with fetch::https_get under `limits`. `invalid` saying what is accepted for
// any other URL-looking value (another scheme, http:// elsewhere, a query). The loader's errors name the
// file or the URL.
struct GitHubKeySource {
  std::string name;  // "--github-secret-scanning-keys VALUE", for messages
  bool remote = false;
  GitHubKeys::Loader loader;
};
Result<GitHubKeySource> github_key_source(std::string_view value, const fetch::FetchLimits& limits);

}  // namespace rt
