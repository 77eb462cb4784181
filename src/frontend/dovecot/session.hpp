#pragma once
// Dovecot auth-client connections on the shared event loop (frontend/net): the conversation of
// protocol.hpp over a socket, logins through the core on the workers.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "authd/core/auth_service.hpp"
#include "authd/util/net.hpp"
#include "frontend/net/event_server.hpp"

namespace authd::frontend::dovecot {

struct Context {
  Context(core::AuthService& s, std::vector<Cidr> t, std::string c)
      : service(s), trusted(std::move(t)), cookie(std::move(c)) {}
  core::AuthService& service;
  std::vector<Cidr> trusted; // TCP peers whose rip= is believed ([http] trusted_proxies)
  std::string cookie;        // COOKIE in the handshake: 128 random bits, per process
  mutable std::atomic<unsigned long> connections{0}; // CUID
};

net::SessionFactory dovecot_sessions(std::shared_ptr<const Context> ctx);

} // namespace authd::frontend::dovecot
