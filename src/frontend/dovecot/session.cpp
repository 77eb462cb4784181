#include "session.hpp"

#include <array>
#include <deque>
#include <map>

#include <unistd.h>

#include <boost/beast/core/error.hpp>
#include <spdlog/spdlog.h>

#include "authd/util/net.hpp"
#include "authd/util/secret.hpp"
#include "protocol.hpp"

namespace authd::frontend::dovecot {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using net::ListenerBase;
using net::SessionBase;

constexpr std::size_t k_max_output = 64 * 1024; // a client that does not read its answers is closed
constexpr int k_max_running = 32;               // logins of one connection on the workers or held

// One client connection: the handshake in one write, then lines in, answers out. Logins run on the
// workers; a throttled one is held on its own timer (no thread) while the wait fits in
// [throttle] hold_max_ms. A temporary failure closes the connection: the one signal every client
// (Postfix above all, which answers 535 to any FAIL) turns into a temporary error.
template <class Protocol>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Protocol>> {
public:
  using Socket = typename Protocol::socket;

  Session(Socket socket, ListenerBase& listener, std::shared_ptr<const Context> ctx, std::string peer, std::string key)
      : m_socket(std::move(socket)), m_timer(m_socket.get_executor()), m_listener(listener), m_ctx(std::move(ctx)),
        m_peer(std::move(peer)), m_peer_key(std::move(key)) {}

  void start() {
    m_listener.opened(this, m_peer_key);
    m_listener.set_phase(this, Phase::reading); // until the handshake is done
    arm_line_deadline();
    if (m_listener.impl.draining) { // accepted as the drain began: its login gets the grace
      drain(m_listener.drain_grace());
    }
    send(handshake(static_cast<unsigned long>(::getpid()), ++m_ctx->connections, m_ctx->cookie));
    read();
  }

  void close(const char* reason) override {
    if (m_closed) {
      return;
    }
    m_closed = true;
    if (reason != nullptr) {
      m_listener.impl.closed(reason);
    }
    m_timer.cancel();
    for (auto& [id, timer] : m_holds) {
      timer->cancel();
    }
    beast::error_code ec;
    m_socket.shutdown(Socket::shutdown_both, ec);
    m_socket.close(ec);
    wipe(m_in.data(), m_in.size());
    m_in.clear();
    m_listener.released(this, m_peer_key);
  }

  // A held login is not kept waiting for its timer at shutdown: the connection closes, which every
  // client takes as a temporary failure — once the logins already on a worker have been answered
  // (found by the attack review: their answers were lost with the close).
  void end_hold() override {
    if (m_holds.empty()) {
      return;
    }
    const int held = static_cast<int>(m_holds.size());
    for (auto& [seq, timer] : m_holds) {
      timer->cancel();
    }
    m_holds.clear();
    drop_held(held);
  }

  void drain(std::chrono::milliseconds grace) override {
    beast::error_code unknown;
    const bool on_its_way = phase == Phase::reading || (phase == Phase::idle && m_socket.available(unknown) > 0);
    if (!on_its_way || grace.count() == 0) {
      return close("shutdown");
    }
    m_timer.expires_after(grace);
    m_timer.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) {
        self->close("shutdown");
      }
    });
  }

