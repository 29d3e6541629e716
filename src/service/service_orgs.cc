// Organizations: reading and adding them, their people and roles, their token policy and audit log.
#include <fmt/format.h>

#include "service/internal.h"

namespace rt {
namespace {

Status require_org_admin(const Access& a, std::string_view what) {
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

// At most this many addresses per people call; more is refused before anything changes.
constexpr size_t kMaxPeoplePerCall = 100;

// The addresses lower-cased (ASCII), each checked; `invalid` naming the first bad one and its position.
Result<std::vector<std::string>> normalized_emails(const std::vector<std::string>& emails) {
  if (emails.empty()) return make_error(ErrorKind::invalid, "the list of e-mail addresses is empty");
  if (emails.size() > kMaxPeoplePerCall)
    return make_error(ErrorKind::invalid, fmt::format("at most {} e-mail addresses per call ({} given)",
                                                      kMaxPeoplePerCall, emails.size()));
  std::vector<std::string> out;
  for (size_t i = 0; i < emails.size(); ++i) {
    if (!check_email(emails[i]).ok())
      return make_error(ErrorKind::invalid, fmt::format("e-mail address #{} (\"{}\") is not an address such as "
                                                        "ada@example.com", i + 1, echo_ascii(emails[i], 100)));
    std::string lower = emails[i];
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(std::move(lower));
  }
  return out;
}

// Epoch milliseconds (Codacy's `from`/`to`) or RFC 3339 (repotokens' first form), as Unix seconds.
std::optional<UnixTime> parse_audit_time(const std::string& text) {
  if (!text.empty() && text.size() <= 16 && text.find_first_not_of("0123456789") == std::string::npos)
    return static_cast<UnixTime>(std::stoll(text) / 1000);
  return parse_rfc3339(text);
}

// "gh/acme/api" -> "api" when the target lies inside the organization's repository `org_path/`.
std::string repository_of_target(const std::string& org_path, const std::string& target) {
  const std::string prefix = org_path + "/";
  if (!target.starts_with(prefix)) return {};
  std::string rest = target.substr(prefix.size());
  return rest.substr(0, rest.find_first_of("#/ "));
}

}  // namespace

Result<OrganizationMembership> Service::get_organization(const Principal& p, const OrgRef& ref) {
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
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
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  if (search.size() > 200) return make_error(ErrorKind::invalid, "search must have at most 200 characters");
  const std::string scope = fmt::format("people:{}:{}", a.org.id, search);
  RT_TRY(std::optional<Id> after, cursor_id(cursors_, scope, page));
  RT_TRY(Page<Member> rows,
         timed("list_members", [&] { return store_.list_members(a.org.id, search, after, page.limit); }));
  return to_list_page<Member>(cursors_, scope, std::move(rows), page.limit,
                              [](const Member& m) { return std::to_string(m.user.id); });
}

Status Service::set_member_role(const Principal& p, const OrgRef& ref, Id user_id, const std::string& role) {
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
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
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "remove members"));
  RT_TRY(std::optional<OrgRole> role, timed("get_role", [&] { return store_.get_role(a.org.id, user_id); }));
  if (!role)
    return make_error(ErrorKind::not_found, fmt::format("user {} is not a member of {}", user_id, org_path(a.org)));
  auto event = audit(p, a.org.id, "member.remove", fmt::format("{} user {}", org_path(a.org), user_id));
  RT_TRY_STATUS(timed("remove_member", [&] { return store_.remove_member(a.org.id, user_id, event); }));
  invalidate_caches();
  return ok_status();
}

Status Service::add_people(const Principal& p, const OrgRef& ref, const std::vector<std::string>& emails) {
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "add people"));
  RT_TRY(std::vector<std::string> wanted, normalized_emails(emails));
  // Everything is resolved before anything changes: one unknown or ambiguous address refuses the call.
  std::vector<Id> to_add;
  std::vector<std::string> unknown, ambiguous;
  for (const std::string& email : wanted) {
    RT_TRY(std::vector<User> users, timed("find_users_by_email", [&] { return store_.find_users_by_email(email); }));
    if (users.empty()) unknown.push_back(email);
    else if (users.size() > 1) ambiguous.push_back(email);
    else to_add.push_back(users.front().id);
  }
  auto listed = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + echo_ascii(e, 100);
    return out;
  };
  if (!unknown.empty())
    return make_error(ErrorKind::invalid, fmt::format("no user has the e-mail address {}; nobody was added (create "
                                                      "users with POST /api/v3/admin/users first)", listed(unknown)));
  if (!ambiguous.empty())
    return make_error(ErrorKind::invalid, fmt::format("several users share the e-mail address {}; nobody was added "
                                                      "(add them by id with PUT .../people/{{userId}})",
                                                      listed(ambiguous)));
  bool changed = false;
  for (Id user_id : to_add) {
    RT_TRY(std::optional<OrgRole> role, timed("get_role", [&] { return store_.get_role(a.org.id, user_id); }));
    if (role) continue;  // already a member: the role stays
    auto event = audit(p, a.org.id, "member.set", fmt::format("{} user {}", org_path(a.org), user_id), "role=member");
    RT_TRY_STATUS(timed("set_member", [&] { return store_.set_member(a.org.id, user_id, OrgRole::member, event); }));
    changed = true;
  }
  if (changed) invalidate_caches();
  return ok_status();
}

