// Helpers shared by the commands: sessions, one-line error reports, table/CSV/JSON rendering.
#include "cli/commands.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace rt::cli {

int with_session(const GlobalOptions& global, bool need_org, const std::function<int(Session&)>& body) {
  auto target = resolve_target(global, need_org);
  if (!target.ok()) {
    std::fprintf(stderr, "error: %s\n", target.error().message.c_str());
    return kExitUsage;
  }
  Session session(std::move(target).value());
  return body(session);
}

int report(const Error& error, const Target& target) {
  std::fprintf(stderr, "error: %s\n", describe_error(error, target).c_str());
  return kExitFailure;
}

std::string time_text(const std::optional<UnixTime>& t) { return t ? format_rfc3339(*t) : std::string(); }

ListFormat list_format(const std::string& name) {
  return name == "csv" ? ListFormat::csv : name == "json" ? ListFormat::json : ListFormat::table;
}

std::string render_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                         ListFormat format) {
  std::string out;
  if (format == ListFormat::json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& row : rows) {
      nlohmann::json item = nlohmann::json::object();
      for (std::size_t c = 0; c < header.size() && c < row.size(); ++c) item[header[c]] = row[c];
      list.push_back(std::move(item));
    }
    return list.dump(2) + "\n";
  }
  if (format == ListFormat::csv) {
    auto field = [](const std::string& s) {
      if (s.find_first_of(",\"\n") == std::string::npos) return s;
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    for (std::size_t c = 0; c < header.size(); ++c) out += (c ? "," : "") + field(header[c]);
    out += "\n";
    for (const auto& row : rows) {
      for (std::size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + field(row[c]);
      out += "\n";
    }
    return out;
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& cells, bool upper) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      std::string cell = cells[c];
      if (upper)
        for (auto& ch : cell) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      text += cell;
      if (c + 1 < cells.size()) text += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();  // the padding of empty last cells
    out += text + "\n";
  };
  line(header, true);
  for (const auto& row : rows) line(row, false);
  return out;
}

}  // namespace rt::cli
