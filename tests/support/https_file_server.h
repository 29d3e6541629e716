// Test harness: a real HTTPS server on a loopback port chosen at run time (tests/https_file_server/, Python's
// http.server + ssl) serving the files of a folder, with a self-signed certificate for 127.0.0.1 made at test
// time by `openssl req`. That certificate is the CA bundle a client must be told to trust
// (repotokensd --outbound-ca-file). It can be stopped (connections refused) and started again on its port.
#pragma once

#include <filesystem>
#include <string>

#include "support/python_server.h"
#include "support/server_process.h"

namespace rt::test {

class HttpsFileServer {
 public:
  HttpsFileServer();  // makes the certificate and starts; fails the test (ADD_FAILURE + throws) when it cannot
  ~HttpsFileServer();
  HttpsFileServer(const HttpsFileServer&) = delete;
  HttpsFileServer& operator=(const HttpsFileServer&) = delete;

  std::string url(const std::string& name) const;  // "https://127.0.0.1:PORT/NAME"
  // Writes (or replaces) the served file NAME (a path under the root, folders made); the next GET answers
  // the new bytes.
  void write(const std::string& name, const std::string& bytes) const;
  const std::filesystem::path& ca_file() const { return cert_; }
  long gets() const;  // GETs served so far (also 404s)
  void stop();        // SIGKILL: the port refuses connections until start()
  void start();       // again, on the same port

 private:
  TempDir dir_;
  std::filesystem::path root_, cert_, key_, log_;
  PythonServer process_;
};

}  // namespace rt::test
