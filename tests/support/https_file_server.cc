// The HTTPS file server's certificate (openssl req) and process (see https_file_server.h and the script).
#include "support/https_file_server.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace rt::test {

HttpsFileServer::HttpsFileServer()
    : root_(dir_.path() / "root"), cert_(dir_.path() / "cert.pem"), key_(dir_.path() / "key.pem"),
      log_(dir_.path() / "gets.log") {
  std::filesystem::create_directories(root_);
  // A P-256 certificate for the address the tests use, valid for two days, its own issuer (Debian's openssl).
  auto made = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                           "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                           "-keyout", key_.string(), "-out", cert_.string()});
  if (made.exit_code != 0) {
    ADD_FAILURE() << "openssl req failed: " << made.err;
    throw std::runtime_error("openssl req failed");
  }
  start();
}

HttpsFileServer::~HttpsFileServer() { stop(); }

void HttpsFileServer::start() {
  const int port = process_.port;  // 0 the first time: chosen by the script
  process_ = start_python_server(
      "the HTTPS file server", std::string(REPOTOKENS_SOURCE_DIR) + "/tests/https_file_server/https_file_server.py",
      {"--root", root_.string(), "--cert", cert_.string(), "--key", key_.string(), "--log", log_.string(), "--port",
       std::to_string(port)});
}

void HttpsFileServer::stop() {
  const int port = process_.port;
  stop_python_server(process_);
  process_.port = port;
}

std::string HttpsFileServer::url(const std::string& name) const {
  return "https://127.0.0.1:" + std::to_string(process_.port) + "/" + name;
}

void HttpsFileServer::write(const std::string& name, const std::string& bytes) const {
  // Written beside and renamed, so a GET never sees half a file.
  const auto tmp = root_ / (name + ".tmp");
  std::filesystem::create_directories(tmp.parent_path());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, root_ / name);
}

long HttpsFileServer::gets() const {
  std::istringstream lines(file_bytes(log_));
  long n = 0;
  for (std::string line; std::getline(lines, line);) ++n;
  return n;
}

}  // namespace rt::test
