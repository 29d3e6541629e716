// Shared Store suite: organizations, token policy, members.
#include "store_test.h"

namespace rt::testing {
namespace {

TEST_P(StoreTest, CreatingAnOrganizationMakesTheCreatorItsAdmin) {
  User u = add_user("owner");
  NewOrganization org{.provider = Provider::gl, .name = "acme", .remote_identifier = "",
                      .type = OrgType::Account, .created_at = 77,
                      .policy = TokenPolicy{.default_lifetime_days = 30, .max_lifetime_days = 90}};
  Organization made = must(store().create_organization(org, u.id, audit_event(std::nullopt, "organization.create")));
  EXPECT_EQ(made.remote_identifier, "acme");  // defaults to the name

  for (const Organization& got : {must(store().get_organization(Provider::gl, "acme")),
                                  must(store().get_organization_by_id(made.id))}) {
    EXPECT_EQ(got.id, made.id);
    EXPECT_EQ(got.provider, Provider::gl);
    EXPECT_EQ(got.name, "acme");
    EXPECT_EQ(got.type, OrgType::Account);
    EXPECT_EQ(got.created_at, 77);
    EXPECT_EQ(got.policy.default_lifetime_days, 30);
    EXPECT_EQ(got.policy.max_lifetime_days, 90);
  }
  EXPECT_EQ(must(store().get_role(made.id, u.id)), OrgRole::admin);
  // The audit event is filed under the new organization, in the same transaction.
  auto audit = must(store().list_audit(AuditQuery{.org_id = made.id}));
  ASSERT_EQ(audit.items.size(), 1u);
  EXPECT_EQ(audit.items[0].action, "organization.create");

  EXPECT_EQ(store().get_organization(Provider::gh, "acme").error().kind, ErrorKind::not_found);
  EXPECT_EQ(store().get_organization_by_id(made.id + 100).error().kind, ErrorKind::not_found);
}

TEST_P(StoreTest, DuplicateOrganizationIsAConflictAndChangesNothing) {
  User u = add_user("owner");
  Organization first = add_org("acme", u.id);
  NewOrganization again{.provider = Provider::gh, .name = "acme"};
  auto r = store().create_organization(again, u.id, audit_event(std::nullopt, "organization.create"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::conflict);
  EXPECT_EQ(r.error().message, "an organization gh/acme already exists");
  EXPECT_EQ(audit_count(first.id), 1);
  // The same name under another provider is another organization.
  EXPECT_TRUE(store().create_organization(NewOrganization{.provider = Provider::bb, .name = "acme"}, u.id,
                                          audit_event(std::nullopt, "organization.create")).ok());

  auto no_creator = store().create_organization(NewOrganization{.name = "ghost"}, 12345,
                                                audit_event(std::nullopt, "organization.create"));
  ASSERT_FALSE(no_creator.ok());
  EXPECT_EQ(no_creator.error().kind, ErrorKind::not_found);
  EXPECT_EQ(store().get_organization(Provider::gh, "ghost").error().kind, ErrorKind::not_found);
}

TEST_P(StoreTest, ListsOrganizationsOfAUserOrAll) {
  User a = add_user("a");
  User b = add_user("b");
  Organization o1 = add_org("one", a.id);
  Organization o2 = add_org("two", b.id);
  Organization o3 = add_org("three", a.id, Provider::gl);
  Organization o4 = add_org("four", a.id);
  must(store().set_member(o2.id, a.id, OrgRole::member, audit_event(o2.id, "member.add")));

  auto mine = must(store().list_organizations(a.id, false, std::nullopt, std::nullopt, 2));
  ASSERT_EQ(mine.items.size(), 2u);
  EXPECT_EQ(mine.total, 4);
  EXPECT_TRUE(mine.more);
  EXPECT_EQ(mine.items[0].organization.id, o1.id);
  EXPECT_EQ(mine.items[0].role, OrgRole::admin);
  EXPECT_EQ(mine.items[1].organization.id, o2.id);
  EXPECT_EQ(mine.items[1].role, OrgRole::member);
  auto rest = must(store().list_organizations(a.id, false, std::nullopt, o2.id, 2));
  ASSERT_EQ(rest.items.size(), 2u);
  EXPECT_EQ(rest.items[0].organization.id, o3.id);
  EXPECT_EQ(rest.items[1].organization.id, o4.id);
  EXPECT_FALSE(rest.more);

  auto gl = must(store().list_organizations(a.id, false, Provider::gl, std::nullopt, 10));
  ASSERT_EQ(gl.items.size(), 1u);
  EXPECT_EQ(gl.items[0].organization.name, "three");
  EXPECT_EQ(gl.total, 1);

  auto b_only = must(store().list_organizations(b.id, false, std::nullopt, std::nullopt, 10));
  ASSERT_EQ(b_only.items.size(), 1u);
  auto all = must(store().list_organizations(b.id, true, std::nullopt, std::nullopt, 10));
  ASSERT_EQ(all.items.size(), 4u);
  EXPECT_EQ(all.total, 4);
  EXPECT_EQ(all.items[0].role, std::nullopt);  // b sees it only as instance admin
  EXPECT_EQ(all.items[1].role, OrgRole::admin);
  auto all_gh = must(store().list_organizations(b.id, true, Provider::gh, std::nullopt, 10));
  EXPECT_EQ(all_gh.total, 3);
}

TEST_P(StoreTest, SetsTheTokenPolicyWithAudit) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  must(store().set_token_policy(o.id, TokenPolicy{.default_lifetime_days = 7, .max_lifetime_days = 30},
                                audit_event(o.id, "organization.policy")));
  Organization got = must(store().get_organization_by_id(o.id));
  EXPECT_EQ(got.policy.default_lifetime_days, 7);
  EXPECT_EQ(got.policy.max_lifetime_days, 30);
  EXPECT_EQ(audit_count(o.id), 2);
  auto missing = store().set_token_policy(o.id + 1, {}, audit_event(o.id + 1, "organization.policy"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  EXPECT_EQ(audit_count(o.id + 1), 0);
}

TEST_P(StoreTest, SetsAndChangesMembers) {
  User owner = add_user("owner");
  User m = add_user("member");
  Organization o = add_org("acme", owner.id);
  EXPECT_EQ(must(store().get_role(o.id, m.id)), std::nullopt);

  must(store().set_member(o.id, m.id, OrgRole::member, audit_event(o.id, "member.add")));
  EXPECT_EQ(must(store().get_role(o.id, m.id)), OrgRole::member);
  must(store().set_member(o.id, m.id, OrgRole::admin, audit_event(o.id, "member.role")));
  EXPECT_EQ(must(store().get_role(o.id, m.id)), OrgRole::admin);
  EXPECT_EQ(audit_count(o.id), 3);

  auto ghost = store().set_member(o.id, 9999, OrgRole::member, audit_event(o.id, "member.add"));
  ASSERT_FALSE(ghost.ok());
  EXPECT_EQ(ghost.error().kind, ErrorKind::not_found);
  EXPECT_EQ(ghost.error().message, "no user with id 9999");
  EXPECT_EQ(audit_count(o.id), 3);
  EXPECT_EQ(store().set_member(o.id + 50, m.id, OrgRole::member, audit_event(o.id, "x")).error().kind,
            ErrorKind::not_found);
}

TEST_P(StoreTest, RemovingAMemberRemovesTheirPermissionsInThatOrganizationOnly) {
  User owner = add_user("owner");
  User m = add_user("member");
  Organization o1 = add_org("one", owner.id);
  Organization o2 = add_org("two", owner.id);
  Repository r1 = add_repo(o1.id, "api");
  Repository r2 = add_repo(o2.id, "web");
  must(store().set_member(o1.id, m.id, OrgRole::member, audit_event(o1.id, "member.add")));
  must(store().set_member(o2.id, m.id, OrgRole::member, audit_event(o2.id, "member.add")));
  must(store().set_permission(r1.id, m.id, Permission::write, audit_event(o1.id, "permission.set")));
  must(store().set_permission(r2.id, m.id, Permission::read, audit_event(o2.id, "permission.set")));

  must(store().remove_member(o1.id, m.id, audit_event(o1.id, "member.remove")));
  EXPECT_EQ(must(store().get_role(o1.id, m.id)), std::nullopt);
  EXPECT_EQ(must(store().get_permission(r1.id, m.id)), std::nullopt);
  EXPECT_EQ(must(store().get_role(o2.id, m.id)), OrgRole::member);
  EXPECT_EQ(must(store().get_permission(r2.id, m.id)), Permission::read);

  auto again = store().remove_member(o1.id, m.id, audit_event(o1.id, "member.remove"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::not_found);
}

TEST_P(StoreTest, ListsMembersByAscendingIdWithSearch) {
  User owner = add_user("owner", "boss@corp.example");
  Organization o = add_org("acme", owner.id);
  std::vector<User> users;
  for (int i = 0; i < 5; ++i) {
    users.push_back(add_user("user" + std::to_string(i), "u" + std::to_string(i) + "@mail.example"));
    must(store().set_member(o.id, users.back().id, OrgRole::member, audit_event(o.id, "member.add")));
  }
  User odd = add_user("100%_sure", std::nullopt);
  must(store().set_member(o.id, odd.id, OrgRole::member, audit_event(o.id, "member.add")));
  add_user("outsider");

  auto p1 = must(store().list_members(o.id, "", std::nullopt, 4));
  ASSERT_EQ(p1.items.size(), 4u);
  EXPECT_EQ(p1.total, 7);
  EXPECT_TRUE(p1.more);
  EXPECT_EQ(p1.items[0].user.id, owner.id);
  EXPECT_EQ(p1.items[0].role, OrgRole::admin);
  auto p2 = must(store().list_members(o.id, "", p1.items.back().user.id, 4));
  ASSERT_EQ(p2.items.size(), 3u);
  EXPECT_FALSE(p2.more);
  EXPECT_EQ(p2.items.back().user.id, odd.id);

  auto by_email = must(store().list_members(o.id, "BOSS@", std::nullopt, 10));
  ASSERT_EQ(by_email.items.size(), 1u);
  EXPECT_EQ(by_email.items[0].user.name, "owner");
  auto by_name = must(store().list_members(o.id, "USER3", std::nullopt, 10));
  ASSERT_EQ(by_name.items.size(), 1u);
  EXPECT_EQ(by_name.total, 1);
  // % and _ are literal characters, not wildcards.
  auto pct = must(store().list_members(o.id, "%_", std::nullopt, 10));
  ASSERT_EQ(pct.items.size(), 1u);
  EXPECT_EQ(pct.items[0].user.id, odd.id);
  EXPECT_EQ(must(store().list_members(o.id, "_", std::nullopt, 10)).total, 1);
}

}  // namespace
}  // namespace rt::testing
