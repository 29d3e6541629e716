// The edge of HTTP/1.1 message framing against a real server, over a raw socket: Transfer-Encoding other
// than a lone final "chunked" and conflicting or repeated Content-Length are refused (400, or 501 for a
// known coding we do not implement) and the connection closes before anything is created; the 16 KiB cap
// on the request head holds however it is cut into lines; HEAD is served wherever GET is; absolute-form
// targets are served by their path; OPTIONS * and CONNECT get answers that say what is not supported.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/api_fixture.h"
#include "support/raw_socket.h"

namespace rt::test {
namespace {

using namespace std::chrono_literals;

// How many account tokens the user holds (through the API, as a client would see it).
std::int64_t token_count(HttpClient& http, const std::string& token) {
  auto r = http.get("/api/v3/user/tokens?limit=100", {api_token(token)});
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json()["pagination"]["total"].get<std::int64_t>();
}

// POST /api/v3/user/tokens with a chunked `{}` body that also carries, as chunk data, a second complete
// request: a server that mistakes the framing either creates a token or answers twice.
std::string smuggling_post(const std::string& token, const std::vector<std::string>& framing) {
  std::string inner = raw_request("POST", "/api/v3/user/tokens", {api_token(token)}, "{}");
  std::string chunk = "{}" + std::string("\r\n") + inner;
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  std::vector<std::string> headers = {api_token(token), "Content-Type: application/json"};
  headers.insert(headers.end(), framing.begin(), framing.end());
  return raw_request("POST", "/api/v3/user/tokens", headers) + size + "\r\n" + chunk + "\r\n0\r\n\r\n";
}

struct FramingCase {
  std::vector<std::string> headers;
  int status;
  const char* says;  // a word the message must contain
};

TEST(HttpFraming, TransferEncodingOtherThanALoneFinalChunkedIsRefusedBeforeAnythingIsCreated) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-framing", {});
  const std::int64_t before = token_count(http, w.admin.token);
  const std::vector<FramingCase> cases = {
      {{"Transfer-Encoding: chunked, identity"}, 400, "chunked"},
      {{"Transfer-Encoding: xchunked"}, 400, "chunked"},
      {{"Transfer-Encoding: identity"}, 400, "chunked"},
      {{"Transfer-Encoding: \"chunked\""}, 400, "chunked"},
      {{"Transfer-Encoding: chunked, chunked"}, 400, "once"},
      {{"Transfer-Encoding: gzip"}, 400, "chunked"},
      {{"Transfer-Encoding: gzip, chunked"}, 501, "gzip"},
      {{"Transfer-Encoding: gzip", "Transfer-Encoding: chunked"}, 501, "gzip"},
      {{"Transfer-Encoding: deflate,chunked"}, 501, "deflate"},
      {{"Transfer-Encoding: chunked", "Content-Length: 2"}, 400, "Content-Length"},
      {{"Content-Length: 2", "Transfer-Encoding: chunked"}, 400, "Content-Length"},
  };
  for (const auto& c : cases) {
    std::string label = c.headers[0] + (c.headers.size() > 1 ? " + " + c.headers[1] : "");
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.connected());
    bool closed = false;
    std::string got = conn.exchange_until_closed(smuggling_post(w.admin.token, c.headers), closed);
    EXPECT_EQ(response_status(got), c.status) << label << ":\n" << got;
    EXPECT_NE(response_body(got).find(c.says), std::string::npos) << label << ": " << response_body(got);
    EXPECT_TRUE(closed) << label << ": the connection must close after a framing error";
    EXPECT_EQ(count_responses(got), 1) << label << ": the chunk bytes were read as a second request:\n" << got;
    EXPECT_EQ(response_header(got, "connection"), "close") << label;
  }
  EXPECT_EQ(token_count(http, w.admin.token), before) << "a refused request created a token";

