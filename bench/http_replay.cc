// http_replay: sends many HTTP requests to one server over N keep-alive connections, for seeding
// benchmark data (100,000 repositories, 200,000 tokens) faster than a shell loop could.
//
//   http_replay BASE_URL CONNECTIONS HEADER < requests
//
// Each input line is "METHOD PATH [JSON BODY]". Prints "sent N, 2xx N, other N, seconds S" and, for
// non-2xx answers, the first few bodies on stderr. Exit 1 when any request failed.
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: http_replay BASE_URL CONNECTIONS 'header: value' < requests\n");
    return 2;
  }
  const std::string base = argv[1];
  const int connections = std::max(1, std::atoi(argv[2]));
  const std::string header = argv[3];
  std::vector<std::string> lines;
  for (std::string line; std::getline(std::cin, line);)
    if (!line.empty()) lines.push_back(std::move(line));

  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::atomic<size_t> next{0}, ok{0}, failed{0};
  std::mutex err_mu;
  int shown = 0;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < connections; ++w) {
    workers.emplace_back([&] {
      CURL* c = curl_easy_init();
      curl_slist* headers = curl_slist_append(nullptr, header.c_str());
      headers = curl_slist_append(headers, "Content-Type: application/json");
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
      std::string body;
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
      for (size_t i; (i = next++) < lines.size();) {
        const std::string& line = lines[i];
        auto sp1 = line.find(' ');
        auto sp2 = line.find(' ', sp1 + 1);
        std::string method = line.substr(0, sp1);
        std::string path = line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
        std::string payload = sp2 == std::string::npos ? "" : line.substr(sp2 + 1);
        std::string url = base + path;
        body.clear();
        curl_easy_setopt(c, CURLOPT_URL, url.c_str());
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard lock(err_mu);
          if (shown++ < 5) std::fprintf(stderr, "%s %s -> %ld %s\n", method.c_str(), path.c_str(), status, body.c_str());
        }
      }
      curl_slist_free_all(headers);
      curl_easy_cleanup(c);
    });
  }
  for (auto& t : workers) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("sent %zu, 2xx %zu, other %zu, seconds %.2f\n", lines.size(), ok.load(), failed.load(), seconds);
  return failed ? 1 : 0;
}
