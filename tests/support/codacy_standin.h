// Test harness: a stand-in of Codacy Cloud (tests/codacy_standin/codacy_standin.py, a real HTTP server
// on a loopback port chosen at run time) and the means to run `repotokens` against it and read back what
// it holds. See the script for what it copies of Codacy (nameless token objects with their secrets in the
// list, plain hex tokens, base64-offset cursors, limit clamped to 100, a sliding-window limit refused with
// 503/504 and no headers, an occasional 502 after a create was carried out).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http_client.h"
#include "support/server_process.h"

namespace rt::test {

struct StandinOptions {
  int repos = 10;
  int window_quota = 0;         // 0: no limit
  double window_seconds = 1.0;
  int bad_gateway_every = 0;    // every Nth create answers 502 after it was carried out; 0: never
};

class CodacyStandin {
 public:
  // Starts the stand-in; fails the test (ADD_FAILURE + throws) when /usr/bin/python3 cannot run it.
  explicit CodacyStandin(StandinOptions options = {});
  ~CodacyStandin();  // SIGKILL and wait
  CodacyStandin(const CodacyStandin&) = delete;
  CodacyStandin& operator=(const CodacyStandin&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:PORT" (Codacy's own form adds /api/v3)
  const std::string& api_token() const { return token_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  // The stand-in's state: repository -> its tokens ({id, token, expiresAt?}, newest first), and the
  // counters (requests, accepted, refused, created, revoked, bad_gateway).
  std::map<std::string, std::vector<nlohmann::json>> tokens() const;
  long counter(const std::string& name) const;

  // Runs `repotokens ARGS --api-url URL --provider gh --org acme` with CODACY_API_TOKEN set and the state
  // folder in dir(). `api_url` overrides the URL (e.g. with /api/v3).
  CommandResult cli(std::vector<std::string> args, const std::string& api_url = {}, int timeout_seconds = 300) const;

 private:
  nlohmann::json state() const;
  TempDir dir_;
  std::string token_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<HttpClient> http_;
};

// True when the stand-in can run here (/usr/bin/python3 exists).
bool standin_available();

}  // namespace rt::test
