// A small registry: series keyed by name and labels, each an atomic counter or a fixed-bucket histogram.
#include "core/metrics.h"

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include <fmt/format.h>

namespace rt::metrics {
namespace {

constexpr std::array<double, 14> kBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

struct Series {
  std::atomic<double> value{0};  // counter or gauge value, or histogram sum
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};  // histograms only
  std::atomic<std::uint64_t> count{0};
};

struct Family {
  std::string type = "counter";
  std::string help;
  std::map<std::string, std::unique_ptr<Series>, std::less<>> series;
};

struct Registry {
  std::shared_mutex mu;
  std::map<std::string, Family, std::less<>> families;
};

Registry& registry() {
  static Registry r;
  return r;
}

Series& series(std::string_view name, std::string_view labels, std::string_view type) {
  Registry& r = registry();
  {
    std::shared_lock lock(r.mu);
    auto f = r.families.find(name);
    if (f != r.families.end()) {
      auto s = f->second.series.find(labels);
      if (s != f->second.series.end()) return *s->second;
    }
  }
  std::unique_lock lock(r.mu);
  auto f = r.families.find(name);
  if (f == r.families.end()) f = r.families.emplace(std::string(name), Family{std::string(type), {}, {}}).first;
  auto s = f->second.series.find(labels);
  if (s == f->second.series.end()) s = f->second.series.emplace(std::string(labels), std::make_unique<Series>()).first;
  return *s->second;
}

void atomic_add(std::atomic<double>& a, double v) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

std::string braces(std::string_view labels) { return labels.empty() ? "" : fmt::format("{{{}}}", labels); }

std::string with_le(std::string_view labels, std::string_view le) {
  return labels.empty() ? fmt::format("{{le=\"{}\"}}", le) : fmt::format("{{{},le=\"{}\"}}", labels, le);
}

}  // namespace

void describe(std::string_view name, std::string_view type, std::string_view help) {
  Registry& r = registry();
  std::unique_lock lock(r.mu);
  auto& f = r.families[std::string(name)];
  f.type = std::string(type);
  f.help = std::string(help);
}

void add(std::string_view name, std::string_view labels, double value) {
  atomic_add(series(name, labels, "counter").value, value);
}

void set_gauge(std::string_view name, std::string_view labels, double value) {
  series(name, labels, "gauge").value.store(value, std::memory_order_relaxed);
}

void observe(std::string_view name, std::string_view labels, double seconds) {
  Series& s = series(name, labels, "histogram");
  size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  s.buckets[i].fetch_add(1, std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_relaxed);
  atomic_add(s.value, seconds);
}

std::string render() {
  Registry& r = registry();
  std::shared_lock lock(r.mu);
  std::string out;
  for (const auto& [name, f] : r.families) {
    if (!f.help.empty()) out += fmt::format("# HELP {} {}\n", name, f.help);
    out += fmt::format("# TYPE {} {}\n", name, f.type);
    for (const auto& [labels, s] : f.series) {
      if (f.type != "histogram") {
        out += fmt::format("{}{} {}\n", name, braces(labels), s->value.load());
        continue;
      }
      std::uint64_t cumulative = 0;
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += s->buckets[i].load();
        out += fmt::format("{}_bucket{} {}\n", name, with_le(labels, fmt::format("{}", kBuckets[i])), cumulative);
      }
      cumulative += s->buckets[kBuckets.size()].load();
      out += fmt::format("{}_bucket{} {}\n", name, with_le(labels, "+Inf"), cumulative);
      out += fmt::format("{}_sum{} {}\n", name, braces(labels), s->value.load());
      out += fmt::format("{}_count{} {}\n", name, braces(labels), s->count.load());
    }
  }
  return out;
}

std::string escape_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace rt::metrics
