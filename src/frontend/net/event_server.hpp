#pragma once
// The event loop under every front end that serves connections (HTTP, the Dovecot auth protocol):
// one Boost.Asio I/O thread for every listener, a bounded two-lane worker pool for complete
// requests, and per listener the connection bookkeeping — open connections (when full, the
// longest-idle one is closed to make room, else the newcomer is refused), connections per
// untrusted TCP source, the waiting list a drain walks. A protocol brings its own session type
// (SessionBase) and a factory the listener calls for each accepted socket.
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio.hpp>

#include "authd/config/config.hpp"
#include "authd/core/lanes.hpp"
#include "authd/core/metrics.hpp"
#include "authd/util/net.hpp"

namespace authd::frontend::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

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
  std::size_t queue = 64;    // complete requests waiting for a worker, per lane ([core] queue_size)
};

// [http]'s limits, the trusted proxies parsed (validated when the config was loaded), and
// [core] queue_size: the logins that may wait, beyond which one is answered "temporary" at once.
ServerLimits limits_of(const config::Config& config);

struct ListenerBase;

// What a listener needs of a session without knowing its socket type.
struct SessionBase {
  virtual ~SessionBase() = default;
  virtual void close(const char* reason) = 0;
  // Shutdown: a held (throttled) request is answered "temporary failure" now instead of
  // keeping the drain waiting for its timer.
  virtual void end_hold() = 0;
  // Shutdown, for a connection with nothing in flight: one that has a request on the way (bytes
  // waiting, still arriving, or a new connection that has not spoken yet: accepted just before the
  // listener closed) gets `grace` to deliver it and is answered; an idle keep-alive one is closed.
  virtual void drain(std::chrono::milliseconds grace) = 0;
  enum class Phase { busy, idle, reading }; // busy: a request is being answered (or written)
  std::list<SessionBase*>::iterator pos;      // in the listener's `waiting` list unless busy
  Phase phase = Phase::busy;
  Clock::time_point since{};
};

struct Loop {
  Loop(ServerLimits l, core::Metrics& m)
      : limits(std::make_shared<const ServerLimits>(std::move(l))), metrics(m),
        workers(limits->threads, limits->queue, std::max(1, limits->threads / 2)) {}

  // Read and replaced on the I/O thread only; a connection keeps the limits it started with.
  std::shared_ptr<const ServerLimits> limits;
  core::Metrics& metrics;
  asio::io_context io{1};
  core::LanedExecutor workers; // destroyed (joined) before io: its jobs post into io
  std::vector<std::unique_ptr<ListenerBase>> listeners;
  std::thread thread;
  bool draining = false;
  std::optional<asio::steady_timer> drain_timer;

  void closed(const char* reason) { metrics.add("authd_http_connections_closed_total", {{"reason", reason}}); }
  void maybe_finish_drain();
};

struct ListenerBase {
  ListenerBase(Loop& i, std::string n, bool t) : impl(i), name(std::move(n)), tcp(t) {}
  virtual ~ListenerBase() = default;
  virtual void accept() = 0;
  virtual void close_acceptor() = 0;

  Loop& impl;
  std::string name;
  bool tcp;
  // Connections with nothing in flight (idle between requests, or still sending one), in the
  // order they started waiting: what a full listener may close to make room.
  std::list<SessionBase*> waiting;
  std::unordered_set<SessionBase*> all;
  std::unordered_map<std::string, int> per_peer;
  // An accept is outstanding: its handler has not run yet. The drain does not end before it has
  // (an accept already done when the acceptor closed hands over a connection whose client has
  // sent its login; stopping the loop before that handler ran would reset it unread).
  bool accept_pending = false;

  // At a drain, a request on its way gets this long (connections a restart accepted must not
  // lose their login); a slow one does not.
  std::chrono::milliseconds drain_grace() const;

  void gauge() { impl.metrics.set("authd_http_connections", {{"listener", name}}, static_cast<double>(all.size())); }
  void set_phase(SessionBase* s, SessionBase::Phase phase) {
    if (s->phase != SessionBase::Phase::busy) {
      waiting.erase(s->pos);
    }
    s->phase = phase;
    if (phase != SessionBase::Phase::busy) {
      s->since = Clock::now();
      s->pos = waiting.insert(waiting.end(), s);
    }
  }
  void opened(SessionBase* s, const std::string& peer_key) {
    all.insert(s);
    if (!peer_key.empty()) {
      ++per_peer[peer_key];
    }
    gauge();
  }
  void released(SessionBase* s, const std::string& peer_key) {
    set_phase(s, SessionBase::Phase::busy);
    all.erase(s);
    if (!peer_key.empty()) {
      if (auto it = per_peer.find(peer_key); it != per_peer.end() && --it->second <= 0) {
        per_peer.erase(it);
      }
    }
    gauge();
    impl.maybe_finish_drain();
  }
  // Room for one more connection. When full, the longest-waiting connection that is idle, or
  // has been sending its request for over a second (a real client sends a head in
  // milliseconds), is closed; false when every connection has a request in flight or just began.
  bool make_room() {
    if (static_cast<int>(all.size()) < impl.limits->max_connections) {
      return true;
    }
    const auto slow = Clock::now() - std::chrono::seconds(1);
    int looked = 0;
    for (SessionBase* s : waiting) {
      if (s->phase == SessionBase::Phase::idle || s->since < slow) {
        impl.closed(s->phase == SessionBase::Phase::idle ? "idle_evicted" : "slow_evicted");
        s->close(nullptr);
        return true;
      }
      if (++looked == 16) {
        break;
      }
    }
    return false;
  }
};

// What a listener does with an accepted socket (one function per socket type), and what it
// writes to a connection it refuses (full, or too many from one source) before closing it.
struct SessionFactory {
  std::function<void(asio::ip::tcp::socket, ListenerBase&, std::string peer, std::string peer_key)> tcp;
  std::function<void(asio::local::stream_protocol::socket, ListenerBase&, std::string peer, std::string peer_key)> unix_socket;
  std::string refusal;
};

class Server {
public:
  Server(ServerLimits limits, core::Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Takes over a bound, listening socket. Call before start().
  void add_listener(int fd, bool unix_socket, const std::string& name, SessionFactory factory);
  void start();
  // New limits for new connections (open ones keep theirs); the worker count stays.
  void reconfigure(ServerLimits limits);
  // Stops accepting, closes idle connections, gives requests on their way a moment and
  // in-flight ones drain_timeout_s at most, then drops queued work, calls `at_deadline` (on the
  // I/O thread), closes everything and joins.
  void stop(const std::function<void()>& at_deadline = {});

private:
  std::unique_ptr<Loop> m;
};

} // namespace authd::frontend::net
