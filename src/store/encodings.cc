// The text encodings both stores share, so that a database copied between backends (store/copy) keeps
// its meaning and both answer a search alike: LIKE-pattern escaping and the languages column.
#include "store/encodings.h"

#include <array>
#include <cstdint>

#include "core/secret.h"

#include <charconv>
#include <cstdio>

namespace rt {

std::string like_pattern(std::string_view text) {
  std::string out = "%";
  for (char ch : text) {
    if (ch == '\\' || ch == '%' || ch == '_') out += '\\';
    out += ch;
  }
  out += '%';
  return out;
}

std::string encode_languages(const std::vector<std::string>& languages) {
  std::string out = "[";
  for (size_t i = 0; i < languages.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (unsigned char ch : languages[i]) {
      if (ch == '"' || ch == '\\') {
        out += '\\';
        out += static_cast<char>(ch);
      } else if (ch < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", ch);
        out += buf;
      } else {
        out += static_cast<char>(ch);
      }
    }
    out += '"';
  }
  return out + "]";
}

std::string language_pattern(std::string_view language) {
  std::string quoted = encode_languages({std::string(language)});  // ["lang"] -> "lang", escaped alike
  return like_pattern(std::string_view(quoted).substr(1, quoted.size() - 2));
}

// Reads what encode_languages writes (strings, with \" \\ and \u00XX escapes); stops at anything else.
std::vector<std::string> decode_languages(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  auto at = [&](char ch) { return i < text.size() && text[i] == ch; };
  if (!at('[')) return out;
  ++i;
  while (at('"')) {
    ++i;
    std::string item;
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\' && i + 1 < text.size()) {
        char esc = text[i + 1];
        if (esc == 'u' && i + 6 <= text.size()) {
          unsigned code = 0;
          std::from_chars(text.data() + i + 2, text.data() + i + 6, code, 16);
          item += static_cast<char>(code);
          i += 6;
          continue;
        }
        item += esc;
        i += 2;
        continue;
      }
      item += text[i++];
    }
    ++i;  // closing quote
    out.push_back(std::move(item));
    if (at(',')) ++i;
  }
  return out;
}

std::string encode_webhook_events(const std::vector<std::string>& events) {
  std::string out = ",";
  for (const std::string& e : events) out += e + ",";
  return out;
}

std::vector<std::string> decode_webhook_events(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string new_webhook_event_id_prefix() {
  std::array<std::uint8_t, 12> bytes{};
  SystemRandom().fill(bytes);
  return "evt_" + to_hex(bytes) + "_";
}

std::string_view webhook_event_of(std::string_view action) {
  if (action == "repository.token.create") return "token.created";
  if (action == "repository.token.exchange") return "token.exchanged";
  if (action == "repository.token.delete") return "token.revoked";
  if (action == "token.leaked") return "token.leaked";
  return {};
}

std::string_view created_token_event(std::string_view action) {
  return action == "repository.token.exchange" ? "token.exchanged" : "token.created";
}

}  // namespace rt
