// The HTTP/1.1 edge of parleyd (Boost.Beast, kept to http_server.cpp: Beast
// compiles slowly, docs/api.md). Plain HTTP on loopback or behind a TLS proxy.
//
// Per connection: keep-alive, one request at a time, a read timeout per
// request, bodies over maxBodyBytes answered 413, headers over 8 KiB 431,
// malformed requests 400, then closed. At most maxConnections at once: past
// that, new connections are accepted and closed at once. Requests go to the
// handler, which answers through `respond`, at once or later (a store
// answers later); a connection whose peer left drops the answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace boost::asio {
class io_context;
}  // namespace boost::asio
namespace spdlog {
class logger;
}  // namespace spdlog

namespace parley::server::http {

struct Request {
  std::string method;  ///< as sent: "GET", "PUT", ...
  std::string target;  ///< origin-form: "/api/v1/presence/sip%3Aalice%40x?x=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  ///< "127.0.0.1:54321"

  /// The first header of that name (case-insensitive), or "".
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

/// The transport side of a live stream (a WebSocket, or server-sent events on
/// a plain response), given to the Response's `stream` when it opens.
class StreamPeer {
 public:
  virtual ~StreamPeer() = default;
  /// Queues one message: a text frame (WebSocket) or raw bytes of the event
  /// stream (SSE). False, and the peer closes, when more than the queue limit
  /// are waiting: a slow client is dropped, never waited for.
  virtual bool send(std::shared_ptr<const std::string> message) = 0;
  virtual void close() = 0;
};

/// What the API does with a stream: text from the client (WebSocket only)
/// and the end of the stream (either side closed; called once).
struct StreamHandlers {
  std::function<void(std::string_view text)> onMessage;
  std::function<void()> onClose;
};

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Set to accept the request as a live stream: a WebSocket when the request
  /// asked for the upgrade (RFC 6455; status and body are then unused), else
  /// an event stream (status, headers and content type sent, then messages
  /// until either side closes). Called once the stream is open.
  std::function<StreamHandlers(std::shared_ptr<StreamPeer>)> stream;
};

/// True when the request asks to become a WebSocket (Upgrade: websocket).
[[nodiscard]] bool isWebSocketUpgrade(const Request& request);

using Respond = std::function<void(Response)>;
using Handler = std::function<void(Request, Respond)>;

struct ServerOptions {
  struct Endpoint {
    std::string address;  ///< IP literal
    std::uint16_t port = 0;
  };
  std::vector<Endpoint> listen;
  std::size_t maxBodyBytes = 65536;
  std::size_t maxConnections = 1024;
  std::chrono::seconds readTimeout{30};  ///< for one request, from its first byte (and idle keep-alive)
  std::size_t streamQueue = 256;         ///< messages waiting per live stream before it is dropped
  std::chrono::seconds sseKeepalive{15}; ///< a comment line this often keeps proxies from closing an idle event stream
};

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler, std::shared_ptr<spdlog::logger> log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds every endpoint and starts accepting; on error, which one and why.
  tl::expected<void, std::string> start();
  /// Stops accepting and closes every connection.
  void stop();
  /// The endpoints as bound (port 0 resolved), "address:port".
  [[nodiscard]] std::vector<ServerOptions::Endpoint> endpoints() const;
  /// Open connections, live streams included.
  [[nodiscard]] std::size_t connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::server::http
