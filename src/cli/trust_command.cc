// `repotokens trust add|list|remove`: which CI jobs may exchange their OIDC identity for a token of a
// repository (repotokensd's trust rules, docs/ci-oidc.md). `trust add` is idempotent (a repository that
// already has an identical rule gets no second one) and, with --match instead of --repo, adds one rule per
// repository of the organization, each bound to that repository's GitHub id (its remoteIdentifier).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/delivery.h"
#include "cli/inputs.h"
#include "cli/provision_plan.h"

namespace rt::cli {
namespace {

using client::CiTrustRuleInfo;
using client::NewCiTrustRule;

struct TrustFlags {
  std::string repo, issuer, audience, format = "table";
  std::vector<std::string> claims, match, exclude;
  int lifetime_minutes = 0;
  std::int64_t id = 0;
  bool binds_only_names = false, yes = false, dry_run = false;
};

// The server's default lifetime of an issued token (API.md), for comparing a rule that did not name one.
constexpr int kDefaultLifetimeMinutes = 15;

// The issuer a provider's hosted CI signs with, when --issuer is not given.
std::string default_issuer(const std::string& provider) {
  if (provider == "gh") return "https://token.actions.githubusercontent.com";
  if (provider == "gl") return "https://gitlab.com";
  return {};
}

std::string strip_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Would adding `want` give the repository a second copy of `have`? Without --audience the rule takes the
// server's default audience, which a listing shows filled in: then any audience counts as the same.
bool same_rule(const CiTrustRuleInfo& have, const NewCiTrustRule& want) {
  if (strip_slash(have.issuer) != strip_slash(want.issuer)) return false;
  if (want.audience && have.audience != *want.audience) return false;
  if (have.lifetime_minutes != want.lifetime_minutes.value_or(kDefaultLifetimeMinutes)) return false;
  std::map<std::string, std::string> a(have.claims.begin(), have.claims.end()), b(want.claims.begin(), want.claims.end());
  return a == b;
}

std::string claims_text(const std::vector<std::pair<std::string, std::string>>& claims) {
  std::string text;
  for (const auto& [n, v] : claims) text += (text.empty() ? "" : " ") + n + "=" + v;
  return text;
}

// The rule the flags describe (without the per-repository id of a bulk run); a usage problem is `invalid`.
Result<NewCiTrustRule> rule_from(const TrustFlags& f, const Target& t) {
  NewCiTrustRule rule;
  rule.issuer = !f.issuer.empty() ? f.issuer : default_issuer(t.provider);
  if (rule.issuer.empty())
    return make_error(ErrorKind::invalid, "--issuer is required for --provider " + t.provider +
                                              " (e.g. https://github.example.com/_services/token)");
  if (!f.audience.empty()) rule.audience = f.audience;
  if (f.lifetime_minutes != 0) {
    if (f.lifetime_minutes < 1 || f.lifetime_minutes > 60)
      return make_error(ErrorKind::invalid, "--lifetime-minutes: must be 1..60 (default 15)");
    rule.lifetime_minutes = f.lifetime_minutes;
  }
  RT_TRY(rule.claims, parse_claims(f.claims));
  rule.binds_only_names = f.binds_only_names;
  return rule;
}

enum class AddOutcome { added, present, failed };

// Adds `rule` to one repository unless an identical rule is there; prints what happened (stdout) or why
// not (stderr).
AddOutcome add_one(Session& s, const std::string& repo, const NewCiTrustRule& rule, int& exit_status) {
  const std::string where = s.target.provider + "/" + s.target.org + "/" + repo;
  auto rules = s.api.list_ci_trust_rules(s.target.provider, s.target.org, repo);
  if (!rules.ok()) {
    exit_status = report(rules.error(), s.target);
    return AddOutcome::failed;
  }
  for (const auto& have : *rules)
    if (same_rule(have, rule)) {
      std::printf("%s already has this rule (id %lld); nothing added\n", where.c_str(), static_cast<long long>(have.id));
      return AddOutcome::present;
    }
  auto added = s.api.add_ci_trust_rule(s.target.provider, s.target.org, repo, rule);
  if (!added.ok()) {
    Error e = added.error();
    if (e.message.find("bindsOnlyNames") != std::string::npos)
      e.message += " (the CLI's --binds-only-names)";
    std::fprintf(stderr, "%s: ", where.c_str());
    exit_status = report(e, s.target);
    return AddOutcome::failed;
  }
  std::printf("added trust rule %lld to %s: issuer %s, audience %s, claims %s, tokens live %d min\n",
              static_cast<long long>(added->id), where.c_str(), added->issuer.c_str(), added->audience.c_str(),
              claims_text(added->claims).c_str(), added->lifetime_minutes);
  return AddOutcome::added;
}

// A GitHub repository id: the digits Codacy keeps as a GitHub repository's remoteIdentifier. Anything
// else (repotokensd's "owner/name" default, an empty field) is not an id and is never guessed from.
bool is_github_id(const std::string& text) {
  return !text.empty() && text.size() <= 20 && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

int run_bulk_add(const TrustFlags& f, Session& s, const NewCiTrustRule& base) {
  const Target& t = s.target;
  if (t.provider != "gh" && t.provider != "ghe")
    return usage_error("--match: a bulk rule binds each repository by its GitHub repository_id, known only for --provider "
                       "gh or ghe; add rules one at a time with --repo and a --claim of the repository's id");
  for (const auto& [name, value] : base.claims)
    if (name == "repository_id")
      return usage_error("--claim repository_id: with --match each repository's own id is bound; leave it out");
  Selection selection{f.match, f.exclude, std::nullopt};
  std::vector<std::pair<std::string, std::string>> mapped;  // repository, its GitHub id
  std::vector<std::string> no_id;
  Status walked = s.api.for_each_repository(t.provider, t.org, "", [&](const client::RepositorySummary& r) {
    if (!selection.selects(r.name)) return;
    if (is_github_id(r.remote_identifier)) mapped.emplace_back(r.name, r.remote_identifier);
    else no_id.push_back(r.name);
  });
  if (!walked.ok()) return report(walked.error(), t);
  const std::string where = t.provider + "/" + t.org;
  if (mapped.empty() && no_id.empty()) {
    std::fprintf(stderr, "error: no repository of %s matches --match; nothing was changed\n", where.c_str());
    return kExitFailure;
  }
  // The plan: which repositories get a rule, which have it already, which cannot be bound.
  std::vector<std::pair<std::string, NewCiTrustRule>> to_add;
  std::size_t present = 0;
  for (const auto& [repo, id] : mapped) {
    NewCiTrustRule rule = base;
    rule.claims.insert(rule.claims.begin(), std::pair<std::string, std::string>("repository_id", id));
    auto rules = s.api.list_ci_trust_rules(t.provider, t.org, repo);
    if (!rules.ok()) return report(rules.error(), t);
    if (std::any_of(rules->begin(), rules->end(), [&](const CiTrustRuleInfo& r) { return same_rule(r, rule); })) ++present;
    else to_add.emplace_back(repo, std::move(rule));
  }
  if (!no_id.empty()) {  // named in one line, the first few only: a big organization may have hundreds
    constexpr std::size_t kNamed = 3;
    std::string names;
    for (std::size_t i = 0; i < std::min(no_id.size(), kNamed); ++i) names += (i ? ", " : "") + where + "/" + no_id[i];
    if (no_id.size() > kNamed) names += ", and " + std::to_string(no_id.size() - kNamed) + " more";
    std::fprintf(stderr, "skipped %zu %s without a GitHub repository id (a remoteIdentifier that is not one): %s; "
                         "add %s with --repo and --claim repository_id=ID\n",
                 no_id.size(), no_id.size() == 1 ? "repository" : "repositories", names.c_str(),
                 no_id.size() == 1 ? "its rule" : "their rules");
  }
  std::fprintf(stderr, "plan: trust rule (issuer %s, claims repository_id=<each repository's id>%s%s) for %zu "
                       "repositories of %s: %zu to add, %zu already have it, %zu skipped (no repository id)\n",
               base.issuer.c_str(), base.claims.empty() ? "" : " ", claims_text(base.claims).c_str(),
               mapped.size() + no_id.size(), where.c_str(), to_add.size(), present, no_id.size());
  if (f.dry_run) {
    for (const auto& [repo, rule] : to_add) std::printf("add %s (repository_id %s)\n", repo.c_str(), rule.claims[0].second.c_str());
    std::fprintf(stderr, "dry run: nothing was changed\n");
    return kExitOk;
  }
  if (!to_add.empty() && !f.yes) {
    if (!is_terminal(0) || !is_terminal(2))
      return usage_error("refusing to add trust rules to " + std::to_string(to_add.size()) +
                         " repositories without confirmation: not a terminal; pass --yes");
    std::fprintf(stderr, "Add trust rules to %zu repositories in %s? [y/N] ", to_add.size(), where.c_str());
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer) || !is_yes(answer)) {
      std::fprintf(stderr, "cancelled; nothing was changed\n");
      return kExitCancelled;
    }
  }
  std::size_t added = 0, failed = 0;
  int status = kExitOk;
  for (const auto& [repo, rule] : to_add) {
    // Listed again just before: another run may have added it since the plan.
    switch (add_one(s, repo, rule, status)) {
      case AddOutcome::added: ++added; break;
      case AddOutcome::present: ++present; break;
      case AddOutcome::failed: ++failed; break;
    }
  }
  std::fprintf(stderr, "added %zu, already present %zu, skipped %zu (no repository id), failed %zu\n", added, present,
               no_id.size(), failed);
  return failed ? std::max(status, kExitFailure) : kExitOk;
}

int run_add(const TrustFlags& f, const GlobalOptions& g) {
  if (f.repo.empty() == f.match.empty())
    return usage_error("give --repo NAME for one repository or --match GLOB for every matching one (not both)");
  if (!f.exclude.empty() && f.match.empty()) return usage_error("--exclude: only with --match");
  return with_session(g, true, [&](Session& s) {
    auto rule = rule_from(f, s.target);
    if (!rule.ok()) return usage_error(rule.error().message);
    if (!f.match.empty()) return run_bulk_add(f, s, *rule);
    if (rule->claims.empty())
      return usage_error("--claim: a rule needs at least one, e.g. --claim repository_id=123456 (GitHub) or --claim "
                         "project_id=42 (GitLab)");
    int status = kExitOk;
    return add_one(s, f.repo, *rule, status) == AddOutcome::failed ? status : kExitOk;
  });
}

int run_list(const TrustFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    auto rules = s.api.list_ci_trust_rules(s.target.provider, s.target.org, f.repo);
    if (!rules.ok()) return report(rules.error(), s.target);
    if (list_format(f.format) == ListFormat::json) {  // claims stay an object here
      nlohmann::json list = nlohmann::json::array();
      for (const auto& r : *rules) {
        nlohmann::json claims = nlohmann::json::object();
        for (const auto& [n, v] : r.claims) claims[n] = v;
        nlohmann::json item = {{"id", r.id},          {"issuer", r.issuer},
                               {"audience", r.audience}, {"claims", claims},
                               {"lifetimeMinutes", r.lifetime_minutes}, {"bindsOnlyNames", r.binds_only_names},
                               {"createdBy", r.created_by}};
        if (r.created_at) item["createdAt"] = format_rfc3339(*r.created_at);
        list.push_back(std::move(item));
      }
      std::fputs((list.dump(2) + "\n").c_str(), stdout);
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : *rules)
      rows.push_back({std::to_string(r.id), r.issuer, r.audience, claims_text(r.claims), std::to_string(r.lifetime_minutes),
                      r.binds_only_names ? "yes" : "no", time_text(r.created_at), r.created_by});
    static const std::vector<Column> columns{{"id", "id", true},         {"issuer", "issuer"},
                                             {"audience", "audience"},   {"claims", "claims"},
                                             {"lifetimeMinutes", "minutes", true}, {"bindsOnlyNames", "names only"},
                                             {"createdAt", "created"},   {"createdBy", "by"}};
    std::fputs(render_table(columns, rows, list_format(f.format)).c_str(), stdout);
    return kExitOk;
  });
}

