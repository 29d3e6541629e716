// serve: open the store, load the key, build the Service and the Server, serve until a signal, drain,
// then tear down in order (server, then Service, whose destructor flushes lastUsedAt, then the Store).
// admin: the same store and key logic, offline; migrate and check speak of the database's own backend.
#include "server/commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "ratelimit/gcra.h"
#include "ratelimit/shared_limiter.h"
#include "server/compatibility.h"
#include "fetch/https_get.h"
#include "server/key_file.h"
#include "server/log.h"
#include "server/server.h"
#include "webhooks/delivery.h"
#include "webhooks/expiry_scheduler.h"
#include "leaks/github_keys.h"
#include "store/copy.h"

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

// --ratelimit: the in-process limiter, or the one shared by every node through Redis (decided in process,
// reported and corrected in the background: no Redis round trip on a request). Redis need not be up yet
// (a node starts with per-node limits and finds Redis when it comes).
Result<std::unique_ptr<Limiter>> make_limiter(const ServeConfig& config) {
  if (config.ratelimit == "local") return std::unique_ptr<Limiter>(std::make_unique<GcraLimiter>());
  SharedLimiterOptions options;
  options.fail_open = config.ratelimit_fail_open;
  options.log = [](std::string_view line) { log_warn(line); };
  RT_TRY(auto redis, SharedLimiter::create(config.ratelimit, std::move(options)));
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
    store_options.migrate_existing = false;
  }
  RT_TRY(auto store, open_store(db, store_options));
  if (!key) {
    RT_TRY(key, load_or_create_key(db, secret_file));
  }
  return std::make_unique<Backend>(std::move(store), *key);
}

// The key file the PostgreSQL nodes will use, for `admin copy`: the copied hashes only verify under the key
// that made them, the SQLite installation's `<db>.key`. Decided before anything is copied.
struct CopyKey {
  std::string path;      // what the nodes must be given; empty when unknown
  bool created = false;  // created here from `<db>.key`
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<CopyKey> key_for_copy(const AdminConfig& config) {
  const std::string db = sqlite_path(config.from);
  if (db.empty()) return CopyKey{};  // the copy itself says what is wrong with --from
  const std::string beside = db + ".key";
  const bool have_beside = file_exists(beside);
  if (config.secret_file.empty()) return CopyKey{have_beside ? beside : std::string()};
  if (file_exists(config.secret_file)) {
    RT_TRY(SecretKey given, read_key_file(config.secret_file));
    if (have_beside) {
      RT_TRY(SecretKey used, read_key_file(beside));
      if (given != used)
        return make_error(ErrorKind::invalid, "secret file " + config.secret_file + " holds another key than " + beside +
                                                  ", which hashed the tokens being copied; no copied token would work "
                                                  "with it. Give --secret-file " + beside + " (or a copy of it)");
    }
    return CopyKey{config.secret_file};
  }
  if (!have_beside)
    return make_error(ErrorKind::invalid, "secret file " + config.secret_file + " does not exist, and there is no " +
                                              beside + " to create it from; give the key file the SQLite server used");
  RT_TRY(SecretKey used, read_key_file(beside));
  RT_TRY_STATUS(write_key_file(config.secret_file, used));
  return CopyKey{config.secret_file, true};
}

void print_copy_report(const CopyReport& report, const CopyKey& key) {
  std::fprintf(stdout, "copied at schema version %d (SQLite) -> %d (PostgreSQL); rows per table, verified equal:\n",
               report.source_schema, report.target_schema);
  for (const auto& t : report.tables) std::fprintf(stdout, "  %-24s %lld\n", t.table.c_str(), static_cast<long long>(t.rows));
  if (key.path.empty())
    std::fprintf(stdout, "start the PostgreSQL nodes with --secret-file set to the key file the SQLite server used\n");
  else
    std::fprintf(stdout, "start the PostgreSQL nodes with --secret-file %s%s\n", key.path.c_str(),
                 key.created ? " (created from the SQLite key)" : "");
}

// --github-secret-scanning-keys: a file is read now (a bad one stops start-up, saying why); a URL is fetched
// now, and when that fails the server starts anyway and answers GitHub 503 until a fetch succeeds (GitHub
// being down must not keep repotokensd down). Either is read again whenever an alert names a key it does
// not hold, so a rotated key set is picked up without a restart.
Result<std::shared_ptr<GitHubKeys>> open_github_keys(const ServeConfig& config, const fetch::FetchLimits& limits) {
  RT_TRY(GitHubKeySource source, github_key_source(config.github_secret_scanning_keys, limits));
  GitHubKeysOptions options;
  options.refresh_cooldown_seconds = config.github_secret_scanning_refetch_seconds;
  options.start_without_keys = source.remote;
  options.warn = [](std::string_view m) { log_warn(m); };
  options.info = [](std::string_view m) { log_info(m); };
  return GitHubKeys::open(std::move(source.name), std::move(source.loader), std::move(options));
}

}  // namespace

