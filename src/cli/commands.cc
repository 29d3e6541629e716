// Helpers shared by the commands: sessions, one-line error reports with the command's help, and the one
// table/CSV/JSON rendering of every listing.
#include "cli/commands.h"

#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace rt::cli {

int with_session(const GlobalOptions& global, bool need_org, const std::function<int(Session&)>& body) {
  auto target = resolve_target(global, need_org);
  if (!target.ok()) return usage_error(target.error().message);
  Session session(std::move(target).value(), global.quiet);
  return body(session);
}

int report(const Error& error, const Target& target) {
  std::fprintf(stderr, "error: %s\n", describe_error(error, target).c_str());
  return exit_status_for(error);
}

namespace {
std::string g_command;
std::map<const CLI::App*, std::vector<std::string>>& examples() {
  static std::map<const CLI::App*, std::vector<std::string>> table;
  return table;
}
}  // namespace

void set_examples(const CLI::App* command, std::vector<std::string> list) { examples()[command] = std::move(list); }

const std::vector<std::string>& examples_of(const CLI::App* command) {
  static const std::vector<std::string> none;
  auto it = examples().find(command);
  return it == examples().end() ? none : it->second;
}

void set_current_command(std::string path) { g_command = std::move(path); }
const std::string& current_command() { return g_command; }

int usage_error(const std::string& message) {
  std::fprintf(stderr, "error: %s\nrun 'repotokens %s%s--help' for usage\n", message.c_str(), g_command.c_str(),
               g_command.empty() ? "" : " ");
  return kExitUsage;
}

std::string time_text(const std::optional<UnixTime>& t) { return t ? format_rfc3339(*t) : std::string(); }

ListFormat list_format(const std::string& name) {
  return name == "csv" ? ListFormat::csv : name == "json" ? ListFormat::json : ListFormat::table;
}

void add_list_format_option(CLI::App* command, std::string& format) {
  command->add_option("--format", format, "table (default), csv or json")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"table", "csv", "json"}));
}

namespace {

// A JSON number from a cell of a numeric column ("2151", "66.67"); the text itself if it is not one.
nlohmann::json number_value(const std::string& cell) {
  nlohmann::json v = nlohmann::json::parse(cell, nullptr, false);
  return v.is_number() ? v : nlohmann::json(cell);
}

}  // namespace

std::string render_table(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows,
                         ListFormat format) {
  std::string out;
  if (format == ListFormat::json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& row : rows) {
      nlohmann::json item = nlohmann::json::object();
      for (std::size_t c = 0; c < columns.size() && c < row.size(); ++c)
        if (!row[c].empty()) item[columns[c].key] = columns[c].number ? number_value(row[c]) : nlohmann::json(row[c]);
      list.push_back(std::move(item));
    }
    return list.dump(2) + "\n";
  }
  std::vector<std::string> header;
  for (const auto& c : columns) header.push_back(format == ListFormat::csv ? c.key : c.title);
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
