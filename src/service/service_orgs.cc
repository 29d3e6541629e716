// Organizations: reading and adding them, their people and roles, their token policy and audit log.
#include <fmt/format.h>

#include "service/internal.h"

namespace rt {
namespace {

Status require_org_admin(const Service::Access& a, std::string_view what) {
  if (a.org_admin) return ok_status();
  return make_error(ErrorKind::forbidden, fmt::format("only an admin of {} may {}", org_path(a.org), what));
}

Result<Id> user_exists(Store& store, Id user_id) {
  auto u = timed("get_user", [&] { return store.get_user(user_id); });
  if (u.ok()) return user_id;
  if (u.error().kind == ErrorKind::not_found)
    return make_error(ErrorKind::not_found, fmt::format("no user with id {}", user_id));
  return u.error();
}

}  // namespace

Result<OrganizationMembership> Service::get_organization(const Principal& p, const OrgRef& ref) {
  RT_TRY(Access a, org_access(p, ref));
  return OrganizationMembership{std::move(a.org), a.role};
}

Result<Organization> Service::add_organization(const Principal& p, const AddOrganizationRequest& req) {
  RT_TRY_STATUS(require_user(p));
  if (!p.user.is_admin) return make_error(ErrorKind::forbidden, "only an instance admin may add organizations");
  RT_TRY(Provider provider, check_provider(req.provider));
  RT_TRY_STATUS(check_entity_name("organization", req.name));
  NewOrganization org;
  org.provider = provider;
  org.name = req.name;
  org.remote_identifier = req.remote_identifier.value_or(req.name);
  if (org.remote_identifier.empty() || org.remote_identifier.size() > 200)
    return make_error(ErrorKind::invalid, "remoteIdentifier must have 1 to 200 characters");
  if (req.type) {
    auto type = parse_org_type(*req.type);
    if (!type) return make_error(ErrorKind::invalid, "type must be \"Organization\" or \"Account\"");
    org.type = *type;
  }
  org.created_at = clock_.now();
  auto event = audit(p, std::nullopt, "organization.create", fmt::format("{}/{}", req.provider, req.name));
  return timed("create_organization", [&] { return store_.create_organization(org, p.user.id, event); });
}

Result<ListPage<Member>> Service::list_people(const Principal& p, const OrgRef& ref, const std::string& search,
                                              const PageRequest& page) {
  RT_TRY(Access a, org_access(p, ref));
  if (search.size() > 200) return make_error(ErrorKind::invalid, "search must have at most 200 characters");
  const std::string scope = fmt::format("people:{}:{}", a.org.id, search);
  RT_TRY(std::optional<Id> after, cursor_id(cursors_, scope, page));
  RT_TRY(Page<Member> rows,
         timed("list_members", [&] { return store_.list_members(a.org.id, search, after, page.limit); }));
  return to_list_page<Member>(cursors_, scope, std::move(rows), page.limit,
                              [](const Member& m) { return std::to_string(m.user.id); });
}

Status Service::set_member_role(const Principal& p, const OrgRef& ref, Id user_id, const std::string& role) {
  RT_TRY(Access a, org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "change roles"));
  auto parsed = parse_org_role(role);
  if (!parsed) return make_error(ErrorKind::invalid, "role must be \"admin\" or \"member\"");
  RT_TRY_STATUS(user_exists(store_, user_id));
  auto event = audit(p, a.org.id, "member.set", fmt::format("{} user {}", org_path(a.org), user_id),
                     fmt::format("role={}", role));
  RT_TRY_STATUS(timed("set_member", [&] { return store_.set_member(a.org.id, user_id, *parsed, event); }));
  invalidate_caches();
  return ok_status();
}

Status Service::remove_member(const Principal& p, const OrgRef& ref, Id user_id) {
  RT_TRY(Access a, org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "remove members"));
  RT_TRY(std::optional<OrgRole> role, timed("get_role", [&] { return store_.get_role(a.org.id, user_id); }));
  if (!role)
    return make_error(ErrorKind::not_found, fmt::format("user {} is not a member of {}", user_id, org_path(a.org)));
  auto event = audit(p, a.org.id, "member.remove", fmt::format("{} user {}", org_path(a.org), user_id));
  RT_TRY_STATUS(timed("remove_member", [&] { return store_.remove_member(a.org.id, user_id, event); }));
  invalidate_caches();
  return ok_status();
}

