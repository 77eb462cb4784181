#include "frontend/net/listeners.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace authd::frontend::net {
namespace {

bool fill_unix_address(const std::string& path, sockaddr_un& un) {
  if (path.size() >= sizeof un.sun_path) {
    return false;
  }
  un = sockaddr_un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// Someone accepts connections on `path` (another authd, a systemd socket unit, anything).
bool answers(const std::string& path) {
  sockaddr_un un{};
  // Non-blocking: a process that holds the socket but no longer accepts (its queue full) must
  // not hang this start; EAGAIN means someone is there.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || !fill_unix_address(path, un)) {
    if (fd >= 0) {
      ::close(fd);
    }
    return false;
  }
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) == 0 || errno == EAGAIN || errno == EINPROGRESS;
  ::close(fd);
  return ok;
}

// The lock that makes `path` ours, then the path made free: a stale socket (nobody answers) is
// removed, a live one or anything that is not a socket is refused.
Result<int> claim_socket_path(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string lock_path = path + ".lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock < 0) {
    return fail(ErrorKind::invalid_input, "cannot open the lock file " + lock_path + ": " + std::strerror(errno));
  }
  if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock);
    return fail(ErrorKind::invalid_input, "another authd is running on " + path + " (it holds " + lock_path + "): not starting a second one");
  }
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    std::string refusal;
    if (!S_ISSOCK(st.st_mode)) {
      refusal = path + " exists and is not a socket: not replacing it";
    } else if (answers(path)) {
      refusal = "another process answers on " + path + " (an authd without the lock, or a systemd socket unit): not starting a second one";
    } else {
      ::unlink(path.c_str()); // stale: its owner is gone
    }
    if (!refusal.empty()) {
      ::close(lock);
      return fail(ErrorKind::invalid_input, refusal);
    }
  }
  return lock;
}

Status set_socket_access(const std::string& path, const SocketAccess& http) {
  unsigned long mode = 0; // validated when the config was loaded
  if (const auto [p, ec] = std::from_chars(http.mode.data(), http.mode.data() + http.mode.size(), mode, 8);
      ec != std::errc() || mode > 0777) {
    return fail(ErrorKind::invalid_input, "[" + http.section + "] socket_mode must be octal, e.g. \"0660\"");
  }
  if (!http.group.empty()) {
    const group* g = ::getgrnam(http.group.c_str());
    if (g == nullptr || ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      return fail(ErrorKind::invalid_input, "cannot give " + path + " to group '" + http.group + "' ([" + http.section + "] socket_group): " + (g == nullptr ? std::string("no such group") : std::strerror(errno)));
    }
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return fail(ErrorKind::internal, "cannot chmod " + path);
  }
  return {};
}

// A bound, listening socket (backlog 1024: a burst of Dovecot helpers must not overflow it).
Result<int> listen_socket(const ListenAddress& a) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (a.unix_socket) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    if (a.host.size() >= sizeof un->sun_path) {
      return fail(ErrorKind::invalid_input, "socket path too long: " + a.host);
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, a.host.c_str(), a.host.size() + 1);
    len = sizeof(sockaddr_un);
  } else if (auto* v4 = reinterpret_cast<sockaddr_in*>(&ss); ::inet_pton(AF_INET, a.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(a.port));
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss); ::inet_pton(AF_INET6, a.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(a.port));
    len = sizeof(sockaddr_in6);
  } else {
    return fail(ErrorKind::invalid_input, "cannot listen on " + describe(a) + ": not a numeric address");
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd >= 0 && ss.ss_family != AF_UNIX) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) {
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
  }
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 1024) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
    }
    return fail(ErrorKind::invalid_input, "cannot listen on " + describe(a) + ": " + why);
  }
  return fd;
}


std::string socket_name(int fd, bool& unix_socket) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return "fd " + std::to_string(fd);
  }
  unix_socket = ss.ss_family == AF_UNIX;
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&ss);
    return "unix:" + std::string(un->sun_path[0] != '\0' ? un->sun_path : "(abstract)");
  }
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

} // namespace

OwnedSocket::OwnedSocket(std::string path, int lock_fd, dev_t dev, ino_t ino)
    : m_path(std::move(path)), m_lock_fd(lock_fd), m_dev(dev), m_ino(ino) {}

OwnedSocket::~OwnedSocket() {
  struct stat st{};
  if (::lstat(m_path.c_str(), &st) == 0 && st.st_dev == m_dev && st.st_ino == m_ino && ::unlink(m_path.c_str()) != 0) {
    spdlog::warn("cannot remove {} at stop ({}); the next start replaces it", m_path, std::strerror(errno));
  }
  ::close(m_lock_fd); // the lock file stays: removing it would race a starting instance
}

