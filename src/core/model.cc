// Text forms of the domain enumerations, as they appear on the wire.
#include "core/model.h"

#include <array>
#include <utility>

namespace rt {
namespace {

template <class E, size_t N>
std::optional<E> lookup(const std::array<std::pair<std::string_view, E>, N>& table, std::string_view text) {
  for (const auto& [name, value] : table)
    if (name == text) return value;
  return std::nullopt;
}

template <class E, size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, E>, N>& table, E value) {
  for (const auto& [name, v] : table)
    if (v == value) return name;
  return "?";
}

constexpr std::array<std::pair<std::string_view, Provider>, 6> kProviders{{{"gh", Provider::gh},
                                                                            {"ghe", Provider::ghe},
                                                                            {"gl", Provider::gl},
                                                                            {"gle", Provider::gle},
                                                                            {"bb", Provider::bb},
                                                                            {"bbe", Provider::bbe}}};
constexpr std::array<std::pair<std::string_view, OrgRole>, 2> kRoles{
    {{"admin", OrgRole::admin}, {"member", OrgRole::member}}};
constexpr std::array<std::pair<std::string_view, Permission>, 3> kPermissions{
    {{"admin", Permission::admin}, {"write", Permission::write}, {"read", Permission::read}}};
constexpr std::array<std::pair<std::string_view, Visibility>, 3> kVisibilities{
    {{"Public", Visibility::Public}, {"Private", Visibility::Private}, {"LoginPublic", Visibility::LoginPublic}}};
constexpr std::array<std::pair<std::string_view, OrgType>, 2> kOrgTypes{
    {{"Organization", OrgType::Organization}, {"Account", OrgType::Account}}};

}  // namespace

std::optional<Provider> parse_provider(std::string_view s) { return lookup(kProviders, s); }
std::string_view provider_code(Provider p) { return name_of(kProviders, p); }
std::optional<OrgRole> parse_org_role(std::string_view s) { return lookup(kRoles, s); }
std::string_view org_role_name(OrgRole r) { return name_of(kRoles, r); }
std::optional<Permission> parse_permission(std::string_view s) { return lookup(kPermissions, s); }
std::string_view permission_name(Permission p) { return name_of(kPermissions, p); }
std::optional<Visibility> parse_visibility(std::string_view s) { return lookup(kVisibilities, s); }
std::string_view visibility_name(Visibility v) { return name_of(kVisibilities, v); }
std::optional<OrgType> parse_org_type(std::string_view s) { return lookup(kOrgTypes, s); }
std::string_view org_type_name(OrgType t) { return name_of(kOrgTypes, t); }

}  // namespace rt
