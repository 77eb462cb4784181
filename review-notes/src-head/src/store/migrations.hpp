#pragma once
// Embedded schema migrations (sql/<dialect>/NNNN_*.sql, generated into migrations_data.cpp).
#include <string_view>
#include <vector>

namespace authd::store::detail {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql; // one or more statements separated by ";\n"
};

const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& mariadb_migrations();

// Splits a migration into statements (";" at line end), dropping "--" comment lines.
std::vector<std::string> split_statements(std::string_view sql);

} // namespace authd::store::detail
