// Cursor = base64url(position) "." base64url(MAC(scope NUL position)).
#include "core/cursor.h"

namespace rt {
namespace {

std::string mac_input(std::string_view scope, std::string_view position) {
  std::string in(scope);
  in.push_back('\0');
  in.append(position);
  return in;
}

}  // namespace

std::string CursorCodec::encode(std::string_view scope, std::string_view position) const {
  auto tag = hasher_.mac(mac_input(scope, position));
  return base64url_encode(position) + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(tag.data()), tag.size()));
}

Result<std::string> CursorCodec::decode(std::string_view scope, std::string_view cursor) const {
  const auto bad = make_error(ErrorKind::invalid,
                              "malformed cursor: pass the 'cursor' value of the previous page unchanged");
  if (cursor.size() > 2048) return bad;
  auto dot = cursor.find('.');
  if (dot == std::string_view::npos) return bad;
  auto position = base64url_decode(cursor.substr(0, dot));
  auto tag = base64url_decode(cursor.substr(dot + 1));
  if (!position || !tag || tag->size() != 16) return bad;
  auto expected = hasher_.mac(mac_input(scope, *position));
  if (!constant_time_equal(expected, std::span(reinterpret_cast<const std::uint8_t*>(tag->data()), tag->size())))
    return make_error(ErrorKind::invalid,
                      "invalid cursor: it was modified or belongs to another listing; start again without one");
  return std::move(*position);
}

}  // namespace rt
