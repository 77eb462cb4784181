#pragma once
// Loads the vector tables of tests/vectors (tab-separated, '#' comments).
#include <fstream>
#include <string>
#include <vector>

#include "authd/util/encoding.hpp"

namespace authd::test {

struct Vector {
  std::string source;
  std::string password;
  std::string stored;
  std::string scheme;
  std::string status;
};

inline std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      out.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

inline std::vector<std::string> read_lines_from(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') {
      lines.push_back(line);
    }
  }
  return lines;
}

inline std::vector<std::string> read_lines(const std::string& name) {
  return read_lines_from(std::string(AUTHD_VECTORS_DIR) + "/" + name);
}

inline std::vector<Vector> load_vectors_from(const std::string& path) {
  std::vector<Vector> out;
  for (const std::string& line : read_lines_from(path)) {
    const auto f = split_tabs(line);
    if (f.size() != 5) {
      continue;
    }
    const auto pw = hex_decode(f[1]);
    out.push_back({f[0], pw ? std::string(pw->begin(), pw->end()) : "", f[2], f[3], f[4]});
  }
  return out;
}

inline std::vector<Vector> load_vectors(const std::string& name) {
  return load_vectors_from(std::string(AUTHD_VECTORS_DIR) + "/" + name);
}

} // namespace authd::test
