#include "http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <unordered_set>

namespace parley::server::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr std::uint32_t kHeaderLimit = 8192;

std::string peerOf(const tcp::socket& s) {
  boost::system::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}
}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  struct Session;

  Impl(asio::io_context& i, ServerOptions o, Handler h, std::shared_ptr<spdlog::logger> l)
      : io(i), options(std::move(o)), handler(std::move(h)), log(std::move(l)) {}

  void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([self = shared_from_this(), &acceptor](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || self->stopped) return;
      if (!ec) {
        if (self->sessions.size() >= self->options.maxConnections) {
          boost::system::error_code ignored;
          socket.close(ignored);  // full: the client sees the connection close and may retry
          ++self->refused;
        } else {
          auto session = std::make_shared<Session>(self, std::move(socket));
          self->sessions.insert(session.get());
          session->read();
        }
      }
      self->accept(acceptor);
    });
  }

  struct Session : std::enable_shared_from_this<Session> {
    Session(const std::shared_ptr<Impl>& o, tcp::socket s) : owner(o), stream(std::move(s)), peer(peerOf(stream.socket())) {}
    ~Session() {
      if (auto o = owner.lock()) o->sessions.erase(this);
    }

    void read() {
      auto o = owner.lock();
      if (!o || o->stopped) return;
      parser.emplace();
      parser->body_limit(o->options.maxBodyBytes);
      parser->header_limit(kHeaderLimit);
      stream.expires_after(o->options.readTimeout);
      bhttp::async_read(stream, buffer, *parser, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->onRead(ec);
      });
    }

    void onRead(beast::error_code ec) {
      if (ec == bhttp::error::body_limit) return fail(413, "request body too large");
      if (ec == bhttp::error::header_limit) return fail(431, "request header fields too large");
      const bool parseError = ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                              ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
      if (parseError) return fail(400, "malformed request");
      if (ec) return close();  // the peer left, or was idle past the timeout
      auto o = owner.lock();
      if (!o) return close();
      auto& msg = parser->get();
      keepAlive = msg.keep_alive();
      Request req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      req.body = std::move(msg.body());
      req.peer = peer;
      stream.expires_never();  // the handler may take a while; the response write has its own limit
      std::weak_ptr<Session> weak = shared_from_this();
      o->handler(std::move(req), [weak](Response r) {
        if (auto self = weak.lock()) self->write(std::move(r));
      });
    }

    void fail(int status, std::string_view why) {
      keepAlive = false;
      Response r;
      r.status = status;
      r.body = std::string(R"({"error":{"code":")") + (status == 413 ? "too_large" : status == 431 ? "headers_too_large" : "bad_request") +
               R"(","message":")" + std::string(why) + "\"}}";
      write(std::move(r));
    }

    void write(Response r) {
      if (answered) return;  // one answer per request
      answered = true;
      auto o = owner.lock();
      if (!o) return close();
      auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(r.status), 11);
      res->set(bhttp::field::server, "Parley/" PARLEY_VERSION);
      if (!r.contentType.empty()) res->set(bhttp::field::content_type, r.contentType);
      for (auto& [k, v] : r.headers) res->insert(k, v);
      res->keep_alive(keepAlive);
      res->body() = std::move(r.body);
      res->prepare_payload();
      stream.expires_after(o->options.readTimeout);
      bhttp::async_write(stream, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
        self->answered = false;
        if (ec || !self->keepAlive) return self->close();
        self->read();
      });
    }

    void close() {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.close();
    }

    std::weak_ptr<Impl> owner;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser;
    std::string peer;
    bool keepAlive = false;
    bool answered = false;
  };

  asio::io_context& io;
  ServerOptions options;
  Handler handler;
  std::shared_ptr<spdlog::logger> log;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::unordered_set<Session*> sessions;
  std::uint64_t refused = 0;
  bool stopped = false;
};

Server::Server(asio::io_context& io, ServerOptions options, Handler handler, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler), std::move(log))) {}

Server::~Server() { stop(); }

tl::expected<void, std::string> Server::start() {
  for (const auto& e : impl_->options.listen) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(e.address, ec);
    if (ec) return tl::unexpected("http: bad address " + e.address);
    auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
    const tcp::endpoint ep(address, e.port);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return tl::unexpected(ec.message());
    impl_->acceptors.push_back(std::move(acceptor));
  }
  for (auto& a : impl_->acceptors) {
    if (impl_->log) {
      const auto ep = a->local_endpoint();
      impl_->log->info("http.listening local={}{}{}:{}", ep.address().is_v6() ? "[" : "", ep.address().to_string(),
                       ep.address().is_v6() ? "]" : "", ep.port());
    }
    impl_->accept(*a);
  }
  return {};
}

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  for (auto& a : impl_->acceptors) {
    boost::system::error_code ignored;
    a->close(ignored);
  }
  const auto open = std::vector<Impl::Session*>(impl_->sessions.begin(), impl_->sessions.end());
  for (auto* s : open) s->close();
}

std::vector<ServerOptions::Endpoint> Server::endpoints() const {
  std::vector<ServerOptions::Endpoint> out;
  for (const auto& a : impl_->acceptors) {
    boost::system::error_code ec;
    const auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back({ep.address().to_string(), ep.port()});
  }
  return out;
}

std::size_t Server::connections() const { return impl_->sessions.size(); }

}  // namespace parley::server::http