Result<TokenPolicy> Service::get_token_policy(const Principal& p, const OrgRef& ref) {
  RT_TRY(Access a, org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "read the token policy"));
  return a.org.policy;
}

Result<TokenPolicy> Service::set_token_policy(const Principal& p, const OrgRef& ref, const TokenPolicy& policy) {
  RT_TRY(Access a, org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "change the token policy"));
  auto in_range = [](int days) { return days >= 1 && days <= kMaxTokenLifetimeDays; };
  if (!in_range(policy.default_lifetime_days) || !in_range(policy.max_lifetime_days))
    return make_error(ErrorKind::invalid, fmt::format("defaultLifetimeDays and maxLifetimeDays must be whole "
                                                      "numbers from 1 to {}",
                                                      kMaxTokenLifetimeDays));
  if (policy.default_lifetime_days > policy.max_lifetime_days)
    return make_error(ErrorKind::invalid, "defaultLifetimeDays must not exceed maxLifetimeDays");
  if (!in_range(policy.expiry_warning_days))
    return make_error(ErrorKind::invalid, fmt::format("expiryWarningDays must be a whole number from 1 to {}",
                                                      kMaxTokenLifetimeDays));
  auto event = audit(p, a.org.id, "organization.token_policy.set", org_path(a.org),
                     fmt::format("defaultLifetimeDays={} maxLifetimeDays={} expiryWarningDays={}",
                                 policy.default_lifetime_days, policy.max_lifetime_days, policy.expiry_warning_days));
  RT_TRY_STATUS(timed("set_token_policy", [&] { return store_.set_token_policy(a.org.id, policy, event); }));
  invalidate_caches();
  return policy;
}

Result<ListPage<AuditEvent>> Service::list_audit(const Principal& p, const OrgRef& ref,
                                                 std::optional<std::string> from, std::optional<std::string> to,
                                                 const PageRequest& page) {
  return list_audit(p, ref, AuditFilter{.from = std::move(from), .to = std::move(to)}, page);
}

Result<ListPage<AuditEvent>> Service::list_audit(const Principal& p, const OrgRef& ref, const AuditFilter& filter,
                                                 const PageRequest& page) {
  RT_TRY(Access a, org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "read the audit log"));
  AuditQuery q;
  q.org_id = a.org.id;
  q.limit = page.limit;
  for (auto [text, slot, name] : {std::tuple{&filter.from, &q.from, "from"}, std::tuple{&filter.to, &q.to, "to"}}) {
    if (!*text || (*text)->empty()) continue;
    auto t = parse_rfc3339(**text);
    if (!t) return make_error(ErrorKind::invalid, fmt::format("{} must be an RFC 3339 time such as "
                                                              "2027-01-31T12:00:00Z", name));
    *slot = *t;
  }
  for (auto [text, field] : {std::pair{&filter.action, "action"}, std::pair{&filter.actor, "actor"},
                             std::pair{&filter.repository, "repository"}})
    if (text->size() > 200) return make_error(ErrorKind::invalid, fmt::format("{} must have at most 200 characters", field));
  q.action = filter.action;
  q.actor = filter.actor;
  if (!filter.repository.empty()) q.repository = repo_path(a.org, filter.repository);
  // The filters are part of the scope: a cursor of one filtered walk is refused by another.
  std::string scope = fmt::format("audit:{}:{}:{}", a.org.id, q.from.value_or(-1), q.to.value_or(-1));
  if (!q.action.empty() || !q.actor.empty() || !q.repository.empty())
    scope += fmt::format(":{}\n{}\n{}", q.action, q.actor, q.repository);
  RT_TRY(q.before_id, cursor_id(cursors_, scope, page));
  RT_TRY(Page<AuditEvent> rows, timed("list_audit", [&] { return store_.list_audit(q); }));
  return to_list_page<AuditEvent>(cursors_, scope, std::move(rows), page.limit,
                                  [](const AuditEvent& e) { return std::to_string(e.id); });
}

}  // namespace rt