int run_remove(const TrustFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    auto done = s.api.delete_ci_trust_rule(s.target.provider, s.target.org, f.repo, f.id);
    if (!done.ok()) return report(done.error(), s.target);
    if (!g.quiet)
      std::fprintf(stderr, "removed trust rule %lld of %s/%s/%s\n", static_cast<long long>(f.id),
                   s.target.provider.c_str(), s.target.org.c_str(), f.repo.c_str());
    return kExitOk;
  });
}

}  // namespace

void add_trust_command(CLI::App& app, CommandContext ctx) {
  auto* trust = app.add_subcommand("trust", "repotokensd: which CI jobs may exchange their OIDC identity for a token");
  trust->require_subcommand(1);
  GlobalOptions& g = ctx.global;
  Action& action = ctx.action;

  auto af = std::make_shared<TrustFlags>();
  auto* add = trust->add_subcommand("add", "add a trust rule to a repository (--repo) or to every matching one (--match)");
  add->add_option("--repo", af->repo, "repository name")->type_name("NAME");
  add->add_option("--match", af->match, "glob of repository names (repeatable): one rule each, bound to its GitHub id")
      ->type_name("GLOB");
  add->add_option("--exclude", af->exclude, "with --match: glob of repository names to leave out (repeatable)")
      ->type_name("GLOB");
  add->add_option("--issuer", af->issuer,
                  "the CI system's issuer URL (default for gh: https://token.actions.githubusercontent.com, gl: "
                  "https://gitlab.com)")
      ->type_name("URL");
  add->add_option("--audience", af->audience, "the aud the job's token must carry (default: the server's --ci-audience)")
      ->type_name("AUD");
  add->add_option("--claim", af->claims, "NAME=VALUE the job's token must carry; * globs in values (repeatable)")
      ->type_name("NAME=VALUE");
  add->add_flag("--binds-only-names", af->binds_only_names,
                "allow a rule with no immutable id claim (repository_id, project_id, ...)");
  add->add_option("--lifetime-minutes", af->lifetime_minutes, "lifetime of an issued token, 1..60 (default 15)")
      ->type_name("N");
  add->add_flag("-y,--yes", af->yes, "with --match: do not ask for confirmation");
  add->add_flag("-n,--dry-run", af->dry_run, "with --match: show the plan; change nothing");
  add->callback([af, &g, &action] { action = [af, &g] { return run_add(*af, g); }; });
  set_examples(add, {"repotokens trust add --provider gh --org acme --repo api --claim repository_id=123456 \\\n"
                     "      --claim 'ref=refs/heads/main'",
                     "repotokens trust add --provider gh --org acme --match 'service-*' --claim 'ref=refs/heads/*' --yes",
                     "repotokens trust add --provider gl --org acme --repo api --issuer https://gitlab.example.com \\\n"
                     "      --claim project_id=42"});

  auto lf = std::make_shared<TrustFlags>();
  auto* list = trust->add_subcommand("list", "list a repository's trust rules");
  list->add_option("--repo", lf->repo, "repository name")->required()->type_name("NAME");
  add_list_format_option(list, lf->format);
  list->callback([lf, &g, &action] { action = [lf, &g] { return run_list(*lf, g); }; });
  set_examples(list, {"repotokens trust list --provider gh --org acme --repo api"});

  auto rf = std::make_shared<TrustFlags>();
  auto* remove = trust->add_subcommand("remove", "remove a trust rule (tokens it issued stay until they expire)");
  remove->add_option("--repo", rf->repo, "repository name")->required()->type_name("NAME");
  remove->add_option("--id", rf->id, "rule id (trust list shows it)")->required()->type_name("ID");
  remove->callback([rf, &g, &action] { action = [rf, &g] { return run_remove(*rf, g); }; });
  set_examples(remove, {"repotokens trust remove --provider gh --org acme --repo api --id 3"});
  set_examples(trust, {"repotokens trust add --provider gh --org acme --repo api --claim repository_id=123456",
                       "repotokens trust list --provider gh --org acme --repo api"});
}

}  // namespace rt::cli
