// spdlog set-up and the line formats. In JSON mode the logger's pattern supplies time and level and each
// message supplies the remaining fields, already escaped, so every line is one JSON object.
#include "server/log.h"

#include <memory>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace rt::server {
namespace {

bool g_json = false;
std::shared_ptr<spdlog::logger> g_logger;

spdlog::logger& logger() {
  if (!g_logger) init_logging(false, "info");
  return *g_logger;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void log_message(spdlog::level::level_enum level, std::string_view message) {
  if (!logger().should_log(level)) return;
  if (!g_json) {
    logger().log(level, "{}", message);
    return;
  }
  std::string line = "\"msg\":";
  append_json_string(line, message);
  logger().log(level, "{}", line);
}

}  // namespace

void init_logging(bool json, std::string_view level) {
  g_json = json;
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  g_logger = std::make_shared<spdlog::logger>("repotokensd", sink);
  if (json)
    g_logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  else
    g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  g_logger->set_level(spdlog::level::from_str(std::string(level)));
  g_logger->flush_on(spdlog::level::trace);
}

void log_info(std::string_view message) { log_message(spdlog::level::info, message); }
void log_warn(std::string_view message) { log_message(spdlog::level::warn, message); }
void log_error(std::string_view message) { log_message(spdlog::level::err, message); }

bool access_log_enabled() { return logger().should_log(spdlog::level::info); }

void log_access(const AccessEntry& e) {
  if (!access_log_enabled()) return;
  if (!g_json) {
    logger().info("access {} {} {} {:.3f}ms {}B {} {}", e.method, e.path, e.status, e.duration_ms, e.bytes,
                  e.route, e.principal);
    return;
  }
  std::string line = "\"msg\":\"access\",\"method\":";
  append_json_string(line, e.method);
  line += ",\"path\":";
  append_json_string(line, e.path);
  line += ",\"route\":";
  append_json_string(line, e.route);
  line += fmt::format(",\"status\":{},\"durationMs\":{:.3f},\"bytes\":{},\"principal\":", e.status, e.duration_ms,
                      e.bytes);
  append_json_string(line, e.principal);
  logger().info("{}", line);
}

}  // namespace rt::server
