#include "server.hpp"

#include <list>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include "authd/core/lanes.hpp"
#include "authd/core/throttle.hpp"
#include "authd/util/secret.hpp"

namespace authd::frontend::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

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

} // namespace

struct Server::Impl {
  Impl(ServerLimits l, core::Metrics& m)
      : limits(std::make_shared<const ServerLimits>(std::move(l))), metrics(m),
        workers(limits->threads, 256, std::max(1, limits->threads / 2)) {}

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

namespace {

struct ListenerBase {
  ListenerBase(Server::Impl& i, std::string n, Handler h, bool t) : impl(i), name(std::move(n)), handler(std::move(h)), tcp(t) {}
  virtual ~ListenerBase() = default;
  virtual void accept() = 0;
  virtual void close_acceptor() = 0;

  Server::Impl& impl;
  std::string name;
  Handler handler;
  bool tcp;
  // Connections with nothing in flight (idle between requests, or still sending one), in the
  // order they started waiting: what a full listener may close to make room.
  std::list<SessionBase*> waiting;
  std::unordered_set<SessionBase*> all;
  std::unordered_map<std::string, int> per_peer;

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

void refuse(int fd, const char* reason, core::Metrics& metrics) {
  static constexpr std::string_view k_busy =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
      "Content-Length: 21\r\n\r\ntoo many connections\n";
  (void)::send(fd, k_busy.data(), k_busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  metrics.add("authd_http_connections_refused_total", {{"reason", reason}});
}

// Overwrites the buffer's spare storage: bytes of earlier requests (passwords) linger there.
void wipe_spare(beast::flat_buffer& b) {
  try {
    const std::size_t spare = b.capacity() - b.size();
    if (spare > 0) {
      const auto area = b.prepare(spare);
      wipe(area.data(), area.size());
    }
  } catch (const std::exception&) {
    // cannot happen (capacity never exceeds max_size); nothing to wipe then
  }
}

template <class Protocol>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Protocol>> {
public:
  using Socket = typename Protocol::socket;

  Session(Socket socket, ListenerBase& listener, std::string peer, std::string peer_key)
      : m_socket(std::move(socket)), m_timer(m_socket.get_executor()), m_listener(listener),
        m_limits(listener.impl.limits), m_peer(std::move(peer)), m_peer_key(std::move(peer_key)),
        m_buffer(m_limits->max_header_bytes + m_limits->max_body_bytes + 16384) {}

  void start() {
    m_listener.opened(this, m_peer_key);
    wait_request();
  }

  // Ends the connection (on the I/O thread). reason: the metric label, or nullptr when counted.
  void close(const char* reason) override {
    if (m_closed) {
      return;
    }
    m_closed = true;
    if (reason != nullptr) {
      m_listener.impl.closed(reason);
    }
    ++m_generation;
    m_timer.cancel();
    beast::error_code ec;
    m_socket.shutdown(Socket::shutdown_both, ec);
    m_socket.close(ec);
    m_listener.released(this, m_peer_key);
  }

  void end_hold() override {
    if (!m_holding || m_closed) {
      return;
    }
    m_holding = false;
    disarm();
    Response r;
    r.status = 503;
    r.set_header("Retry-After", "1");
    r.set_content("shutting down\n", "text/plain");
    respond(std::move(r));
  }

  void drain(std::chrono::milliseconds grace) override {
    beast::error_code ec;
    const bool pending = phase == Phase::reading || m_served == 0 || m_socket.available(ec) > 0;
    if (!pending || grace.count() == 0) {
      return close("shutdown");
    }
    arm(grace, [this] { close("shutdown"); }); // replaces a longer head/keep-alive deadline
  }

private:
  // The one timer: each arm supersedes the last; a stale expiry is recognised by its generation.
  template <class F>
  void arm(std::chrono::milliseconds after, F&& on_expiry) {
    const unsigned gen = ++m_generation;
    m_timer.expires_after(after);
    m_timer.async_wait([self = this->shared_from_this(), gen, f = std::forward<F>(on_expiry)](beast::error_code ec) mutable {
      if (!ec && gen == self->m_generation && !self->m_closed) {
        f();
      }
    });
  }
  void disarm() {
    ++m_generation;
    m_timer.cancel();
  }
  static std::chrono::milliseconds seconds(int s) { return std::chrono::milliseconds(1000LL * s); }

  void wait_request() {
    if (m_listener.impl.draining) {
      return close(nullptr);
    }
    if (m_buffer.size() > 0) {
      return read_head(); // a pipelined request is already here
    }
    m_buffer.shrink_to_fit(); // an idle connection keeps no buffer
    m_listener.set_phase(this, Phase::idle);
    arm(seconds(m_limits->keepalive_timeout_s), [this] { close("keepalive_timeout"); });
    m_socket.async_wait(Socket::wait_read, [self = this->shared_from_this()](beast::error_code ec) {
      if (self->m_closed) {
        return;
      }
      if (ec) {
        return self->close(nullptr);
      }
      self->read_head();
    });
  }

  void read_head() {
    m_listener.set_phase(this, Phase::reading);
    m_parser.emplace();
    m_parser->header_limit(static_cast<std::uint32_t>(m_limits->max_header_bytes));
    m_parser->body_limit(m_limits->max_body_bytes);
    arm(seconds(m_limits->header_timeout_s), [this] { close("header_timeout"); });
    http::async_read_header(m_socket, m_buffer, *m_parser,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_head(ec); });
  }

  void on_head(beast::error_code ec) {
    if (m_closed) {
      return;
    }
    if (ec) {
      return failed(ec);
    }
    const auto& msg = m_parser->get();
    if (static_cast<std::size_t>(std::distance(msg.begin(), msg.end())) > m_limits->max_header_fields) {
      return refuse_request(431, "too many header fields\n");
    }
    if (const auto length = m_parser->content_length(); length && *length > m_limits->max_body_bytes) {
      return refuse_request(413, "request too large\n");
    }
    if (m_parser->is_done()) {
      return dispatch();
    }
    if (beast::iequals(msg[http::field::expect], "100-continue")) {
      static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(m_socket, asio::buffer(k_continue.data(), k_continue.size()),
                        [self = this->shared_from_this()](beast::error_code e, std::size_t) {
                          if (self->m_closed) {
                            return;
                          }
                          if (e) {
                            return self->close(nullptr);
                          }
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    arm(seconds(m_limits->body_timeout_s), [this] { close("body_timeout"); });
    http::async_read(m_socket, m_buffer, *m_parser, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->m_closed) {
        return;
      }
      if (ec) {
        return self->failed(ec);
      }
      self->dispatch();
    });
  }

  void failed(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return refuse_request(431, "request header too large\n");
    }
    if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
      return refuse_request(413, "request too large\n");
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted || ec == asio::error::eof ||
        ec == http::error::partial_message || ec == asio::error::connection_reset) {
      return close(nullptr);
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) { // http::error: a malformed request
      return refuse_request(400, "bad request\n");
    }
    close(nullptr);
  }

