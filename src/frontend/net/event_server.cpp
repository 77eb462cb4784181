#include "frontend/net/event_server.hpp"

#include <sys/socket.h>

#include <array>
#include <memory>

#include <boost/beast/core/error.hpp>
#include <spdlog/spdlog.h>

#include "authd/core/throttle.hpp"

namespace authd::frontend::net {
namespace {

namespace beast = boost::beast;

template <class Protocol>
class Listener final : public ListenerBase {
public:
  Listener(Loop& server, int fd, bool unix_socket, std::string label, SessionFactory factory)
      : ListenerBase(server, std::move(label), !unix_socket), m_factory(std::move(factory)), m_acceptor(server.io),
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
    accept_pending = true;
    m_acceptor.async_accept([this](beast::error_code ec, typename Protocol::socket socket) {
      accept_pending = false;
      if (ec == asio::error::operation_aborted || (ec && impl.draining)) {
        return impl.maybe_finish_drain();
      }
      if (ec) {
        return backoff(ec);
      }
      // Accepted just as the drain began (the accept was done before the acceptor closed): its
      // client has sent its login already. A session started while draining waits only the grace
      // for it and is answered, never reset unread.
      admit(std::move(socket));
      if (impl.draining) {
        return impl.maybe_finish_drain();
      }
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
        return refuse(std::move(socket), "per_peer");
      }
    }
    if (!make_room()) {
      return refuse(std::move(socket), "full");
    }
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      m_factory.tcp(std::move(socket), *this, std::move(peer), std::move(key));
    } else {
      m_factory.unix_socket(std::move(socket), *this, std::move(peer), std::move(key));
    }
  }

  void refuse(typename Protocol::socket socket, const char* reason) {
    const int fd = socket.native_handle();
    (void)::send(fd, m_factory.refusal.data(), m_factory.refusal.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)::shutdown(fd, SHUT_WR);
    impl.metrics.add("authd_http_connections_refused_total", {{"reason", reason}});
    linger(std::move(socket));
  }

  // A refused connection is not closed at once: its client may still be sending its request, and
  // what arrives at a closed socket is answered with a reset, which the client sees instead of
  // the answer (found by the attack review). It is read, and dropped, until the client closes,
  // for a second at most; past k_max_lingering such sockets per listener the close is at once.
  struct Lingering {
    Lingering(typename Protocol::socket s, asio::io_context& io, std::shared_ptr<int> n)
        : socket(std::move(s)), timer(io), count(std::move(n)) {
      ++*count;
    }
    ~Lingering() { --*count; }
    typename Protocol::socket socket;
    asio::steady_timer timer;
    std::array<char, 1024> sink{};
    std::shared_ptr<int> count;
  };
  static constexpr int k_max_lingering = 16;

  void linger(typename Protocol::socket socket) {
    if (*m_lingering >= k_max_lingering) {
      return; // closed as it goes out of scope
    }
    auto l = std::make_shared<Lingering>(std::move(socket), impl.io, m_lingering);
    l->timer.expires_after(std::chrono::seconds(1));
    l->timer.async_wait([l](beast::error_code) {
      beast::error_code ec;
      l->socket.close(ec);
    });
    read_away(l);
  }

  static void read_away(const std::shared_ptr<Lingering>& l) {
    l->socket.async_read_some(asio::buffer(l->sink), [l](beast::error_code ec, std::size_t) {
      if (ec) {
        l->timer.cancel(); // the client closed (or the second is over)
        return;
      }
      read_away(l);
    });
  }

  std::shared_ptr<int> m_lingering = std::make_shared<int>(0);

  SessionFactory m_factory;
  typename Protocol::acceptor m_acceptor;
  asio::steady_timer m_retry;
};

} // namespace

ServerLimits limits_of(const config::Config& c) {
  const config::HttpConfig& h = c.http;
  ServerLimits limits{h.threads, h.max_connections, h.max_connections_per_peer, h.keepalive_timeout_s,
                              h.header_timeout_s, h.body_timeout_s, h.drain_timeout_s, h.max_header_bytes, 64,
                              h.max_body_bytes, {}};
  for (const std::string& text : h.trusted_proxies) {
    if (auto net = parse_cidr(text)) { // validated when the config was loaded
      limits.trusted.push_back(*net);
    }
  }
  limits.queue = static_cast<std::size_t>(c.core.queue_size);
  return limits;
}

std::chrono::milliseconds ListenerBase::drain_grace() const {
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(1), std::chrono::seconds(impl.limits->drain_timeout_s));
}

void Loop::maybe_finish_drain() {
  if (!draining) {
    return;
  }
  for (const auto& l : listeners) {
    if (!l->all.empty() || l->accept_pending) {
      return;
    }
  }
  io.stop();
}

Server::Server(ServerLimits limits, core::Metrics& metrics) : m(std::make_unique<Loop>(std::move(limits), metrics)) {}

Server::~Server() { stop(); }

void Server::add_listener(int fd, bool unix_socket, const std::string& name, SessionFactory factory) {
  if (unix_socket) {
    m->listeners.push_back(std::make_unique<Listener<asio::local::stream_protocol>>(*m, fd, true, name, std::move(factory)));
  } else {
    m->listeners.push_back(std::make_unique<Listener<asio::ip::tcp>>(*m, fd, false, name, std::move(factory)));
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

void Server::stop(const std::function<void()>& at_deadline) {
  if (!m->thread.joinable()) {
    return;
  }
  asio::post(m->io, [impl = m.get(), &at_deadline] { // stop() waits for the loop: the reference outlives it
    impl->draining = true;
    for (auto& l : impl->listeners) {
      l->close_acceptor();
      // Idle, or still sending a request: nothing in flight (drain_grace).
      const auto grace = l->drain_grace();
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
    impl->drain_timer->async_wait([impl, &at_deadline](beast::error_code ec) {
      if (ec) {
        return;
      }
      // Every session is closed (and so leaves its listener's lists) before the queued jobs are
      // dropped: a job may hold the last reference to its session, and a session destroyed
      // while still listed was closed through a dangling pointer here (std::terminate: "pure
      // virtual method called", seen by service_lifecycle's bounded drain).
      for (auto& l : impl->listeners) {
        while (!l->all.empty()) {
          (*l->all.begin())->close("shutdown");
        }
      }
      impl->workers.discard_queued(); // nobody waits for these answers any more
      if (at_deadline) {
        at_deadline();
      }
      impl->io.stop();
    });
    impl->maybe_finish_drain();
  });
  m->thread.join();
  m->workers.discard_queued();
}

} // namespace authd::frontend::net
