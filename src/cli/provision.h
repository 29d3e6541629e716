// `repotokens provision`: the bulk job. Takes the job's locks, selects repositories (every page), lists
// their tokens and shows the plan (how many tokens will be created, rotated, left alone) and asks, then
// ensures / creates / rotates one repository token per repository on a pool of workers under the shared
// pacer, journaling each step durably before acting on it, delivers the secrets (0600 file merged with the
// earlier one, stdout when not a terminal, or --exec), drops them from the journal once delivered, and
// prints a summary. Re-running the same command after any interruption finishes the job; see journal.h.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "cli/delivery.h"
#include "cli/inputs.h"
#include "cli/provision_plan.h"
#include "cli/settings.h"
#include "client/api_client.h"
#include "core/time.h"

namespace rt::cli {

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
  bool force = false;  // replace an existing --output that is not an earlier output of this format
  bool quiet = false;
  bool verbose = false;
};

// Suffix appended to --name for each created token ("-" + 12 of [a-z0-9]), and the longest --name allowed.
inline constexpr std::size_t kTokenSuffixLength = 13;
inline constexpr std::size_t kMaxBaseNameLength = 100 - kTokenSuffixLength;

// Everything the job touches outside itself, so that its state machine runs in unit tests against canned
// answers: the clock, the operator's prompt, the output streams and the HTTP transport.
struct ProvisionEnv {
  const Clock* clock = nullptr;        // nullptr: the system clock
  client::TransportFactory transport;  // empty: libcurl
  // Shows `question` and returns the operator's answer; nullopt at end of input.
  std::function<std::optional<std::string>(const std::string& question)> ask;
  std::FILE* out = stdout;  // secrets when neither --output FILE nor --exec; the dry run's list
  std::FILE* err = stderr;  // plan, summary and errors
  bool interactive = false;      // a person can answer the prompt (stdin and stderr are terminals)
  bool out_is_terminal = false;  // `out` is a terminal (secrets are not printed there)
};

// The process's own environment: system clock, libcurl, stdin/stdout/stderr.
ProvisionEnv system_provision_env();

// Runs the job; returns the exit status: 0 done, 1 a repository failed, the run was interrupted or another
// run holds the job's lock, 2 usage (including "needs --yes" without a terminal, an --output that cannot
// be written or would replace an unrelated file), 3 the operator declined, 4 the credential was refused.
int run_provision(const ProvisionOptions& options, const Target& target);
int run_provision(const ProvisionOptions& options, const Target& target, const ProvisionEnv& env);

}  // namespace rt::cli
