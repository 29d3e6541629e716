// The rule for the URLs the server fetches from (fetch/fetchable_url.h): https anywhere, http only on a
// loopback address, a host and nothing that would change what is fetched (user info, query, fragment); and
// the bounded GET against a real HTTPS server with a certificate made at test time: trusted only through
// the CA file, non-200 and oversized answers refused.
#include "fetch/fetchable_url.h"

#include <gtest/gtest.h>

#include "fetch/https_get.h"
#include "support/https_file_server.h"

namespace rt::fetch {
namespace {

TEST(FetchableUrl, HttpsAnywhereAndHttpOnlyOnLoopback) {
  for (const char* url : {"https://api.github.com/meta/public_keys/secret_scanning", "https://gitlab.example:8443",
                          "http://127.0.0.1:8080/jwks", "http://127.1.2.3/x", "http://[::1]:9/k"})
    EXPECT_TRUE(check_fetchable_url(url, "test URL").ok()) << url;
  for (const char* url : {"http://api.github.com/k", "http://localhost/k", "http://127.0.0.1.example.com/k",
                          "http://128.0.0.1/k", "http://[::2]/k"}) {
    auto st = check_fetchable_url(url, "test URL");
    ASSERT_FALSE(st.ok()) << url;
    EXPECT_NE(st.error().message.find("only on loopback"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("test URL"), std::string::npos) << st.error().message;
  }
  for (const char* url : {"", "ftp://example.com/k", "https://", "https:///k", "https://u:p@example.com/k",
                          "https://example.com/k?x", "https://example.com/k#f", "https://exa mple.com/k"}) {
    auto st = check_fetchable_url(url, "test URL");
    ASSERT_FALSE(st.ok()) << url;
    EXPECT_NE(st.error().message.find("https://HOST"), std::string::npos) << st.error().message;
  }
}

TEST(CaFile, AMissingOrNonPemBundleIsRefusedSayingWhich) {
  auto missing = check_ca_file("/nonexistent/ca.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot be read"), std::string::npos);
  auto not_pem = check_ca_file("/etc/hostname");
  ASSERT_FALSE(not_pem.ok());
  EXPECT_NE(not_pem.error().message.find("no PEM certificate"), std::string::npos);
}

TEST(HttpsGet, AnUnreachableServerIsUnavailable) {
  auto body = https_get("https://127.0.0.1:1/x", {.timeout_ms = 2000});
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().kind, ErrorKind::unavailable);
}

TEST(HttpsGet, TrustsTheServerThroughTheCaFileAndRefusesNon200AndOversizedAnswers) {
  test::HttpsFileServer server;
  server.write("doc.json", R"({"ok": true})");
  server.write("big.json", std::string(4096, 'x'));
  const FetchLimits trusted{.timeout_ms = 5000, .max_bytes = 1024, .ca_file = server.ca_file().string()};

  auto body = https_get(server.url("doc.json"), trusted);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, R"({"ok": true})");

  auto untrusted = https_get(server.url("doc.json"), {.timeout_ms = 5000});
  ASSERT_FALSE(untrusted.ok()) << "a self-signed certificate was trusted without the CA file";
  EXPECT_EQ(untrusted.error().kind, ErrorKind::unavailable);

  auto missing = https_get(server.url("nope.json"), trusted);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("HTTP 404"), std::string::npos) << missing.error().message;

  auto big = https_get(server.url("big.json"), trusted);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("larger than 1024 bytes"), std::string::npos) << big.error().message;
}

}  // namespace
}  // namespace rt::fetch
