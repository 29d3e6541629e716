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

// A webhook's events are kept as ",token.created,token.revoked," so that one SQL test
// (instr/strpos of ",<event>,") says whether it is subscribed.
std::string encode_webhook_events(const std::vector<std::string>& events);
std::vector<std::string> decode_webhook_events(std::string_view text);
// "evt_<24 random hex digits>_": an outbox event id is this followed by the token id; its delivery ids add
// ".<webhook id>".
std::string new_webhook_event_id_prefix();
// The webhook event an audit action announces ("repository.token.create" -> "token.created",
// "repository.token.exchange" -> "token.exchanged": a CI exchange's token), or empty.
std::string_view webhook_event_of(std::string_view audit_action);
// What a repository token's creation announces: token.exchanged when its audit action is a CI exchange's
// ("repository.token.exchange"), token.created otherwise.
std::string_view created_token_event(std::string_view audit_action);

}  // namespace rt
