// `repotokens provision`: its options and their validation; the job itself is in provision.cc.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/provision.h"

namespace rt::cli {
namespace {

struct ProvisionFlags {
  std::vector<std::string> match, exclude;
  std::string repos_file, mode = "ensure", overlap, name = "ci-coverage", expires, rate, output, format = "csv", exec,
                          state;
  int concurrency = 8;
  int exec_timeout = 120;
  bool yes = false, dry_run = false, show_secrets = false, force = false;
};

int fail_usage(const Error& e) { return usage_error(e.message); }

int run(const ProvisionFlags& f, const GlobalOptions& g) {
  ProvisionOptions o;
  o.selection.match = f.match;
  o.selection.exclude = f.exclude;
  if (!f.repos_file.empty()) {
    auto names = read_repository_file(f.repos_file);
    if (!names.ok()) return fail_usage(names.error());
    o.selection.listed.emplace(names->begin(), names->end());
  }
  o.mode = f.mode == "create" ? ProvisionMode::create : f.mode == "rotate" ? ProvisionMode::rotate : ProvisionMode::ensure;
  if (!f.overlap.empty()) {
    if (o.mode != ProvisionMode::rotate) return fail_usage(make_error(ErrorKind::invalid, "--overlap: only with --mode rotate"));
    auto s = parse_duration_option(f.overlap, "--overlap");
    if (!s.ok()) return fail_usage(s.error());
    o.overlap_seconds = *s;
  }
  if (auto s = check_token_name(f.name, kMaxBaseNameLength); !s.ok()) return fail_usage(s.error());
  o.name = f.name;
  if (!f.expires.empty()) {
    auto at = parse_expiry(f.expires, SystemClock().now());
    if (!at.ok()) return fail_usage(at.error());
    o.expires_at = *at;
  }
  if (f.concurrency < 1 || f.concurrency > 256) return fail_usage(make_error(ErrorKind::invalid, "--concurrency: must be 1..256"));
  o.concurrency = f.concurrency;
  if (!f.rate.empty()) {
    auto r = parse_rate(f.rate);
    if (!r.ok()) return fail_usage(r.error());
    o.rate = *r;
  }
  auto format = parse_output_format(f.format);
  if (!format.ok()) return fail_usage(format.error());
  o.format = *format;
  o.output = f.output;
  o.exec = f.exec;
  o.exec_timeout_seconds = f.exec_timeout;
  o.state_path = f.state;
  o.yes = f.yes;
  o.dry_run = f.dry_run;
  o.show_secrets = f.show_secrets;
  o.force = f.force;
  o.quiet = g.quiet;
  o.verbose = g.verbose;
  auto target = resolve_target(g, true);
  if (!target.ok()) return fail_usage(target.error());
  return run_provision(o, *target);
}

}  // namespace

void add_provision_command(CLI::App& app, CommandContext ctx) {
  auto f = std::make_shared<ProvisionFlags>();
  auto* cmd = app.add_subcommand("provision", "create (or ensure, or rotate) one repository token per repository");
  cmd->add_option("--match", f->match, "glob of repository names to include (repeatable; default all)")->type_name("GLOB");
  cmd->add_option("--exclude", f->exclude, "glob of repository names to leave out (repeatable)")->type_name("GLOB");
  cmd->add_option("--repos-file", f->repos_file, "file of repository names, one a line (# comments)")->type_name("FILE");
  cmd->add_option("--mode", f->mode, "ensure (default: skip repositories that have one), create, rotate")
      ->type_name("MODE")
      ->check(CLI::IsMember({"ensure", "create", "rotate"}));
  cmd->add_option("--overlap", f->overlap, "rotate: keep old tokens this long (e.g. 10m, 1d) before revoking")
      ->type_name("DURATION");
  cmd->add_option("--name", f->name, "token name (default ci-coverage); created tokens get a unique suffix")->type_name("NAME");
  cmd->add_option("--expires", f->expires, "lifetime (90d) or expiry date (2027-01-31); default: the server's")
      ->type_name("DURATION|DATE");
  cmd->add_option("--concurrency", f->concurrency, "parallel requests (default 8)")->type_name("N");
  cmd->add_option("--rate", f->rate, "request ceiling with its unit: 50/s, 3000/min, 2500/5m (the server's limit applies anyway)")
      ->type_name("RATE");
  cmd->add_option("-o,--output", f->output, "write the tokens to FILE (atomically, mode 0600); - for stdout")->type_name("FILE");
  cmd->add_option("--format", f->format, "csv (repository,token; default), json or env")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"csv", "json", "env"}));
  cmd->add_option("--exec", f->exec, "run CMD per token, token on stdin, REPOTOKENS_PROVIDER/_ORG/_REPO set")->type_name("CMD");
  cmd->add_option("--exec-timeout", f->exec_timeout, "seconds a --exec command may run (default 120)")->type_name("SECONDS");
  cmd->add_option("--state", f->state, "journal file (default under $XDG_STATE_HOME/repotokens/)")->type_name("FILE");
  cmd->add_flag("-y,--yes", f->yes, "do not ask for confirmation");
  cmd->add_flag("-n,--dry-run", f->dry_run, "show the plan and the selected repositories; change nothing");
  cmd->add_flag("--show-secrets", f->show_secrets, "allow secrets on a terminal");
  cmd->add_flag("--force", f->force, "replace an existing --output file that is not an earlier output of this format");
  set_examples(cmd, {"repotokens provision --provider gh --org acme --yes -o tokens.csv",
                     "repotokens provision --provider gh --org acme --match 'service-*' --rate 2500/5m \\\n"
                     "      --exec 'gh secret set CODACY_PROJECT_TOKEN --repo \"$REPOTOKENS_ORG/$REPOTOKENS_REPO\"'",
                     "repotokens provision --provider gh --org acme --mode rotate --overlap 10m --yes -o tokens.csv"});
  GlobalOptions& g = ctx.global;
  cmd->callback([f, &g, &action = ctx.action] { action = [f, &g] { return run(*f, g); }; });
}

}  // namespace rt::cli
