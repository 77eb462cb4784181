#pragma once
// Where the listening sockets come from: systemd socket activation (LISTEN_FDS) or our own bind.
// A UNIX socket we bind is ours alone: a lock file beside it (PATH.lock, flock) and a connect
// probe refuse a second instance while another one answers; only a stale socket is replaced, and
// at stop only the very socket we bound (same inode) is unlinked.
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "authd/config/config.hpp"
#include "authd/util/net.hpp"
#include "authd/util/result.hpp"

namespace authd::frontend::net {

struct OpenListener {
  int fd = -1;
  bool unix_socket = false;
  std::string name;    // "unix:/run/authd/authd.sock", "127.0.0.1:8425"
  std::string fd_name; // socket activation: FileDescriptorName= ("dovecot-auth" for that protocol)
};

// What a UNIX socket we bind gets: its mode and group, and the config section they came from.
struct SocketAccess {
  std::string mode = "0660";
  std::string group; // empty: the process's
  std::string section = "http";
};

// A UNIX socket path this process bound, and the lock that says so.
class OwnedSocket {
public:
  OwnedSocket(std::string path, int lock_fd, dev_t dev, ino_t ino);
  ~OwnedSocket(); // unlinks the path if it is still our socket, releases the lock
  OwnedSocket(const OwnedSocket&) = delete;
  OwnedSocket& operator=(const OwnedSocket&) = delete;

private:
  std::string m_path;
  int m_lock_fd;
  dev_t m_dev;
  ino_t m_ino;
};

struct Listeners {
  std::vector<OpenListener> open;
  std::vector<std::unique_ptr<OwnedSocket>> owned;
  bool activated = false; // from systemd: nothing to unlink, [http] listen was not used
};

// The sockets systemd passed (LISTEN_PID/LISTEN_FDS; the variables are unset so children do not
// inherit them) for one protocol: those named FileDescriptorName=dovecot-auth for "dovecot-auth",
// =selfservice for "selfservice", every other one for "http". Empty when not socket-activated. Errors: a passed descriptor that
// is not a listening stream socket.
inline constexpr std::string_view k_dovecot_auth_fd_name = "dovecot-auth";
inline constexpr std::string_view k_selfservice_fd_name = "selfservice";
Result<std::vector<OpenListener>> activated_listeners(std::string_view protocol);

// The access for sockets of `section`: `group`, else the group authd drops to ([daemon] group, or
// the daemon user's own group), so a socket bound as root is not left root:root.
SocketAccess socket_access(const config::Config& config, const std::string& mode, const std::string& group_name,
                           const std::string& section);

// Binds every address of `addresses`; UNIX sockets get the mode and group of `access`.
Result<Listeners> bind_listeners(const std::vector<std::string>& addresses, const SocketAccess& access);

} // namespace authd::frontend::net