Result<PeopleRemoval> Service::remove_people(const Principal& p, const OrgRef& ref,
                                             const std::vector<std::string>& emails) {
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "remove people"));
  RT_TRY(std::vector<std::string> wanted, normalized_emails(emails));
  PeopleRemoval out;
  for (size_t i = 0; i < wanted.size(); ++i) {
    const std::string& email = emails[i];  // answered as the caller wrote it
    RT_TRY(std::vector<User> users,
           timed("find_users_by_email", [&] { return store_.find_users_by_email(wanted[i]); }));
    std::vector<Id> members;
    for (const User& u : users) {
      RT_TRY(std::optional<OrgRole> role, timed("get_role", [&] { return store_.get_role(a.org.id, u.id); }));
      if (role) members.push_back(u.id);
    }
    if (members.empty()) {
      out.failed.emplace_back(email, "no member of " + org_path(a.org) + " has this e-mail address");
      continue;
    }
    if (members.size() > 1) {
      out.failed.emplace_back(email, "several members share this e-mail address; remove them by id");
      continue;
    }
    auto event = audit(p, a.org.id, "member.remove", fmt::format("{} user {}", org_path(a.org), members.front()));
    RT_TRY_STATUS(timed("remove_member", [&] { return store_.remove_member(a.org.id, members.front(), event); }));
    out.removed.push_back(email);
  }
  if (!out.removed.empty()) invalidate_caches();
  return out;
}

Result<TokenPolicy> Service::get_token_policy(const Principal& p, const OrgRef& ref) {
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "read the token policy"));
  return a.org.policy;
}

Result<TokenPolicy> Service::set_token_policy(const Principal& p, const OrgRef& ref, const TokenPolicy& policy) {
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
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

Result<ListPage<AuditEntry>> Service::list_audit(const Principal& p, const OrgRef& ref,
                                                 std::optional<std::string> from, std::optional<std::string> to,
                                                 const PageRequest& page) {
  return list_audit(p, ref, AuditFilter{.from = std::move(from), .to = std::move(to)}, page);
}

Result<ListPage<AuditEntry>> Service::list_audit(const Principal& p, const OrgRef& ref, const AuditFilter& filter,
                                                 const PageRequest& page) {
  RT_TRY(Access a, parts_->resolver.org_access(p, ref));
  RT_TRY_STATUS(require_org_admin(a, "read the audit log"));
  AuditQuery q;
  q.org_id = a.org.id;
  q.limit = page.limit;
  for (auto [text, slot, name] : {std::tuple{&filter.from, &q.from, "from"}, std::tuple{&filter.to, &q.to, "to"}}) {
    if (!*text || (*text)->empty()) continue;
    auto t = parse_audit_time(**text);
    if (!t) return make_error(ErrorKind::invalid, fmt::format("{} must be a time in Unix epoch milliseconds (such "
                                                              "as 1801396800000) or RFC 3339 (2027-01-31T12:00:00Z)",
                                                              name));
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
  ListPage<AuditEvent> events = to_list_page<AuditEvent>(cursors_, scope, std::move(rows), page.limit,
                                                         [](const AuditEvent& e) { return std::to_string(e.id); });
  // Codacy names actors by e-mail and role: one lookup per distinct actor of the page.
  std::map<Id, std::pair<std::string, std::optional<OrgRole>>> actors;
  ListPage<AuditEntry> out;
  out.total = events.total;
  out.limit = events.limit;
  out.cursor = std::move(events.cursor);
  const std::string path = org_path(a.org);
  for (AuditEvent& e : events.items) {
    AuditEntry entry;
    if (e.actor_user_id) {
      auto [it, fresh] = actors.try_emplace(*e.actor_user_id);
      if (fresh) {
        auto user = timed("get_user", [&] { return store_.get_user(*e.actor_user_id); });
        if (user.ok()) it->second.first = user->email.value_or("");
        else if (user.error().kind != ErrorKind::not_found) return user.error();  // a deleted user keeps ""
        RT_TRY(it->second.second, timed("get_role", [&] { return store_.get_role(a.org.id, *e.actor_user_id); }));
      }
      entry.actor_email = it->second.first;
      entry.actor_role = it->second.second;
    }
    entry.repository = repository_of_target(path, e.target);
    entry.event = std::move(e);
    out.items.push_back(std::move(entry));
  }
  return out;
}

}  // namespace rt
