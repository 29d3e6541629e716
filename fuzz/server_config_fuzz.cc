// Fuzz target: repotokensd's TOML configuration file (server/config), read by `repotokensd serve
// --config FILE` through the same layering and checks as flags and the environment. Beyond "no crash": a
// file either yields a configuration or exit status 2 (a usage error), never anything else.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "fuzz_support.h"
#include "server/config.h"

extern "C" char** environ;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Only the file may speak: no REPOTOKENS_* variable of the calling shell.
  for (bool again = true; again;) {
    again = false;
    for (char** e = environ; *e; ++e)
      if (std::strncmp(*e, "REPOTOKENS_", 11) == 0) {
        std::string name(*e, std::strchr(*e, '=') - *e);
        ::unsetenv(name.c_str());
        again = true;
        break;
      }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string path = rt::fuzz::write_scratch("repotokensd.toml", rt::fuzz::as_text(data, size));
  std::string args[] = {"repotokensd", "serve", "--config", path};
  char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(), nullptr};
  rt::server::Invocation invocation;
  auto status = rt::server::parse_command_line(4, argv, invocation);
  if (status && *status != 2) std::abort();
  if (!status && (invocation.command != rt::server::Command::serve || invocation.serve.db.empty())) std::abort();
  return 0;
}
