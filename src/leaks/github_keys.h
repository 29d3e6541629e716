// GitHub secret scanning's public keys and the check of a request's signature with them. GitHub signs the
// raw body of each alert with ECDSA P-256 SHA-256, sends the base64 DER signature in
// Github-Public-Key-Signature and names the key in Github-Public-Key-Identifier; its keys are published as
// {"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}. OpenSSL 3 (EVP) does the cryptography;
// its headers stay in github_keys.cc.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.h"

namespace rt {

// One parsed key set: immutable, safe to share between threads.
class GitHubKeySet {
 public:
  // Parses GitHub's format. `invalid` saying what is wrong (not JSON, no "public_keys" array, an entry
  // without a string key_identifier or key, a key that is not PEM, not an EC key or not on P-256, a
  // repeated identifier, no keys at all).
  static Result<std::shared_ptr<const GitHubKeySet>> parse(std::string_view json_text);
  ~GitHubKeySet();

  enum class Check { valid, unknown_key, bad_signature };
  // Whether `signature_base64` (standard base64 of a DER ECDSA signature) is the signature of `body` by the
  // key named `key_identifier`. Malformed base64 or DER is bad_signature.
  Check verify(std::string_view key_identifier, std::string_view signature_base64, std::string_view body) const;
  size_t size() const;

 private:
  GitHubKeySet();
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

// The key set in use and where it comes from. When a request names a key the set does not hold (GitHub
// rotated its keys), the source is read again, at most once per `refresh_cooldown_seconds`; a failed or
// invalid re-read keeps the set in use. Thread-safe.
class GitHubKeys {
 public:
  using Loader = std::function<Result<std::string>()>;  // the key set's text (a file's bytes)

  // Reads and parses the source once; its error (the loader's, or parse's) when that fails.
  static Result<std::shared_ptr<GitHubKeys>> open(std::string source_name, Loader loader,
                                                  double refresh_cooldown_seconds = 10);
  GitHubKeySet::Check verify(std::string_view key_identifier, std::string_view signature_base64,
                             std::string_view body);
  const std::string& source_name() const { return source_name_; }

 private:
  GitHubKeys(std::string source_name, Loader loader, double cooldown, std::shared_ptr<const GitHubKeySet> set);
  std::shared_ptr<const GitHubKeySet> current();
  std::string source_name_;
  Loader loader_;
  double cooldown_;
  std::mutex mu_;
  std::shared_ptr<const GitHubKeySet> set_;
  double last_refresh_ = -1e18;  // steady seconds of the last re-read after a miss
};

}  // namespace rt