namespace {

Result<std::vector<OpenListener>> passed_by_systemd() {
  const char* fds = std::getenv("LISTEN_FDS");
  const char* pid = std::getenv("LISTEN_PID");
  if (fds != nullptr && (pid == nullptr || std::to_string(::getpid()) != pid)) {
    spdlog::warn("LISTEN_FDS is set but LISTEN_PID ({}) is not this process ({}): the sockets are not ours; "
                 "binding [http] listen instead", pid == nullptr ? "unset" : pid, ::getpid());
  }
  char** raw_names = nullptr;
  const int n = ::sd_listen_fds_with_names(1, &raw_names);
  std::vector<std::string> names;
  for (int i = 0; raw_names != nullptr && i < n; ++i) {
    names.emplace_back(raw_names[i] != nullptr ? raw_names[i] : "");
    std::free(raw_names[i]);
  }
  std::free(raw_names);
  if (n < 0) {
    return fail(ErrorKind::invalid_input, std::string("socket activation: ") + std::strerror(-n));
  }
  std::vector<OpenListener> out;
  for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; ++fd) {
    if (::sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
      return fail(ErrorKind::invalid_input, "socket activation: descriptor " + std::to_string(fd) +
                                                " is not a listening stream socket (use ListenStream= in authd.socket)");
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    OpenListener l;
    l.fd = fd;
    l.name = socket_name(fd, l.unix_socket);
    const auto index = static_cast<std::size_t>(fd - SD_LISTEN_FDS_START);
    l.fd_name = index < names.size() ? names[index] : "";
    out.push_back(std::move(l));
  }
  return out;
}

} // namespace

Result<std::vector<OpenListener>> activated_listeners(std::string_view protocol) {
  // LISTEN_FDS is read once (sd_listen_fds unsets it); each front end takes its share.
  static const Result<std::vector<OpenListener>> all = passed_by_systemd();
  if (!all) {
    return all;
  }
  std::vector<OpenListener> mine;
  for (const OpenListener& l : *all) {
    const bool named = l.fd_name == k_dovecot_auth_fd_name || l.fd_name == k_selfservice_fd_name;
    if (named ? l.fd_name == protocol : protocol == "http") {
      mine.push_back(l);
    }
  }
  return mine;
}


namespace {

// A UNIX socket: claimed (lock, stale check), bound, owned, then given its mode and group.
Result<int> bind_unix(const ListenAddress& address, const SocketAccess& http, Listeners& result) {
  auto lock = claim_socket_path(address.host);
  if (!lock) {
    return tl::unexpected(lock.error());
  }
  auto fd = listen_socket(address);
  if (!fd) {
    ::close(*lock);
    return fd;
  }
  struct stat st{};
  ::lstat(address.host.c_str(), &st);
  result.owned.push_back(std::make_unique<OwnedSocket>(address.host, *lock, st.st_dev, st.st_ino));
  if (auto ok = set_socket_access(address.host, http); !ok) {
    ::close(*fd);
    return tl::unexpected(ok.error());
  }
  return fd;
}

} // namespace

// The sockets' group: [http] socket_group, else the group authd drops to ([daemon] group, or
// the daemon user's own group), so a socket bound as root is not left root:root.
SocketAccess socket_access(const config::Config& c, const std::string& mode, const std::string& group_name,
                           const std::string& section) {
  SocketAccess access{mode, group_name, section};
  if (access.group.empty() && !c.daemon.group.empty()) {
    access.group = c.daemon.group;
  } else if (access.group.empty() && !c.daemon.user.empty()) {
    if (const passwd* pw = ::getpwnam(c.daemon.user.c_str())) {
      if (const group* g = ::getgrgid(pw->pw_gid)) {
        access.group = g->gr_name;
      }
    }
  }
  return access;
}

Result<Listeners> bind_listeners(const std::vector<std::string>& addresses, const SocketAccess& http) {
  Listeners result;
  for (const std::string& text : addresses) {
    auto address = parse_listen(text);
    auto fd = !address ? Result<int>(tl::unexpected(address.error()))
                       : address->unix_socket ? bind_unix(*address, http, result) : listen_socket(*address);
    if (!fd) {
      for (const OpenListener& l : result.open) {
        ::close(l.fd);
      }
      return tl::unexpected(fd.error()); // `owned` unlinks what was bound
    }
    result.open.push_back({*fd, address->unix_socket, describe(*address), ""});
  }
  return result;
}

} // namespace authd::frontend::net
