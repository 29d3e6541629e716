// Fuzz target: the token format check (core/secret), which every credential a client sends passes before
// any lookup, and the key-file text parser. Beyond "no crash": a token that passes the check carries the
// prefix of its kind and the documented length; a token generated from any random bytes passes the check
// as its kind; a parsed key formats to text that parses back to the same key.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/secret.h"
#include "fuzz_support.h"

namespace {

// "Random" bytes taken from the fuzzer's input, repeated as needed.
class InputRandom final : public rt::RandomSource {
 public:
  explicit InputRandom(std::string_view bytes) : bytes_(bytes) {}
  void fill(std::span<std::uint8_t> out) override {
    // Offset by a counter, so that even an input of one rejected byte (>= 248) yields usable bytes: a real
    // random source never repeats one value forever, and generate_token's rejection loop relies on that.
    for (auto& b : out) {
      const std::uint8_t in = bytes_.empty() ? 0 : static_cast<std::uint8_t>(bytes_[next_ % bytes_.size()]);
      b = static_cast<std::uint8_t>(in + next_++);
    }
  }

 private:
  std::string_view bytes_;
  std::size_t next_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = rt::fuzz::as_text(data, size);

  auto kind = rt::check_token_format(text);
  if (kind.ok()) {
    const auto prefix = *kind == rt::TokenKind::account ? rt::kAccountTokenPrefix : rt::kRepositoryTokenPrefix;
    if (!rt::has_repotokens_prefix(text) || !text.starts_with(prefix) || text.size() != rt::kTokenLength)
      std::abort();
  }

  InputRandom random(text);
  const auto want = size % 2 ? rt::TokenKind::account : rt::TokenKind::repository;
  const std::string token = rt::generate_token(want, random);
  auto generated = rt::check_token_format(token);
  if (!generated.ok() || *generated != want) std::abort();

  if (auto key = rt::parse_secret_key(text)) {
    auto again = rt::parse_secret_key(rt::format_secret_key(*key));
    if (!again || !std::ranges::equal(*again, *key)) std::abort();
  }
  return 0;
}
