// The web console's rules in the service, on an exact clock: a session opens with an account token only,
// ends when idle, at its absolute lifetime, on sign-out or when its token is revoked; only a hash of its
// id is stored; its CSRF token belongs to it alone; the expiring-soon view and the repository overviews.
#include <fstream>
#include <iterator>

#include "service_fixture.h"

namespace rt::testing {
namespace {

class ConsoleTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceOptions options{{"per-token", 0, 1}, {"per-address", 0, 1}, 1000};
    options.console = ConsoleSessionPolicy{.idle_seconds = 30 * 60, .absolute_seconds = 12 * 3600};
    open(options);
    make_world();
  }

  OpenedConsoleSession sign_in(const std::string& secret) {
    return ok(service_->open_console_session(Credentials{secret, std::nullopt, "127.0.0.1"}), "sign in");
  }
  Admission with_session(const std::string& id) {
    Credentials c;
    c.client_address = "127.0.0.1";
    c.console_session = id;
    return service_->admit(c);
  }
  std::string file_bytes() {
    std::string all;
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream in(dir_ / (std::string("service.db") + suffix), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), {});
    }
    return all;
  }
};

TEST_F(ConsoleTest, ASessionActsAsItsUserAndStoresOnlyAHashOfItsId) {
  OpenedConsoleSession s = sign_in(admin_secret_);
  EXPECT_TRUE(s.session_id.starts_with("rtks_"));
  EXPECT_EQ(s.user.name, "root");
  EXPECT_EQ(s.expires_at, kStart + 12 * 3600);
  Admission a = with_session(s.session_id);
  ASSERT_TRUE(a.principal) << a.error->message;
  EXPECT_EQ(a.principal->user.name, "root");
  EXPECT_EQ(a.principal->console_session_ends, s.expires_at);
  EXPECT_TRUE(ok(service_->list_repository_tokens(*a.principal, api_, {})).items.empty());
  service_.reset();  // flush everything to the file
  const std::string stored = file_bytes();
  EXPECT_EQ(stored.find(s.session_id), std::string::npos) << "the session id itself reached the database";
  EXPECT_EQ(stored.find(s.session_id.substr(5)), std::string::npos);
}

