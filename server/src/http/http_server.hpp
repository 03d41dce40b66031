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

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

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
  [[nodiscard]] std::size_t connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::server::http
