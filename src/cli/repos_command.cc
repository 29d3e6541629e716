// `repotokens repos list`: every repository of an organization (all pages), as a table, CSV or JSON.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace rt::cli {
namespace {

struct ReposListFlags {
  std::string search;
  std::string format = "table";
};

int run_list(const ReposListFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    std::vector<std::vector<std::string>> rows;
    auto status = s.api.for_each_repository(s.target.provider, s.target.org, f.search, [&](const client::RepositorySummary& r) {
      rows.push_back({r.name, r.visibility, r.permission});
    });
    if (!status.ok()) return report(status.error(), s.target);
    ListFormat format = list_format(f.format);
    std::fputs(render_table({{"name", "name"}, {"visibility", "visibility"}, {"permission", "permission"}}, rows, format).c_str(),
               stdout);
    return kExitOk;
  });
}

}  // namespace

void add_repos_command(CLI::App& app, CommandContext ctx) {
  auto* repos = app.add_subcommand("repos", "repositories of an organization");
  repos->require_subcommand(1);
  auto f = std::make_shared<ReposListFlags>();
  auto* list = repos->add_subcommand("list", "list every repository (all pages)");
  list->add_option("--search", f->search, "only names containing this text (server-side search)")->type_name("TEXT");
  add_list_format_option(list, f->format);
  set_examples(list, {"repotokens repos list --provider gh --org acme",
                      "repotokens repos list --search service- --format csv"});
  set_examples(repos, {"repotokens repos list --provider gh --org acme"});
  GlobalOptions& g = ctx.global;
  list->callback([f, &g, &action = ctx.action] { action = [f, &g] { return run_list(*f, g); }; });
}

}  // namespace rt::cli
