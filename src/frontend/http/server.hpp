#pragma once
// The event-driven HTTP/1.1 server under the routes (Boost.Beast's parser on Boost.Asio's epoll
// loop; see ARCHITECTURE.md for why not cpp-httplib's server). One I/O thread serves every
// listener: idle and slow connections cost a few hundred bytes and no thread. Complete requests
// go to a bounded two-lane worker pool; held answers wait on timers in the loop.
// Limits per connection: a deadline for the whole request head and one for the whole body, a
// keep-alive idle timeout, header bytes and field count, body bytes (chunked counted as it
// arrives); per listener: open connections (the longest-idle one is closed to make room, else a
// 503 and close) and connections per untrusted TCP source.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "authd/core/metrics.hpp"
#include "authd/util/net.hpp"
#include "message.hpp"

namespace authd::frontend::detail {

struct ServerLimits {
  int threads = 8;
  int max_connections = 16384;
  int max_connections_per_peer = 64;
  int keepalive_timeout_s = 60;
  int header_timeout_s = 10;
  int body_timeout_s = 10;
  int drain_timeout_s = 10;
  std::size_t max_header_bytes = 16384;
  std::size_t max_header_fields = 64;
  std::size_t max_body_bytes = 4096;
  std::vector<Cidr> trusted; // exempt from the per-peer cap
};

using Handler = std::function<Reply(Request&)>;

class Server {
public:
  Server(ServerLimits limits, core::Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Takes over a bound, listening socket. Call before start().
  void add_listener(int fd, bool unix_socket, const std::string& name, Handler handler);
  void start();
  // New limits for new connections (open ones keep theirs); the worker count stays.
  void reconfigure(ServerLimits limits);
  // Stops accepting, closes idle connections, lets in-flight requests finish for at most
  // drain_timeout_s, then closes everything and joins.
  void stop();

  struct Impl; // server.cpp

private:
  std::unique_ptr<Impl> m;
};

} // namespace authd::frontend::detail
