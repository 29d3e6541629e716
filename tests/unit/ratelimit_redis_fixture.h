// What the tests of both Redis-backed limiters share: a throwaway redis-server per test (skipped, saying
// why, without the binary), a log sink for the limiters' outage lines, and a look at a key's TTL.
#pragma once

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "support/pg_redis.h"

namespace rt::test {

class RedisFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    RT_REQUIRE_REDIS();
    redis_ = std::make_unique<RedisServer>();
  }

  // For a limiter's `log` option: keeps the lines for log_lines().
  std::function<void(std::string_view)> log_sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(log_mu_);
      log_.emplace_back(line);
    };
  }
  std::vector<std::string> log_lines() {
    std::lock_guard lock(log_mu_);
    return log_;
  }

  // PTTL of `key` in milliseconds: -2 when it does not exist, -99 when Redis did not answer.
  long long pttl(const std::string& key) {
    redisContext* c = redisConnect("127.0.0.1", redis_->port());
    auto* r = static_cast<redisReply*>(redisCommand(c, "PTTL %s", key.c_str()));
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -99;
    freeReplyObject(r);
    redisFree(c);
    return v;
  }

  std::unique_ptr<RedisServer> redis_;

 private:
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

}  // namespace rt::test
