// Starting and stopping a Python HTTP server script (see python_server.h): fork, exec, read the port line.
#include "support/python_server.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include <gtest/gtest.h>

namespace rt::test {

PythonServer start_python_server(const std::string& what, const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> all{"/usr/bin/python3", script};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe");
  PythonServer server;
  server.pid = ::fork();
  if (server.pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test program, even one that crashed
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (line.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) line += c;
  ::close(out[0]);
  if (line.rfind("listening ", 0) != 0) {
    stop_python_server(server);
    ADD_FAILURE() << what << " did not start: '" << line << "'";
    throw std::runtime_error(what + " did not start");
  }
  server.port = std::stoi(line.substr(10));
  return server;
}

void stop_python_server(PythonServer& server) {
  if (server.pid > 0) {
    ::kill(server.pid, SIGKILL);
    ::waitpid(server.pid, nullptr, 0);
  }
  server.pid = -1;
}

}  // namespace rt::test
