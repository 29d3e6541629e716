// GitHub secret scanning's key set: parsing GitHub's format (and refusing what is not), ECDSA P-256
// SHA-256 verification with keys made at test time, and the re-read of the source when an unknown key
// identifier arrives, at most once per cooldown; starting without a set when a URL cannot be read, and
// which values --github-secret-scanning-keys takes as a file or a URL.
#include "leaks/github_keys.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "support/ec_key.h"

namespace rt {
namespace {

using Check = GitHubKeySet::Check;
using test::EcTestKey;
using test::github_key_set;

TEST(GitHubKeySet, VerifiesSignaturesOfTheNamedKeyOnly) {
  EcTestKey a, b;
  nlohmann::json doc = {{"public_keys",
                         {{{"key_identifier", "a"}, {"key", a.public_pem()}, {"is_current", false}},
                          {{"key_identifier", "b"}, {"key", b.public_pem()}, {"is_current", true}}}}};
  auto set = GitHubKeySet::parse(doc.dump());
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ((*set)->size(), 2u);
  const std::string body = R"([{"token":"rtka_x","type":"t","url":"u","source":"content"}])";
  EXPECT_EQ((*set)->verify("a", a.sign_base64(body), body), Check::valid);
  EXPECT_EQ((*set)->verify("b", b.sign_base64(body), body), Check::valid);
  EXPECT_EQ((*set)->verify("a", b.sign_base64(body), body), Check::bad_signature);
  EXPECT_EQ((*set)->verify("a", a.sign_base64(body), body + "\n"), Check::bad_signature);
  EXPECT_EQ((*set)->verify("c", a.sign_base64(body), body), Check::unknown_key);
  EXPECT_EQ((*set)->verify("a", "", body), Check::bad_signature);
  EXPECT_EQ((*set)->verify("a", "***", body), Check::bad_signature);
  EXPECT_EQ((*set)->verify("a", "AAAA", body), Check::bad_signature);  // base64, but not DER
}

// The PEM of a freshly made public key of another kind than GitHub's (taken over and freed).
std::string pem_of(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(GitHubKeySet, RefusesWhatIsNotGitHubsFormatSayingWhy) {
  EcTestKey a;
  const std::string pem = a.public_pem();
  struct Case {
    std::string text;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"nope", "not JSON"},
      {"[]", "\"public_keys\" array"},
      {R"({"public_keys": {}})", "\"public_keys\" array"},
      {R"({"public_keys": []})", "no keys"},
      {R"({"public_keys": [{"key": "x"}]})", "public_keys[0]"},
      {R"({"public_keys": [{"key_identifier": 1, "key": "x"}]})", "public_keys[0]"},
      {R"({"public_keys": [{"key_identifier": "k", "key": "not a pem"}]})", "PEM"},
      {github_key_set("k", pem_of(EVP_RSA_gen(2048))), "P-256"},
      {github_key_set("k", pem_of(EVP_EC_gen("P-384"))), "P-256"},
      {nlohmann::json{{"public_keys", {{{"key_identifier", "k"}, {"key", pem}}, {{"key_identifier", "k"}, {"key", pem}}}}}
           .dump(),
       "twice"},
  };
  for (const Case& c : cases) {
    auto set = GitHubKeySet::parse(c.text);
    ASSERT_FALSE(set.ok()) << c.text;
    EXPECT_EQ(set.error().kind, ErrorKind::invalid);
    EXPECT_NE(set.error().message.find(c.says), std::string::npos) << c.text << " -> " << set.error().message;
  }
}

TEST(GitHubKeys, AnUnknownIdentifierReadsTheSourceAgainAtMostOncePerCooldown) {
  EcTestKey first, second;
  std::string source = github_key_set("one", first.public_pem());
  int reads = 0;
  auto keys = GitHubKeys::open("test keys", [&]() -> Result<std::string> {
    ++reads;
    return source;
  }, {.refresh_cooldown_seconds = 3600});
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(reads, 1);
  const std::string body = "[]";
  EXPECT_EQ((*keys)->verify("one", first.sign_base64(body), body), Check::valid);
  EXPECT_EQ(reads, 1) << "a known key re-read the source";

  source = github_key_set("two", second.public_pem());  // GitHub rotated
  EXPECT_EQ((*keys)->verify("two", second.sign_base64(body), body), Check::valid);
  EXPECT_EQ(reads, 2);
  EXPECT_EQ((*keys)->verify("one", first.sign_base64(body), body), Check::unknown_key) << "the old set is still in use";
  EXPECT_EQ(reads, 2) << "a second miss within the cooldown re-read the source";
}

TEST(GitHubKeys, AFailedReReadKeepsTheSetInUse) {
  EcTestKey key;
  bool broken = false;
  auto keys = GitHubKeys::open("test keys", [&]() -> Result<std::string> {
    if (broken) return std::string("{ broken");
    return github_key_set("k", key.public_pem());
  }, {.refresh_cooldown_seconds = 0});
  ASSERT_TRUE(keys.ok());
  broken = true;
  EXPECT_EQ((*keys)->verify("other", key.sign_base64("x"), "x"), Check::unknown_key);
  EXPECT_EQ((*keys)->verify("k", key.sign_base64("x"), "x"), Check::valid);
}

TEST(GitHubKeys, OpeningABadSourceNamesIt) {
  auto keys = GitHubKeys::open("--github-secret-scanning-keys /etc/k.json",
                               []() -> Result<std::string> { return std::string("{}"); });
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.error().message.find("/etc/k.json"), std::string::npos) << keys.error().message;
}

TEST(GitHubKeys, AnUnreadableSourceAtStartIsAnErrorUnlessAskedToStartWithoutKeys) {
  EcTestKey key;
  bool down = true;
  int reads = 0;
  auto loader = [&]() -> Result<std::string> {
    ++reads;
    if (down) return make_error(ErrorKind::unavailable, "GitHub key set https://127.0.0.1:1/k: fetch failed");
    return github_key_set("k", key.public_pem());
  };
  auto strict = GitHubKeys::open("test keys", loader);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().kind, ErrorKind::unavailable);

