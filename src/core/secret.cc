// Token generation and checking, keyed hashing (libsodium BLAKE2b), and the small encodings they use:
// CRC32 from zlib, base64url and hex from libsodium; only base62 (no library offers it) is written here.
#include "core/secret.h"

#include <sodium.h>
#include <zlib.h>

#include <stdexcept>

namespace rt {
namespace {

constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int base62_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  if (c >= 'a' && c <= 'z') return c - 'a' + 36;
  return -1;
}

std::string checksum_text(std::string_view prefix_and_body) {
  std::uint32_t c = crc32(prefix_and_body);
  std::string out(kTokenChecksumLength, '0');
  for (size_t i = kTokenChecksumLength; i-- > 0;) {
    out[i] = kBase62[c % 62];
    c /= 62;
  }
  return out;
}

struct SodiumInit {
  SodiumInit() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  }
};
void ensure_sodium() { static SodiumInit init; }

}  // namespace

void SystemRandom::fill(std::span<std::uint8_t> out) {
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

std::string generate_token(TokenKind kind, RandomSource& random) {
  std::string token(kind == TokenKind::account ? kAccountTokenPrefix : kRepositoryTokenPrefix);
  // Rejection sampling keeps every base62 digit uniform: bytes >= 248 (= 4 * 62) are discarded.
  std::uint8_t buf[64];
  while (token.size() < kAccountTokenPrefix.size() + kTokenBodyLength) {
    random.fill(buf);
    for (std::uint8_t b : buf) {
      if (b >= 248) continue;
      token.push_back(kBase62[b % 62]);
      if (token.size() == kAccountTokenPrefix.size() + kTokenBodyLength) break;
    }
  }
  sodium_memzero(buf, sizeof buf);
  token += checksum_text(token);
  return token;
}

bool has_repotokens_prefix(std::string_view token) {
  return token.starts_with(kAccountTokenPrefix) || token.starts_with(kRepositoryTokenPrefix);
}

namespace {

// Length of the run of base62 characters at the start of `text`.
size_t base62_run(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && base62_value(text[n]) >= 0) ++n;
  return n;
}

// Where the next token-shaped run starts at or after `from` (npos when none), and its body length.
size_t find_token_shape(std::string_view text, size_t from, size_t& body) {
  for (size_t at = text.find("rtk", from); at != std::string_view::npos; at = text.find("rtk", at + 1)) {
    std::string_view rest = text.substr(at);
    if (!rest.starts_with(kAccountTokenPrefix) && !rest.starts_with(kRepositoryTokenPrefix)) continue;
    body = base62_run(rest.substr(kAccountTokenPrefix.size()));
    if (body >= kRedactedBodyLength) return at;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::string> redact_tokens(std::string_view text) {
  size_t body = 0;
  size_t at = find_token_shape(text, 0, body);
  if (at == std::string_view::npos) return std::nullopt;
  std::string out;
  size_t done = 0;
  while (at != std::string_view::npos) {
    out.append(text.substr(done, at + kAccountTokenPrefix.size() - done));
    out.append("[redacted]");
    done = at + kAccountTokenPrefix.size() + body;
    at = find_token_shape(text, done, body);
  }
  out.append(text.substr(done));
  return out;
}

Result<TokenKind> check_token_format(std::string_view token) {
  TokenKind kind;
  if (token.starts_with(kAccountTokenPrefix)) {
    kind = TokenKind::account;
  } else if (token.starts_with(kRepositoryTokenPrefix)) {
    kind = TokenKind::repository;
  } else {
    return make_error(ErrorKind::unauthorized, "malformed token: it does not start with rtka_ or rtkr_");
  }
  if (token.size() != kTokenLength)
    return make_error(ErrorKind::unauthorized,
                      "malformed token: expected " + std::to_string(kTokenLength) + " characters");
  for (char c : token.substr(kAccountTokenPrefix.size()))
    if (base62_value(c) < 0)
      return make_error(ErrorKind::unauthorized, "malformed token: only letters and digits may follow the prefix");
  std::string_view payload = token.substr(0, kTokenLength - kTokenChecksumLength);
  if (checksum_text(payload) != token.substr(kTokenLength - kTokenChecksumLength))
    return make_error(ErrorKind::unauthorized, "malformed token: checksum mismatch (mistyped or truncated?)");
  return kind;
}

SecretHasher::SecretHasher(const SecretKey& key) : token_key_(key) {
  ensure_sodium();
  static constexpr std::string_view kContext = "repotokens cursor mac key v1";
  crypto_generichash(mac_key_.data(), mac_key_.size(), reinterpret_cast<const unsigned char*>(kContext.data()),
                     kContext.size(), token_key_.data(), token_key_.size());
  static constexpr std::string_view kSealContext = "repotokens sealed secret key v1";
  crypto_generichash(seal_key_.data(), seal_key_.size(), reinterpret_cast<const unsigned char*>(kSealContext.data()),
                     kSealContext.size(), token_key_.data(), token_key_.size());
}

std::string SecretHasher::seal(std::string_view plaintext) const {
  static_assert(crypto_secretbox_KEYBYTES == sizeof(SecretKey));
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(bytes, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(bytes + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        plaintext.size(), bytes, seal_key_.data());
  return base64url_encode(out);
}

std::optional<std::string> SecretHasher::unseal(std::string_view sealed) const {
  auto raw = base64url_decode(sealed);
  if (!raw || raw->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw->data());
  std::string out(raw->size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()), bytes + crypto_secretbox_NONCEBYTES,
                                 raw->size() - crypto_secretbox_NONCEBYTES, bytes, seal_key_.data()) != 0)
    return std::nullopt;
  return out;
}

SecretHash SecretHasher::hash_token(std::string_view token) const {
  SecretHash out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                     token_key_.data(), token_key_.size());
  return out;
}

std::array<std::uint8_t, 16> SecretHasher::mac(std::string_view data) const {
  std::array<std::uint8_t, 16> out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                     mac_key_.data(), mac_key_.size());
  return out;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  ensure_sodium();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<SecretKey> parse_secret_key(std::string_view hex) {
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) hex.remove_suffix(1);
  if (hex.size() != 64) return std::nullopt;
  SecretKey key;
  size_t length = 0;
  // No hex_end: anything but 64 hex digits is refused.
  if (sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &length, nullptr) != 0 ||
      length != key.size())
    return std::nullopt;
  return key;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();  // the terminating NUL
  return out;
}

std::string format_secret_key(const SecretKey& key) { return to_hex(key); }

SecretKey generate_secret_key(RandomSource& random) {
  SecretKey key;
  random.fill(key);
  return key;
}

std::uint32_t crc32(std::string_view data) {
  return static_cast<std::uint32_t>(
      ::crc32_z(::crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

namespace {
constexpr int kBase64Url = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kBase64Url), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    kBase64Url);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  // No b64_end: the whole text must decode. libsodium also refuses leftover bits that are not zero, so every
  // byte string has exactly one encoding (a cursor cannot be varied without breaking its MAC check first).
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, nullptr, kBase64Url) != 0)
    return std::nullopt;
  out.resize(length);
  return out;
}

}  // namespace rt
