// `repotokens user add`: creates a user on repotokensd (instance admin only) and, with --issue-token,
// that user's first account API token, printed once where it is safe to print.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/delivery.h"
#include "cli/inputs.h"

namespace rt::cli {
namespace {

struct UserFlags {
  std::string name, email, expires;
  bool admin = false, issue_token = false, show_secrets = false;
};

int run_add(const UserFlags& f, const GlobalOptions& g) {
  std::optional<UnixTime> expires;
  if (!f.expires.empty()) {
    auto at = parse_expiry(f.expires, SystemClock().now());
    if (!at.ok()) return usage_error(at.error().message);
    expires = *at;
  }
  if (f.issue_token && is_terminal(1) && !f.show_secrets)
    return usage_error("--issue-token: the token is not printed on a terminal; pipe the output or pass --show-secrets");
  return with_session(g, false, [&](Session& s) {
    auto user = s.api.create_user(f.name, f.email, f.admin);
    if (!user.ok()) return report(user.error(), s.target);
    std::fprintf(stderr, "created user %s (id %lld)\n", user->name.c_str(), static_cast<long long>(user->id));
    if (!f.issue_token) {
      std::printf("%lld\n", static_cast<long long>(user->id));
      return kExitOk;
    }
    auto token = s.api.issue_user_token(user->id, expires);
    if (!token.ok()) return report(token.error(), s.target);
    std::printf("%s\n", token->secret.c_str());
    return kExitOk;
  });
}

}  // namespace

void add_user_command(CLI::App& app, CommandContext ctx) {
  auto* user = app.add_subcommand("user", "users (repotokensd administration)");
  user->require_subcommand(1);
  auto f = std::make_shared<UserFlags>();
  auto* add = user->add_subcommand("add", "create a user; prints its id, or its first API token with --issue-token");
  add->add_option("--name", f->name, "user name")->required()->type_name("NAME");
  add->add_option("--email", f->email, "e-mail address")->type_name("EMAIL");
  add->add_flag("--instance-admin", f->admin, "make the user an instance admin");
  add->add_flag("--issue-token", f->issue_token, "issue and print the user's first account API token");
  add->add_option("--expires", f->expires, "lifetime (90d) or date of the issued token")->type_name("DURATION|DATE");
  add->add_flag("--show-secrets", f->show_secrets, "allow the token on a terminal");
  set_examples(add, {"repotokens user add --name ci-bot",
                     "repotokens user add --name ops --instance-admin --issue-token --expires 90d > ops.token"});
  set_examples(user, {"repotokens user add --name ci-bot"});
  GlobalOptions& g = ctx.global;
  add->callback([f, &g, &action = ctx.action] { action = [f, &g] { return run_add(*f, g); }; });
}

}  // namespace rt::cli
