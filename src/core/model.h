// The domain's value types: users, organizations, repositories, tokens, memberships, audit events.
// Plain data, no I/O; the store persists them, the service applies the rules, the server renders them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace rt {

using Id = std::int64_t;

enum class Provider { gh, ghe, gl, gle, bb, bbe };
std::optional<Provider> parse_provider(std::string_view code);
std::string_view provider_code(Provider p);
inline constexpr std::string_view kValidProviders = "gh, ghe, gl, gle, bb, bbe";

enum class OrgRole { member, admin };
std::optional<OrgRole> parse_org_role(std::string_view text);  // "admin" | "member"
std::string_view org_role_name(OrgRole r);

// Ordered: a higher permission includes the lower ones.
enum class Permission { read = 1, write = 2, admin = 3 };
std::optional<Permission> parse_permission(std::string_view text);  // "admin" | "write" | "read"
std::string_view permission_name(Permission p);

enum class Visibility { Public, Private, LoginPublic };
std::optional<Visibility> parse_visibility(std::string_view text);
std::string_view visibility_name(Visibility v);

enum class OrgType { Organization, Account };
std::optional<OrgType> parse_org_type(std::string_view text);
std::string_view org_type_name(OrgType t);

struct User {
  Id id = 0;
  std::string name;
  std::optional<std::string> email;
  bool is_admin = false;
  UnixTime created_at = 0;
};

struct AccountToken {
  Id id = 0;
  Id user_id = 0;
  UnixTime created_at = 0;
  std::optional<UnixTime> expires_at;
  std::optional<UnixTime> last_used_at;
};

// Limits on repository-token lifetimes, per organization (API.md "Rules for repository tokens").
struct TokenPolicy {
  int default_lifetime_days = 365;
  int max_lifetime_days = 365;
  // A live token closer than this to its expiry is "expiring soon" (the console's warning window).
  int expiry_warning_days = 14;
};
inline constexpr int kMaxTokenLifetimeDays = 365;
inline constexpr int kMaxLiveTokensPerRepository = 100;
inline constexpr size_t kMaxTokenNameLength = 100;

struct Organization {
  Id id = 0;
  Provider provider = Provider::gh;
  std::string name;               // remoteOrganizationName, unique per provider
  std::string remote_identifier;  // defaults to the name
  OrgType type = OrgType::Organization;
  UnixTime created_at = 0;
  TokenPolicy policy;
};

struct Repository {
  Id id = 0;
  Id org_id = 0;
  Provider provider = Provider::gh;  // the organization's, denormalised for rendering
  std::string owner;                 // the organization's name
  std::string name;                  // unique within the organization
  Visibility visibility = Visibility::Private;
  std::string remote_identifier;
  std::vector<std::string> languages;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

struct RepositoryToken {
  Id id = 0;
  Id repository_id = 0;
  std::string name;
  UnixTime created_at = 0;
  UnixTime expires_at = 0;  // always set: a request without one gets the policy's default lifetime
  std::optional<UnixTime> last_used_at;
  std::optional<std::string> created_by;  // the creator as the audit log names it ("user:ada"); unknown before v4
  // Issued by a CI exchange (API.md "Secretless CI"): good for coverage upload and getRepository only.
  bool ci_only = false;
};

// A repository's trust in a CI issuer (API.md "Secretless CI"): a job's OIDC token from `issuer` whose
// `aud` is `audience` and whose claims match every entry of `claims` (values may hold `*` globs) may be
// exchanged for a repository token of `repository_id` that lives `lifetime_minutes`.
struct CiTrustRule {
  Id id = 0;
  Id repository_id = 0;
  std::string issuer;
  std::string audience;     // empty: the server's configured default audience
  std::string claims_json;  // {"claim": "value or glob", ...}, as the service wrote it
  int lifetime_minutes = 15;
  bool binds_only_names = false;
  UnixTime created_at = 0;
  std::string created_by;
};
inline constexpr int kDefaultCiTokenMinutes = 15;
inline constexpr int kMaxCiTokenMinutes = 60;

struct Member {
  User user;
  OrgRole role = OrgRole::member;
};

struct AuditEvent {
  Id id = 0;
  std::optional<Id> org_id;
  UnixTime at = 0;
  std::optional<Id> actor_user_id;
  std::string actor;   // "user:<name>" or "repository-token:<id>"; never a secret
  std::string action;  // e.g. "repository.token.create"
  std::string target;  // e.g. "gh/acme/api" or "gh/acme/api#token:42"
  std::string details; // free text, never a secret
  // The account token a "token.leaked" entry is about, so that the store can announce it to the
  // organization's webhooks in the same transaction (repository tokens are found by the store itself).
  struct AccountTokenSubject {
    Id token_id = 0;
    std::string owner;  // the user's name
    std::optional<UnixTime> expires_at;
  };
  std::optional<AccountTokenSubject> account_token;
};

}  // namespace rt
