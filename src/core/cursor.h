// Pagination cursors: opaque to clients, keyset-based, and tamper-evident.
//
// A cursor carries the sort key of the last row of the previous page ("position") and the scope of the
// listing it belongs to (which list, which organization, which filter). Both are covered by a keyed MAC, so
// a modified cursor, or one taken from another listing, is refused as invalid input (400) instead of
// being trusted; and because the position is a key rather than an offset, a walk neither skips nor
// repeats rows that exist throughout it while others are inserted or deleted.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret.h"

namespace rt {

class CursorCodec {
 public:
  explicit CursorCodec(const SecretHasher& hasher) : hasher_(hasher) {}

  std::string encode(std::string_view scope, std::string_view position) const;

  // The position, or `invalid` ("malformed cursor", "cursor belongs to another listing").
  Result<std::string> decode(std::string_view scope, std::string_view cursor) const;

 private:
  const SecretHasher& hasher_;
};

}  // namespace rt
