// Test harness: an ECDSA P-256 key pair made at test time (OpenSSL 3 EVP), to play GitHub secret scanning:
// its public key in PEM for a key-set file, and base64 DER signatures of request bodies.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace rt::test {

class EcTestKey {
 public:
  EcTestKey();  // a fresh P-256 key; throws std::runtime_error when OpenSSL cannot make one
  ~EcTestKey();
  EcTestKey(const EcTestKey&) = delete;
  EcTestKey& operator=(const EcTestKey&) = delete;

  std::string public_pem() const;                       // -----BEGIN PUBLIC KEY----- ...
  std::string sign_base64(std::string_view body) const;  // ECDSA SHA-256, DER, standard base64

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GitHub's key-set document: {"public_keys": [{"key_identifier": id, "key": pem, "is_current": true}]}.
std::string github_key_set(const std::string& id, const std::string& pem);

}  // namespace rt::test
