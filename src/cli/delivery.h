// Where secrets go: an output file written atomically with mode 0600 (csv `repository,token` lines, json,
// or env assignments) and merged with the earlier output it replaces (the operator's store of secrets is
// never clobbered), standard output when it is not a terminal (or --show-secrets), and --exec, which runs
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
// renamed over the target, and the folder fsync'ed. The target never exists with a wider mode. The
// temporary file is `temp_path` when given (a fixed name the caller owns under a lock, so that one left by
// a crash is overwritten and removed next time), else a unique name.
Status write_file_atomically(const std::string& path, const std::string& content, const std::string& temp_path = {});

// The temporary file provision uses for `output`: ".<name>.tmp" beside it.
std::string output_temp_path(const std::string& output);

// Checks, before anything is created, that `output` can be written: its folder exists and is writable
// and the path is not a folder. The error (kind invalid) names the option and the problem.
Status check_output_writable(const std::string& output);

// An output file of provision, read back so that a new run merges into it instead of replacing it: one
// row per repository (csv: the repository name; env: the variable; json: provider/organization/repository).
class SecretsFile {
 public:
  // Reads `path` as an earlier output in `format`; a missing or empty file has no rows. A file that is not
  // such an output (another format, or something else entirely) is an error of kind `conflict` that says
  // where it differs, unless `force`: then it counts as empty and is replaced.
  static Result<SecretsFile> read(const std::string& path, OutputFormat format, bool force);
  explicit SecretsFile(OutputFormat format) : format_(format) {}

  // Each secret replaces the row of its repository (a rotated token) or is added; other rows stay.
  void merge(const std::vector<DeliveredSecret>& secrets);
  bool has(const DeliveredSecret& secret) const;  // a row for this secret's repository exists
  std::size_t size() const { return rows_.size(); }
  std::string render() const;

 private:
  std::string key_of(const DeliveredSecret& s) const;
  std::string row_of(const DeliveredSecret& s) const;
  OutputFormat format_;
  std::vector<std::pair<std::string, std::string>> rows_;  // key, rendered row (json: one item's text)
};

// Runs `/bin/sh -c command` with the secret (+ "\n") on standard input and REPOTOKENS_PROVIDER,
// REPOTOKENS_ORG, REPOTOKENS_REPO (and REPOTOKENS_TOKEN_NAME, REPOTOKENS_TOKEN_ID) in its environment.
// Its stdout/stderr are the CLI's stderr. Fails when it exits non-zero or runs longer than `timeout_seconds`.
Status run_delivery_command(const std::string& command, const DeliveredSecret& secret, int timeout_seconds);

// True when file descriptor `fd` is a terminal.
bool is_terminal(int fd);

}  // namespace rt::cli