private:
  void arm_line_deadline() {
    m_timer.expires_after(std::chrono::seconds(m_listener.impl.limits->header_timeout_s));
    m_timer.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec && !self->m_closed) {
        self->close("header_timeout");
      }
    });
  }

  void read() {
    m_socket.async_read_some(asio::buffer(m_chunk), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
      if (self->m_closed) {
        return;
      }
      if (ec) {
        return self->close(nullptr);
      }
      self->received(n);
    });
  }

  void received(std::size_t n) {
    m_in.append(m_chunk.data(), n);
    wipe(m_chunk.data(), n);
    std::size_t start = 0;
    for (std::size_t nl; !m_closed && (nl = m_in.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (nl - start > k_max_line) {
        return close("line_too_long");
      }
      line(std::string_view(m_in).substr(start, nl - start));
    }
    if (m_closed) {
      return;
    }
    wipe(m_in.data(), start);
    m_in.erase(0, start);
    if (m_in.size() > k_max_line) {
      return close("line_too_long");
    }
    update_phase();
    read();
  }

  void line(std::string_view text) {
    Step step = m_conversation.on_line(text);
    for (std::string& out : step.send) {
      send(std::move(out));
    }
    if (!step.close.empty()) {
      spdlog::info("dovecot-auth {}: closing: {}", m_listener.name, step.close);
      return close("protocol_error");
    }
    if (step.login) {
      if (m_running >= k_max_running) { // cancelled logins still run: CANCEL does not lift the bound
        return close("too_many_requests");
      }
      ++m_running;
      run(std::make_shared<Login>(std::move(*step.login)),
          std::chrono::steady_clock::now() + std::chrono::milliseconds(m_ctx->service.throttle_config().hold_max_ms));
    }
  }

  // Idle (nothing in flight, no partial line, handshake done) connections are what a full
  // listener may close to make room, and what a drain closes at once.
  void update_phase() {
    const bool busy = m_conversation.pending() > 0;
    const Phase want = busy ? Phase::busy : (!m_in.empty() || !m_conversation.ready()) ? Phase::reading : Phase::idle;
    beast::error_code ec;
    if (want == Phase::idle && m_listener.impl.draining && m_socket.available(ec) == 0) {
      return close("shutdown"); // its last answer is out, no line on its way: nothing more is taken
    }
    if (want != phase) {
      m_listener.set_phase(this, want);
    }
    if (want == Phase::reading) {
      if (!m_deadline_armed) {
        m_deadline_armed = true;
        arm_line_deadline();
      }
    } else if (m_deadline_armed) {
      m_deadline_armed = false;
      m_timer.cancel();
    }
  }

  std::string client_ip(const Login& login) const {
    // rip= is believed from the UNIX socket (Postfix in its chroot) and from trusted peers;
    // anyone else is throttled by the address it connects from.
    if (!m_listener.tcp) {
      return login.remote_ip;
    }
    const auto peer = parse_ip(m_peer);
    return peer && contains_any(m_ctx->trusted, *peer) ? login.remote_ip : m_peer;
  }

  void run(std::shared_ptr<Login> login, std::chrono::steady_clock::time_point hold_until) {
    const std::string ip = client_ip(*login);
    const core::Lane lane = m_ctx->service.lane(login->user, ip);
    auto self = this->shared_from_this();
    auto& io = m_listener.impl.io;
    const bool queued = m_listener.impl.workers.submit(lane, [self, login, ip, hold_until, &io] {
      auto result = std::make_shared<core::AuthResult>(
          self->m_ctx->service.authenticate({login->user, login->password, login->service, ip}));
      asio::post(io, [self, login, result, hold_until] { self->answered(login, *result, hold_until); });
    }, core::Throttle::source_of(ip));
    if (!queued) {
      m_listener.impl.metrics.add("authd_verify_shed_total", {{"lane", core::to_string(lane)}});
      close("busy");
    }
  }

  void answered(const std::shared_ptr<Login>& login, const core::AuthResult& r, std::chrono::steady_clock::time_point hold_until) {
    if (m_closed) {
      return;
    }
    if (r.status == core::AuthStatus::throttled && std::chrono::steady_clock::now() + r.retry_after <= hold_until) {
      if (m_listener.impl.draining) { // no hold at a stop: the close tells it, after the others
        return drop_held(1);
      }
      m_listener.impl.metrics.add("authd_throttle_delayed_total", {});
      return hold(login, r.retry_after, hold_until);
    }
    count(r.status);
    --m_running;
    if (!m_conversation.finish(login->id, login->seq)) {
      return settle(); // cancelled meanwhile (its id may serve another request now)
    }
    if (r.status == core::AuthStatus::ok) {
      send(ok_line(login->id, r.user));
    } else if (r.status == core::AuthStatus::rejected || r.status == core::AuthStatus::forbidden) {
      send(fail_line(login->id, login->user));
    } else {
      return close("temporary_failure"); // store down, throttled past the hold, shed
    }
    settle();
  }

  // Held logins given up at a stop: they get no answer line; the connection's close tells them
  // (a temporary failure), once the logins still on a worker are answered.
  void drop_held(int n) {
    m_running -= n;
    m_close_when_answered = true;
    settle();
  }

  // After an answer: at a stop that dropped held logins, the close that tells them comes once
  // the last login on a worker is answered.
  void settle() {
    if (m_close_when_answered && m_running == 0) {
      return close("shutdown");
    }
    update_phase();
  }

  void hold(const std::shared_ptr<Login>& login, std::chrono::milliseconds wait, std::chrono::steady_clock::time_point until) {
    auto timer = std::make_shared<asio::steady_timer>(m_socket.get_executor());
    m_holds[login->seq] = timer; // by seq: unique on the connection, unlike a reusable id
    timer->expires_after(wait);
    timer->async_wait([self = this->shared_from_this(), login, until](beast::error_code ec) {
      if (ec || self->m_closed) {
        return; // close() cancelled it
      }
      self->m_holds.erase(login->seq);
      self->run(login, until);
    });
  }

  void count(core::AuthStatus status) {
    m_listener.impl.metrics.add("authd_dovecot_auth_requests_total", {{"outcome", core::to_string(status)}});
  }

  void send(std::string text) {
    m_out_bytes += text.size();
    if (m_out_bytes > k_max_output) {
      return close("not_reading");
    }
    m_out.push_back(std::move(text));
    if (!m_writing) {
      write_next();
    }
  }

  void write_next() {
    if (m_out.empty() || m_closed) {
      m_writing = false;
      return;
    }
    m_writing = true;
    asio::async_write(m_socket, asio::buffer(m_out.front()), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->m_closed) {
        return;
      }
      if (ec) {
        return self->close(nullptr);
      }
      self->m_out_bytes -= self->m_out.front().size();
      self->m_out.pop_front();
      self->write_next();
    });
  }

  Socket m_socket;
  asio::steady_timer m_timer; // the handshake / partial-line deadline, or the drain's grace
  ListenerBase& m_listener;
  std::shared_ptr<const Context> m_ctx;
  std::string m_peer;
  std::string m_peer_key;
  std::array<char, 4096> m_chunk{};
  std::string m_in; // received bytes not yet a whole line (wiped as lines are taken)
  std::deque<std::string> m_out;
  std::size_t m_out_bytes = 0;
  bool m_writing = false;
  bool m_closed = false;
  bool m_deadline_armed = true; // start() arms it for the handshake
  Conversation m_conversation;
  std::map<std::uint64_t, std::shared_ptr<asio::steady_timer>> m_holds; // held logins, by seq
  int m_running = 0; // logins on the workers or held, cancelled ones included
  bool m_close_when_answered = false; // a stop dropped held logins: close after the running ones
};

} // namespace

net::SessionFactory dovecot_sessions(std::shared_ptr<const Context> ctx) {
  auto make = [ctx](auto socket, ListenerBase& listener, std::string peer, std::string key) {
    using Protocol = typename decltype(socket)::protocol_type;
    std::make_shared<Session<Protocol>>(std::move(socket), listener, ctx, std::move(peer), std::move(key))->start();
  };
  return {make, make, ""}; // a refused client is simply closed: a lost connection is a temporary failure to all
}

} // namespace authd::frontend::dovecot
