// Where secrets go: an output file written atomically with mode 0600 (csv `repository,token` lines, json,
// or env assignments), standard output when it is not a terminal (or --show-secrets), and --exec, which runs
// a command per token with the secret on its standard input only (never in argv or the environment).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace rt::cli {

enum class OutputFormat { csv, json, env };
Result<OutputFormat> parse_output_format(const std::string& text);

struct DeliveredSecret {
  std::string provider;
  std::string org;
  std::string repo;
  std::int64_t token_id = 0;
  std::string token_name;
  std::string secret;
  std::optional<UnixTime> expires_at;
};

// The whole document in the chosen format.
std::string render_secrets(const std::vector<DeliveredSecret>& secrets, OutputFormat format);

// Writes `content` to `path` atomically: a temporary file beside it created with mode 0600, fsync'ed,
// renamed over the target, and the folder fsync'ed. The target never exists with a wider mode.
Status write_file_atomically(const std::string& path, const std::string& content);

// Runs `/bin/sh -c command` with the secret (+ "\n") on standard input and REPOTOKENS_PROVIDER,
// REPOTOKENS_ORG, REPOTOKENS_REPO (and REPOTOKENS_TOKEN_NAME, REPOTOKENS_TOKEN_ID) in its environment.
// Its stdout/stderr are the CLI's stderr. Fails when it exits non-zero or runs longer than `timeout_seconds`.
Status run_delivery_command(const std::string& command, const DeliveredSecret& secret, int timeout_seconds);

// True when file descriptor `fd` is a terminal.
bool is_terminal(int fd);

}  // namespace rt::cli
