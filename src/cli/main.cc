// repotokens: the operator's command-line tool for Codacy-compatible servers (repotokensd or Codacy itself).
// main() declares the global connection options, lets each command file register its subcommand, parses,
// and runs the chosen command. Exit status: 0 ok, 1 the job failed, 2 usage.
#include <csignal>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes EPIPE on write, not a silent death
  using namespace rt::cli;
  CLI::App app{"repotokens: provision and manage repository API tokens on Codacy or repotokensd"};
  app.name("repotokens");
  app.set_version_flag("--version", "repotokens 0.1.0");
  app.fallthrough();  // global options may come after the subcommand
  app.require_subcommand(1);
  GlobalOptions g;
  Action action;
  app.add_option("--api-url", g.api_url, "API base URL (env CODACY_API_BASE_URL; default https://app.codacy.com)");
  app.add_option("--api-token", g.api_token, "account API token (env CODACY_API_TOKEN; prefer the env or a file)");
  app.add_option("--api-token-file", g.api_token_file, "file holding the account API token");
  app.add_option("--ca-file", g.ca_file, "PEM file of CA certificates to trust (TLS is always verified)");
  app.add_option("--provider", g.provider, "Git provider: gh, ghe, gl, gle, bb, bbe (env REPOTOKENS_PROVIDER)");
  app.add_option("--org", g.org, "organization name on the provider (env REPOTOKENS_ORG)");
  app.add_option("--config", g.config_file, "TOML config file (env REPOTOKENS_CONFIG; default ~/.config/repotokens/config.toml)");
  app.add_option("--profile", g.profile, "profile of the config file (env REPOTOKENS_PROFILE)");
  app.add_option("--timeout", g.timeout_seconds, "seconds per HTTP request (default 60)");
  app.add_option("--retries", g.retries, "attempts per request including the first (default 10)");
  app.add_flag("-q,--quiet", g.quiet, "no progress, only errors");
  app.add_flag("-v,--verbose", g.verbose, "a line per repository");
  CommandContext ctx{g, action};
  add_provision_command(app, ctx);
  add_repos_command(app, ctx);
  add_tokens_command(app, ctx);
  add_expiring_command(app, ctx);
  add_org_command(app, ctx);
  add_repo_command(app, ctx);
  add_user_command(app, ctx);
  add_member_command(app, ctx);
  add_coverage_command(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "error: %s\nrun 'repotokens --help' for usage\n", e.what());
    return kExitUsage;
  }
  return action ? action() : kExitUsage;
}
