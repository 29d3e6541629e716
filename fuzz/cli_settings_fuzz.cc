// Fuzz target: the CLI's TOML settings file (cli/settings: profiles, api_url, api_token, provider, org),
// read by every `repotokens` command. Beyond "no crash": a resolved target has an http(s) URL without a
// trailing slash, a token without spaces or control characters, and the organization asked for.
#include <cstdint>
#include <cstdlib>

#include "cli/settings.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Only the file may speak: nothing from the calling shell's environment.
  for (const char* name : {"CODACY_API_BASE_URL", "CODACY_API_TOKEN", "REPOTOKENS_PROVIDER", "REPOTOKENS_ORG",
                           "REPOTOKENS_PROFILE", "REPOTOKENS_CONFIG"})
    ::unsetenv(name);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rt::cli::GlobalOptions options;
  options.config_file = rt::fuzz::write_scratch("config.toml", rt::fuzz::as_text(data, size));
  auto target = rt::cli::resolve_target(options, size % 2 == 0);
  if (!target.ok()) return 0;
  const std::string& url = target->connection.api_url;
  if (!(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/')) std::abort();
  for (char c : target->connection.api_token)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) std::abort();
  if (size % 2 == 0 && (target->provider.empty() || target->org.empty())) std::abort();
  return 0;
}
