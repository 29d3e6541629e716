// The text encodings both stores share, so that a database copied between backends (store/copy) keeps
// its meaning and both answer a search alike: LIKE-pattern escaping and the languages column.
#include "store/encodings.h"

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

}  // namespace rt
