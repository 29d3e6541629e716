// The caller's own account (profile, account tokens, organizations) and instance administration
// (creating users and their first tokens, offline bootstrap).
#include <fmt/format.h>

#include "service/internal.h"

namespace rt {
namespace {

Status require_instance_admin(const Principal& p, std::string_view what) {
  RT_TRY_STATUS(require_user(p));
  if (p.user.is_admin) return ok_status();
  return make_error(ErrorKind::forbidden, fmt::format("only an instance admin may {}", what));
}

}  // namespace

Result<User> Service::get_user(const Principal& p) {
  RT_TRY_STATUS(require_user(p));
  return p.user;
}

Result<ListPage<AccountToken>> Service::list_user_tokens(const Principal& p, const PageRequest& page) {
  RT_TRY_STATUS(require_user(p));
  const std::string scope = fmt::format("user-tokens:{}", p.user.id);
  RT_TRY(std::optional<Id> before, cursor_id(cursors_, scope, page));
  RT_TRY(Page<AccountToken> rows, timed("list_account_tokens", [&] {
           return store_.list_account_tokens(p.user.id, before, page.limit);
         }));
  return to_list_page<AccountToken>(cursors_, scope, std::move(rows), page.limit,
                                    [](const AccountToken& t) { return std::to_string(t.id); });
}

Result<IssuedAccountToken> Service::create_user_token(const Principal& p, std::optional<std::string> expires_at) {
  RT_TRY_STATUS(require_user(p));
  return issue_user_token_unchecked(p.user.id, expires_at);
}

Result<IssuedAccountToken> Service::issue_user_token_unchecked(Id user_id, const std::optional<std::string>& expires_at) {
  const UnixTime now = clock_.now();
  RT_TRY(std::optional<UnixTime> expires, check_future_time("expiresAt", expires_at, now));
  IssuedAccountToken issued;
  issued.secret = generate_token(TokenKind::account, random_);
  RT_TRY(issued.token, timed("create_account_token", [&] {
           return store_.create_account_token(user_id, hasher_.hash_token(issued.secret), now, expires);
         }));
  metrics::add("repotokens_tokens_created_total", "kind=\"account\"");
  return issued;
}

Status Service::delete_user_token(const Principal& p, Id token_id) {
  RT_TRY_STATUS(require_user(p));
  auto st = timed("delete_account_token", [&] { return store_.delete_account_token(p.user.id, token_id); });
  invalidate_caches();
  if (!st.ok() && st.error().kind == ErrorKind::not_found)
    return make_error(ErrorKind::not_found, fmt::format("you have no account token with id {}", token_id));
  if (st.ok()) metrics::add("repotokens_tokens_revoked_total", "kind=\"account\"");
  return st;
}

Result<ListPage<OrganizationMembership>> Service::list_user_organizations(const Principal& p,
                                                                          std::optional<std::string> provider,
                                                                          const PageRequest& page) {
  RT_TRY_STATUS(require_user(p));
  std::optional<Provider> prov;
  if (provider) {
    RT_TRY(Provider parsed, check_provider(*provider));
    prov = parsed;
  }
  const std::string scope = fmt::format("orgs:{}:{}", p.user.id, provider.value_or("*"));
  RT_TRY(std::optional<Id> after, cursor_id(cursors_, scope, page));
  RT_TRY(Page<OrganizationMembership> rows, timed("list_organizations", [&] {
           return store_.list_organizations(p.user.id, p.user.is_admin, prov, after, page.limit);
         }));
  if (p.user.is_admin)
    for (auto& m : rows.items) m.role = OrgRole::admin;
  return to_list_page<OrganizationMembership>(
      cursors_, scope, std::move(rows), page.limit,
      [](const OrganizationMembership& m) { return std::to_string(m.organization.id); });
}

Result<User> Service::create_user(const Principal& p, const NewUserRequest& req) {
  RT_TRY_STATUS(require_instance_admin(p, "create users"));
  return create_user_unchecked(req);
}

Result<User> Service::create_user_unchecked(const NewUserRequest& req) {
  RT_TRY_STATUS(check_user_name(req.name));
  if (req.email) RT_TRY_STATUS(check_email(*req.email));
  NewUser u{req.name, req.email, req.is_admin, clock_.now()};
  return timed("create_user", [&] { return store_.create_user(u); });
}

Result<IssuedAccountToken> Service::issue_user_token(const Principal& p, Id user_id,
                                                     std::optional<std::string> expires_at) {
  RT_TRY_STATUS(require_instance_admin(p, "issue tokens for other users"));
  auto user = timed("get_user", [&] { return store_.get_user(user_id); });
  if (!user.ok())
    return user.error().kind == ErrorKind::not_found
               ? make_error(ErrorKind::not_found, fmt::format("no user with id {}", user_id))
               : user.error();
  return issue_user_token_unchecked(user_id, expires_at);
}

Result<IssuedAccountToken> Service::bootstrap_user(const NewUserRequest& req) {
  RT_TRY(User user, create_user_unchecked(req));
  return issue_user_token_unchecked(user.id, std::nullopt);
}

}  // namespace rt
