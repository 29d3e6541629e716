// Command-line parsing with CLI11 and the layering of option sources: a flag wins over the environment
// (REPOTOKENS_<NAME>), which wins over the TOML file (--config), which wins over the built-in default.
// Every option is first collected as text from its winning source, then converted and checked once, so a
// bad value reads the same ("invalid --threads 'abc': ...") wherever it came from.
#include "server/config.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <toml++/toml.h>

#include "ratelimit/redis_limiter.h"
#include "ci/oidc.h"
#include "fetch/https_get.h"
#include "leaks/github_keys.h"
#include "server/version.h"

namespace rt::server {
namespace {

// One serve option: long name (dashes), help text, default text.
struct OptionSpec {
  const char* name;
  const char* help;
  std::string fallback;
};

std::vector<OptionSpec> serve_specs() {
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return {
      {"db", "sqlite:PATH or postgresql://...", "sqlite:./repotokens.db"},
      {"listen", "HOST:PORT to listen on; port 0 picks a free one", "127.0.0.1:8080"},
      {"port-file", "write the bound port here once listening", ""},
      {"secret-file", "64-hex-char key file (default with SQLite: <db path>.key)", ""},
      {"threads", "event-loop threads", std::to_string(cores)},
      {"store-threads", "blocking pool for store work", "64"},
      {"db-connections", "SQLite readers, or PostgreSQL connections per node", "8"},
      {"group-commit", "on: concurrent writes share one durable transaction; off: one each (baseline)", "on"},
      {"cache-ttl-ms", "how long token/organization/repository reads are trusted (revocation bound)", "1000"},
      {"rate-limit-per-token", "requests/s per credential; 0 = off", "100"},
      {"rate-burst", "burst per credential", "1000"},
      {"rate-limit-per-address", "requests/s per client address; 0 = off", "20"},
      {"rate-burst-per-address", "burst per client address", "100"},
      {"throttle-status", "429 or 503", "429"},
      {"ratelimit", "where rate limits are kept: local (this process) or redis://HOST:PORT[/DB] (shared by every node)",
       "local"},
      {"ratelimit-failure", "when Redis is unreachable: open (per-node limits) or closed (answer 503)", "open"},
      {"max-body", "largest request body in bytes", "1048576"},
      {"max-coverage-body", "largest coverage upload (/2.0) body in bytes", "67108864"},
      {"max-connections", "open connections in all; when full, the longest-idle one makes room for a new one", "10000"},
      {"max-connections-per-address", "open connections one client address may hold; beyond, new ones are closed",
       "256"},
      {"read-timeout", "seconds a whole request may take to arrive", "30"},
      {"idle-timeout", "seconds a keep-alive connection may stay idle", "60"},
      {"first-byte-timeout", "seconds a new connection may take to send its first byte (at most --idle-timeout)",
       "10"},
      {"header-timeout", "seconds a request's head may take to arrive after its first byte (at most --read-timeout)",
       "10"},
      {"drain-timeout", "seconds in-flight requests may take after SIGTERM", "10"},
      {"log-format", "text or json", "text"},
      {"log-level", "trace, debug, info, warn or error", "info"},
      {"console-idle-minutes", "a console session unused this long ends", "30"},
      {"console-session-hours", "every console session ends this long after sign-in", "12"},
      {"console-secure-cookie", "auto (Secure when a trusted proxy says https) or always", "auto"},
      {"trusted-proxies", "comma-separated peer addresses whose X-Forwarded-Proto is believed", ""},
      {"gitlab-revocation-token",
       "pre-shared token GitLab's token revocation API sends as Authorization (at least 32 characters; "
       "prefer the environment or the config file to the flag); empty = that API is off", ""},
      {"github-secret-scanning-keys",
       "GitHub secret scanning's public keys ({\"public_keys\": [...]}): a file, or an https:// URL such as "
       "https://api.github.com/meta/public_keys/secret_scanning (http:// only on loopback addresses); empty = "
       "the GitHub receiver is off", ""},
      {"github-secret-scanning-refetch-seconds",
       "an alert naming an unknown key (or arriving before the key set could be fetched) reads the GitHub key "
       "set again at most this often (seconds)", "10"},
      {"outbound-ca-file",
       "PEM bundle of the certificate authorities that the server's own HTTPS fetches (CI issuers' discovery "
       "and JWKS, the GitHub key set) trust instead of the system's; empty = the system's", ""},
      {"webhook-poll-interval", "seconds between looks at the webhook outbox for due events", "1"},
      {"webhook-retry-base", "seconds before the first retry of a failed webhook delivery (doubled each time, "
       "full jitter)", "10"},
      {"webhook-retry-max", "longest wait in seconds between two attempts of one delivery", "3600"},
      {"webhook-retry-window", "seconds after an event during which its delivery is retried; then the webhook "
       "is marked failing", "86400"},
      {"webhook-connect-timeout", "seconds a webhook receiver may take to accept the connection", "5"},
      {"webhook-timeout", "seconds one webhook POST may take in all", "10"},
      {"webhook-expiry-notices", "when token.expiring is sent, before a token's expiry: a comma-separated "
       "list of durations with a unit (s, m, h, d), longest first, each once per token; empty = token.expired "
       "only", "7d,1d"},
      {"webhook-expiry-scan-interval", "seconds between two scans for tokens whose expiry notice is due", "60"},
      {"ci-issuer",
       "a CI OIDC issuer whose job tokens may be exchanged for repository tokens: URL or KIND=URL (KIND github, "
       "github-enterprise, gitlab); repeat for several (environment and config file: comma-separated or a TOML "
       "array); none = the exchange is off", ""},
      {"ci-audience",
       "the audience (aud) a CI trust rule without its own expects: usually this server's public base URL; "
       "empty = every rule must name its audience", ""},
      {"ci-key-refetch-seconds",
       "an unknown key id refetches a CI issuer's keys at most this often (seconds)", "60"},
      {"ci-rate-per-issuer", "CI token exchanges/s per issuer, checked before the signature; 0 = off", "200"},
      {"ci-burst-per-issuer", "burst of CI token exchanges per issuer", "2000"},
      {"ci-rate-per-repository", "CI token exchanges/s per repository; 0 = off", "2"},
      {"ci-burst-per-repository", "burst of CI token exchanges per repository (a matrix of jobs at once)", "100"},
  };
}

std::string env_name(std::string_view option) {
  std::string name = "REPOTOKENS_";
  for (char c : option) name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return name;
}

std::string key_name(std::string_view option) {
  std::string key(option);
  for (char& c : key)
    if (c == '-') c = '_';
  return key;
}

struct UsageError {
  std::string message;
};

// The TOML file's values as text, keyed by option name with underscores.
std::map<std::string, std::string> read_toml(const std::string& path, const std::vector<OptionSpec>& specs) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw UsageError{fmt::format("cannot read config file {}: {} (line {})", path, e.description(),
                                 e.source().begin.line)};
  }
  std::map<std::string, std::string> values;
  for (auto&& [k, node] : table) {
    std::string key = key_name(k.str());
    bool known = false;
    for (const auto& s : specs) known = known || key_name(s.name) == key;
    if (!known) throw UsageError{fmt::format("unknown key '{}' in config file {}", k.str(), path)};
    if (auto s = node.value_exact<std::string>()) values[key] = *s;
    else if (auto i = node.value_exact<std::int64_t>()) values[key] = std::to_string(*i);
    else if (auto d = node.value_exact<double>()) values[key] = fmt::format("{}", *d);
    else if (auto b = node.value_exact<bool>()) values[key] = *b ? "true" : "false";
    else if (const toml::array* list = node.as_array(); list && key == "ci_issuer") {
      std::string joined;
      for (const auto& item : *list) {
        auto text = item.value_exact<std::string>();
        if (!text) throw UsageError{fmt::format("key 'ci_issuer' in config file {} must list strings", path)};
        joined += (joined.empty() ? "" : ",") + *text;
      }
      values[key] = joined;
    }
    else throw UsageError{fmt::format("key '{}' in config file {} must be a string or a number", k.str(), path)};
  }
  return values;
}

