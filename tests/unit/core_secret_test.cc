// Token format (prefixes, alphabet, checksum), keyed hashing and the encodings they rely on.
#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

#include "core/cursor.h"
#include "core/secret.h"

namespace rt {
namespace {

// A deterministic source, to show the format does not depend on luck.
class CountingRandom final : public RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = static_cast<std::uint8_t>(next_++);
  }

 private:
  unsigned next_ = 0;
};

TEST(TokenFormat, GeneratedTokensHaveKindPrefixLengthAndValidChecksum) {
  SystemRandom random;
  for (auto kind : {TokenKind::account, TokenKind::repository}) {
    std::string t = generate_token(kind, random);
    EXPECT_EQ(t.size(), kTokenLength);
    EXPECT_TRUE(t.starts_with(kind == TokenKind::account ? "rtka_" : "rtkr_"));
    auto checked = check_token_format(t);
    ASSERT_TRUE(checked.ok()) << checked.error().message;
    EXPECT_EQ(*checked, kind);
  }
}

TEST(TokenFormat, TokensAreUniqueAndUseOnlyBase62) {
  SystemRandom random;
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string t = generate_token(TokenKind::repository, random);
    for (char c : t.substr(5)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << t;
    EXPECT_TRUE(seen.insert(t).second);
  }
}

TEST(TokenFormat, RejectionSamplingSkipsBiasedBytes) {
  CountingRandom random;  // emits 0..255 in turn, including the bytes >= 248 that must be skipped
  std::string t = generate_token(TokenKind::account, random);
  EXPECT_TRUE(check_token_format(t).ok());
  EXPECT_EQ(t.substr(5, 10), "0123456789");
}

TEST(TokenFormat, EverySingleCharacterChangeIsCaught) {
  SystemRandom random;
  std::string t = generate_token(TokenKind::repository, random);
  for (size_t i = 5; i < t.size(); ++i) {
    std::string bad = t;
    bad[i] = bad[i] == 'a' ? 'b' : 'a';
    auto r = check_token_format(bad);
    ASSERT_FALSE(r.ok()) << "position " << i;
    EXPECT_EQ(r.error().kind, ErrorKind::unauthorized);
    EXPECT_EQ(r.error().message.find(bad), std::string::npos) << "the error must not echo the token";
  }
}

TEST(TokenFormat, MalformedInputsSayWhatIsWrong) {
  EXPECT_NE(check_token_format("").error().message.find("rtka_"), std::string::npos);
  EXPECT_NE(check_token_format("ghp_abcdef").error().message.find("does not start"), std::string::npos);
  EXPECT_NE(check_token_format("rtkr_short").error().message.find("characters"), std::string::npos);
  std::string odd = "rtkr_" + std::string(kTokenBodyLength + kTokenChecksumLength, '-');
  EXPECT_NE(check_token_format(odd).error().message.find("letters and digits"), std::string::npos);
  EXPECT_FALSE(has_repotokens_prefix("abc"));
  EXPECT_TRUE(has_repotokens_prefix("rtka_x"));
}

TEST(Crc32, KnownVector) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
}

TEST(Hex, RoundTripsThroughTheKeyFormat) {
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(to_hex(bytes), "000fa5ff");
  EXPECT_EQ(to_hex(std::span<const std::uint8_t>()), "");
  EXPECT_TRUE(parse_secret_key(std::string(64, 'A')));  // upper case is read too
  EXPECT_FALSE(parse_secret_key(std::string(62, 'a') + "a "));
  EXPECT_FALSE(parse_secret_key(std::string(63, 'a') + ":"));
}

