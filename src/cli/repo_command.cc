// `repotokens repo add NAME` and `repo import FILE`: adds repositories to an organization, the latter many
// at once (concurrently, under the pacer); a repository that already exists counts as done.
#include <atomic>
#include <cstdio>
#include <mutex>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "cli/worker_pool.h"

namespace rt::cli {
namespace {

struct RepoFlags {
  std::string name, file, visibility, remote_identifier;
  int concurrency = 8;
  std::string rate;
};

int run_add(const RepoFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    auto made = s.api.add_repository(s.target.provider, s.target.org, f.name, f.visibility, f.remote_identifier);
    if (!made.ok()) return report(made.error(), s.target);
    if (!g.quiet) std::fprintf(stderr, "added repository %s/%s/%s\n", s.target.provider.c_str(), s.target.org.c_str(), f.name.c_str());
    return kExitOk;
  });
}

int run_import(const RepoFlags& f, const GlobalOptions& g) {
  auto names = read_repository_file(f.file);
  if (!names.ok()) return usage_error(names.error().message);
  double rate = 0;
  if (!f.rate.empty()) {
    auto r = parse_rate(f.rate);
    if (!r.ok()) return usage_error(r.error().message);
    rate = *r;
  }
  return with_session(g, true, [&](Session& s) {
    client::Pacer pacer(rate, f.concurrency);
    std::atomic<std::size_t> added{0}, existed{0};
    std::mutex mu;
    std::vector<std::string> failures;
    std::optional<Error> fatal;
    run_parallel(f.concurrency, names->size(), s.target.connection, pacer, s.stats, [&](client::ApiClient& api, std::size_t i) {
      if (fatal) return;
      auto made = api.add_repository(s.target.provider, s.target.org, (*names)[i], f.visibility);
      if (made.ok()) { ++added; return; }
      if (made.error().kind == ErrorKind::conflict) { ++existed; return; }
      std::lock_guard lock(mu);
      if (made.error().kind == ErrorKind::unauthorized || made.error().kind == ErrorKind::expired ||
          made.error().kind == ErrorKind::forbidden)
        fatal = made.error();
      failures.push_back((*names)[i] + ": " + made.error().message);
    });
    if (fatal) return report(*fatal, s.target);
    for (std::size_t k = 0; k < failures.size() && k < 20; ++k) std::fprintf(stderr, "failed: %s\n", failures[k].c_str());
    if (!g.quiet)
      std::fprintf(stderr, "imported %zu repositories into %s/%s: %zu added, %zu already there, %zu failed\n", names->size(),
                   s.target.provider.c_str(), s.target.org.c_str(), added.load(), existed.load(), failures.size());
    return failures.empty() ? kExitOk : kExitFailure;
  });
}

}  // namespace

void add_repo_command(CLI::App& app, CommandContext ctx) {
  auto* repo = app.add_subcommand("repo", "repositories (repotokensd administration)");
  repo->require_subcommand(1);
  GlobalOptions& g = ctx.global;
  Action& action = ctx.action;
  auto af = std::make_shared<RepoFlags>();
  auto* add = repo->add_subcommand("add", "add one repository to the organization");
  add->add_option("name", af->name, "repository name")->required()->type_name("NAME");
  add->add_option("--visibility", af->visibility, "Public, Private (default) or LoginPublic")
      ->type_name("VISIBILITY")
      ->check(CLI::IsMember({"Public", "Private", "LoginPublic"}));
  add->add_option("--remote-identifier", af->remote_identifier,
                  "the provider's id of the repository (GitHub's repository id, which `trust add --match` binds); "
                  "default: its full path")
      ->type_name("ID");
  set_examples(add, {"repotokens repo add api --provider gh --org acme", "repotokens repo add site --visibility Public",
                     "repotokens repo add api --remote-identifier 123456789"});
  add->callback([af, &g, &action] { action = [af, &g] { return run_add(*af, g); }; });
  auto imf = std::make_shared<RepoFlags>();
  auto* import = repo->add_subcommand("import", "add every repository named in FILE (one a line, # comments)");
  import->add_option("file", imf->file, "file of repository names")->required()->type_name("FILE");
  import->add_option("--visibility", imf->visibility, "Public, Private (default) or LoginPublic")
      ->type_name("VISIBILITY")
      ->check(CLI::IsMember({"Public", "Private", "LoginPublic"}));
  import->add_option("--concurrency", imf->concurrency, "parallel requests (default 8)")->type_name("N")->check(CLI::Range(1, 256));
  import->add_option("--rate", imf->rate, "request ceiling with its unit, e.g. 100/s, 3000/min")->type_name("RATE");
  set_examples(import, {"repotokens repo import repos.txt --provider gh --org acme",
                        "repotokens repo import repos.txt --concurrency 4 --rate 100/s"});
  set_examples(repo, {"repotokens repo add api --provider gh --org acme", "repotokens repo import repos.txt"});
  import->callback([imf, &g, &action] { action = [imf, &g] { return run_import(*imf, g); }; });
}

}  // namespace rt::cli
