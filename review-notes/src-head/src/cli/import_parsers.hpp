#pragma once
// Line parsers for authctl import: htpasswd, Dovecot passwd-file, CSV.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authd::cli {

enum class ImportFormat { htpasswd, passwd_file, csv };

struct ImportLine {
  std::string username;
  std::string hash;
  std::optional<std::string> home;
  std::optional<std::int64_t> uid;
  std::optional<std::int64_t> gid;
  std::string error; // non-empty: the line is rejected for this reason
};

// false for lines that carry nothing (blank, '#' comment, a CSV header); else fills `out`.
bool parse_import_line(ImportFormat format, std::string_view line, ImportLine& out);

// RFC 4180 fields of one CSV line ("" quoting, commas inside quotes). nullopt when malformed.
std::optional<std::vector<std::string>> split_csv(std::string_view line);

} // namespace authd::cli
