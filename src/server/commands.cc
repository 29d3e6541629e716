// serve: open the store, load the key, build the Service and the Server, serve until a signal, drain,
// then tear down in order (server, then Service, whose destructor flushes lastUsedAt, then the Store).
// admin: the same store and key logic, offline; migrate and check speak of the database's own backend.
#include "server/commands.h"

#include <cstdio>

#include <fmt/format.h>

#include "ratelimit/gcra.h"
#include "ratelimit/redis_limiter.h"
#include "server/key_file.h"
#include "server/log.h"
#include "server/server.h"

namespace rt::server {
namespace {

int fail(const std::string& message) {
  flush_logs();
  std::fprintf(stderr, "repotokensd: %s\n", message.c_str());
  return 1;
}

// The pieces a Service needs, owned together so they outlive it.
struct Backend {
  std::unique_ptr<Store> store;
  SecretHasher hasher;
  SystemClock clock;
  SystemRandom random;
  std::unique_ptr<Limiter> limiter = std::make_unique<GcraLimiter>();
  explicit Backend(std::unique_ptr<Store> s, const SecretKey& key) : store(std::move(s)), hasher(key) {}
};

// --ratelimit: the in-process limiter, or the Redis one shared by every node. Redis need not be up yet
// (a node starts fail-open, or refusing when fail-closed, and finds Redis when it comes).
Result<std::unique_ptr<Limiter>> make_limiter(const ServeConfig& config) {
  if (config.ratelimit == "local") return std::unique_ptr<Limiter>(std::make_unique<GcraLimiter>());
  RedisLimiterOptions options;
  options.fail_open = config.ratelimit_fail_open;
  options.log = [](std::string_view line) { log_warn(line); };
  RT_TRY(auto redis, RedisLimiter::create(config.ratelimit, std::move(options)));
  log_info(fmt::format("rate limits are shared through {} ({} when it cannot be reached)", redis->describe(),
                       config.ratelimit_fail_open ? "per-node limits" : "503 answers"));
  return std::unique_ptr<Limiter>(std::move(redis));
}

// With a shared database (PostgreSQL) the key comes first: a node without the shared key file must say so
// before it touches the database. With SQLite the store comes first, as the key file is created beside it.
Result<std::unique_ptr<Backend>> open_backend(const std::string& db, const std::string& secret_file,
                                              const StoreOptions& options) {
  RT_TRY(StoreLocation where, parse_store_url(db));
  std::optional<SecretKey> key;
  StoreOptions store_options = options;
  if (where.shared()) {
    RT_TRY(key, load_or_create_key(db, secret_file));
    // A node on a shared database never migrates it: nodes of the previous build may be serving on it, so
    // migrating is the explicit `admin migrate` step, and a node refuses an older or newer schema saying
    // which. An empty database (no node can be serving on it) gets the schema, under the migration lock.
    RT_TRY(SchemaVersion schema, read_schema_version(db));
    store_options.create_if_missing = schema.found == 0;
  }
  RT_TRY(auto store, open_store(db, store_options));
  if (!key) {
    RT_TRY(key, load_or_create_key(db, secret_file));
  }
  return std::make_unique<Backend>(std::move(store), *key);
}

}  // namespace

int run_serve(const ServeConfig& config) {
  init_logging(config.log_json, config.log_level);
  StoreOptions store_options;
  store_options.group_commit = config.group_commit;
  auto backend = open_backend(config.db, config.secret_file, store_options);
  if (!backend) return fail(backend.error().message);
  Backend& b = **backend;
  auto limiter = make_limiter(config);
  if (!limiter) return fail(limiter.error().message);
  b.limiter = std::move(limiter).value();
  ServiceOptions options;
  options.per_token = RateLimitRule{"per-token", config.rate_limit_per_token, config.rate_burst};
  options.per_address = RateLimitRule{"per-address", config.rate_limit_per_address, config.rate_burst_per_address};
  options.cache_ttl_ms = config.cache_ttl_ms;
  {
    Service service(*b.store, b.hasher, b.clock, b.random, *b.limiter, options);
    Server server(config, service);
    if (auto listening = server.listen(); !listening) return fail(listening.error().message);
    server.run();
  }  // the server stops first, then the Service flushes pending lastUsedAt into the still-open store
  backend->reset();
  log_info("stopped");
  flush_logs();
  return 0;
}

int run_create_user(const AdminConfig& config) {
  auto backend = open_backend(config.db, config.secret_file, StoreOptions{});
  if (!backend) return fail(backend.error().message);
  Backend& b = **backend;
  Service service(*b.store, b.hasher, b.clock, b.random, *b.limiter, ServiceOptions{});
  auto issued = service.bootstrap_user(NewUserRequest{config.name, config.email, config.instance_admin});
  if (!issued) return fail(issued.error().message);
  std::fprintf(stdout, "%s\n", issued->secret.c_str());
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int run_migrate(const AdminConfig& config) {
  auto before = read_schema_version(config.db);  // fails for a SQLite file not created yet: it starts at 0
  auto store = open_store(config.db);  // opening applies every missing migration (PostgreSQL: under a lock)
  if (!store) return fail(store.error().message);
  store->reset();
  auto after = read_schema_version(config.db);
  if (!after) return fail(after.error().message);
  const int was = before ? before->found : 0;
  if (was == after->found)
    std::fprintf(stdout, "schema version %d (%s), already current\n", after->found, after->backend_name());
  else
    std::fprintf(stdout, "schema version %d (%s), migrated from version %d\n", after->found, after->backend_name(), was);
  return 0;
}

int run_check(const AdminConfig& config) {
  auto schema = read_schema_version(config.db);
  if (!schema) return fail(schema.error().message);
  const SchemaVersion& v = *schema;
  if (v.found == v.wanted) {
    std::fprintf(stdout, "schema is current (version %d, %s)\n", v.found, v.backend_name());
    return 0;
  }
  std::string found = v.found == 0 ? "no repotokens schema (version 0)" : fmt::format("schema version {}", v.found);
  return fail(fmt::format("the {} database has {}, but this build of repotokensd wants version {}: {}", v.backend_name(),
                          found, v.wanted,
                          v.found < v.wanted ? "run `repotokensd admin migrate` with the same --db"
                                             : "it was migrated by a newer repotokensd; run that version"));
}

}  // namespace rt::server
