// Test harness: a webhook receiver (tests/webhook_receiver/webhook_receiver.py, a real HTTP server on a
// loopback port chosen at run time) that records every request repotokensd posts to it and can be told to
// answer 500 or to hang.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http_client.h"

namespace rt::test {

struct ReceivedWebhook {
  std::string path;
  std::string mode;  // what the receiver was told to do when it arrived: ok, fail or hang
  nlohmann::json headers;  // names in lower case
  std::string body;        // raw, as signed
};

class WebhookReceiver {
 public:
  // Starts it; fails the test (ADD_FAILURE + throws) when /usr/bin/python3 cannot run it.
  WebhookReceiver();
  ~WebhookReceiver();  // SIGKILL and wait
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::string url(const std::string& path = "/hook") const;  // "http://127.0.0.1:PORT/hook"
  void set_mode(const std::string& mode);                      // ok, fail or hang
  std::vector<ReceivedWebhook> requests() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace rt::test