TEST(Redaction, TokenShapedRunsAreCutToTheirPrefix) {
  SystemRandom random;
  std::string account = generate_token(TokenKind::account, random);
  std::string repository = generate_token(TokenKind::repository, random);
  EXPECT_EQ(redact_tokens("/api/v3/user/tokens/" + account), "/api/v3/user/tokens/rtka_[redacted]");
  EXPECT_EQ(redact_tokens("/a/" + repository + "/b?x=" + account + "&y"),
            "/a/rtkr_[redacted]/b?x=rtka_[redacted]&y");
  std::string mistyped = account;
  mistyped[9] = mistyped[9] == 'a' ? 'b' : 'a';
  EXPECT_EQ(redact_tokens("x" + mistyped), "xrtka_[redacted]");          // checksum fails: still a secret
  EXPECT_EQ(redact_tokens(account.substr(0, 40)), "rtka_[redacted]");   // cut short: still most of one
  EXPECT_EQ(redact_tokens("rtka_rtkr_" + repository.substr(5)), "rtka_rtkr_[redacted]");
  // Nothing token-shaped: no copy at all.
  for (const std::string& plain : std::vector<std::string>{"", "/api/v3/user/tokens/12", "/rtka_short", "/rtkx_" + account.substr(5), "rtk"})
    EXPECT_EQ(redact_tokens(plain), std::nullopt) << plain;
}

TEST(SecretHasher, KeyedDeterministicAndKeySensitive) {
  SecretKey k1{}, k2{};
  k2[0] = 1;
  SecretHasher h1(k1), h1b(k1), h2(k2);
  EXPECT_EQ(h1.hash_token("rtkr_x"), h1b.hash_token("rtkr_x"));
  EXPECT_NE(h1.hash_token("rtkr_x"), h1.hash_token("rtkr_y"));
  EXPECT_NE(h1.hash_token("rtkr_x"), h2.hash_token("rtkr_x"));
  // The cursor MAC key is derived, not the token key itself.
  auto mac = h1.mac("rtkr_x");
  auto hash = h1.hash_token("rtkr_x");
  EXPECT_FALSE(std::equal(mac.begin(), mac.end(), hash.begin()));
}

TEST(SecretKey, ParseAndFormatRoundTrip) {
  SystemRandom random;
  SecretKey k = generate_secret_key(random);
  std::string text = format_secret_key(k);
  EXPECT_EQ(text.size(), 64u);
  EXPECT_EQ(parse_secret_key(text + "\n"), k);
  EXPECT_FALSE(parse_secret_key(text.substr(1)));
  EXPECT_FALSE(parse_secret_key(std::string(64, 'g')));
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  std::uint8_t a[3] = {1, 2, 3}, b[3] = {1, 2, 3}, c[3] = {1, 2, 4};
  EXPECT_TRUE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal(a, c));
  EXPECT_FALSE(constant_time_equal(std::span(a, 2), b));
}

TEST(Base64Url, RoundTripsAndRejectsNonCanonical) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)}) {
    auto enc = base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(base64url_decode(enc), s);
  }
  EXPECT_FALSE(base64url_decode("Zh"));   // leftover bits set: not the canonical form of "f" ("Zg")
  EXPECT_FALSE(base64url_decode("Z"));    // impossible length
  EXPECT_FALSE(base64url_decode("a+b/"));  // standard, not URL-safe, alphabet
}

