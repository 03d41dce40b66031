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
    if (const auto addr = l->from.address(); addr != l->lastFrom || l->lastFromText.empty()) {
      l->lastFrom = addr;
      l->lastFromText = addr.to_string();
    }
    from.address = l->lastFromText;
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

std::optional<asio::ip::address> Hub::destination(const std::string& text) {
  if (text == lastToText_ && !text.empty()) return lastTo_;
  auto addr = parseAddress(text);
  if (addr) {
    lastToText_ = text;
    lastTo_ = *addr;
  }
  return addr;
}

void Hub::sendUdp(const sip::Peer& to, std::string_view bytes) {
  const auto addr = destination(to.address);
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
  const udp::endpoint dest(*addr, to.port);
  if (l->pendingSendBytes == 0) {
    // Nothing queued ahead of it: one sendto now, without copying the bytes or
    // an asio operation and its completion (most sends). A full socket buffer
    // (EAGAIN) falls through to the queue, which waits for room.
    ErrorCode ec;
    const std::size_t n = l->socket.send_to(asio::buffer(bytes.data(), bytes.size()), dest, 0, ec);
    if (!ec) {
      ++stats_.udpDatagramsOut;
      stats_.bytesOut += n;
      return;
    }
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      ++stats_.udpSendDropped;
      log_->debug("udp.send_error listener={} error={}", l->index, ec.message());
      return;
    }
  }
  // The operation owns the bytes; a unique_ptr keeps their address stable
  // while the handler is moved around.
  auto owned = std::make_unique<std::string>(bytes);
  const auto buffer = asio::buffer(*owned);
  const std::size_t size = owned->size();
  l->pendingSendBytes += size;
  auto keep = listeners_[l->index].udp;
  l->socket.async_send_to(
      buffer, dest,
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
