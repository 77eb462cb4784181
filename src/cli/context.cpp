#include "context.hpp"

#include <cerrno>
#include <cstdio>
#include <iostream>

#include <termios.h>
#include <unistd.h>

#include "authd/cli/cli.hpp"

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

// Reads fd 0 to EOF into a SecretString, with a hard cap so a runaway pipe cannot fill memory.
Result<SecretString> read_all_stdin(std::size_t cap) {
  SecretString out;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      wipe(buf, sizeof buf);
      return fail(ErrorKind::invalid_input, "cannot read the password from stdin");
    }
    if (n == 0) {
      break;
    }
    out.append(std::string_view(buf, static_cast<std::size_t>(n)));
    if (out.size() > cap) {
      wipe(buf, sizeof buf);
      return fail(ErrorKind::invalid_input, "password longer than 1024 bytes");
    }
  }
  wipe(buf, sizeof buf);
  return out;
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
  Result<SecretString> result = tty ? Result<SecretString>(std::move(line)) : read_all_stdin(1025);
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
