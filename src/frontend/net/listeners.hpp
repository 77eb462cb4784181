#pragma once
// Where the listening sockets come from: systemd socket activation (LISTEN_FDS) or our own bind.
// A UNIX socket we bind is ours alone: a lock file beside it (PATH.lock, flock) and a connect
// probe refuse a second instance while another one answers; only a stale socket is replaced, and
// at stop only the very socket we bound (same inode) is unlinked.
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "authd/config/config.hpp"
#include "authd/util/net.hpp"
#include "authd/util/result.hpp"

namespace authd::frontend::net {

struct OpenListener {
  int fd = -1;
  bool unix_socket = false;
  std::string name; // "unix:/run/authd/authd.sock", "127.0.0.1:8425"
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
// inherit them); an empty list when not socket-activated. Errors: a passed descriptor that is not
// a listening stream socket.
Result<std::vector<OpenListener>> activated_listeners();

// Binds every address of `addresses`; UNIX sockets get [http] socket_mode and socket_group.
Result<Listeners> bind_listeners(const std::vector<std::string>& addresses, const config::HttpConfig& http);

} // namespace authd::frontend::net
