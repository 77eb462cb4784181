#include "import_parsers.hpp"

#include <charconv>

namespace authd::cli {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool set_id(std::string_view text, std::optional<std::int64_t>& out, std::string& error, const char* what) {
  if (text.empty()) {
    return true;
  }
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0) {
    error = std::string(what) + " is not a number";
    return false;
  }
  out = v;
  return true;
}

void fill_optional(ImportLine& out, std::string_view home, std::string_view uid, std::string_view gid) {
  if (!home.empty()) {
    out.home = std::string(home);
  }
  set_id(uid, out.uid, out.error, "uid") && set_id(gid, out.gid, out.error, "gid");
}

} // namespace

std::optional<std::vector<std::string>> split_csv(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back().push_back(c);
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back().push_back(c);
    }
  }
  if (quoted) {
    return std::nullopt;
  }
  return fields;
}

bool parse_import_line(ImportFormat format, std::string_view line, ImportLine& out) {
  out = ImportLine{};
  if (line.ends_with('\r')) {
    line.remove_suffix(1);
  }
  const std::size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos || line[first] == '#') {
    return false;
  }
  if (format == ImportFormat::csv) {
    auto f = split_csv(line);
    if (!f) {
      out.error = "unterminated quote";
      return true;
    }
    if ((*f)[0] == "username") {
      return false; // header
    }
    if (f->size() < 2 || f->size() > 5) {
      out.error = "need username,hash[,home,uid,gid]";
      return true;
    }
    f->resize(5);
    out.username = (*f)[0];
    out.hash = (*f)[1];
    fill_optional(out, (*f)[2], (*f)[3], (*f)[4]);
    return true;
  }
  const auto f = split(line, ':');
  if (f.size() < 2) {
    out.error = "need user:hash";
    return true;
  }
  out.username = std::string(f[0]);
  if (format == ImportFormat::htpasswd) {
    out.hash = std::string(line.substr(f[0].size() + 1)); // everything after the first colon
    return true;
  }
  // Dovecot passwd-file: user:password:uid:gid:gecos:home:shell:extra_fields
  out.hash = std::string(f[1]);
  fill_optional(out, f.size() > 5 ? f[5] : "", f.size() > 2 ? f[2] : "", f.size() > 3 ? f[3] : "");
  return true;
}

} // namespace authd::cli
