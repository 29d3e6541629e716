// Token generation and checking, keyed hashing (libsodium BLAKE2b), and the small encodings they use.
#include "core/secret.h"

#include <sodium.h>

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
  for (size_t i = 0; i < 32; ++i) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return key;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string format_secret_key(const SecretKey& key) { return to_hex(key); }

SecretKey generate_secret_key(RandomSource& random) {
  SecretKey key;
  random.fill(key);
  return key;
}

std::uint32_t crc32(std::string_view data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : data) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8) | std::uint8_t(bytes[i + 2]);
    out += {kAlpha[v >> 18], kAlpha[(v >> 12) & 63], kAlpha[(v >> 6) & 63], kAlpha[v & 63]};
  }
  if (bytes.size() - i == 1) {
    std::uint32_t v = std::uint8_t(bytes[i]) << 16;
    out += {kAlpha[v >> 18], kAlpha[(v >> 12) & 63]};
  } else if (bytes.size() - i == 2) {
    std::uint32_t v = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8);
    out += {kAlpha[v >> 18], kAlpha[(v >> 12) & 63], kAlpha[(v >> 6) & 63]};
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace rt