[[noreturn]] void bad_value(std::string_view option, std::string_view text, std::string_view expected) {
  throw UsageError{fmt::format("invalid --{} '{}': expected {}", option, text, expected)};
}

std::int64_t integer_option(std::string_view option, const std::string& text, std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    bad_value(option, text, fmt::format("an integer from {} to {}", min, max));
  return value;
}

double number_option(std::string_view option, const std::string& text, double min, double max) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value) || value < min || value > max)
    bad_value(option, text, fmt::format("a number from {} to {}", min, max));
  return value;
}

// "7d,1d": durations with a unit (s, m, h, d), strictly decreasing, as seconds; "" = none.
std::vector<std::int64_t> parse_notice_windows(std::string_view option, const std::string& text) {
  constexpr std::string_view expected =
      "a comma-separated list of durations such as 7d,1d (units s, m, h, d; from 1s to 365d; longest first, "
      "no repeats), or nothing";
  std::vector<std::int64_t> windows;
  if (text.empty()) return windows;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
    const std::string_view unit(end, item.data() + item.size() - end);
    const std::int64_t scale = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
    if (ec != std::errc() || scale == 0 || n < 1 || n > 365 * 86400 / scale) bad_value(option, text, expected);
    const std::int64_t seconds = n * scale;
    if (!windows.empty() && seconds >= windows.back()) bad_value(option, text, expected);
    windows.push_back(seconds);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return windows;
}

