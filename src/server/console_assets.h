// The web console's files, compiled into the binary by cmake/embed_console.cmake from src/console/.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace rt::server {

struct ConsoleAsset {
  std::string_view name;          // the file name under /console/, e.g. "app.js"
  std::string_view content_type;
  std::string_view etag;          // quoted, from the file's SHA-256
  std::string_view body;
};

// Every file, sorted by name.
std::span<const ConsoleAsset> console_assets();

}  // namespace rt::server
