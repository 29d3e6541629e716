// Input rules shared by the service's operations.
#include "service/validate.h"

#include <charconv>

#include <fmt/format.h>

namespace rt {
namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points above U+10FFFF. Names reach
// the API as JSON (already valid), but also from the command line (`admin create-user --name`).
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      if ((b(i + k) & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

}  // namespace

Status check_entity_name(std::string_view what, std::string_view name) {
  bool ok = !name.empty() && name.size() <= 100 && name != "." && name != "..";
  for (char c : name) ok = ok && (is_alnum(c) || c == '.' || c == '_' || c == '-');
  if (ok) return ok_status();
  return make_error(ErrorKind::invalid,
                    fmt::format("invalid {} name: use 1 to 100 letters, digits, '.', '_' or '-' (not '.' or '..')",
                                what));
}

Status check_token_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxTokenNameLength;
  for (char c : name) ok = ok && (is_alnum(c) || c == '-');
  if (ok) return ok_status();
  return make_error(ErrorKind::invalid,
                    fmt::format("invalid token name: use 1 to {} letters, digits or dashes (got {} characters)",
                                kMaxTokenNameLength, name.size()));
}

Status check_user_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 100 && valid_utf8(name);
  for (unsigned char c : name) ok = ok && c >= 0x20 && c != 0x7f;
  if (ok) return ok_status();
  return make_error(ErrorKind::invalid,
                    "invalid user name: use 1 to 100 bytes of UTF-8 text, no control characters");
}

Status check_email(std::string_view email) {
  bool ok = email.size() >= 3 && email.size() <= 254 && email.find('@') != std::string_view::npos && valid_utf8(email);
  for (unsigned char c : email) ok = ok && c > 0x20 && c != 0x7f;
  if (ok) return ok_status();
  return make_error(ErrorKind::invalid, "invalid email: expected an address such as ada@example.com");
}

std::string echo_ascii(std::string_view text, size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  return out;
}

std::string_view utf8_prefix(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;  // text[max] continues a character
  return text.substr(0, max);
}

Result<Provider> check_provider(std::string_view code) {
  if (auto p = parse_provider(code)) return *p;
  return make_error(ErrorKind::invalid,
                    fmt::format("unknown provider '{}': use one of {}", code.substr(0, 20), kValidProviders));
}

Result<std::optional<UnixTime>> check_future_time(std::string_view field, const std::optional<std::string>& text,
                                                  UnixTime now) {
  if (!text) return std::optional<UnixTime>();
  auto t = parse_rfc3339(*text);
  if (!t)
    return make_error(ErrorKind::invalid,
                      fmt::format("{} must be an RFC 3339 time such as 2027-01-31T12:00:00Z", field));
  if (*t <= now)
    return make_error(ErrorKind::invalid, fmt::format("{} must be in the future (it is now {})", field,
                                                      format_rfc3339(now)));
  return std::optional<UnixTime>(*t);
}

std::optional<Id> parse_id(std::string_view text) {
  Id id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 0) return std::nullopt;
  return id;
}

}  // namespace rt
