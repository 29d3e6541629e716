// `repotokens provision`: the bulk job. Selects repositories (every page), shows the plan and asks, then
// ensures / creates / rotates one repository token per repository on a pool of workers under the shared
// pacer, journaling each step durably before acting on it, delivers the secrets (0600 file, stdout when not
// a terminal, or --exec), and prints a summary. Re-running the same command after any interruption
// finishes the job; see journal.h for how.
#pragma once

#include <optional>
#include <string>

#include "cli/delivery.h"
#include "cli/inputs.h"
#include "cli/settings.h"

namespace rt::cli {

enum class ProvisionMode { ensure, create, rotate };

struct ProvisionOptions {
  Selection selection;
  ProvisionMode mode = ProvisionMode::ensure;
  std::optional<std::int64_t> overlap_seconds;  // rotate: keep the old tokens this long
  std::string name = "ci-coverage";
  std::optional<UnixTime> expires_at;
  int concurrency = 8;
  double rate = 0;  // --rate ceiling, requests/s; 0 = only the server's limit
  std::string output;  // file path, "-" for stdout, "" for none
  OutputFormat format = OutputFormat::csv;
  std::string exec;
  int exec_timeout_seconds = 120;
  std::string state_path;  // "" = default_state_path(...)
  bool yes = false;
  bool dry_run = false;
  bool show_secrets = false;
  bool quiet = false;
  bool verbose = false;
};

// Suffix appended to --name for each created token ("-" + 12 of [a-z0-9]), and the longest --name allowed.
inline constexpr std::size_t kTokenSuffixLength = 13;
inline constexpr std::size_t kMaxBaseNameLength = 100 - kTokenSuffixLength;

// True when a token's name belongs to the family of `base`: `base` itself (made by hand or by another
// tool) or `base` + "-" + 12 characters [a-z0-9] (made by provision).
bool in_token_family(const std::string& token_name, const std::string& base);

// Runs the job; returns the exit status (0 done, 1 a repository failed or the run was interrupted,
// 2 usage, including "needs --yes" without a terminal).
int run_provision(const ProvisionOptions& options, const Target& target);

}  // namespace rt::cli