  void refuse_request(int status, const char* text) {
    m_listener.set_phase(this, Phase::busy);
    m_close_after = true;
    m_listener.impl.closed("bad_request");
    Response r;
    r.status = status;
    r.set_content(text, "text/plain");
    respond(std::move(r));
  }

  Request take_request() {
    auto& msg = m_parser->get();
    m_keep_alive = msg.keep_alive(); // before the field values are wiped
    m_version = msg.version();
    Request req;
    req.method = std::string(msg.method_string());
    split_target(std::string_view(msg.target().data(), msg.target().size()), req.path, req.query);
    for (auto& f : msg) {
      const auto name = f.name_string();
      const auto value = f.value();
      req.headers.emplace_back(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
      wipe(const_cast<char*>(value.data()), value.size());
    }
    req.body = std::move(msg.body());
    req.peer = m_peer;
    m_parser.reset();
    wipe_spare(m_buffer);
    return req;
  }

  void dispatch() {
    disarm();
    ++m_served;
    m_listener.set_phase(this, Phase::busy);
    Request req = take_request();
    Reply reply;
    try {
      reply = m_listener.handler(req);
    } catch (const std::exception&) {
      reply.response.status = 500;
      reply.response.set_content("internal error\n", "text/plain");
    }
    handle(std::move(reply));
  }

  // A route's reply: the answer, or work for a worker (after a held delay).
  void handle(Reply reply) {
    if (!reply.work) {
      return respond(std::move(reply.response));
    }
    if (reply.delay.count() > 0) {
      m_holding = true;
      arm(reply.delay, [this, work = std::move(reply.work), lane = reply.lane]() mutable {
        m_holding = false;
        submit(std::move(work), lane);
      });
      return;
    }
    submit(std::move(reply.work), reply.lane);
  }

  void submit(std::function<Reply()> work, core::Lane lane) {
    auto self = this->shared_from_this();
    auto& io = m_listener.impl.io;
    const bool queued = m_listener.impl.workers.submit(lane, [self, work = std::move(work), &io] {
      Reply next;
      try {
        next = work();
      } catch (const std::exception&) {
        next.response.status = 500;
        next.response.set_content("internal error\n", "text/plain");
      }
      asio::post(io, [self, next = std::move(next)]() mutable {
        if (!self->m_closed) {
          self->handle(std::move(next));
        }
      });
    });
    if (!queued) {
      m_listener.impl.metrics.add("authd_verify_shed_total", {{"lane", core::to_string(lane)}});
      Response r;
      r.status = 503;
      r.set_header("Retry-After", "1");
      r.set_content("busy\n", "text/plain");
      respond(std::move(r));
    }
  }

  void respond(Response r) {
    const bool keep = m_keep_alive && !m_close_after && !m_listener.impl.draining;
    m_response.emplace(static_cast<http::status>(r.status), m_version);
    for (auto& [name, value] : r.headers) {
      m_response->set(name, value);
    }
    m_response->set(http::field::content_type, r.content_type);
    m_response->body() = std::move(r.body);
    m_response->keep_alive(keep);
    m_response->prepare_payload();
    arm(seconds(10), [this] { close("write_timeout"); });
    http::async_write(m_socket, *m_response, [self = this->shared_from_this(), keep](beast::error_code ec, std::size_t) {
      if (self->m_closed) {
        return;
      }
      self->disarm();
      self->m_response.reset();
      if (ec || !keep) {
        return self->close(nullptr);
      }
      self->wait_request();
    });
  }

  Socket m_socket;
  asio::steady_timer m_timer;
  ListenerBase& m_listener;
  std::shared_ptr<const ServerLimits> m_limits;
  unsigned m_served = 0; // requests taken on this connection
  std::string m_peer;
  std::string m_peer_key; // counted against max_connections_per_peer ("" = not counted)
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  std::optional<http::response<http::string_body>> m_response;
  unsigned m_generation = 0;
  unsigned m_version = 11;
  bool m_keep_alive = true;
  bool m_close_after = false;
  bool m_closed = false;
  bool m_holding = false; // a throttled answer waits on the timer
};

template <class Protocol>
class Listener final : public ListenerBase {
public:
  Listener(Server::Impl& server, int fd, bool unix_socket, std::string label, Handler routes)
      : ListenerBase(server, std::move(label), std::move(routes), !unix_socket), m_acceptor(server.io),
        m_retry(server.io) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      m_acceptor.assign(ss.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd);
    } else {
      m_acceptor.assign(Protocol(), fd);
    }
  }

