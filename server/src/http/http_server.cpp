#include "http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <optional>
#include <unordered_set>

namespace parley::server::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

namespace {
constexpr std::uint32_t kHeaderLimit = 8192;
constexpr std::size_t kMaxClientMessage = 64 * 1024;        // a WebSocket message from a client
constexpr std::chrono::seconds kStuckWrite{30};              // a live stream write pending this long: dropped
constexpr std::chrono::seconds kWebSocketIdle{60};           // pinged at half, closed when silent this long

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
  struct LiveStream;

  Impl(asio::io_context& i, ServerOptions o, Handler h, std::shared_ptr<spdlog::logger> l)
      : io(i), options(std::move(o)), handler(std::move(h)), log(std::move(l)) {}

  void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([self = shared_from_this(), &acceptor](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || self->stopped) return;
      if (!ec) {
        if (self->sessions.size() + self->streams.size() >= self->options.maxConnections) {
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
      request = parser->release();
      auto& msg = *request;
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
      if (r.stream && request && websocket::is_upgrade(*request))
        return LiveStream::openWebSocket(o, std::move(stream), std::move(*request), std::move(r.stream));
      if (r.stream) return LiveStream::openEventStream(o, std::move(stream), std::move(r));
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
    std::optional<bhttp::request<bhttp::string_body>> request;  // the last one read (a WebSocket handshake needs it)
    std::string peer;
    bool keepAlive = false;
    bool answered = false;
  };


  // A live stream: a WebSocket or an event stream on a connection taken over
  // from its Session. One write at a time from a bounded queue; past the
  // bound, or with a write stuck for kStuckWrite, the client is dropped.
  struct LiveStream : StreamPeer, std::enable_shared_from_this<LiveStream> {
    LiveStream(const std::shared_ptr<Impl>& o, beast::tcp_stream s, bool webSocket)
        : owner(o), limit(o->options.streamQueue), ws(webSocket ? std::optional<websocket::stream<beast::tcp_stream>>(std::move(s)) : std::nullopt),
          plain(webSocket ? std::nullopt : std::optional<beast::tcp_stream>(std::move(s))), timer(o->io) {
      o->streams.insert(this);
    }
    ~LiveStream() override {
      if (auto o = owner.lock()) o->streams.erase(this);
    }

    static void openWebSocket(const std::shared_ptr<Impl>& o, beast::tcp_stream s, bhttp::request<bhttp::string_body> req,
                              std::function<StreamHandlers(std::shared_ptr<StreamPeer>)> open) {
      auto self = std::make_shared<LiveStream>(o, std::move(s), true);
      beast::get_lowest_layer(*self->ws).expires_never();  // the WebSocket's own timeouts take over
      websocket::stream_base::timeout t{};
      t.handshake_timeout = std::chrono::seconds(10);
      t.idle_timeout = kWebSocketIdle;
      t.keep_alive_pings = true;
      self->ws->set_option(t);
      self->ws->set_option(websocket::stream_base::decorator(
          [](websocket::response_type& res) { res.set(bhttp::field::server, "Parley/" PARLEY_VERSION); }));
      self->ws->read_message_max(kMaxClientMessage);
      auto request = std::make_shared<bhttp::request<bhttp::string_body>>(std::move(req));
      self->ws->async_accept(*request, [self, request, open = std::move(open)](beast::error_code ec) {
        if (ec) return self->finish();
        self->handlers = open(self);
        self->armWatchdog();
        self->readWebSocket();
      });
    }

    static void openEventStream(const std::shared_ptr<Impl>& o, beast::tcp_stream s, Response r) {
      auto self = std::make_shared<LiveStream>(o, std::move(s), false);
      self->plain->expires_never();
      // The body is delimited by the connection's end (RFC 9112 §6.3): no
      // length, no chunking, and nothing after it on this connection.
      std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " +
                         std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(r.status))) +
                         "\r\nServer: Parley/" PARLEY_VERSION "\r\nContent-Type: " + r.contentType +
                         "\r\nCache-Control: no-store\r\nConnection: close\r\n";
      for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
      head += "\r\n";
      self->queue.push_back(std::make_shared<const std::string>(std::move(head)));
      self->writeNext();
      self->handlers = r.stream(self);
      self->armWatchdog();
      self->readPlain();
    }

    bool send(std::shared_ptr<const std::string> message) override {
      if (closed) return false;
      if (queue.size() >= limit) {
        abort();  // too far behind: dropped
        return false;
      }
      queue.push_back(std::move(message));
      if (!writing && opened()) writeNext();
      return true;
    }

    void close() override {
      if (closed) return;
      closed = true;
      if (ws && !writing && ws->is_open()) {
        ws->async_close(websocket::close_code::going_away, [self = shared_from_this()](beast::error_code) { self->finish(); });
        return;
      }
      abort();
    }

    [[nodiscard]] bool opened() const { return !ws || ws->is_open(); }

    void writeNext() {
      if (queue.empty() || (ws && !ws->is_open())) return;
      writing = true;
      writeStarted = std::chrono::steady_clock::now();
      auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->writing = false;
        if (!self->queue.empty()) self->queue.pop_front();
        if (ec) return self->abort();
        if (self->closed) return;  // close() came while writing: it aborted the socket
        self->writeNext();
      };
      const auto& front = *queue.front();
      if (ws) {
        ws->text(true);
        ws->async_write(asio::buffer(front), std::move(done));
      } else {
        asio::async_write(*plain, asio::buffer(front), std::move(done));
      }
    }

