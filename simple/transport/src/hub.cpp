// Transports and its shared state: binding listeners, routing send(),
// lifecycle, and the guarded upcalls into the Handler.
#include "hub.hpp"

#include <exception>
#include <limits>
#include <utility>

#include <spdlog/sinks/null_sink.h>

#include "tcp_connection.hpp"

namespace parley::transport {

std::string formatHostPort(std::string_view address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string_view::npos;
  std::string out;
  out.reserve(address.size() + 8);
  if (v6) out += '[';
  out += address;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

namespace detail {

std::optional<asio::ip::address> parseAddress(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  ErrorCode ec;
  auto addr = asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return addr;
}

namespace {
const char* transportName(sip::Transport t) { return t == sip::Transport::Udp ? "udp" : "tcp"; }
}  // namespace

Hub::Hub(asio::io_context& io, const Limits& limits, Handler& handler,
         std::shared_ptr<spdlog::logger> log)
    : io_(io), limits_(limits), handler_(&handler), log_(std::move(log)) {
  if (!log_) {
    log_ = std::make_shared<spdlog::logger>("transport", std::make_shared<spdlog::sinks::null_sink_st>());
  }
}

tl::expected<std::size_t, std::string> Hub::listen(const ListenSpec& spec) {
  const std::string where = std::string(transportName(spec.transport)) + " " +
                            formatHostPort(spec.address, spec.port);
  if (closed_) return tl::unexpected(where + ": transports are closed");
  if (listeners_.size() > std::numeric_limits<std::uint16_t>::max()) {
    return tl::unexpected(where + ": too many listeners");
  }
  const auto addr = parseAddress(spec.address);
  if (!addr) return tl::unexpected(where + ": not an IP address");
  auto result = spec.transport == sip::Transport::Udp ? listenUdp(*addr, spec.port)
                                                      : listenTcp(*addr, spec.port);
  if (!result) return tl::unexpected(where + ": " + result.error());
  logListening(listeners_.back());
  return result;
}

tl::expected<std::size_t, std::string> Hub::listenUdp(const asio::ip::address& addr,
                                                      std::uint16_t port) {
  const auto index = static_cast<std::uint16_t>(listeners_.size());
  auto l = std::make_shared<UdpListener>(io_, index, limits_.maxMessageBytes + 1);
  const udp::endpoint ep(addr, port);
  ErrorCode ec;
  l->socket.open(ep.protocol(), ec);
  if (!ec && addr.is_v6()) l->socket.set_option(asio::ip::v6_only(true), ec);
  if (!ec) l->socket.bind(ep, ec);
  udp::endpoint local;
  if (!ec) local = l->socket.local_endpoint(ec);
  if (ec) return tl::unexpected(ec.message());
  // send() first tries a sendto that fails with EAGAIN instead of waiting.
  if (!ec) l->socket.non_blocking(true, ec);
  if (ec) return tl::unexpected(ec.message());
  l->v6 = addr.is_v6();
  listeners_.push_back({{sip::Transport::Udp, local.address().to_string(), local.port()}, l, nullptr});
  startReceive(l);
  return index;
}

tl::expected<std::size_t, std::string> Hub::listenTcp(const asio::ip::address& addr,
                                                      std::uint16_t port) {
  const auto index = static_cast<std::uint16_t>(listeners_.size());
  auto l = std::make_shared<TcpListener>(io_, index);
  const tcp::endpoint ep(addr, port);
  ErrorCode ec;
  l->acceptor.open(ep.protocol(), ec);
  if (!ec && addr.is_v6()) l->acceptor.set_option(asio::ip::v6_only(true), ec);
  // Restarts must not fail on connections still in TIME_WAIT.
  if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l->acceptor.bind(ep, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  tcp::endpoint local;
  if (!ec) local = l->acceptor.local_endpoint(ec);
  if (ec) return tl::unexpected(ec.message());
  listeners_.push_back({{sip::Transport::Tcp, local.address().to_string(), local.port()}, nullptr, l});
  startAccept(l);
  return index;
}

void Hub::logListening(const Listener& l) {
  // Test scripts parse this exact line.
  log_->info("sip.listening transport={} local={}", transportName(l.local.transport),
             formatHostPort(l.local.address, l.local.port));
}

std::vector<LocalEndpoint> Hub::endpoints() const {
  std::vector<LocalEndpoint> out;
  out.reserve(listeners_.size());
  for (const auto& l : listeners_) out.push_back(l.local);
  return out;
}

void Hub::send(const sip::Peer& to, std::string_view bytes) {
  if (closed_) {
    ++stats_.sendsUnroutable;
    return;
  }
  if (to.transport == sip::Transport::Udp) {
    sendUdp(to, bytes);
  } else {
    sendTcp(to, std::string(bytes));
  }
}

void Hub::stopAccepting() {
  for (auto& l : listeners_) {
    if (!l.tcp) continue;
    ErrorCode ignored;
    l.tcp->acceptor.close(ignored);
    l.tcp->retryTimer.cancel();
  }
  log_->info("sip.accepting_stopped");
}

void Hub::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& l : listeners_) {
    ErrorCode ignored;
    if (l.udp) l.udp->socket.close(ignored);
    if (l.tcp) {
      l.tcp->acceptor.close(ignored);
      l.tcp->retryTimer.cancel();
    }
  }
  // finish() calls forgetConnection(), which edits the tables: work on a copy.
  auto live = std::move(connections_);
  connections_.clear();
  byRemote_.clear();
  for (auto& [id, conn] : live) conn->abort("shutdown");
  log_->info("sip.transports_closed");
}

void Hub::forgetConnection(std::uint64_t id, const std::string& remoteKey) {
  connections_.erase(id);  // already gone after close(); the gauge still drops
  if (auto it = byRemote_.find(remoteKey); it != byRemote_.end() && it->second == id) {
    byRemote_.erase(it);
  }
  --stats_.tcpConnectionsOpen;
}

void Hub::deliverMessage(std::string&& bytes, const sip::Peer& from) {
  if (handler_ == nullptr) return;
  try {
    handler_->onMessage(std::move(bytes), from);
  } catch (const std::exception& e) {
    log_->error("transport.handler_threw what={}", e.what());
  } catch (...) {
    log_->error("transport.handler_threw what=unknown");
  }
}

void Hub::deliverFramingError(sip::ParseError error, std::string_view headers,
                              const sip::Peer& from) {
  if (handler_ == nullptr) return;
  try {
    handler_->onFramingError(error, headers, from);
  } catch (const std::exception& e) {
    log_->error("transport.handler_threw what={}", e.what());
  } catch (...) {
    log_->error("transport.handler_threw what=unknown");
  }
}

}  // namespace detail

// --- Transports: a thin owner of the Hub ------------------------------------

Transports::Transports(boost::asio::io_context& io, Limits limits, Handler& handler,
                       std::shared_ptr<spdlog::logger> log)
    : hub_(std::make_shared<detail::Hub>(io, limits, handler, std::move(log))) {}

Transports::~Transports() {
  hub_->close();
  hub_->detachHandler();
}

tl::expected<std::size_t, std::string> Transports::listen(const ListenSpec& spec) {
  return hub_->listen(spec);
}

std::vector<LocalEndpoint> Transports::endpoints() const { return hub_->endpoints(); }

void Transports::send(const sip::Peer& to, std::string_view bytes) { hub_->send(to, bytes); }

void Transports::stopAccepting() { hub_->stopAccepting(); }

void Transports::close() { hub_->close(); }

Stats Transports::stats() const { return hub_->stats(); }

}  // namespace parley::transport
