// `repotokens coverage status --repo R`: a repository's most recent coverage uploads (listCoverageReports),
// as a table, CSV or JSON. Works against Codacy too, which leaves the files and coverage columns empty.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"

namespace rt::cli {
namespace {

struct CoverageStatusFlags {
  std::string repo;
  std::string format = "table";
  int limit = 20;
};

int run_status(const CoverageStatusFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    auto uploads = s.api.list_coverage_reports(s.target.provider, s.target.org, f.repo, f.limit);
    if (!uploads.ok()) return report(uploads.error(), s.target);
    const ListFormat format = list_format(f.format);
    std::vector<std::vector<std::string>> rows;
    for (const auto& u : *uploads) {
      // A refused upload stored nothing: no file count or percentage, only its reason (last, as it is long).
      const bool counted = u.status != "failed";
      std::string files = counted && u.files ? std::to_string(*u.files) : std::string(), coverage;
      if (counted && u.coverage)
        coverage = fmt::format("{:.2f}{}", *u.coverage, format == ListFormat::table ? "%" : "");
      rows.push_back({u.commit, u.language, u.status, files, coverage, time_text(u.at), u.reason});
    }
    // Keys as Codacy's CoverageReport names them (targetCommitSha, createdAt), plus repotokensd's extras.
    static const std::vector<Column> columns{{"targetCommitSha", "commit"}, {"language", "language"},
                                             {"status", "status"},          {"files", "files", true},
                                             {"coverage", "coverage", true}, {"createdAt", "uploaded"},
                                             {"reason", "reason"}};
    std::fputs(render_table(columns, rows, format).c_str(), stdout);
    return kExitOk;
  });
}

}  // namespace

void add_coverage_command(CLI::App& app, CommandContext ctx) {
  auto* coverage = app.add_subcommand("coverage", "coverage uploads of a repository");
  coverage->require_subcommand(1);
  auto f = std::make_shared<CoverageStatusFlags>();
  auto* status = coverage->add_subcommand("status", "the most recent coverage uploads (newest first)");
  status->add_option("--repo", f->repo, "repository name")->required()->type_name("NAME");
  status->add_option("--limit", f->limit, "how many uploads, 1 to 1000 (default 20)")->type_name("N")->check(CLI::Range(1, 1000));
  add_list_format_option(status, f->format);
  set_examples(status, {"repotokens coverage status --provider gh --org acme --repo api",
                        "repotokens coverage status --repo api --limit 1 --format json"});
  set_examples(coverage, {"repotokens coverage status --provider gh --org acme --repo api"});
  GlobalOptions& g = ctx.global;
  status->callback([f, &g, &action = ctx.action] { action = [f, &g] { return run_status(*f, g); }; });
}

}  // namespace rt::cli
