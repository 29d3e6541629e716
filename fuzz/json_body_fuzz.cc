// Fuzz target: request bodies as the handlers read them (server/json_io): parse_body, then every field
// any handler reads, with each of the typed readers. Beyond "no crash": a body that parses is an object
// (an empty one for a blank optional body), and a field reader's success agrees with the JSON type.
#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "server/json_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Every body field a handler reads (handlers_*.cc).
  static constexpr const char* kFields[] = {
      "name", "email", "isAdmin", "expiresAt", "provider", "remoteIdentifier", "type", "role",
      "repositoryFullPath", "visibility", "permission", "defaultLifetimeDays", "maxLifetimeDays"};
  const std::string_view text = rt::fuzz::as_text(data, size);
  for (bool required : {true, false}) {
    auto body = rt::server::parse_body(text, required);
    if (!body.ok()) continue;
    if (!body->is_object()) std::abort();
    for (const char* field : kFields) {
      auto s = rt::server::string_field(*body, field);
      auto r = rt::server::required_string_field(*body, field);
      auto b = rt::server::bool_field(*body, field);
      auto i = rt::server::int_field(*body, field);
      const auto it = body->find(field);
      const bool present = it != body->end() && !it->is_null();
      if (s.ok() != (!present || it->is_string()) || r.ok() != (present && it->is_string())) std::abort();
      if (b.ok() != (!present || it->is_boolean())) std::abort();
      if (i.ok() && present && !it->is_number_integer() && !it->is_number_unsigned()) std::abort();
    }
  }
  return 0;
}
