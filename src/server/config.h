// repotokensd's command line (docs/configuration.md, /tmp/server_cli.md): the serve options with their
// sources (flag > REPOTOKENS_* environment > TOML file > default) and the admin subcommands.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rt::server {

struct ServeConfig {
  std::string db = "sqlite:./repotokens.db";
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string port_file;
  std::string secret_file;
  int threads = 1;
  int store_threads = 64;
  int db_connections = 8;  // SQLite: concurrent readers; PostgreSQL: the pool, shared by reads and writes
  bool group_commit = true;
  int cache_ttl_ms = 1000;  // at most 1 s: the documented bound for a revocation to reach every node
  double rate_limit_per_token = 100;
  int rate_burst = 1000;
  double rate_limit_per_address = 20;
  int rate_burst_per_address = 100;
  int throttle_status = 429;
  std::string ratelimit = "local";   // "local" (the in-process GcraLimiter) or redis://HOST:PORT[/DB]
  bool ratelimit_fail_open = true;   // Redis unreachable: keep serving with per-node limits (or answer 503)
  std::uint64_t max_body = 1048576;
  std::uint64_t max_coverage_body = 64ull << 20;  // the /2.0 coverage uploads (monorepo reports)
  int max_connections = 10000;
  int max_connections_per_address = 256;  // one client address may hold at most this many
  double read_timeout = 30;
  double idle_timeout = 60;
  double first_byte_timeout = 10;  // a new connection's first request must start within this (<= idle)
  double header_timeout = 10;      // a request's head must be complete this long after its first byte
  double drain_timeout = 10;
  bool log_json = false;
  std::string log_level = "info";
  // The web console (docs/configuration.md): session lifetimes, and when its cookie is marked Secure.
  int console_idle_minutes = 30;
  int console_session_hours = 12;
  std::string console_secure_cookie = "auto";  // "auto": when a trusted proxy says https; "always"
  std::vector<std::string> trusted_proxies;    // peer addresses whose X-Forwarded-Proto is believed
  // Leaked tokens (docs/configuration.md): GitLab's token revocation API is on when its pre-shared token is
  // set; GitHub secret scanning is on when its key-set file is named.
  std::optional<std::string> gitlab_revocation_token;
  std::string github_secret_scanning_keys;  // a file or URL of GitHub's {"public_keys": [...]} format
  int github_secret_scanning_refetch_seconds = 10;  // a miss (or no set yet) reads it again at most this often
  // The CA bundle (PEM) of the server's own HTTPS fetches (OIDC discovery and JWKS, the GitHub key set);
  // empty: the system's.
  std::string outbound_ca_file;
  // Webhook delivery (docs/webhooks.md): how often the outbox is polled, the first retry delay (doubled on
  // each failure, full jitter), the retry window after which the webhook is marked failing, and the
  // timeouts of one POST.
  double webhook_poll_interval = 1;
  double webhook_retry_base = 10;
  double webhook_retry_max = 3600;
  double webhook_retry_window = 86400;
  double webhook_connect_timeout = 5;
  double webhook_timeout = 10;
  // Expiry notices (docs/webhooks.md): the windows before a token's expiry that token.expiring announces
  // (seconds, descending; empty = token.expired only), and how often the expiry scheduler scans.
  std::vector<std::int64_t> webhook_expiry_notices{7 * 86400, 86400};
  double webhook_expiry_scan_interval = 60;
  // Secretless CI (docs/configuration.md): the issuers whose OIDC tokens may be exchanged, each "URL" or
  // "KIND=URL" as given (checked by parse_ci_issuer), and the audience rules without one expect.
  std::vector<std::string> ci_issuers;
  std::string ci_audience;
  int ci_key_refetch_seconds = 60;  // an unknown kid refetches an issuer's keys at most this often
  double ci_rate_per_issuer = 200;  // exchanges/s; 0 = off
  int ci_burst_per_issuer = 2000;
  double ci_rate_per_repository = 2;
  int ci_burst_per_repository = 100;
};

struct AdminConfig {
  std::string db = "sqlite:./repotokens.db";
  std::string secret_file;
  std::string name;
  std::optional<std::string> email;
  bool instance_admin = false;
  std::string from, to;  // admin copy
};

enum class Command { serve, create_user, migrate, check, copy, routes };

struct Invocation {
  Command command = Command::serve;
  ServeConfig serve;
  AdminConfig admin;
  bool routes_markdown = false;  // routes: --format markdown (else tsv)
};

// Parses argv (and, for serve, the environment and the TOML file). Returns nullopt when the process
// should go on with `out`; otherwise the exit status to end with (0 after --help/--version, 2 after a usage
// error or a bad value, whose one-line message naming the option is already on stderr).
std::optional<int> parse_command_line(int argc, char** argv, Invocation& out);

}  // namespace rt::server
