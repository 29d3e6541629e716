// What the web console asks of the service beyond the v3 operations: its sessions (opened with an account
// token, ended by sign-out, idleness, an absolute lifetime, or the token's revocation) and the CSRF token
// each session carries, and the summaries that let one page show what would otherwise take a call per row.
// The rules live in service/console.cc; the cookie and header handling in server/console_http.cc.
#pragma once

#include <optional>
#include <string>

#include "core/model.h"
#include "store/coverage_store.h"
#include "store/store.h"

namespace rt {

// Lifetimes of console sessions (ServiceOptions::console).
struct ConsoleSessionPolicy {
  int idle_seconds = 30 * 60;         // a session unused this long ends
  int absolute_seconds = 12 * 3600;   // and every session ends this long after sign-in
};

// A session just opened: the id is the secret that goes into the cookie (shown once, stored only hashed).
struct OpenedConsoleSession {
  std::string session_id;
  std::string csrf_token;  // derived from the id: the page sends it back in X-CSRF-Token
  User user;
  UnixTime opened_at = 0;
  UnixTime expires_at = 0;  // the absolute end
};

// One row of the console's repository list: the repository, its live tokens and its last coverage upload.
struct RepositoryOverview {
  RepositoryView view;
  int live_tokens = 0;
  std::optional<UnixTime> soonest_expiry;
  std::optional<CoverageUpload> last_upload;
};

// One row of the console's expiring-soon view.
struct ExpiringTokenView {
  RepositoryToken token;
  Repository repository;
  int warning_days = 14;
};

// The console's audit filters (every field optional): RFC 3339 times, an action name, an actor substring,
// a repository name of the organization.
struct AuditFilter {
  std::optional<std::string> from, to;
  std::string action, actor, repository;
};

}  // namespace rt
