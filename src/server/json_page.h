// Rendering a service ListPage as a v3 list envelope. Included only by handler files (needs nlohmann).
#pragma once

#include <nlohmann/json.hpp>

#include "server/json_io.h"

namespace rt::server {

template <class T, class Render>
ApiResponse render_page(const ListPage<T>& page, Render render) {
  json items = json::array();
  for (const T& item : page.items) items.push_back(render(item));
  return list_response(std::move(items), page.cursor, page.limit, page.total);
}

}  // namespace rt::server
