// authctl import's line parsers: htpasswd, Dovecot passwd-file, CSV.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/import_parsers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  authd::cli::ImportLine out;
  for (auto f : {authd::cli::ImportFormat::htpasswd, authd::cli::ImportFormat::passwd_file, authd::cli::ImportFormat::csv}) {
    (void)authd::cli::parse_import_line(f, line, out);
  }
  (void)authd::cli::split_csv(line);
  return 0;
}
