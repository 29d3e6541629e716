// The access log never carries a secret: a token pasted into a path (`DELETE /user/tokens/<secret>`, an
// organization or repository segment, an absolute-form target), in either log format, is written redacted
// to its prefix, while the rest of the line stays as it was.
#include <gtest/gtest.h>

#include "support/api_fixture.h"
#include "support/raw_socket.h"

namespace rt::test {
namespace {

void expect_secrets_redacted(const std::vector<std::string>& extra_args) {
  ServerProcess server(ServerOptions{.extra_args = extra_args});
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-log", {"r1"});
  IssuedToken repo = create_repository_token(http, w.admin.token, "gh", "acme-log", "r1");
  std::string mistyped = repo.secret;
  mistyped[20] = mistyped[20] == 'a' ? 'b' : 'a';  // checksum no longer matches: still nearly the secret
  RawConnection conn(server.port());
  const std::vector<std::string> auth = {api_token(w.admin.token)};
  for (const std::string& target : {
           "/api/v3/user/tokens/" + w.admin.token,
           "/api/v3/user/tokens/" + repo.secret + "/",
           "/api/v3/organizations/gh/" + repo.secret + "/repositories?cursor=" + repo.secret,
           "/api/v3/organizations/gh/acme-log/repositories/x" + mistyped + "-y",
           "http://127.0.0.1/api/v3/user/tokens/" + w.admin.token}) {
    std::string got = conn.exchange(raw_request("DELETE", target, auth));
    EXPECT_NE(response_status(got), 0) << target;
  }
  conn.exchange(raw_request("GET", "/api/v3/version/marker-of-the-last-request"));
  ASSERT_TRUE(eventually([&] { return server.log().find("marker-of-the-last-request") != std::string::npos; }))
      << server.log();
  const std::string log = server.log();
  for (const std::string& secret : {w.admin.token, repo.secret, mistyped}) {
    EXPECT_EQ(log.find(secret.substr(5, 43)), std::string::npos) << "a secret reached the log:\n" << log;
    EXPECT_EQ(log.find(secret.substr(10, 20)), std::string::npos) << "part of a secret reached the log:\n" << log;
  }
  EXPECT_NE(log.find("/api/v3/user/tokens/rtka_[redacted]"), std::string::npos) << log;
  EXPECT_NE(log.find("/api/v3/user/tokens/rtkr_[redacted]/"), std::string::npos) << log;
  EXPECT_NE(log.find("/api/v3/organizations/gh/rtkr_[redacted]/repositories"), std::string::npos) << log;
  EXPECT_NE(log.find("/repositories/xrtkr_[redacted]-y"), std::string::npos) << log;
}

TEST(LogRedaction, TokensInPathsAreRedactedInTheTextLog) { expect_secrets_redacted({}); }

TEST(LogRedaction, TokensInPathsAreRedactedInTheJsonLog) { expect_secrets_redacted({"--log-format", "json"}); }

}  // namespace
}  // namespace rt::test
