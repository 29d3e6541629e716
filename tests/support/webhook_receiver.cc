// Starting, steering and stopping the webhook receiver (a Python process whose first output line names its
// port), started like the Codacy stand-in.
#include "support/webhook_receiver.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include <gtest/gtest.h>

namespace rt::test {

WebhookReceiver::WebhookReceiver() {
  std::string python = "/usr/bin/python3";
  std::string script = std::string(REPOTOKENS_SOURCE_DIR) + "/tests/webhook_receiver/webhook_receiver.py";
  char* argv[] = {python.data(), script.data(), nullptr};
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe");
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execv(argv[0], argv);
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (line.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) line += c;
  ::close(out[0]);
  if (line.rfind("listening ", 0) != 0) {
    ADD_FAILURE() << "the webhook receiver did not start: '" << line << "'";
    throw std::runtime_error("webhook receiver did not start");
  }
  port_ = std::stoi(line.substr(10));
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
