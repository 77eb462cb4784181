// The TOML configuration: any text is a config or a clear error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "authd/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto c = authd::config::parse_config(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  if (c) {
    (void)authd::config::dump_config(*c);
  }
  return 0;
}
