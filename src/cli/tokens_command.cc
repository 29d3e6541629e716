// `repotokens tokens list|create|revoke`: one repository's tokens. Lists never show secrets; create shows
// its secret only where it is safe (a file, a pipe, or a terminal with --show-secrets).
#include <algorithm>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/delivery.h"
#include "cli/inputs.h"

namespace rt::cli {
namespace {

struct TokensFlags {
  std::string repo, format = "table", name, expires, output, revoke_name;
  std::vector<std::int64_t> ids;
  bool expired = false, show_secrets = false;
};

int usage(const std::string& message) { return usage_error(message); }

int run_list(const TokensFlags& f, const GlobalOptions& g) {
  return with_session(g, true, [&](Session& s) {
    auto tokens = s.api.list_repository_tokens(s.target.provider, s.target.org, f.repo);
    if (!tokens.ok()) return report(tokens.error(), s.target);
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : *tokens)
      rows.push_back({std::to_string(t.id), t.name, time_text(t.created_at), time_text(t.expires_at), time_text(t.last_used_at)});
    ListFormat format = list_format(f.format);
    static const std::vector<Column> columns{{"id", "id", true},
                                             {"name", "name"},
                                             {"createdAt", "created"},
                                             {"expiresAt", "expires"},
                                             {"lastUsedAt", "last used"}};
    std::fputs(render_table(columns, rows, format).c_str(), stdout);
    return kExitOk;
  });
}

int run_create(const TokensFlags& f, const GlobalOptions& g) {
  std::optional<UnixTime> expires;
  if (!f.expires.empty()) {
    auto at = parse_expiry(f.expires, SystemClock().now());
    if (!at.ok()) return usage(at.error().message);
    expires = *at;
  }
  if (!f.name.empty())
    if (auto s = check_token_name(f.name, 100); !s.ok()) return usage(s.error().message);
  if (f.output.empty() && is_terminal(1) && !f.show_secrets)
    return usage("--output: the secret is not printed on a terminal; use --output FILE, pipe the output, or --show-secrets");
  return with_session(g, true, [&](Session& s) {
    auto made = s.api.create_repository_token(s.target.provider, s.target.org, f.repo,
                                              f.name.empty() ? std::nullopt : std::optional(f.name), expires);
    if (!made.ok()) return report(made.error(), s.target);
    DeliveredSecret secret{s.target.provider, s.target.org, f.repo, made->id, made->name, made->secret, made->expires_at};
    std::fprintf(stderr, "created token %lld (%s) for %s/%s/%s%s\n", static_cast<long long>(made->id), made->name.c_str(),
                 s.target.provider.c_str(), s.target.org.c_str(), f.repo.c_str(),
                 made->expires_at ? (", expires " + format_rfc3339(*made->expires_at)).c_str() : "");
    if (!f.output.empty()) {
      if (auto w = write_file_atomically(f.output, render_secrets({secret}, OutputFormat::csv)); !w.ok())
        return usage(w.error().message);
    } else {
      std::printf("%s\n", made->secret.c_str());
    }
    return kExitOk;
  });
}

int run_revoke(const TokensFlags& f, const GlobalOptions& g) {
  int ways = !f.ids.empty() + !f.revoke_name.empty() + f.expired;
  if (ways != 1) return usage("tokens revoke: give exactly one of --id, --name, --expired");
  return with_session(g, true, [&](Session& s) {
    const std::string where = s.target.provider + "/" + s.target.org + "/" + f.repo;
    auto tokens = s.api.list_repository_tokens(s.target.provider, s.target.org, f.repo);
    if (!tokens.ok()) return report(tokens.error(), s.target);
    std::vector<std::int64_t> ids;
    if (!f.ids.empty()) {
      // Every id must be one of this repository's tokens; otherwise nothing is revoked.
      std::vector<std::string> foreign;
      for (auto id : f.ids) {
        bool here = std::any_of(tokens->begin(), tokens->end(), [&](const auto& t) { return t.id == id; });
        if (here) ids.push_back(id);
        else foreign.push_back(std::to_string(id));
      }
      if (!foreign.empty()) {
        std::string list;
        for (const auto& id : foreign) list += (list.empty() ? "" : ", ") + id;
        std::fprintf(stderr, "error: token%s %s %s not among the tokens of %s (no such token, or it belongs to "
                             "another repository; see 'repotokens tokens list --repo %s'); nothing was revoked\n",
                     foreign.size() == 1 ? "" : "s", list.c_str(), foreign.size() == 1 ? "is" : "are", where.c_str(),
                     f.repo.c_str());
        return kExitFailure;
      }
    } else {
      const UnixTime now = SystemClock().now();
      for (const auto& t : *tokens)
        if (f.expired ? !t.live_at(now) : t.name == f.revoke_name) ids.push_back(t.id);
    }
    int failed = 0, status = kExitOk;
    for (auto id : ids) {
      auto st = s.api.delete_repository_token(s.target.provider, s.target.org, f.repo, id);
      if (!st.ok()) {
        ++failed;
        status = std::max(status, exit_status_for(st.error()));
        std::fprintf(stderr, "error: token %lld: %s\n", static_cast<long long>(id), describe_error(st.error(), s.target).c_str());
      }
    }
    if (!g.quiet) std::fprintf(stderr, "revoked %zu token(s) of %s\n", ids.size() - failed, where.c_str());
    return status;
  });
}

}  // namespace