TEST_F(ConsoleTest, OnlyAnAccountTokenSignsIn) {
  auto repo_token = ok(service_->create_repository_token(admin_, api_, {}));
  auto r = service_->open_console_session(Credentials{repo_token.secret, std::nullopt, "127.0.0.1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unauthorized);
  r = service_->open_console_session(Credentials{std::string("rtka_nonsense"), std::nullopt, "127.0.0.1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unauthorized);
  r = service_->open_console_session(Credentials{std::nullopt, std::nullopt, "127.0.0.1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_FALSE(with_session("rtks_not-a-session").principal);
  EXPECT_FALSE(with_session("").principal);
}

TEST_F(ConsoleTest, ASessionEndsWhenIdle) {
  OpenedConsoleSession s = sign_in(admin_secret_);
  clock_.advance(29 * 60);
  EXPECT_TRUE(with_session(s.session_id).principal);  // used: the idle clock starts again
  clock_.advance(29 * 60);
  EXPECT_TRUE(with_session(s.session_id).principal);
  clock_.advance(30 * 60);
  Admission a = with_session(s.session_id);
  ASSERT_FALSE(a.principal);
  EXPECT_EQ(a.error->kind, ErrorKind::unauthorized);
  EXPECT_NE(a.error->message.find("without use"), std::string::npos) << a.error->message;
  clock_.advance(-60 * 60);  // gone for good, even if the clock said otherwise
  EXPECT_FALSE(with_session(s.session_id).principal);
}

TEST_F(ConsoleTest, ASessionEndsAtItsAbsoluteLifetimeHoweverOftenItIsUsed) {
  OpenedConsoleSession s = sign_in(admin_secret_);
  for (int i = 0; i < 35; ++i) {  // every 20 minutes for 11 h 40 min
    clock_.advance(20 * 60);
    ASSERT_TRUE(with_session(s.session_id).principal) << i;
  }
  clock_.advance(20 * 60);
  Admission a = with_session(s.session_id);
  ASSERT_FALSE(a.principal);
  EXPECT_NE(a.error->message.find("maximum lifetime"), std::string::npos) << a.error->message;
}

TEST_F(ConsoleTest, SignOutAndTokenRevocationEndSessions) {
  OpenedConsoleSession first = sign_in(admin_secret_);
  OpenedConsoleSession second = sign_in(admin_secret_);
  ok(service_->close_console_session(first.session_id));
  EXPECT_FALSE(with_session(first.session_id).principal);
  EXPECT_TRUE(with_session(second.session_id).principal);
  ok(service_->close_console_session(first.session_id));  // twice is harmless

  Principal grace = add_user("grace");
  auto token = ok(service_->create_user_token(grace, std::nullopt));
  OpenedConsoleSession g = sign_in(token.secret);
  ASSERT_TRUE(with_session(g.session_id).principal);
  ok(service_->delete_user_token(grace, token.token.id));
  EXPECT_FALSE(with_session(g.session_id).principal);
  EXPECT_TRUE(with_session(second.session_id).principal);
}

TEST_F(ConsoleTest, ACsrfTokenBelongsToItsSessionAlone) {
  OpenedConsoleSession a = sign_in(admin_secret_);
  OpenedConsoleSession b = sign_in(admin_secret_);
  EXPECT_TRUE(service_->check_console_csrf(a.session_id, a.csrf_token));
  EXPECT_FALSE(service_->check_console_csrf(a.session_id, b.csrf_token));
  EXPECT_FALSE(service_->check_console_csrf(a.session_id, ""));
  EXPECT_FALSE(service_->check_console_csrf(a.session_id, a.csrf_token + "x"));
  EXPECT_EQ(service_->console_csrf_token(a.session_id), a.csrf_token);
}

TEST_F(ConsoleTest, ExpiringListsLiveTokensInsideTheirOrganizationsWindowOnly) {
  ok(service_->set_token_policy(admin_, {"gh", "acme"}, TokenPolicy{90, 365, 10}));
  ok(service_->add_organization(admin_, {"gh", "other", std::nullopt, std::nullopt}));
  ok(service_->add_repository(admin_, {"gh", "other/web", "Private", {}}));  // window: the default 14 days
  auto at = [&](int days) { return format_rfc3339(kStart + days * 86400 + 60); };
  auto create = [&](const RepoRef& repo, const char* name, int days) {
    ok(service_->create_repository_token(admin_, repo, {std::string(name), at(days)}));
  };
  const RepoRef web{{"gh", "other"}, "web"};
  create(api_, "in-9-days", 9);
  create(api_, "in-12-days", 12);  // outside acme's 10
  create(web, "in-12-days-other", 12);  // inside other's 14
  create(web, "in-30-days", 30);
  create(api_, "in-1-day", 1);
  auto page = ok(service_->list_expiring_tokens(admin_, {}));
  std::vector<std::string> names;
  for (auto& e : page.items) names.push_back(e.token.name);
  EXPECT_EQ(names, (std::vector<std::string>{"in-1-day", "in-9-days", "in-12-days-other"}));
  EXPECT_EQ(page.total, 3);

  // Paged with a cursor, and only over the organizations the caller administers.
  auto first = ok(service_->list_expiring_tokens(admin_, {std::nullopt, 2}));
  ASSERT_TRUE(first.cursor);
  auto second = ok(service_->list_expiring_tokens(admin_, {first.cursor, 2}));
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].token.name, "in-12-days-other");
  Principal grace = add_user("grace");
  ok(service_->set_member_role(admin_, {"gh", "other"}, grace.user.id, "admin"));
  ok(service_->set_member_role(admin_, {"gh", "acme"}, grace.user.id, "member"));
  auto hers = ok(service_->list_expiring_tokens(grace, {}));
  ASSERT_EQ(hers.items.size(), 1u);
  EXPECT_EQ(hers.items[0].token.name, "in-12-days-other");
  EXPECT_FALSE(service_->list_expiring_tokens(grace, {first.cursor, 2}).ok()) << "a cursor is the caller's own";

  // Expired tokens are not "expiring soon"; time brings others into the window.
  clock_.advance(2 * 86400 + 120);
  names.clear();
  for (auto& e : ok(service_->list_expiring_tokens(admin_, {})).items) names.push_back(e.token.name);
  EXPECT_EQ(names, (std::vector<std::string>{"in-9-days", "in-12-days", "in-12-days-other"}));
}

TEST_F(ConsoleTest, RepositoryOverviewsCountLiveTokensAndTheSoonestExpiry) {
  ok(service_->add_repository(admin_, {"gh", "acme/web", "Private", {}}));
  ok(service_->create_repository_token(admin_, api_, {std::string("a"), format_rfc3339(kStart + 3600)}));
  ok(service_->create_repository_token(admin_, api_, {std::string("b"), format_rfc3339(kStart + 7200)}));
  ok(service_->create_repository_token(admin_, api_, {std::string("c"), format_rfc3339(kStart + 60)}));
  clock_.advance(120);  // c has expired
  auto page = ok(service_->list_repository_overviews(admin_, {"gh", "acme"}, {}, {}));
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].view.repository.name, "api");
  EXPECT_EQ(page.items[0].live_tokens, 2);
  EXPECT_EQ(page.items[0].soonest_expiry, kStart + 3600);
  EXPECT_EQ(page.items[1].live_tokens, 0);
  EXPECT_FALSE(page.items[1].soonest_expiry);
  EXPECT_FALSE(page.items[1].last_upload);
  // The creator is recorded as the audit log names them.
  auto tokens = ok(service_->list_repository_tokens(admin_, api_, {}));
  EXPECT_EQ(tokens.items.front().created_by, std::optional<std::string>("user:root"));
}

}  // namespace
}  // namespace rt::testing