  // The control: a lone chunked coding is served, and the chunk data stays data.
  RawConnection conn(server.port());
  std::string ok = conn.exchange(smuggling_post(w.admin.token, {"Transfer-Encoding: chunked"}));
  EXPECT_EQ(response_status(ok), 400) << "the chunk data is not JSON: " << ok;
  std::string chunked_ok = raw_request("POST", "/api/v3/user/tokens", {api_token(w.admin.token), "Transfer-Encoding: Chunked"}) +
                           "2\r\n{}\r\n0\r\n\r\n";
  EXPECT_EQ(response_status(conn.exchange(chunked_ok)), 200);
  EXPECT_EQ(token_count(http, w.admin.token), before + 1);
}

TEST(HttpFraming, RepeatedOrMalformedContentLengthIsRefused) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-length", {});
  const std::int64_t before = token_count(http, w.admin.token);
  for (const auto& framing : std::vector<std::vector<std::string>>{{"Content-Length: 2", "Content-Length: 2"},
                                                                    {"Content-Length: 2, 2"},
                                                                    {"Content-Length: 2", "Content-Length: 3"},
                                                                    {"Content-Length: +2"},
                                                                    {"Content-Length: 0x2"},
                                                                    {"Content-Length: 2 2"}}) {
    std::vector<std::string> headers = {api_token(w.admin.token)};
    headers.insert(headers.end(), framing.begin(), framing.end());
    RawConnection conn(server.port());
    bool closed = false;
    std::string got = conn.exchange_until_closed(raw_request("POST", "/api/v3/user/tokens", headers) + "{}", closed);
    EXPECT_EQ(response_status(got), 400) << framing[0] << ":\n" << got;
    EXPECT_NE(response_body(got).find("Content-Length"), std::string::npos) << got;
    EXPECT_TRUE(closed) << framing[0];
  }
  EXPECT_EQ(token_count(http, w.admin.token), before);
}

TEST(HttpFraming, HeadAbove16KiBInAllIs431HoweverItIsCutIntoLines) {
  ServerProcess server;
  auto attempt = [&](const std::vector<std::string>& headers) {
    RawConnection conn(server.port());
    bool closed = false;
    std::string got = conn.exchange_until_closed(raw_request("GET", "/api/v3/health", headers), closed, 20s);
    return got;
  };
  std::vector<std::string> tiny(42375, "a:b");  // 212 KB in lines of 5 bytes
  std::string got = attempt(tiny);
  EXPECT_EQ(response_status(got), 431) << got.substr(0, 300);
  EXPECT_NE(response_body(got).find("16384"), std::string::npos) << got;

  std::vector<std::string> ordinary(10, "X-Forwarded-Something: " + std::string(2000, 'v'));  // ~20 KB
  EXPECT_EQ(response_status(attempt(ordinary)), 431);

  std::vector<std::string> many;  // well under 16 KiB, but more lines than any client sends
  for (int i = 0; i < 150; ++i) many.push_back("X-H" + std::to_string(i) + ": 1");
  got = attempt(many);
  EXPECT_EQ(response_status(got), 431) << got;
  EXPECT_NE(response_body(got).find("100"), std::string::npos) << got;

  std::vector<std::string> fits(7, "X-Large: " + std::string(2000, 'v'));  // ~14 KB: served
  RawConnection conn(server.port());
  EXPECT_EQ(response_status(conn.exchange(raw_request("GET", "/api/v3/health", fits))), 200);
  std::vector<std::string> hundred;
  for (int i = 0; i < 99; ++i) hundred.push_back("X-H" + std::to_string(i) + ": 1");  // + Host = 100
  EXPECT_EQ(response_status(conn.exchange(raw_request("GET", "/api/v3/health", hundred))), 200);
}

