// TCP: accept loops, the connection cap, and routing of TCP sends to a live
// connection or a new outbound one (RFC 3261 §18.2.2).
#include <memory>
#include <utility>

#include "hub.hpp"
#include "tcp_connection.hpp"

namespace parley::transport::detail {

namespace {
// After an accept error such as EMFILE the pending connection stays in the
// backlog and accept fails again at once: pause instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetry{100};
}  // namespace

void Hub::startAccept(const std::shared_ptr<TcpListener>& l) {
  l->acceptor.async_accept([self = shared_from_this(), l](const ErrorCode& ec, tcp::socket socket) {
    self->onAccept(l, ec, std::move(socket));
  });
}

void Hub::onAccept(const std::shared_ptr<TcpListener>& l, const ErrorCode& ec, tcp::socket socket) {
  ErrorCode ignored;
  if (closed_ || !l->acceptor.is_open()) {  // stopAccepting() or close() raced this completion
    socket.close(ignored);
    return;
  }
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    ++stats_.tcpAcceptErrors;
    log_->warn("tcp.accept_error listener={} error={}", l->index, ec.message());
    l->retryTimer.expires_after(kAcceptRetry);
    l->retryTimer.async_wait([self = shared_from_this(), l](const ErrorCode& tec) {
      if (!tec && !self->closed_ && l->acceptor.is_open()) self->startAccept(l);
    });
    return;
  }
  startAccept(l);

  const auto remote = socket.remote_endpoint(ignored);
  if (ignored) {  // already reset by the peer
    socket.close(ignored);
    return;
  }
  const std::string remoteKey = formatHostPort(remote.address().to_string(), remote.port());
  if (connections_.size() >= limits_.maxTcpConnections) {
    ++stats_.tcpRefused;
    log_->debug("tcp.refused remote={} reason=connection_cap open={}", remoteKey, connections_.size());
    socket.close(ignored);
    return;
  }
  sip::Peer peer;
  peer.transport = sip::Transport::Tcp;
  peer.address = remote.address().to_string();
  peer.port = remote.port();
  peer.connectionId = nextConnectionId_++;
  peer.listenerIndex = l->index;
  auto conn = std::make_shared<TcpConnection>(shared_from_this(), std::move(socket), peer, remoteKey);
  connections_.emplace(peer.connectionId, conn);
  byRemote_[remoteKey] = peer.connectionId;
  ++stats_.tcpAccepted;
  ++stats_.tcpConnectionsOpen;
  log_->debug("tcp.accepted conn={} remote={} listener={}", peer.connectionId, remoteKey, l->index);
  conn->startInbound();
}

void Hub::sendTcp(const sip::Peer& to, std::string&& bytes) {
  using Result = TcpConnection::WriteResult;
  // RFC 3261 §18.2.2: a response goes back on the connection the request came
  // on. When that is gone, reuse a live connection to the same address:port,
  // and only then open a new one.
  if (to.connectionId != 0) {
    if (auto it = connections_.find(to.connectionId); it != connections_.end()) {
      auto conn = it->second;  // write() may close it and drop the table's reference
      if (conn->write(bytes) != Result::NotWritable) return;
    }
  }
  const auto addr = parseAddress(to.address);
  if (!addr || to.port == 0) {
    ++stats_.sendsUnroutable;
    log_->debug("tcp.unroutable to={}", formatHostPort(to.address, to.port));
    return;
  }
  const std::string remoteKey = formatHostPort(addr->to_string(), to.port);
  if (auto it = byRemote_.find(remoteKey); it != byRemote_.end()) {
    if (auto c = connections_.find(it->second); c != connections_.end()) {
      auto conn = c->second;
      if (conn->write(bytes) != Result::NotWritable) return;
    }
  }
  connectAndSend(*addr, to.port, std::move(bytes));
}

void Hub::connectAndSend(const asio::ip::address& addr, std::uint16_t port, std::string&& bytes) {
  const std::string remoteKey = formatHostPort(addr.to_string(), port);
  if (connections_.size() >= limits_.maxTcpConnections) {
    ++stats_.sendsUnroutable;
    log_->debug("tcp.connect_refused remote={} reason=connection_cap", remoteKey);
    return;
  }
  sip::Peer peer;
  peer.transport = sip::Transport::Tcp;
  peer.address = addr.to_string();
  peer.port = port;
  peer.connectionId = nextConnectionId_++;
  peer.listenerIndex = firstTcpListener(addr.is_v6());
  auto conn = std::make_shared<TcpConnection>(shared_from_this(), tcp::socket(io_), peer, remoteKey);
  connections_.emplace(peer.connectionId, conn);
  byRemote_[remoteKey] = peer.connectionId;
  ++stats_.tcpConnectsStarted;
  ++stats_.tcpConnectionsOpen;
  log_->debug("tcp.connecting conn={} remote={}", peer.connectionId, remoteKey);
  conn->startOutbound(tcp::endpoint(addr, port));
  conn->write(bytes);  // Connecting: queued until the connect completes
}

std::uint16_t Hub::firstTcpListener(bool v6) const {
  for (const auto& l : listeners_) {
    if (l.local.transport == sip::Transport::Tcp &&
        (l.local.address.find(':') != std::string::npos) == v6) {
      return l.tcp->index;
    }
  }
  return 0;
}

}  // namespace parley::transport::detail
