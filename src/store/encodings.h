// The text encodings both stores share (SQLite's LIKE and PostgreSQL's ILIKE take the same escaped
// patterns; the languages column holds the same text on both), kept out of either backend's folder so that
// neither includes the other's headers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rt {

// "%<text>%" with \, % and _ escaped, for `LIKE ? ESCAPE '\'`: a case-insensitive (ASCII) substring match.
std::string like_pattern(std::string_view text);

// Languages are kept as a JSON array of strings in one text column.
std::string encode_languages(const std::vector<std::string>& languages);
// A LIKE pattern (ESCAPE '\') matching an encoded language list that contains `language`.
std::string language_pattern(std::string_view language);
std::vector<std::string> decode_languages(std::string_view text);

}  // namespace rt
