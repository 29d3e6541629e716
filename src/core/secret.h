// Token secrets: their text format (kind prefix, 43 random base62 characters, CRC32 checksum suffix),
// the random source they come from, the keyed hash that is all the database ever stores, and their
// redaction from text bound for logs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace rt {

enum class TokenKind { account, repository };

// Recognisable prefixes, so secret scanners can find leaked tokens.
inline constexpr std::string_view kAccountTokenPrefix = "rtka_";
inline constexpr std::string_view kRepositoryTokenPrefix = "rtkr_";
inline constexpr size_t kTokenBodyLength = 43;     // base62; 43 * log2(62) > 256 bits
inline constexpr size_t kTokenChecksumLength = 6;  // CRC32 in base62, zero-padded
inline constexpr size_t kTokenLength = 5 + kTokenBodyLength + kTokenChecksumLength;

// Where randomness comes from; tests may substitute a deterministic one.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// libsodium's CSPRNG (getrandom(2)). Thread-safe.
class SystemRandom final : public RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// Makes a new token of the given kind. The result is the only copy of the secret.
std::string generate_token(TokenKind kind, RandomSource& random);

// Checks prefix, length, alphabet and checksum without any lookup. Returns the kind, or an
// `unauthorized` error whose message says what is wrong ("malformed", "checksum mismatch") and never
// repeats the token.
Result<TokenKind> check_token_format(std::string_view token);

// True when the text starts with one of our prefixes (a Codacy token does not).
bool has_repotokens_prefix(std::string_view token);

// For logs: `text` with each run shaped like a token replaced by its prefix and "[redacted]"
// ("rtka_[redacted]"), or nullopt when there is none (the common case: one scan, no allocation). A run is a
// prefix followed by at least kRedactedBodyLength letters and digits: every valid token, and also one
// mistyped or cut short, whose checksum fails but which is still nearly all of a secret.
inline constexpr size_t kRedactedBodyLength = 32;
std::optional<std::string> redact_tokens(std::string_view text);

using SecretHash = std::array<std::uint8_t, 32>;
using SecretKey = std::array<std::uint8_t, 32>;

// Keyed BLAKE2b-256 of secrets and cursor payloads. The key lives outside the database.
class SecretHasher {
 public:
  explicit SecretHasher(const SecretKey& key);
  SecretHash hash_token(std::string_view token) const;
  // A MAC for cursor payloads, under a key derived from (not equal to) the token key.
  std::array<std::uint8_t, 16> mac(std::string_view data) const;
  // Secrets the server must read back (a webhook's signing secret), encrypted at rest with XSalsa20-Poly1305
  // (libsodium's secretbox) under another key derived from the server key: base64url(nonce || box).
  // unseal: nullopt when the text was not sealed under this key or was altered.
  std::string seal(std::string_view plaintext) const;
  std::optional<std::string> unseal(std::string_view sealed) const;

 private:
  SecretKey token_key_;
  SecretKey mac_key_;
  SecretKey seal_key_;
};

// Constant-time equality for secrets and MACs.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// Key text: 64 lower-case hex characters. nullopt when malformed.
std::optional<SecretKey> parse_secret_key(std::string_view hex);
std::string format_secret_key(const SecretKey& key);
SecretKey generate_secret_key(RandomSource& random);

// Hex of a hash, for logs of ids only (never of secrets) and for tests.
std::string to_hex(std::span<const std::uint8_t> bytes);

// CRC-32 (IEEE 802.3), as used by the checksum suffix.
std::uint32_t crc32(std::string_view data);

// base64url without padding, used by cursors.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace rt
