// Test harness: starting a Python HTTP server script (Debian's /usr/bin/python3) whose first output line
// is "listening PORT", as the Codacy stand-in and the test OIDC issuer do; it dies with the test program.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace rt::test {

struct PythonServer {
  pid_t pid = -1;
  int port = 0;
};

// Runs /usr/bin/python3 SCRIPT ARGS... and waits for its "listening PORT" line. On failure: ADD_FAILURE
// naming `what` and what it printed, and a thrown std::runtime_error.
PythonServer start_python_server(const std::string& what, const std::string& script, const std::vector<std::string>& args);
// SIGKILL and wait; harmless on a server that was never started.
void stop_python_server(PythonServer& server);

}  // namespace rt::test
