// Fuzz target: the pagination cursor decoder (core/cursor), which reads the `cursor` query parameter of
// every listing. Beyond "no crash": any position encodes to a cursor that decodes back to it for its own
// scope and is refused for any other.
#include <cstdint>
#include <cstdlib>

#include "core/cursor.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const rt::SecretHasher hasher(rt::SecretKey{1, 2, 3, 4, 5, 6, 7, 8});
  static const rt::CursorCodec codec(hasher);
  const std::string_view text = rt::fuzz::as_text(data, size);

  // The input as a cursor for a fixed scope, and split at its first NUL into a scope and a cursor.
  (void)codec.decode("repositories:gh/acme", text);
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    (void)codec.decode(text.substr(0, nul), text.substr(nul + 1));

  // The input as a position: a round trip, and refused under another scope.
  const std::string cursor = codec.encode("repositories:gh/acme", text);
  auto back = codec.decode("repositories:gh/acme", cursor);
  if (cursor.size() <= 2048 && (!back.ok() || *back != text)) std::abort();
  if (codec.decode("people:gh/acme", cursor).ok()) std::abort();
  return 0;
}