// "HOST:PORT", "[v6]:PORT".
void parse_listen(const std::string& text, ServeConfig& c) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) bad_value("listen", text, "HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) bad_value("listen", text, "HOST:PORT");
  c.listen_host = host;
  c.listen_port = static_cast<std::uint16_t>(integer_option("listen", text.substr(colon + 1), 0, 65535));
}

// Converts the winning text of every option into the typed configuration.
ServeConfig convert(const std::map<std::string, std::string>& v) {
  ServeConfig c;
  auto get = [&](const char* name) -> const std::string& { return v.at(name); };
  c.db = get("db");
  if (c.db.empty()) bad_value("db", c.db, "sqlite:PATH or postgresql://...");
  parse_listen(get("listen"), c);
  c.port_file = get("port-file");
  c.secret_file = get("secret-file");
  c.threads = static_cast<int>(integer_option("threads", get("threads"), 1, 256));
  c.store_threads = static_cast<int>(integer_option("store-threads", get("store-threads"), 1, 1024));
  c.db_connections = static_cast<int>(integer_option("db-connections", get("db-connections"), 1, 1000));
  const std::string& group = get("group-commit");
  if (group != "on" && group != "off") bad_value("group-commit", group, "on or off");
  c.group_commit = group == "on";
  c.cache_ttl_ms = static_cast<int>(integer_option("cache-ttl-ms", get("cache-ttl-ms"), 0, 1000));
  c.rate_limit_per_token = number_option("rate-limit-per-token", get("rate-limit-per-token"), 0, 1e9);
  c.rate_burst = static_cast<int>(integer_option("rate-burst", get("rate-burst"), 1, 1000000000));
  c.rate_limit_per_address = number_option("rate-limit-per-address", get("rate-limit-per-address"), 0, 1e9);
  c.rate_burst_per_address =
      static_cast<int>(integer_option("rate-burst-per-address", get("rate-burst-per-address"), 1, 1000000000));
  c.throttle_status = static_cast<int>(integer_option("throttle-status", get("throttle-status"), 100, 599));
  if (c.throttle_status != 429 && c.throttle_status != 503) bad_value("throttle-status", get("throttle-status"), "429 or 503");
  c.ratelimit = get("ratelimit");
  if (c.ratelimit != "local") {
    if (auto redis = parse_redis_url(c.ratelimit); !redis.ok())
      throw UsageError{fmt::format("invalid --ratelimit: {} (or local for the in-process limiter)", redis.error().message)};
  }
  const std::string& failure = get("ratelimit-failure");
  if (failure != "open" && failure != "closed") bad_value("ratelimit-failure", failure, "open or closed");
  c.ratelimit_fail_open = failure == "open";
  c.max_body = static_cast<std::uint64_t>(integer_option("max-body", get("max-body"), 1, std::int64_t{1} << 40));
  c.max_coverage_body = static_cast<std::uint64_t>(
      integer_option("max-coverage-body", get("max-coverage-body"), 1, std::int64_t{1} << 40));
  c.max_connections = static_cast<int>(integer_option("max-connections", get("max-connections"), 1, 10000000));
  c.max_connections_per_address = static_cast<int>(
      integer_option("max-connections-per-address", get("max-connections-per-address"), 1, 10000000));
  c.read_timeout = number_option("read-timeout", get("read-timeout"), 0.001, 86400);
  c.idle_timeout = number_option("idle-timeout", get("idle-timeout"), 0.001, 86400);
  c.first_byte_timeout = number_option("first-byte-timeout", get("first-byte-timeout"), 0.001, 86400);
  c.header_timeout = number_option("header-timeout", get("header-timeout"), 0.001, 86400);
  c.drain_timeout = number_option("drain-timeout", get("drain-timeout"), 0, 86400);
  c.webhook_poll_interval = number_option("webhook-poll-interval", get("webhook-poll-interval"), 0.01, 3600);
  c.webhook_retry_base = number_option("webhook-retry-base", get("webhook-retry-base"), 0.01, 86400);
  c.webhook_retry_max = number_option("webhook-retry-max", get("webhook-retry-max"), 0.01, 86400);
  c.webhook_retry_window = number_option("webhook-retry-window", get("webhook-retry-window"), 1, 30 * 86400);
  c.webhook_connect_timeout = number_option("webhook-connect-timeout", get("webhook-connect-timeout"), 0.1, 300);
  c.webhook_timeout = number_option("webhook-timeout", get("webhook-timeout"), 0.1, 300);
  c.webhook_expiry_notices = parse_notice_windows("webhook-expiry-notices", get("webhook-expiry-notices"));
  c.webhook_expiry_scan_interval =
      number_option("webhook-expiry-scan-interval", get("webhook-expiry-scan-interval"), 0.05, 86400);
  const std::string& format = get("log-format");
  if (format != "text" && format != "json") bad_value("log-format", format, "text or json");
  c.log_json = format == "json";
  c.log_level = get("log-level");
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error")
    bad_value("log-level", c.log_level, "trace, debug, info, warn or error");
  c.console_idle_minutes = static_cast<int>(integer_option("console-idle-minutes", get("console-idle-minutes"), 1, 7 * 24 * 60));
  c.console_session_hours =
      static_cast<int>(integer_option("console-session-hours", get("console-session-hours"), 1, 30 * 24));
  c.console_secure_cookie = get("console-secure-cookie");
  if (c.console_secure_cookie != "auto" && c.console_secure_cookie != "always")
    bad_value("console-secure-cookie", c.console_secure_cookie, "auto or always");
  const std::string& proxies = get("trusted-proxies");
  for (size_t start = 0; start < proxies.size();) {
    size_t comma = std::min(proxies.find(',', start), proxies.size());
    std::string one = proxies.substr(start, comma - start);
    while (!one.empty() && one.front() == ' ') one.erase(0, 1);
    while (!one.empty() && one.back() == ' ') one.pop_back();
    if (!one.empty()) c.trusted_proxies.push_back(one);
    start = comma + 1;
  }
  const std::string& gitlab = get("gitlab-revocation-token");
  if (!gitlab.empty()) {
    bool printable = true;
    for (char ch : gitlab) printable = printable && ch > 0x20 && ch < 0x7f;
    // The value is a secret: the message never repeats it.
    if (gitlab.size() < 32 || !printable)
      throw UsageError{"invalid --gitlab-revocation-token: expected at least 32 printable characters without "
                       "spaces (for example the output of `openssl rand -hex 32`)"};
    c.gitlab_revocation_token = gitlab;
  }
  c.github_secret_scanning_keys = get("github-secret-scanning-keys");
  if (auto source = github_key_source(c.github_secret_scanning_keys, {}); !source)
    throw UsageError{"invalid " + source.error().message};
  c.github_secret_scanning_refetch_seconds = static_cast<int>(integer_option(
      "github-secret-scanning-refetch-seconds", get("github-secret-scanning-refetch-seconds"), 1, 3600));
  c.outbound_ca_file = get("outbound-ca-file");
  if (!c.outbound_ca_file.empty())
    if (auto ca = fetch::check_ca_file(c.outbound_ca_file); !ca) throw UsageError{"invalid " + ca.error().message};
  const std::string& issuers = get("ci-issuer");
  for (size_t start = 0; start < issuers.size();) {
    size_t comma = std::min(issuers.find(',', start), issuers.size());
    std::string one = issuers.substr(start, comma - start);
    while (!one.empty() && one.front() == ' ') one.erase(0, 1);
    while (!one.empty() && one.back() == ' ') one.pop_back();
    if (!one.empty()) {
      if (auto issuer = parse_ci_issuer(one); !issuer.ok())
        throw UsageError{fmt::format("invalid --ci-issuer: {}", issuer.error().message)};
      c.ci_issuers.push_back(one);
    }
    start = comma + 1;
  }
  c.ci_audience = get("ci-audience");
  c.ci_key_refetch_seconds =
      static_cast<int>(integer_option("ci-key-refetch-seconds", get("ci-key-refetch-seconds"), 1, 3600));
  c.ci_rate_per_issuer = number_option("ci-rate-per-issuer", get("ci-rate-per-issuer"), 0, 1e9);
  c.ci_burst_per_issuer =
      static_cast<int>(integer_option("ci-burst-per-issuer", get("ci-burst-per-issuer"), 1, 1000000000));
  c.ci_rate_per_repository = number_option("ci-rate-per-repository", get("ci-rate-per-repository"), 0, 1e9);
  c.ci_burst_per_repository =
      static_cast<int>(integer_option("ci-burst-per-repository", get("ci-burst-per-repository"), 1, 1000000000));
  return c;
}