    void readWebSocket() {
      ws->async_read(in, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->finish();
        if (self->ws->got_text() && self->handlers.onMessage) {
          const auto data = self->in.cdata();
          self->handlers.onMessage(std::string_view(static_cast<const char*>(data.data()), data.size()));
        }
        self->in.consume(self->in.size());
        self->readWebSocket();
      });
    }

    void readPlain() {
      // An event stream carries nothing from the client: reading only tells when it leaves.
      plain->async_read_some(asio::buffer(sink), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->finish();
        self->readPlain();
      });
    }

    /// Every keepalive period: a comment on an event stream (RFC 8895 §9.2.6
    /// lines starting with ':'), and a client whose write is stuck is dropped.
    void armWatchdog() {
      auto o = owner.lock();
      if (!o) return;
      timer.expires_after(o->options.sseKeepalive);
      timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->ended) return;
        if (self->writing && std::chrono::steady_clock::now() - self->writeStarted > kStuckWrite) return self->abort();
        if (!self->ws) {
          static const auto keepalive = std::make_shared<const std::string>(": keepalive\n\n");
          self->send(keepalive);
        }
        self->armWatchdog();
      });
    }

    void abort() {
      closed = true;
      beast::error_code ignored;
      auto& socket = ws ? beast::get_lowest_layer(*ws).socket() : plain->socket();
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
      finish();
    }

    void finish() {
      if (ended) return;
      ended = true;
      closed = true;
      timer.cancel();
      queue.clear();
      if (handlers.onClose) std::exchange(handlers.onClose, {})();
      handlers.onMessage = {};
    }

    std::weak_ptr<Impl> owner;
    std::size_t limit;
    std::optional<websocket::stream<beast::tcp_stream>> ws;
    std::optional<beast::tcp_stream> plain;
    asio::steady_timer timer;
    std::deque<std::shared_ptr<const std::string>> queue;
    StreamHandlers handlers;
    beast::flat_buffer in;
    std::array<char, 512> sink{};
    std::chrono::steady_clock::time_point writeStarted{};
    bool writing = false;
    bool closed = false;
    bool ended = false;
  };

  asio::io_context& io;
  ServerOptions options;
  Handler handler;
  std::shared_ptr<spdlog::logger> log;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::unordered_set<Session*> sessions;
  std::unordered_set<LiveStream*> streams;
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
  std::vector<std::shared_ptr<Impl::LiveStream>> live;
  for (auto* s : impl_->streams) live.push_back(s->shared_from_this());
  for (auto& s : live) s->abort();
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

std::size_t Server::connections() const { return impl_->sessions.size() + impl_->streams.size(); }

}  // namespace parley::server::http
