// Token format (prefixes, alphabet, checksum), keyed hashing and the encodings they rely on.
#include <gtest/gtest.h>

#include <vector>

#include <set>

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

TEST(Crc32, KnownVector) { EXPECT_EQ(crc32("123456789"), 0xCBF43926u); }

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

}  // namespace
}  // namespace rt