// Made by main at abed855 (hand-written CRC32 and base64url), before the move to zlib and libsodium:
// each must still verify, and each byte string must still encode to the same text, byte for byte.
constexpr const char* kTokensIssuedByMain[] = {
    "rtka_1bGSmgqKWOBUYVxcqWcHo9edwI5MuzFBhkJ1oidX95f36xZRr",
    "rtka_0d0NEagowSrCNmeKzMMmvbJqp2IATXunxJUqFmSciwu4ANqKa",
    "rtka_GfgRoobFtOidYZA5wezaS9cPKi9kXPnHfg5KOjdrbvo0SIQK2",
    "rtka_lYxBhBO4em6jKGU3vVzl11Sw1Smz1jEJghOFdnHjBHk3FZt2A",
    "rtkr_oLt0Er63WgyOYbnMgo9H2Svk6YJU5gifTjEvawZccyq2aDIup",
    "rtkr_xPjXkTBkEG79VtkNn0fUOIpAD8v3sZjmd7qbI46tN9s2NT05b",
    "rtkr_V3b1g5ZXkvCbOAq2rQCKsGTS515UvEWmIX4jbTgt4C93H3dkt",
    "rtkr_27dQWFRhn3GCuEBMwU2OScDIgoLRihAG7BKRjTEhb8O2cjWgm",
};
constexpr std::pair<const char*, const char*> kBase64UrlFromMain[] = {  // hex of the bytes, encoding
    {"", ""},
    {"dc", "3A"},
    {"6cc6", "bMY"},
    {"4bb395", "S7OV"},
    {"9e1ff3ad", "nh_zrQ"},
    {"cdf0ad4b46", "zfCtS0Y"},
    {"b7a36fd379f82f1905683781a13ff198bd74a25a11003f82a9e01d2bc29a08", "t6Nv03n4LxkFaDeBoT_xmL10oloRAD-CqeAdK8KaCA"},
    {"55b21bfa033ed2f1a9bbd62a45091da0d09aa19c770e57f4106fd13de1fb402d", "VbIb-gM-0vGpu9YqRQkdoNCaoZx3Dlf0EG_RPeH7QC0"},
    {"5b283a3fb574d6224d465ce059a4aff87d43414c5b2c93a733dd07bb74df784c2a", "Wyg6P7V01iJNRlzgWaSv-H1DQUxbLJOnM90Hu3TfeEwq"},
    {"59546e468000a0c3e1bd77fbba3832490a17e4754270ade4381c0fc3ef375eab819f744bc5fe96d1", "WVRuRoAAoMPhvXf7ujgySQoX5HVCcK3kOBwPw-83XquBn3RLxf6W0Q"},
};

std::string bytes_of_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

TEST(TokenFormat, TokensIssuedByEarlierBuildsStillVerify) {
  for (const char* token : kTokensIssuedByMain) {
    auto checked = check_token_format(token);
    ASSERT_TRUE(checked.ok()) << token << ": " << checked.error().message;
    EXPECT_EQ(*checked, std::string_view(token).starts_with("rtka_") ? TokenKind::account : TokenKind::repository);
  }
}

TEST(Base64Url, EncodesExactlyAsEarlierBuildsDid) {
  for (auto [hex, text] : kBase64UrlFromMain) {
    std::string bytes = bytes_of_hex(hex);
    EXPECT_EQ(base64url_encode(bytes), text) << hex;
    EXPECT_EQ(base64url_decode(text), bytes) << text;
  }
}

TEST(Cursor, CursorsIssuedByEarlierBuildsStillDecode) {
  // Key 030a11..dc and this cursor were made by main at abed855.
  auto key = parse_secret_key("030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc");
  ASSERT_TRUE(key);
  SecretHasher hasher(*key);
  CursorCodec codec(hasher);
  const std::string position("\x00\x01name-42\xff", 10);
  auto decoded = codec.decode("repositories:gh/acme", "AAFuYW1lLTQy_w.KzQYHBsSZe7ydvu3NQTmZQ");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, position);
  EXPECT_EQ(codec.encode("repositories:gh/acme", position), "AAFuYW1lLTQy_w.KzQYHBsSZe7ydvu3NQTmZQ");
  EXPECT_EQ(to_hex(*key), "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc");
}

}  // namespace
}  // namespace rt

namespace rt {
namespace {

TEST(SealedSecret, RoundTripsUnderItsKeyOnlyAndDetectsTampering) {
  SecretKey key{}, other{};
  key.fill(7);
  other.fill(8);
  SecretHasher hasher(key), stranger(other);
  const std::string secret = "a webhook secret of some length";
  std::string sealed = hasher.seal(secret);
  EXPECT_EQ(sealed.find(secret), std::string::npos);
  EXPECT_NE(hasher.seal(secret), sealed) << "a fresh nonce each time";
  EXPECT_EQ(hasher.unseal(sealed), secret);
  EXPECT_EQ(stranger.unseal(sealed), std::nullopt);
  std::string altered = sealed;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(hasher.unseal(altered), std::nullopt);
  EXPECT_EQ(hasher.unseal("short"), std::nullopt);
  EXPECT_EQ(hasher.unseal(hasher.seal("")), "");
}

}  // namespace
}  // namespace rt
