#include "http_session.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "authd/core/throttle.hpp"
#include "authd/util/secret.hpp"

namespace authd::frontend::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::Clock;
using net::ListenerBase;
using net::ServerLimits;
using net::SessionBase;

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

  Session(Socket socket, ListenerBase& listener, std::shared_ptr<const Handler> handler, std::string peer, std::string peer_key)
      : m_socket(std::move(socket)), m_timer(m_socket.get_executor()), m_listener(listener), m_handler(std::move(handler)),
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
    respond(shutting_down());
  }

  static Response shutting_down() {
    Response r;
    r.status = 503;
    r.set_header("Retry-After", "1");
    r.set_content("shutting down\n", "text/plain");
    return r;
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

  // A next request has arrived already: read into the buffer behind the last one, or waiting
  // in the socket.
  bool next_request_arrived() {
    beast::error_code unknown;
    return m_buffer.size() > 0 || m_socket.available(unknown) > 0;
  }

  void wait_request() {
    const bool draining = m_listener.impl.draining;
    if (draining && m_served > 0 && !next_request_arrived()) {
      return close(nullptr); // answered, nothing more on the way: a pipelined request is served
    }
    if (m_buffer.size() > 0) {
      return read_head(); // a pipelined request is already here
    }
    m_buffer.shrink_to_fit(); // an idle connection keeps no buffer
    m_listener.set_phase(this, Phase::idle);
    if (draining) { // accepted as the drain began: its first request is on the way, it gets the grace
      arm(m_listener.drain_grace(), [this] { close("shutdown"); });
    } else {
      arm(seconds(m_limits->keepalive_timeout_s), [this] { close("keepalive_timeout"); });
    }
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
    if (m_listener.impl.draining) { // a request already on its way gets the grace, no more
      arm(m_listener.drain_grace(), [this] { close("shutdown"); });
    } else {
      arm(seconds(m_limits->header_timeout_s), [this] { close("header_timeout"); });
    }
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
      reply = (*m_handler)(req);
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
    if (reply.delay.count() > 0 && m_listener.impl.draining) {
      return respond(shutting_down()); // no hold at a stop (end_hold answered the ones before it)
    }
    if (reply.delay.count() > 0) {
      m_holding = true;
      arm(reply.delay, [this, work = std::move(reply.work), lane = reply.lane, client = std::move(reply.client)]() mutable {
        m_holding = false;
        submit(std::move(work), lane, client);
      });
      return;
    }
    submit(std::move(reply.work), reply.lane, reply.client);
  }

  // `client`: the login's source; other work (and a login with no address) is its peer's.
  void submit(std::function<Reply()> work, core::Lane lane, const std::string& client) {
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
    }, client.empty() ? core::Throttle::source_of(m_peer) : client);
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
    // At a stop a connection closes after this answer unless its next request has arrived
    // already (pipelined behind this one, or sent while it was worked on): that one is answered too.
    const bool keep = m_keep_alive && !m_close_after && (!m_listener.impl.draining || next_request_arrived());
    m_response.emplace(static_cast<http::status>(r.status), m_version);
    for (auto& [name, value] : r.headers) {
      m_response->insert(name, value); // insert: a page may set several cookies
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
  std::shared_ptr<const Handler> m_handler;
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

} // namespace

net::SessionFactory http_sessions(Handler handler) {
  auto shared = std::make_shared<const Handler>(std::move(handler));
  auto make = [shared](auto socket, ListenerBase& listener, std::string peer, std::string key) {
    using Protocol = typename decltype(socket)::protocol_type;
    std::make_shared<Session<Protocol>>(std::move(socket), listener, shared, std::move(peer), std::move(key))->start();
  };
  static constexpr std::string_view k_busy =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
      "Content-Length: 21\r\n\r\ntoo many connections\n";
  return {make, make, std::string(k_busy)};
}

} // namespace authd::frontend::detail
