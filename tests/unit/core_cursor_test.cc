// Cursors: positions survive a round trip; a modified cursor or one from another listing is refused.
#include <gtest/gtest.h>

#include <vector>

#include "core/cursor.h"

namespace rt {
namespace {

SecretHasher make_hasher(std::uint8_t seed) {
  SecretKey key{};
  key[0] = seed;
  return SecretHasher(key);
}

TEST(Cursor, RoundTripsArbitraryPositions) {
  auto hasher = make_hasher(1);
  CursorCodec codec(hasher);
  for (std::string pos : std::vector<std::string>{"", "api", "x'; DROP TABLE users;--", "ünïcødé", std::string("a\0b", 3)}) {
    auto c = codec.encode("repos:1", pos);
    auto back = codec.decode("repos:1", c);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, pos);
  }
}

TEST(Cursor, TamperingIsInvalid) {
  auto hasher = make_hasher(1);
  CursorCodec codec(hasher);
  const std::string c = codec.encode("repos:1", "api");
  for (size_t i = 0; i < c.size(); ++i) {
    std::string bad = c;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto r = codec.decode("repos:1", bad);
    EXPECT_FALSE(r.ok()) << "position " << i;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind, ErrorKind::invalid);
    }
  }
  for (std::string junk : std::vector<std::string>{"", ".", "abc", "abc.def", std::string(5000, 'a'), "%%%.%%%"})
    EXPECT_EQ(codec.decode("repos:1", junk).error().kind, ErrorKind::invalid) << junk;
}

TEST(Cursor, ForeignScopeOrKeyIsInvalid) {
  auto hasher = make_hasher(1), other = make_hasher(2);
  CursorCodec codec(hasher), other_codec(other);
  const std::string c = codec.encode("repos:1", "api");
  EXPECT_FALSE(codec.decode("repos:2", c).ok());
  EXPECT_FALSE(codec.decode("tokens:1", c).ok());
  EXPECT_FALSE(other_codec.decode("repos:1", c).ok());
  EXPECT_NE(codec.decode("repos:2", c).error().message.find("another listing"), std::string::npos);
}

}  // namespace
}  // namespace rt
