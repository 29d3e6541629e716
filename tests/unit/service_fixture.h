// Fixture for the service's unit tests: a real SQLite store in a temporary folder, an exact clock that
// the test moves by hand, and a Service over them, with helpers that build a small world.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "ratelimit/gcra.h"
#include "service/service.h"

namespace rt::testing {

template <class T>
T ok(Result<T> r, const char* what = "service call") {
  if (!r.ok())
    throw std::runtime_error(std::string(what) + ": " + error_kind_name(r.error().kind) + ": " + r.error().message);
  return std::move(r).value();
}

class ServiceTest : public ::testing::Test {
 protected:
  static constexpr UnixTime kStart = 1'800'000'000;  // 2027-01-15

  void SetUp() override { open(ServiceOptions{{"per-token", 0, 1}, {"per-address", 0, 1}, 1000}); }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void open(ServiceOptions options) {
    service_.reset();
    store_.reset();
    if (dir_.empty()) {
      std::random_device rd;
      dir_ = std::filesystem::temp_directory_path() / ("repotokens-service-" + std::to_string(rd()));
      std::filesystem::create_directories(dir_);
    }
    store_ = ok(open_store("sqlite:" + (dir_ / "service.db").string()), "open_store");
    service_ = std::make_unique<Service>(*store_, hasher_, clock_, random_, limiter_, std::move(options));
  }

  Principal login(const std::string& secret) {
    Admission a = service_->admit(Credentials{secret, std::nullopt, "127.0.0.1"});
    if (!a.principal) throw std::runtime_error("login failed: " + a.error->message);
    return *a.principal;
  }
  Admission admit_project(const std::string& secret) {
    return service_->admit(Credentials{std::nullopt, secret, "127.0.0.1"});
  }

  // An instance admin, organization gh/acme, and its private repository "api".
  void make_world() {
    admin_secret_ = ok(service_->bootstrap_user({"root", std::nullopt, true})).secret;
    admin_ = login(admin_secret_);
    ok(service_->add_organization(admin_, {"gh", "acme", std::nullopt, std::nullopt}));
    ok(service_->add_repository(admin_, {"gh", "acme/api", "Private", {"C++"}}));
  }

  // A user with an account token, not yet a member of anything.
  Principal add_user(const std::string& name) {
    User u = ok(service_->create_user(admin_, {name, std::nullopt, false}));
    return login(ok(service_->issue_user_token(admin_, u.id, std::nullopt)).secret);
  }

  Status grant(const Principal& who, const std::string& repo, const std::string& permission) {
    return service_->set_repository_permission(admin_, {{"gh", "acme"}, repo}, who.user.id, permission);
  }

  std::filesystem::path dir_;
  ManualClock clock_{kStart};
  SystemRandom random_;
  SecretKey key_ = generate_secret_key(random_);
  SecretHasher hasher_{key_};
  GcraLimiter limiter_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Service> service_;
  std::string admin_secret_;
  Principal admin_;
  const RepoRef api_{{"gh", "acme"}, "api"};
};

}  // namespace rt::testing
