// The shape check of an ID token before it is sent for exchange (client/ci_id_token.h); the request to
// GitHub's endpoint itself is covered end to end by tests/integration/cli_ci_test.cc.
#include <gtest/gtest.h>

#include "client/ci_id_token.h"

namespace rt::client {
namespace {

TEST(CiIdToken, AJwtIsThreeNonEmptyBase64urlPartsAndNothingElse) {
  EXPECT_TRUE(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLV8"));
  EXPECT_FALSE(looks_like_jwt(""));
  EXPECT_FALSE(looks_like_jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."));  // alg none: no signature part
  EXPECT_FALSE(looks_like_jwt(".eyJzdWIiOiJ4In0.c2ln"));
  EXPECT_FALSE(looks_like_jwt("a.b"));
  EXPECT_FALSE(looks_like_jwt("a.b.c.d"));
  EXPECT_FALSE(looks_like_jwt("a.b+/=.c"));  // base64, not base64url
  EXPECT_FALSE(looks_like_jwt("a.b.c\n"));
  EXPECT_FALSE(looks_like_jwt("not a jwt"));
}

}  // namespace
}  // namespace rt::client
