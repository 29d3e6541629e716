// spdlog set-up and the line formats. In JSON mode the logger's pattern supplies time and level and each
// message supplies the remaining fields, already escaped, so every line is one JSON object.
#include "server/log.h"

#include <memory>
#include <optional>
#include <string>

#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

#include <spdlog/details/os.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "core/secret.h"

namespace rt::server {
namespace {

// stderr, written in batches: under load the access log costs one write(2) per ~32 KiB instead of one per
// request. A line waits at most ~50 ms (the flusher thread); warnings and errors go out at once.
class BatchedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~BatchedStderrSink() override { write_out(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    buffer_.append(line.data(), line.size());
    if (buffer_.size() >= kBatchBytes || msg.level >= spdlog::level::warn) write_out();
  }
  void flush_() override { write_out(); }

 private:
  static constexpr size_t kBatchBytes = 32 * 1024;
  void write_out() {
    size_t done = 0;
    while (done < buffer_.size()) {
      ssize_t n = ::write(STDERR_FILENO, buffer_.data() + done, buffer_.size() - done);
      if (n <= 0) break;  // stderr gone: drop rather than block the server
      done += static_cast<size_t>(n);
    }
    buffer_.clear();
  }
  std::string buffer_;
};

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
  auto sink = std::make_shared<BatchedStderrSink>();
  if (g_logger) spdlog::drop("repotokensd");
  g_logger = std::make_shared<spdlog::logger>("repotokensd", sink);
  spdlog::register_logger(g_logger);
  static std::jthread flusher([](std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (auto logger = spdlog::get("repotokensd")) logger->flush();
    }
  });
  if (json)
    g_logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  else
    g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  g_logger->set_level(spdlog::level::from_str(std::string(level)));
  g_logger->flush_on(spdlog::level::warn);
}

void flush_logs() {
  if (g_logger) g_logger->flush();
}

void log_info(std::string_view message) { log_message(spdlog::level::info, message); }
void log_warn(std::string_view message) { log_message(spdlog::level::warn, message); }
void log_error(std::string_view message) { log_message(spdlog::level::err, message); }

bool access_log_enabled() { return logger().should_log(spdlog::level::info); }

void log_access(const AccessEntry& e) {
  if (!access_log_enabled()) return;
  // A secret pasted into a path (DELETE /user/tokens/<secret>) is logged as its prefix only.
  const std::optional<std::string> redacted = redact_tokens(e.path);
  const std::string_view path = redacted ? std::string_view(*redacted) : e.path;
  if (!g_json) {
    logger().info("access {} {} {} {:.3f}ms {}B {} {}", e.method, path, e.status, e.duration_ms, e.bytes,
                  e.route, e.principal);
    return;
  }
  std::string line = "\"msg\":\"access\",\"method\":";
  append_json_string(line, e.method);
  line += ",\"path\":";
  append_json_string(line, path);
  line += ",\"route\":";
  append_json_string(line, e.route);
  line += fmt::format(",\"status\":{},\"durationMs\":{:.3f},\"bytes\":{},\"principal\":", e.status, e.duration_ms,
                      e.bytes);
  append_json_string(line, e.principal);
  logger().info("{}", line);
}

}  // namespace rt::server
