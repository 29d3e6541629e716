// Handlers for repositories, repository permissions and repository API tokens.
#include <nlohmann/json.hpp>

#include "server/handlers.h"
#include "server/json_page.h"

namespace rt::server {
namespace {

json view_json(const RepositoryView& v) { return repository_json(v.repository, v.permission); }

}  // namespace

ApiResponse list_repositories(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  RepositoryListRequest list;
  list.search = query_param(req.query, "search").value_or("");
  list.filter = query_param(req.query, "filter").value_or("");
  list.languages = query_param(req.query, "languages").value_or("");
  auto repos = service.list_repositories(p, org_ref(req), list, *page);
  if (!repos) return failure(repos);
  return render_page(*repos, view_json);
}

ApiResponse get_repository(Service& service, const Principal& p, const ApiRequest& req) {
  auto repo = service.get_repository(p, repo_ref(req));
  if (!repo) return failure(repo);
  return repository_response(200, repo->repository, repo->permission);
}

std::optional<ApiResponse> get_repository_from_memory(Service& service, const Principal& p, const ApiRequest& req) {
  auto repo = service.try_get_repository_from_memory(p, repo_ref(req));
  if (!repo) return std::nullopt;
  if (!*repo) return failure(*repo);
  return repository_response(200, (*repo)->repository, (*repo)->permission);
}

ApiResponse add_repository(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto provider = required_string_field(*body, "provider");
  if (!provider) return failure(provider);
  auto full_path = required_string_field(*body, "repositoryFullPath");
  if (!full_path) return failure(full_path);
  auto visibility = string_field(*body, "visibility");
  if (!visibility) return failure(visibility);
  auto remote = string_field(*body, "remoteIdentifier");
  if (!remote) return failure(remote);
  AddRepositoryRequest add;
  add.remote_identifier = std::move(*remote);
  add.provider = std::move(*provider);
  add.full_path = std::move(*full_path);
  add.visibility = std::move(*visibility);
  if (auto it = body->find("languages"); it != body->end() && !it->is_null()) {
    if (!it->is_array()) return error_response(make_error(ErrorKind::invalid, "field 'languages' must be an array of strings"));
    for (const json& language : *it) {
      if (!language.is_string())
        return error_response(make_error(ErrorKind::invalid, "field 'languages' must be an array of strings"));
      add.languages.push_back(language.get<std::string>());
    }
  }
  auto repo = service.add_repository(p, add);
  if (!repo) return failure(repo);
  return repository_response(200, *repo, std::nullopt, false);  // Codacy: 200 and a bare Repository
}

ApiResponse delete_repository(Service& service, const Principal& p, const ApiRequest& req) {
  auto done = service.delete_repository(p, repo_ref(req));
  if (!done) return failure(done);
  return no_content();
}

ApiResponse set_repository_permission(Service& service, const Principal& p, const ApiRequest& req) {
  auto user_id = id_param(req.params.at(3), "userId");
  if (!user_id) return failure(user_id);
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto permission = required_string_field(*body, "permission");
  if (!permission) return failure(permission);
  auto done = service.set_repository_permission(p, repo_ref(req), *user_id, *permission);
  if (!done) return failure(done);
  return no_content();
}

ApiResponse list_repository_tokens(Service& service, const Principal& p, const ApiRequest& req) {
  auto page = page_request(req);
  if (!page) return failure(page);
  auto tokens = service.list_repository_tokens(p, repo_ref(req), *page);
  if (!tokens) return failure(tokens);
  return render_page(*tokens, repository_token_json);
}

ApiResponse create_repository_token(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, false);
  if (!body) return failure(body);
  auto name = string_field(*body, "name");
  if (!name) return failure(name);
  auto expires_at = string_field(*body, "expiresAt");
  if (!expires_at) return failure(expires_at);
  CreateRepositoryTokenRequest create{std::move(*name), std::move(*expires_at)};
  auto issued = service.create_repository_token(p, repo_ref(req), create);
  if (!issued) return failure(issued);
  return data_response(201, issued_repository_token_json(*issued));
}

ApiResponse delete_repository_token(Service& service, const Principal& p, const ApiRequest& req) {
  auto id = id_param(req.params.at(3), "tokenId");
  if (!id) return failure(id);
  auto done = service.delete_repository_token(p, repo_ref(req), *id);
  if (!done) return failure(done);
  return no_content();
}

ApiResponse delete_repository_tokens(Service& service, const Principal& p, const ApiRequest& req) {
  auto body = parse_body(req.body, true);
  if (!body) return failure(body);
  auto it = body->find("ids");
  if (it == body->end() || !it->is_array())
    return error_response(make_error(ErrorKind::invalid, "field 'ids' is required (an array of integers)"));
  std::vector<Id> ids;
  for (const json& id : *it) {
    if (!id.is_number_integer())
      return error_response(make_error(ErrorKind::invalid, "field 'ids' must be an array of integers"));
    ids.push_back(id.get<Id>());
  }
  auto done = service.delete_repository_tokens(p, repo_ref(req), ids);
  if (!done) return failure(done);
  return no_content();
}

}  // namespace rt::server
