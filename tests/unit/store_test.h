// The shared Store test suite's fixture: every TEST_P(StoreTest, ...) runs against each StoreFactory the
// suite is instantiated with (store_sqlite_test.cc: SQLite with and without group commit). A PostgreSQL
// backend joins with one more factory in that INSTANTIATE line.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>

#include "store/store.h"

namespace rt::testing {

struct StoreFactory {
  std::string name;
  // The URL of a fresh, empty database kept under `dir` (a folder private to one test) or elsewhere.
  std::function<std::string(const std::filesystem::path& dir)> fresh_url;
  StoreOptions options;
};

inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir;
}

// Unwraps a Result that the test needs to succeed; a failure ends the test with the error's message.
template <class T>
T must(Result<T> r, const char* what = "store call") {
  if (!r.ok())
    throw std::runtime_error(std::string(what) + " failed: " + error_kind_name(r.error().kind) + ": " +
                             r.error().message);
  return std::move(r).value();
}

// A distinct, recognisable hash per n (the store only ever sees hashes).
inline SecretHash test_hash(std::uint32_t n, std::uint8_t salt = 0xA5) {
  SecretHash h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>((n >> ((i % 4) * 8)) ^ (salt + i));
  return h;
}

inline AuditEvent audit_event(std::optional<Id> org_id, std::string action, UnixTime at = 1'700'000'000) {
  return AuditEvent{.id = 0, .org_id = org_id, .at = at, .actor_user_id = std::nullopt, .actor = "user:test",
                    .action = std::move(action), .target = "test", .details = ""};
}

class StoreTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("repotokens-store-");
    url_ = GetParam().fresh_url(dir_);
    store_ = must(open_store(url_, GetParam().options), "open_store");
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Closes the store and opens the same database again.
  void reopen() {
    store_.reset();
    store_ = must(open_store(url_, GetParam().options), "reopen");
  }

  Store& store() { return *store_; }

  User add_user(const std::string& name, std::optional<std::string> email = std::nullopt) {
    return must(store_->create_user(NewUser{.name = name, .email = std::move(email), .is_admin = false,
                                            .created_at = 1'700'000'000}),
                "create_user");
  }

  Organization add_org(const std::string& name, Id creator, Provider provider = Provider::gh) {
    NewOrganization org{.provider = provider, .name = name, .remote_identifier = name,
                        .type = OrgType::Organization, .created_at = 1'700'000'000, .policy = {}};
    return must(store_->create_organization(org, creator, audit_event(std::nullopt, "organization.create")),
                "create_organization");
  }

  Repository add_repo(Id org_id, const std::string& name, Visibility visibility = Visibility::Private) {
    NewRepository repo{.org_id = org_id, .name = name, .visibility = visibility, .remote_identifier = "",
                       .languages = {}, .created_at = 1'700'000'000};
    return must(store_->create_repository(repo, audit_event(org_id, "repository.create")), "create_repository");
  }

  Result<RepositoryToken> add_token(Id repository_id, const std::string& name, std::uint32_t n, UnixTime now,
                                    UnixTime expires_at, int max_live = kMaxLiveTokensPerRepository) {
    NewRepositoryToken t{.repository_id = repository_id, .name = name, .hash = test_hash(n), .created_at = now,
                         .expires_at = expires_at};
    return store_->create_repository_token(t, now, max_live, audit_event(std::nullopt, "repository.token.create"));
  }

  std::int64_t audit_count(Id org_id) {
    return must(store_->list_audit(AuditQuery{.org_id = org_id, .limit = 1}), "list_audit").total;
  }

  std::filesystem::path dir_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

}  // namespace rt::testing
