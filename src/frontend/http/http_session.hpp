#pragma once
// HTTP/1.1 connections on the shared event loop (frontend/net): Boost.Beast's parser, one
// deadline for the whole request head and one for the whole body, a keep-alive idle timeout,
// header bytes and field count, body bytes counted as they arrive (chunked too), pipelining in
// order, held (throttled) answers on the connection's timer, complete requests to the workers.
#include <functional>

#include "frontend/net/event_server.hpp"
#include "message.hpp"

namespace authd::frontend::detail {

using Handler = std::function<Reply(Request&)>;

// The factory an HTTP listener gives the event loop: every accepted socket becomes a session
// that answers through `handler` (route()).
net::SessionFactory http_sessions(Handler handler);

} // namespace authd::frontend::detail
