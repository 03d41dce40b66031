// UDP: one socket per listener, one datagram = one message (RFC 3261 §18.3).
#include <memory>
#include <utility>

#include "hub.hpp"

namespace parley::transport::detail {

void Hub::startReceive(const std::shared_ptr<UdpListener>& l) {
  l->socket.async_receive_from(
      asio::buffer(l->buffer), l->from,
      [self = shared_from_this(), l](const ErrorCode& ec, std::size_t n) { self->onReceive(l, ec, n); });
}

void Hub::onReceive(const std::shared_ptr<UdpListener>& l, const ErrorCode& ec, std::size_t n) {
  if (closed_ || !l->socket.is_open()) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    ++stats_.udpReceiveErrors;
    log_->debug("udp.receive_error listener={} error={}", l->index, ec.message());
  } else if (n > limits_.maxMessageBytes) {
    // The buffer is one byte larger than the cap, so filling it means the
    // datagram was too big (and maybe truncated by the kernel): never parse it.
    ++stats_.udpOversizedDropped;
    log_->debug("udp.oversized_dropped listener={} from={}", l->index,
                formatHostPort(l->from.address().to_string(), l->from.port()));
  } else if (n > 0) {
    ++stats_.udpDatagramsIn;
    stats_.bytesIn += n;
    sip::Peer from;
    from.transport = sip::Transport::Udp;
    from.address = l->from.address().to_string();
    from.port = l->from.port();
    from.listenerIndex = l->index;
    deliverMessage(std::string(l->buffer.data(), n), from);
  }
  if (!closed_ && l->socket.is_open()) startReceive(l);
}

UdpListener* Hub::pickUdpListener(std::uint16_t preferred, bool v6) {
  auto fits = [v6](const Listener& l) {
    return l.udp && l.udp->socket.is_open() && l.udp->v6 == v6;
  };
  // RFC 3581 §4: the response leaves from the socket the request arrived on.
  if (preferred < listeners_.size() && fits(listeners_[preferred])) return listeners_[preferred].udp.get();
  for (auto& l : listeners_) {
    if (fits(l)) return l.udp.get();
  }
  return nullptr;
}

void Hub::sendUdp(const sip::Peer& to, std::string&& bytes) {
  const auto addr = parseAddress(to.address);
  UdpListener* l = addr ? pickUdpListener(to.listenerIndex, addr->is_v6()) : nullptr;
  if (l == nullptr) {
    ++stats_.sendsUnroutable;
    log_->debug("udp.unroutable to={}", formatHostPort(to.address, to.port));
    return;
  }
  if (l->pendingSendBytes + bytes.size() > limits_.maxWriteQueueBytes) {
    ++stats_.udpSendDropped;  // socket buffer full for a long while: UDP may drop, retransmits recover
    log_->debug("udp.send_queue_full listener={} queued={}", l->index, l->pendingSendBytes);
    return;
  }
  // The operation owns the bytes; a unique_ptr keeps their address stable
  // while the handler is moved around.
  auto owned = std::make_unique<std::string>(std::move(bytes));
  const auto buffer = asio::buffer(*owned);
  const std::size_t size = owned->size();
  l->pendingSendBytes += size;
  auto keep = listeners_[l->index].udp;
  l->socket.async_send_to(
      buffer, udp::endpoint(*addr, to.port),
      [self = shared_from_this(), keep, owned = std::move(owned), size](const ErrorCode& ec,
                                                                       std::size_t n) {
        keep->pendingSendBytes -= size;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          ++self->stats_.udpSendDropped;
          self->log_->debug("udp.send_error listener={} error={}", keep->index, ec.message());
          return;
        }
        ++self->stats_.udpDatagramsOut;
        self->stats_.bytesOut += n;
      });
}

}  // namespace parley::transport::detail
