// Connection settings of the CLI: the global options every command shares, and how they are resolved
// (flag > environment > profile of the TOML config file > default) into client::ConnectionSettings.
#pragma once

#include <optional>
#include <string>

#include "client/http_transport.h"
#include "core/result.h"

namespace rt::cli {

// Exit statuses a script can rely on (docs/cli.md lists them): distinct, so that a CI step can tell a
// refused credential from a cancelled prompt from a failed job.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;    // the job (or one of its requests) failed
inline constexpr int kExitUsage = 2;      // the command line or the config file is wrong
inline constexpr int kExitCancelled = 3;  // the operator said no at the prompt (or interrupted it)
inline constexpr int kExitAuth = 4;       // the server refused the credential (401, or an expired token)

struct GlobalOptions {
  std::string api_url;         // --api-url, env CODACY_API_BASE_URL, default https://app.codacy.com
  std::string api_token;       // --api-token, env CODACY_API_TOKEN
  std::string api_token_file;  // --api-token-file
  std::string ca_file;         // --ca-file
  std::string provider;        // --provider, env REPOTOKENS_PROVIDER
  std::string org;             // --org, env REPOTOKENS_ORG
  std::string config_file;     // --config, env REPOTOKENS_CONFIG, default $XDG_CONFIG_HOME/repotokens/config.toml
  std::string profile;         // --profile, env REPOTOKENS_PROFILE, else the file's default_profile
  std::string connect_timeout;  // --connect-timeout DURATION ("5s"), else the profile's connect_timeout, else 5s
  std::string timeout;          // --timeout DURATION ("30s") per request, else the profile's timeout, else 30s
  int retries = 0;              // --retries N attempts per request, including the first; 0 = the profile's, else 10
  bool quiet = false;
  bool verbose = false;
};

// What a command needs to talk to a server about one organization.
struct Target {
  client::ConnectionSettings connection;
  std::string provider;  // validated provider code
  std::string org;
};

// Defaults of the timeouts (docs/cli.md): a server that does not accept a connection is reported within
// the connect timeout; one that accepts but does not answer, within the request timeout.
inline constexpr long kDefaultConnectTimeoutMs = 5'000;
inline constexpr long kDefaultRequestTimeoutMs = 30'000;

// Resolves the options. A usage problem (bad provider, unreadable token file, bad config) is an error of
// kind `invalid` whose message names the option; `need_org` demands --provider and --org.
// The API URL is accepted with or without Codacy's `/api/v3` suffix and trailing slashes; the stored
// form has neither (the client appends `/api/v3`). A config file is checked whole: an unknown key, or a
// value of the wrong type, is an error naming the file, the line and the nearest valid key.
Result<Target> resolve_target(const GlobalOptions& options, bool need_org);

// One line for the user about a failed API call, naming what to do next.
std::string describe_error(const Error& error, const Target& target);

// The exit status for a failed API call: kExitAuth when the credential was refused (401: unknown,
// revoked or expired token), else kExitFailure.
int exit_status_for(const Error& error);

// `https://host/api/v3/` -> `https://host`: trailing slashes and Codacy's `/api/v3` suffix removed.
std::string normalize_api_url(std::string url);

}  // namespace rt::cli