void add_tokens_command(CLI::App& app, CommandContext ctx) {
  auto* tokens = app.add_subcommand("tokens", "one repository's API tokens");
  tokens->require_subcommand(1);
  GlobalOptions& g = ctx.global;
  Action& action = ctx.action;

  auto lf = std::make_shared<TokensFlags>();
  auto* list = tokens->add_subcommand("list", "list a repository's tokens (never their secrets)");
  list->add_option("--repo", lf->repo, "repository name")->required()->type_name("NAME");
  add_list_format_option(list, lf->format);
  list->callback([lf, &g, &action] { action = [lf, &g] { return run_list(*lf, g); }; });
  set_examples(list, {"repotokens tokens list --provider gh --org acme --repo api",
                      "repotokens tokens list --repo api --format json | jq '.[] | select(.expiresAt == null) | .id'"});

  auto cf = std::make_shared<TokensFlags>();
  auto* create = tokens->add_subcommand("create", "create a token and print its secret once");
  create->add_option("--repo", cf->repo, "repository name")->required()->type_name("NAME");
  create->add_option("--name", cf->name, "token name (letters, digits, dashes); default: the server picks")->type_name("NAME");
  create->add_option("--expires", cf->expires, "lifetime (90d) or date (2027-01-31)")->type_name("DURATION|DATE");
  create->add_option("-o,--output", cf->output, "write repository,token to FILE (mode 0600) instead of stdout")
      ->type_name("FILE");
  create->add_flag("--show-secrets", cf->show_secrets, "allow the secret on a terminal");
  create->callback([cf, &g, &action] { action = [cf, &g] { return run_create(*cf, g); }; });
  set_examples(create, {"repotokens tokens create --provider gh --org acme --repo api --expires 90d -o api.csv",
                        "repotokens tokens create --repo api | gh secret set CODACY_PROJECT_TOKEN --repo acme/api"});

  auto rf = std::make_shared<TokensFlags>();
  auto* revoke = tokens->add_subcommand("revoke", "revoke tokens by id, by name, or all expired ones");
  revoke->add_option("--repo", rf->repo, "repository name")->required()->type_name("NAME");
  revoke->add_option("--id", rf->ids, "token id (repeatable)")->type_name("ID");
  revoke->add_option("--name", rf->revoke_name, "revoke every token with exactly this name")->type_name("NAME");
  revoke->add_flag("--expired", rf->expired, "revoke every expired token");
  revoke->callback([rf, &g, &action] { action = [rf, &g] { return run_revoke(*rf, g); }; });
  set_examples(revoke, {"repotokens tokens revoke --provider gh --org acme --repo api --id 2151",
                        "repotokens tokens revoke --repo api --expired"});
  set_examples(tokens, {"repotokens tokens list --provider gh --org acme --repo api",
                        "repotokens tokens revoke --repo api --expired"});
}

}  // namespace rt::cli