int run_serve(const ServeConfig& config) {
  init_logging(config.log_json, config.log_level);
  StoreOptions store_options;
  store_options.group_commit = config.group_commit;
  store_options.read_connections = config.db_connections;
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
  options.console.idle_seconds = config.console_idle_minutes * 60;
  options.console.absolute_seconds = config.console_session_hours * 3600;
  options.gitlab_revocation_token = config.gitlab_revocation_token;
  fetch::FetchLimits outbound;
  outbound.ca_file = config.outbound_ca_file;
  if (!config.github_secret_scanning_keys.empty()) {
    auto keys = open_github_keys(config, outbound);
    if (!keys) return fail(keys.error().message);
    options.github_keys = std::move(keys).value();
  }
  for (const std::string& text : config.ci_issuers) {
    auto issuer = parse_ci_issuer(text);
    if (!issuer) return fail(issuer.error().message);  // checked by the parser already; kept for safety
    options.ci_issuers.push_back(std::move(issuer).value());
  }
  options.ci_default_audience = config.ci_audience;
  options.ci_key_refetch_seconds = config.ci_key_refetch_seconds;
  options.ci_per_issuer = RateLimitRule{"ci-per-issuer", config.ci_rate_per_issuer, config.ci_burst_per_issuer};
  options.ci_per_repository =
      RateLimitRule{"ci-per-repository", config.ci_rate_per_repository, config.ci_burst_per_repository};
  options.ci_fetcher = [outbound](const std::string& url) { return fetch::https_get(url, outbound); };
  {
    Service service(*b.store, b.hasher, b.clock, b.random, *b.limiter, options);
    Server server(config, service);
    if (auto listening = server.listen(); !listening) return fail(listening.error().message);
    webhooks::WebhookWorker webhooks(*b.store, b.hasher, b.clock, b.random,
                                     webhooks::WebhookWorkerOptions{.poll_interval = config.webhook_poll_interval,
                                                                    .retry_base = config.webhook_retry_base,
                                                                    .retry_max = config.webhook_retry_max,
                                                                    .retry_window = config.webhook_retry_window,
                                                                    .connect_timeout = config.webhook_connect_timeout,
                                                                    .timeout = config.webhook_timeout,
                                                                    .warn = [](std::string_view m) { log_warn(m); }});
    webhooks::ExpiryScheduler expiry(*b.store, b.clock,
                                     webhooks::ExpirySchedulerOptions{
                                         .windows = config.webhook_expiry_notices,
                                         .interval = config.webhook_expiry_scan_interval,
                                         .warn = [](std::string_view m) { log_warn(m); }});
    webhooks.start();
    expiry.start();
    server.run();
    expiry.stop();
    webhooks.stop();  // after the drain: an attempt in flight is abandoned, its event stays in the outbox
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

int run_copy(const AdminConfig& config) {
  auto key = key_for_copy(config);
  if (!key) return fail(key.error().message);
  auto report = copy_sqlite_to_postgres(config.from, config.to);
  if (!report) {
    if (key->created) ::unlink(key->path.c_str());  // a failed copy leaves nothing behind
    return fail(report.error().message);
  }
  print_copy_report(*report, *key);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int run_routes(bool markdown) {
  std::string text = render_routes(make_router(), markdown ? RoutesFormat::markdown : RoutesFormat::tsv);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace rt::server
