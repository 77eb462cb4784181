#include "context.hpp"

#include <cerrno>
#include <cstdio>
#include <iostream>

#include <termios.h>
#include <unistd.h>

#include "authd/cli/cli.hpp"
#include "authd/util/read_secret.hpp"

namespace authd::cli {

const config::Config* Context::config() {
  if (!m_config) {
    auto loaded = config::load_config(config_path, config_given);
    if (!loaded) {
      report(loaded.error());
      return nullptr;
    }
    if (!store_url.empty()) {
      loaded->store.url = store_url;
    }
    if (auto ok = config::resolve_store_password(*loaded); !ok) {
      report(ok.error());
      return nullptr;
    }
    m_config = std::move(*loaded);
  }
  return &*m_config;
}

int report(const Error& error) { return report(error.message); }

int report(const std::string& message) {
  std::cerr << "authctl: " << message << "\n";
  return k_exit_usage;
}

namespace {

// Stdin to EOF, capped so a runaway pipe cannot fill memory (1024 bytes + a final newline).
Result<SecretString> read_stdin_password() {
  auto raw = read_secret(STDIN_FILENO, 1025);
  if (!raw) {
    return fail(ErrorKind::invalid_input, raw.error().kind == ErrorKind::invalid_input
                                              ? "password longer than 1024 bytes"
                                              : "cannot read the password from stdin");
  }
  return raw;
}

} // namespace

Result<SecretString> read_password(const char* prompt) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    std::cerr << prompt << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  SecretString line;
  Result<SecretString> result = tty ? Result<SecretString>(std::move(line)) : read_stdin_password();
  if (tty) {
    char c = 0;
    while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') {
      result->push_back(c);
    }
    c = 0;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
    return result;
  }
  if (result && result->size() > 0 && result->data()[result->size() - 1] == '\n') {
    result->resize_down(result->size() - 1);
  }
  return result;
}

} // namespace authd::cli
