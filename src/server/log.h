// Logging on stderr through spdlog: operational messages and the access log (one line per request,
// text or JSON lines). Never a header value, never a body: only method, path (with anything shaped like a
// token redacted), status, timing, size and the principal's description.
#pragma once

#include <cstddef>
#include <string_view>

namespace rt::server {

void init_logging(bool json, std::string_view level);
// Writes out buffered lines (access lines are batched; see log.cc).
void flush_logs();

void log_info(std::string_view message);
void log_warn(std::string_view message);
void log_error(std::string_view message);

struct AccessEntry {
  std::string_view method;
  std::string_view path;  // without the query string
  std::string_view route; // operation name, or "-" when none matched
  int status = 0;
  double duration_ms = 0;
  std::size_t bytes = 0;
  std::string_view principal;  // Principal::describe(), or "-"
};

bool access_log_enabled();
void log_access(const AccessEntry& entry);

}  // namespace rt::server
