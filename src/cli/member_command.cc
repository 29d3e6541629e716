// `repotokens member set`: sets a user's role in the organization, or with --repo their permission on one
// repository (repotokens extensions to the API; org admin only).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace rt::cli {
namespace {

struct MemberFlags {
  std::int64_t user_id = 0;
  std::string role, repo, permission;
};

int run_set(const MemberFlags& f, const GlobalOptions& g) {
  const bool role_only = !f.role.empty() && f.repo.empty() && f.permission.empty();
  const bool permission_only = f.role.empty() && !f.repo.empty() && !f.permission.empty();
  if (!role_only && !permission_only) return usage_error("member set: give --role, or --repo with --permission");
  return with_session(g, true, [&](Session& s) {
    Status st = f.repo.empty()
                    ? s.api.set_member_role(s.target.provider, s.target.org, f.user_id, f.role)
                    : s.api.grant_repository_permission(s.target.provider, s.target.org, f.repo, f.user_id, f.permission);
    if (!st.ok()) return report(st.error(), s.target);
    return kExitOk;
  });
}

}  // namespace

void add_member_command(CLI::App& app, CommandContext ctx) {
  auto* member = app.add_subcommand("member", "organization members (repotokensd administration)");
  member->require_subcommand(1);
  auto f = std::make_shared<MemberFlags>();
  auto* set = member->add_subcommand("set", "set a user's organization role or repository permission");
  set->add_option("--user", f->user_id, "user id")->required()->type_name("ID");
  set->add_option("--role", f->role, "admin or member")->type_name("ROLE")->check(CLI::IsMember({"admin", "member"}));
  set->add_option("--repo", f->repo, "repository name (with --permission)")->type_name("NAME");
  set->add_option("--permission", f->permission, "admin, write or read")
      ->type_name("PERMISSION")
      ->check(CLI::IsMember({"admin", "write", "read"}));
  set_examples(set, {"repotokens member set --provider gh --org acme --user 7 --role member",
                     "repotokens member set --user 7 --repo api --permission write"});
  set_examples(member, {"repotokens member set --provider gh --org acme --user 7 --role admin"});
  GlobalOptions& g = ctx.global;
  set->callback([f, &g, &action = ctx.action] { action = [f, &g] { return run_set(*f, g); }; });
}

}  // namespace rt::cli