  void accept() override {
    m_acceptor.async_accept([this](beast::error_code ec, typename Protocol::socket socket) {
      if (ec == asio::error::operation_aborted || impl.draining) {
        return;
      }
      if (ec) {
        return backoff(ec);
      }
      admit(std::move(socket));
      accept();
    });
  }

  void close_acceptor() override {
    beast::error_code ec;
    m_acceptor.close(ec);
    m_retry.cancel();
  }

private:
  // Out of descriptors (EMFILE) or memory: wait a moment instead of spinning on the error.
  void backoff(beast::error_code ec) {
    spdlog::warn("accept on {}: {}", name, ec.message());
    m_retry.expires_after(std::chrono::milliseconds(100));
    m_retry.async_wait([this](beast::error_code e) {
      if (!e && !impl.draining) {
        accept();
      }
    });
  }

  void admit(typename Protocol::socket socket) {
    std::string peer, key;
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      beast::error_code ec;
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      const auto ep = socket.remote_endpoint(ec);
      peer = ec ? "" : ep.address().to_string();
      const auto ip = parse_ip(peer);
      if (ip && !contains_any(impl.limits->trusted, *ip)) {
        key = core::Throttle::source_of(peer);
      }
    }
    if (!key.empty()) {
      if (const auto it = per_peer.find(key); it != per_peer.end() && it->second >= impl.limits->max_connections_per_peer) {
        return refuse(socket.native_handle(), "per_peer", impl.metrics);
      }
    }
    if (!make_room()) {
      return refuse(socket.native_handle(), "full", impl.metrics);
    }
    std::make_shared<Session<Protocol>>(std::move(socket), *this, std::move(peer), std::move(key))->start();
  }

