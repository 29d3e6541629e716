// `repotokens expiring --within 14d`: every repository token of an organization that expires within the
// window (or has expired), for alerting: exit 1 when there is any, 0 when none.
#include <cstdio>
#include <mutex>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "cli/worker_pool.h"

namespace rt::cli {
namespace {

struct ExpiringFlags {
  std::string within = "14d";
  std::string format = "table";
  std::string name;
  int concurrency = 8;
};

int run(const ExpiringFlags& f, const GlobalOptions& g) {
  auto window = parse_duration_option(f.within, "--within");
  if (!window.ok()) return usage_error(window.error().message);
  return with_session(g, true, [&](Session& s) {
    std::vector<std::string> repos;
    auto listed = s.api.for_each_repository(s.target.provider, s.target.org, "",
                                            [&](const client::RepositorySummary& r) { repos.push_back(r.name); });
    if (!listed.ok()) return report(listed.error(), s.target);
    const UnixTime now = SystemClock().now(), horizon = now + *window;
    std::mutex mu;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> failures;
    int failure_status = kExitFailure;  // kExitAuth once any repository's listing refused the credential
    client::Pacer pacer(0, f.concurrency);
    run_parallel(f.concurrency, repos.size(), s.target.connection, pacer, s.stats, [&](client::ApiClient& api, std::size_t i) {
      auto tokens = api.list_repository_tokens(s.target.provider, s.target.org, repos[i]);
      std::lock_guard lock(mu);
      if (!tokens.ok()) {
        failures.push_back(repos[i] + ": " + tokens.error().message);
        if (exit_status_for(tokens.error()) == kExitAuth) failure_status = kExitAuth;
        return;
      }
      for (const auto& t : *tokens)
        if (t.expires_at && *t.expires_at <= horizon && (f.name.empty() || t.name.starts_with(f.name)))
          rows.push_back({repos[i], std::to_string(t.id), t.name, format_rfc3339(*t.expires_at),
                          *t.expires_at <= now ? "expired" : "expiring"});
    });
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a[3] < b[3]; });
    ListFormat format = list_format(f.format);
    if (!rows.empty() || format != ListFormat::table)
      std::fputs(render_table({{"repository", "repository"},
                               {"id", "id", true},
                               {"name", "name"},
                               {"expiresAt", "expires"},
                               {"state", "state"}},
                              rows, format)
                     .c_str(),
                 stdout);
    for (const auto& failure : failures) std::fprintf(stderr, "error: %s\n", failure.c_str());
    if (!g.quiet)
      std::fprintf(stderr, "%zu token(s) in %s/%s expire within %s\n", rows.size(), s.target.provider.c_str(),
                   s.target.org.c_str(), f.within.c_str());
    if (!failures.empty()) return failure_status;
    return rows.empty() ? kExitOk : kExitFailure;
  });
}

}  // namespace

void add_expiring_command(CLI::App& app, CommandContext ctx) {
  auto f = std::make_shared<ExpiringFlags>();
  auto* cmd = app.add_subcommand("expiring", "list tokens that expire soon across an organization (exit 1 when any)");
  cmd->add_option("--within", f->within, "window, e.g. 14d (default), 48h")->type_name("DURATION");
  cmd->add_option("--name", f->name, "only tokens whose name starts with this")->type_name("PREFIX");
  add_list_format_option(cmd, f->format);
  cmd->add_option("--concurrency", f->concurrency, "parallel requests (default 8)")->type_name("N")->check(CLI::Range(1, 256));
  set_examples(cmd, {"repotokens expiring --provider gh --org acme --within 14d || notify-team",
                     "repotokens expiring --within 30d --name ci-coverage --format json"});
  GlobalOptions& g = ctx.global;
  cmd->callback([f, &g, &action = ctx.action] { action = [f, &g] { return run(*f, g); }; });
}

}  // namespace rt::cli