std::string from_env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : std::move(fallback);
}

}  // namespace

std::optional<int> parse_command_line(int argc, char** argv, Invocation& out) {
  CLI::App app{"repotokensd: a self-hosted Codacy-compatible token server", "repotokensd"};
  app.set_version_flag("--version", "repotokensd " REPOTOKENS_VERSION);
  app.require_subcommand(1, 1);

  const std::vector<OptionSpec> specs = serve_specs();
  std::map<std::string, std::string> flags;
  std::map<std::string, CLI::Option*> given;
  CLI::App* serve = app.add_subcommand("serve", "run the server");
  std::vector<std::string> ci_issuer_flags;  // the one repeatable option: joined with ',' like its env form
  for (const auto& s : specs) {
    given[s.name] = std::string_view(s.name) == "ci-issuer"
                        ? serve->add_option("--ci-issuer", ci_issuer_flags, s.help)
                        : serve->add_option(std::string("--") + s.name, flags[s.name], s.help);
  }
  std::string config_path;
  CLI::Option* config_opt = serve->add_option("--config", config_path, "TOML configuration file");

  AdminConfig& admin = out.admin;
  std::string email;
  CLI::App* admin_cmd = app.add_subcommand("admin", "offline administration");
  admin_cmd->require_subcommand(1, 1);
  CLI::App* create = admin_cmd->add_subcommand("create-user", "create a user and print its account API token");
  CLI::Option* create_db = create->add_option("--db", admin.db, "database URL");
  create->add_option("--name", admin.name, "the user's name")->required();
  CLI::Option* email_opt = create->add_option("--email", email, "the user's e-mail address");
  create->add_flag("--instance-admin", admin.instance_admin, "make the user an instance administrator");
  CLI::Option* create_secret = create->add_option("--secret-file", admin.secret_file, "key file");
  CLI::App* migrate = admin_cmd->add_subcommand("migrate", "apply schema migrations");
  CLI::Option* migrate_db = migrate->add_option("--db", admin.db, "database URL");
  CLI::App* check = admin_cmd->add_subcommand("check", "check that the schema is current");
  CLI::Option* check_db = check->add_option("--db", admin.db, "database URL");
  CLI::App* copy = admin_cmd->add_subcommand("copy", "copy a SQLite installation into an empty, migrated PostgreSQL database");
  copy->add_option("--from", admin.from, "the SQLite database: sqlite:PATH")->required();
  copy->add_option("--to", admin.to, "the PostgreSQL database: postgresql://USER@HOST/DB")->required();
  CLI::Option* copy_secret = copy->add_option(
      "--secret-file", admin.secret_file,
      "the PostgreSQL nodes' key file: checked against <sqlite path>.key, or created from it when missing");

  std::string routes_format = "tsv";
  CLI::App* routes = app.add_subcommand("routes", "print the route table: every Codacy operation served, partly served or 501");
  routes->add_option("--format", routes_format, "tsv or markdown (docs/compatibility.md's tables)")
      ->check(CLI::IsMember({"tsv", "markdown"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "repotokensd: %s (see repotokensd --help)\n", e.what());
    return 2;
  }

  if (routes->parsed()) {
    out.command = Command::routes;
    out.routes_markdown = routes_format == "markdown";
    return std::nullopt;
  }
  if (!serve->parsed()) {
    out.command = create->parsed()    ? Command::create_user
                  : migrate->parsed() ? Command::migrate
                  : copy->parsed()    ? Command::copy
                                      : Command::check;
    bool db_given = create_db->count() + migrate_db->count() + check_db->count() > 0;
    if (!db_given) admin.db = from_env_or("REPOTOKENS_DB", admin.db);
    if (!create_secret->count() && !copy_secret->count())
      admin.secret_file = from_env_or("REPOTOKENS_SECRET_FILE", "");
    if (email_opt->count()) admin.email = email;
    return std::nullopt;
  }

  out.command = Command::serve;
  for (const std::string& one : ci_issuer_flags) flags["ci-issuer"] += (flags["ci-issuer"].empty() ? "" : ",") + one;
  try {
    if (!config_opt->count()) config_path = from_env_or("REPOTOKENS_CONFIG", "");
    std::map<std::string, std::string> file;
    if (!config_path.empty()) file = read_toml(config_path, specs);
    std::map<std::string, std::string> chosen;
    for (const auto& s : specs) {
      if (given[s.name]->count() > 0) {
        chosen[s.name] = flags[s.name];
      } else if (const char* env = std::getenv(env_name(s.name).c_str())) {
        chosen[s.name] = env;
      } else if (auto it = file.find(key_name(s.name)); it != file.end()) {
        chosen[s.name] = it->second;
      } else {
        chosen[s.name] = s.fallback;
      }
    }
    out.serve = convert(chosen);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "repotokensd: %s\n", e.message.c_str());
    return 2;
  }
  return std::nullopt;
}

}  // namespace rt::server
