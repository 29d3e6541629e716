// The notes on partly served Codacy operations, kept next to the route table, and the rendering of the
// route table as docs/compatibility.md's tables (`repotokensd routes`).
#include "server/compatibility.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "server/codacy_operations.h"

namespace rt::server {
namespace {

struct PartialNote {
  const char* operation_id;
  const char* missing;
};

// A served Codacy operation that does not do all that Codacy's document describes says here what is
// missing. Fields we answer with an honest empty value are listed in docs/compatibility-notes.md.
constexpr PartialNote kPartlyServed[] = {
    {"listOrganizationRepositories",
     "`filter` takes a visibility (Public, Private, LoginPublic); Codacy's Synced / NotSynced / AllSynced "
     "select everything; `segments` is ignored"},
    {"getCommit", "only `coverage` is computed (from the uploaded reports): no git history or static analysis"},
    {"getRepositoryWithAnalysis", "only `repository` and `coverage` carry data: no static analysis"},
};

struct Row {
  std::string status;
  std::string method;
  std::string path;  // under the server root, Codacy's parameter names where it is a Codacy operation
  std::string name;
  std::string note;
};

std::vector<Row> rows_of(const Router& router) {
  std::vector<Row> rows;
  std::vector<std::string_view> codacy;
  for (const CodacyOperation& op : codacy_operations()) {
    codacy.push_back(op.operation_id);
    Row row{"not-implemented", std::string(method_name(op.method)), std::string("/api/v3") + op.path, op.operation_id, {}};
    for (const Route& r : router.routes()) {
      if (op.operation_id != std::string_view(r.name) || r.not_implemented) continue;
      row.note = std::string(partly_served_note(op.operation_id));
      row.status = row.note.empty() ? "served" : "partial";
    }
    rows.push_back(std::move(row));
  }
  for (const Route& r : router.routes()) {
    if (r.not_implemented || std::find(codacy.begin(), codacy.end(), r.name) != codacy.end()) continue;
    rows.push_back({"extension", std::string(method_name(r.method)), r.pattern, r.name, {}});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.path, a.method) < std::tie(b.path, b.method);
  });
  return rows;
}

}  // namespace

std::string_view partly_served_note(std::string_view operation_id) {
  for (const PartialNote& n : kPartlyServed)
    if (operation_id == n.operation_id) return n.missing;
  return {};
}

std::string render_routes(const Router& router, RoutesFormat format) {
  std::vector<Row> rows = rows_of(router);
  std::string out;
  if (format == RoutesFormat::tsv) {
    for (const Row& r : rows) out += fmt::format("{}\t{}\t{}\t{}\t{}\n", r.status, r.method, r.path, r.name, r.note);
    return out;
  }
  int served = 0, partial = 0, unserved = 0;
  for (const Row& r : rows) {
    served += r.status == "served";
    partial += r.status == "partial";
    unserved += r.status == "not-implemented";
  }
  out += fmt::format(
      "Codacy's document (spec/codacy/) has {} operations: repotokensd serves {}, serves {} in part, and answers\n"
      "the other {} with 501 `{{\"error\": \"NotImplemented\", \"message\": \"repotokensd does not serve "
      "<operationId>\", \"actions\": []}}`.\n\n",
      served + partial + unserved, served, partial, unserved);
  out += "## Codacy's operations\n\n| operationId | method | path (under the server root) | repotokensd |\n|---|---|---|---|\n";
  for (const Row& r : rows) {
    if (r.status == "extension") continue;
    std::string here = r.status == "served" ? "served" : r.status == "partial" ? "partly served: " + r.note : "501";
    out += fmt::format("| `{}` | {} | `{}` | {} |\n", r.name, r.method, r.path, here);
  }
  out += "\n## Routes of our own (not Codacy operations)\n\n"
         "The repotokens extensions (API.md), the legacy `/2.0` coverage uploads and the metrics endpoint.\n\n"
         "| name | method | path |\n|---|---|---|\n";
  for (const Row& r : rows)
    if (r.status == "extension") out += fmt::format("| `{}` | {} | `{}` |\n", r.name, r.method, r.path);
  return out;
}

}  // namespace rt::server