  typename Protocol::acceptor m_acceptor;
  asio::steady_timer m_retry;
};

} // namespace

void Server::Impl::maybe_finish_drain() {
  if (!draining) {
    return;
  }
  for (const auto& l : listeners) {
    if (!l->all.empty()) {
      return;
    }
  }
  io.stop();
}

Server::Server(ServerLimits limits, core::Metrics& metrics) : m(std::make_unique<Impl>(std::move(limits), metrics)) {}

Server::~Server() { stop(); }

void Server::add_listener(int fd, bool unix_socket, const std::string& name, Handler handler) {
  if (unix_socket) {
    m->listeners.push_back(std::make_unique<Listener<asio::local::stream_protocol>>(*m, fd, true, name, std::move(handler)));
  } else {
    m->listeners.push_back(std::make_unique<Listener<asio::ip::tcp>>(*m, fd, false, name, std::move(handler)));
  }
}

void Server::reconfigure(ServerLimits limits) {
  asio::post(m->io, [impl = m.get(), l = std::move(limits)]() mutable {
    l.threads = impl->limits->threads; // the worker pool is sized once
    impl->limits = std::make_shared<const ServerLimits>(std::move(l));
  });
}

void Server::start() {
  for (auto& l : m->listeners) {
    l->accept();
    l->gauge();
  }
  m->thread = std::thread([impl = m.get()] {
    const auto guard = asio::make_work_guard(impl->io);
    impl->io.run();
  });
}

void Server::stop() {
  if (!m->thread.joinable()) {
    return;
  }
  asio::post(m->io, [impl = m.get()] {
    impl->draining = true;
    for (auto& l : impl->listeners) {
      l->close_acceptor();
      // Idle, or still sending a request: nothing in flight. A request on its way gets a
      // moment (connections a restart accepted must not lose their login); a slow one does not.
      const auto grace = std::min<std::chrono::milliseconds>(std::chrono::seconds(1),
                                                             std::chrono::seconds(impl->limits->drain_timeout_s));
      const std::vector<SessionBase*> waiting(l->waiting.begin(), l->waiting.end());
      for (SessionBase* s : waiting) {
        s->drain(grace);
      }
      const std::vector<SessionBase*> busy(l->all.begin(), l->all.end());
      for (SessionBase* s : busy) {
        s->end_hold();
      }
    }
    impl->drain_timer.emplace(impl->io);
    impl->drain_timer->expires_after(std::chrono::seconds(impl->limits->drain_timeout_s));
    impl->drain_timer->async_wait([impl](beast::error_code ec) {
      if (ec) {
        return;
      }
      for (auto& l : impl->listeners) {
        while (!l->all.empty()) {
          (*l->all.begin())->close("shutdown");
        }
      }
      impl->io.stop();
    });
    impl->maybe_finish_drain();
  });
  m->thread.join();
  m->workers.discard_queued();
}

} // namespace authd::frontend::detail