  std::vector<std::string> warnings;
  reads = 0;
  auto keys = GitHubKeys::open("test keys", loader,
                               {.refresh_cooldown_seconds = 0.2,
                                .start_without_keys = true,
                                .warn = [&](std::string_view m) { warnings.emplace_back(m); }});
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_FALSE((*keys)->has_key_set());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("503"), std::string::npos) << warnings[0];
  EXPECT_EQ(reads, 1);
  const std::string body = "[]";
  EXPECT_EQ((*keys)->verify("k", key.sign_base64(body), body), Check::no_key_set);
  EXPECT_EQ(reads, 1) << "a request within the cooldown of the failed start read the source again";

  down = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ((*keys)->verify("k", key.sign_base64(body), body), Check::valid);
  EXPECT_EQ(reads, 2);
  EXPECT_TRUE((*keys)->has_key_set());
}

TEST(GitHubKeys, AnInvalidSetAtStartIsTreatedLikeAnUnreachableOneWhenStartingWithoutKeys) {
  auto keys = GitHubKeys::open("test keys", []() -> Result<std::string> { return std::string("<html>"); },
                               {.refresh_cooldown_seconds = 3600, .start_without_keys = true});
  ASSERT_TRUE(keys.ok());
  EcTestKey key;
  EXPECT_EQ((*keys)->verify("k", key.sign_base64("x"), "x"), Check::no_key_set);
}

TEST(GitHubKeySource, URLsAndFilesAreToldApartAndBadURLsRefused) {
  auto file = github_key_source("/etc/repotokens/github-keys.json", {});
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE(file->remote);
  for (const char* url : {"https://api.github.com/meta/public_keys/secret_scanning", "http://127.0.0.1:8080/keys",
                          "http://[::1]:9/k"}) {
    auto source = github_key_source(url, {});
    ASSERT_TRUE(source.ok()) << url << ": " << source.error().message;
    EXPECT_TRUE(source->remote) << url;
  }
  struct Case {
    const char* value;
    const char* says;
  };
  for (const Case& c : {Case{"http://api.github.com/meta/public_keys/secret_scanning", "loopback"},
                        Case{"http://localhost:8080/keys", "loopback"}, Case{"ftp://example.com/keys", "https://"},
                        Case{"https://", "https://HOST"}, Case{"https://api.github.com/k?x=1", "no query"},
                        Case{"https://user@api.github.com/k", "https://HOST"}}) {
    auto source = github_key_source(c.value, {});
    ASSERT_FALSE(source.ok()) << c.value;
    EXPECT_EQ(source.error().kind, ErrorKind::invalid);
    EXPECT_NE(source.error().message.find(c.says), std::string::npos) << c.value << " -> " << source.error().message;
    EXPECT_NE(source.error().message.find("--github-secret-scanning-keys"), std::string::npos) << source.error().message;
  }
}

TEST(GitHubKeySource, AnUnreachableURLSaysWhichAndWhy) {
  auto source = github_key_source("https://127.0.0.1:1/keys.json", {.timeout_ms = 2000});
  ASSERT_TRUE(source.ok());
  auto text = source->loader();
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().kind, ErrorKind::unavailable);
  EXPECT_NE(text.error().message.find("https://127.0.0.1:1/keys.json"), std::string::npos) << text.error().message;
}

}  // namespace
}  // namespace rt