TEST(HttpFraming, HeadIsServedWhereverGetIs) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-head", {"r1"});
  RawConnection conn(server.port());
  for (const auto& [path, headers] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"/api/v3/health", {}},
           {"/api/v3/version", {}},
           {"/api/v3/user", {api_token(w.admin.token)}},
           {repo_path("gh", "acme-head", "r1"), {api_token(w.admin.token)}},
           {"/api/v3/nope", {}}}) {
    std::string get = conn.exchange(raw_request("GET", path, headers));
    std::string head = conn.exchange(raw_request("HEAD", path, headers));
    EXPECT_EQ(response_status(head), response_status(get)) << path << ":\n" << head;
    EXPECT_EQ(response_body(head), "") << path;
    EXPECT_EQ(response_header(head, "content-length"), std::to_string(response_body(get).size())) << path;
    EXPECT_EQ(response_header(head, "content-type"), response_header(get, "content-type")) << path;
  }
  // The connection is still in step after the bodiless answers.
  EXPECT_EQ(response_status(conn.exchange(raw_request("GET", "/api/v3/health"))), 200);
  // A path that has no GET lists HEAD beside GET where it has one.
  std::string wrong = conn.exchange(raw_request("HEAD", "/api/v3/repositories"));
  EXPECT_EQ(response_status(wrong), 405) << wrong;
  std::string allow = conn.exchange(raw_request("DELETE", "/api/v3/health"));
  EXPECT_EQ(response_header(allow, "allow"), "GET, HEAD") << allow;
}

TEST(HttpFraming, AbsoluteFormTargetsAreServedByTheirPath) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-absolute", {});
  RawConnection conn(server.port());
  std::string got = conn.exchange(raw_request("GET", "http://127.0.0.1/api/v3/health"));
  EXPECT_EQ(response_status(got), 200) << got;
  got = conn.exchange(raw_request("GET", "HTTP://example.com:8080/api/v3/user/tokens?limit=1", {api_token(w.admin.token)}));
  EXPECT_EQ(response_status(got), 200) << got;
  EXPECT_NE(response_body(got).find("\"limit\":1"), std::string::npos) << got;
  got = conn.exchange(raw_request("GET", "http://127.0.0.1"));  // no path: "/", which redirects to the console
  EXPECT_EQ(response_status(got), 302) << got;
  for (const std::string target : {"ftp://127.0.0.1/api/v3/health", "127.0.0.1:80", "*", "api/v3/health"}) {
    got = conn.exchange(raw_request("GET", target));
    EXPECT_EQ(response_status(got), 400) << target << ":\n" << got;
    EXPECT_EQ(response_body(got).find("percent-encoding"), std::string::npos) << target << ": " << got;
    EXPECT_NE(response_body(got).find("target"), std::string::npos) << target << ": " << got;
  }
}

TEST(HttpFraming, OptionsAsteriskAndConnectSayWhatIsNotSupported) {
  ServerProcess server;
  RawConnection conn(server.port());
  std::string got = conn.exchange(raw_request("OPTIONS", "*"));
  EXPECT_EQ(response_status(got), 501) << got;
  EXPECT_NE(response_body(got).find("OPTIONS"), std::string::npos) << got;
  EXPECT_EQ(response_body(got).find("percent-encoding"), std::string::npos) << got;
  bool closed = false;
  RawConnection tunnel(server.port());
  got = tunnel.exchange_until_closed(raw_request("CONNECT", "example.com:443"), closed);
  EXPECT_EQ(response_status(got), 501) << got;
  EXPECT_NE(response_body(got).find("CONNECT"), std::string::npos) << got;
  EXPECT_TRUE(closed) << "a CONNECT that is refused must not leave a tunnel-shaped connection open";
  // OPTIONS on a path that exists is a 405 that lists the path's methods.
  got = conn.exchange(raw_request("OPTIONS", "/api/v3/health"));
  EXPECT_EQ(response_status(got), 405) << got;
  EXPECT_EQ(response_header(got, "allow"), "GET, HEAD");
}

}  // namespace
}  // namespace rt::test
