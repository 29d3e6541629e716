// EcTestKey with OpenSSL 3's EVP interface (key generation, PEM output, DigestSign) and its base64 encoder.
#include "support/ec_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace rt::test {

struct EcTestKey::Impl {
  EVP_PKEY* key = nullptr;
};

EcTestKey::EcTestKey() : impl_(std::make_unique<Impl>()) {
  impl_->key = EVP_EC_gen("P-256");
  if (!impl_->key) throw std::runtime_error("OpenSSL could not generate a P-256 key");
}

EcTestKey::~EcTestKey() { EVP_PKEY_free(impl_->key); }

std::string EcTestKey::public_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), impl_->key) != 1) throw std::runtime_error("PEM_write_bio_PUBKEY failed");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string EcTestKey::sign_base64(std::string_view body) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(body.data()), body.size()) != 1)
    throw std::runtime_error("EVP_DigestSign failed");
  std::string der(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &length,
                     reinterpret_cast<const unsigned char*>(body.data()), body.size()) != 1)
    throw std::runtime_error("EVP_DigestSign failed");
  der.resize(length);
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(der.data()),
                          static_cast<int>(der.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string github_key_set(const std::string& id, const std::string& pem) {
  nlohmann::json doc = {{"public_keys", {{{"key_identifier", id}, {"key", pem}, {"is_current", true}}}}};
  return doc.dump();
}

}  // namespace rt::test
