// Starting, steering and stopping the webhook receiver (a Python process whose first output line names its
// port), started like the Codacy stand-in.
#include "support/webhook_receiver.h"

#include "support/python_server.h"

#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

namespace rt::test {

WebhookReceiver::WebhookReceiver() {
  PythonServer started = start_python_server(
      "the webhook receiver", std::string(REPOTOKENS_SOURCE_DIR) + "/tests/webhook_receiver/webhook_receiver.py", {});
  pid_ = started.pid;
  port_ = started.port;
  http_ = std::make_unique<HttpClient>("http://127.0.0.1:" + std::to_string(port_));
}

WebhookReceiver::~WebhookReceiver() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void WebhookReceiver::set_mode(const std::string& mode) {
  auto r = http_->request("POST", "/_control/mode", mode, {"Content-Type: text/plain"});
  if (r.status != 204) ADD_FAILURE() << "the webhook receiver refused mode " << mode << ": " << r.status;
}

std::vector<ReceivedWebhook> WebhookReceiver::requests() const {
  std::vector<ReceivedWebhook> out;
  auto r = http_->get("/_control/requests");
  EXPECT_EQ(r.status, 200) << r.body;
  for (const auto& e : r.json())
    out.push_back(ReceivedWebhook{.path = e["path"], .mode = e["mode"], .headers = e["headers"], .body = e["body"]});
  return out;
}

}  // namespace rt::test
