// Encoding of the compact coverage form. Layout: a version byte (1), a 4-byte little-endian file count,
// then per file: varint name length, name, varint covered, varint coverable, varint line count, and per
// line varint(line - previous line), varint(hits).
#include "store/coverage_data.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace rt {
namespace {

constexpr char kVersion = 1;
constexpr size_t kHeader = 5;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      auto byte = static_cast<std::uint8_t>(data_[pos_++]);
      v |= std::uint64_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80)) return true;
    }
    return false;
  }
  bool bytes(std::uint64_t n, std::string_view& out) {
    if (n > data_.size() - pos_) return false;
    out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = kHeader;
};

Error corrupt() { return make_error(ErrorKind::internal, "stored coverage data is corrupt"); }

// Sorts by line and adds the hits of repeated lines (saturating at the largest 32-bit count).
void normalize(std::vector<LineHits>& lines) {
  std::sort(lines.begin(), lines.end(), [](const LineHits& a, const LineHits& b) { return a.first < b.first; });
  size_t out = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (out > 0 && lines[out - 1].first == lines[i].first) {
      std::uint64_t sum = std::uint64_t{lines[out - 1].second} + lines[i].second;
      lines[out - 1].second = static_cast<std::uint32_t>(std::min<std::uint64_t>(sum, UINT32_MAX));
    } else {
      lines[out++] = lines[i];
    }
  }
  lines.resize(out);
}

// Walks the encoded files; `on_file(name, covered, coverable, reader, count)` must consume the lines.
template <class OnFile>
Status walk(std::string_view data, OnFile&& on_file) {
  if (data.size() < kHeader || data[0] != kVersion) return corrupt();
  std::uint32_t files = 0;
  for (int i = 0; i < 4; ++i) files |= std::uint32_t{static_cast<std::uint8_t>(data[1 + i])} << (8 * i);
  Reader r(data);
  for (std::uint32_t f = 0; f < files; ++f) {
    std::uint64_t len, covered, coverable, count;
    std::string_view name;
    if (!r.varint(len) || !r.bytes(len, name) || !r.varint(covered) || !r.varint(coverable) || !r.varint(count))
      return corrupt();
    if (!on_file(name, covered, coverable, r, count)) return corrupt();
  }
  if (!r.done()) return corrupt();
  return ok_status();
}

bool read_lines(Reader& r, std::uint64_t count, std::vector<LineHits>* out) {
  std::uint64_t line = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t delta, hits;
    if (!r.varint(delta) || !r.varint(hits)) return false;
    line += delta;
    if (line > UINT32_MAX || hits > UINT32_MAX) return false;
    if (out) out->emplace_back(static_cast<std::uint32_t>(line), static_cast<std::uint32_t>(hits));
  }
  return true;
}

}  // namespace

double coverage_percent(std::int64_t covered, std::int64_t coverable) {
  if (coverable <= 0) return 0;
  return std::round(10000.0 * static_cast<double>(covered) / static_cast<double>(coverable)) / 100.0;
}

CoverageEncoder::CoverageEncoder() {
  out_.data.assign(kHeader, '\0');
  out_.data[0] = kVersion;
}

void CoverageEncoder::add_file(std::string_view name, std::vector<LineHits>& lines) {
  normalize(lines);
  if (!names_.emplace(name).second) repeated_names_ = true;
  std::int64_t covered = 0;
  for (const auto& l : lines) covered += l.second > 0;
  std::string& d = out_.data;
  put_varint(d, name.size());
  d.append(name);
  put_varint(d, static_cast<std::uint64_t>(covered));
  put_varint(d, lines.size());
  put_varint(d, lines.size());
  std::uint32_t previous = 0;
  for (const auto& [line, hits] : lines) {
    put_varint(d, line - previous);
    put_varint(d, hits);
    previous = line;
  }
  ++out_.files;
  out_.covered += covered;
  out_.coverable += static_cast<std::int64_t>(lines.size());
}

EncodedCoverage CoverageEncoder::finish() && {
  for (int i = 0; i < 4; ++i) out_.data[1 + i] = static_cast<char>((out_.files >> (8 * i)) & 0xff);
  if (!repeated_names_) return std::move(out_);
  // Rare: a report naming a file twice. Merging it with an empty report adds the two parts up.
  CoverageEncoder empty;
  auto merged = merge_coverage(out_.data, std::move(empty).finish().data);
  return merged.ok() ? std::move(merged).value() : std::move(out_);
}

Result<std::vector<FileCoverage>> decode_coverage(std::string_view data) {
  std::vector<FileCoverage> files;
  RT_TRY_STATUS(walk(data, [&](std::string_view name, std::uint64_t, std::uint64_t, Reader& r, std::uint64_t n) {
    files.push_back(FileCoverage{std::string(name), {}});
    // `n` comes from the data: reserve no more than its bytes could hold (each line takes two or more).
    files.back().lines.reserve(std::min<std::uint64_t>(n, data.size() / 2));
    return read_lines(r, n, &files.back().lines);
  }));
  return files;
}

Result<std::vector<FileCoverageSummary>> summarize_coverage(std::string_view data) {
  std::vector<FileCoverageSummary> files;
  RT_TRY_STATUS(walk(data, [&](std::string_view name, std::uint64_t covered, std::uint64_t coverable, Reader& r,
                               std::uint64_t n) {
    files.push_back(FileCoverageSummary{std::string(name), static_cast<std::int64_t>(covered),
                                        static_cast<std::int64_t>(coverable)});
    return read_lines(r, n, nullptr);
  }));
  return files;
}

Result<EncodedCoverage> merge_coverage(std::string_view a, std::string_view b) {
  std::map<std::string, std::vector<LineHits>> files;
  std::vector<std::string> order;  // first appearance, so merged reports keep their files' order
  for (std::string_view data : {a, b}) {
    RT_TRY(auto decoded, decode_coverage(data));
    for (auto& f : decoded) {
      auto [it, fresh] = files.try_emplace(f.name);
      if (fresh) order.push_back(f.name);
      it->second.insert(it->second.end(), f.lines.begin(), f.lines.end());
    }
  }
  CoverageEncoder encoder;
  for (const auto& name : order) encoder.add_file(name, files[name]);
  return std::move(encoder).finish();
}

}  // namespace rt
