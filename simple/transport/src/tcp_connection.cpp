// One TCP connection: read into a StreamFramer, deliver framed messages,
// write from a bounded queue, close on idle/overflow/framing loss.
#include "tcp_connection.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/write.hpp>

namespace parley::transport::detail {

namespace {

// After a framing error we send FIN and read (discarding) until the peer
// closes, so our 400 is not destroyed by a RST that closing a socket with
// unread input would trigger. This bounds how long we wait for the peer.
constexpr std::chrono::milliseconds kLinger{2000};

sip::ParseLimits framerLimits(const Limits& l) {
  sip::ParseLimits p;
  p.maxMessageBytes = l.maxMessageBytes;
  p.maxHeaderCount = l.maxHeaders;
  p.maxLineBytes = l.maxLineBytes;
  return p;
}

}  // namespace

TcpConnection::TcpConnection(std::shared_ptr<Hub> hub, tcp::socket socket, sip::Peer peer,
                             std::string remoteKey)
    : hub_(std::move(hub)),
      socket_(std::move(socket)),
      timer_(hub_->io()),
      framer_(framerLimits(hub_->limits())),
      peer_(std::move(peer)),
      remoteKey_(std::move(remoteKey)),
      lastActivity_(Clock::now()) {}

void TcpConnection::startInbound() {
  state_ = State::Open;
  ErrorCode ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  lastActivity_ = Clock::now();
  armTimer();
  doRead();
}

void TcpConnection::startOutbound(const tcp::endpoint& to) {
  state_ = State::Connecting;
  connectDeadline_ = Clock::now() + hub_->limits().tcpConnectTimeout;
  armTimer();
  socket_.async_connect(to, [self = shared_from_this()](const ErrorCode& ec) { self->onConnect(ec); });
}

void TcpConnection::onConnect(const ErrorCode& ec) {
  if (state_ != State::Connecting) return;  // closed meanwhile (timeout, shutdown)
  if (ec) {
    ++hub_->stats().tcpConnectFailures;
    finish("connect_failed:" + ec.message());
    return;
  }
  state_ = State::Open;
  ErrorCode ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  hub_->log().debug("tcp.connected conn={} remote={}", peer_.connectionId, remoteKey_);
  lastActivity_ = Clock::now();
  armTimer();
  doRead();
  if (!writeQueue_.empty() && !writing_) doWrite();
}

TcpConnection::WriteResult TcpConnection::write(std::string& bytes) {
  if (state_ == State::Lingering || state_ == State::Closed) return WriteResult::NotWritable;
  if (queuedBytes_ + bytes.size() > hub_->limits().maxWriteQueueBytes) {
    // A peer that does not read its responses is dropped; the loop never waits
    // for it (Redis's client output buffer limit).
    ++hub_->stats().tcpWriteQueueOverflows;
    hub_->log().warn("tcp.write_queue_overflow conn={} queued={} adding={}", peer_.connectionId,
                     queuedBytes_, bytes.size());
    finish("write_queue_overflow");
    return WriteResult::Overflow;
  }
  queuedBytes_ += bytes.size();
  writeQueue_.push_back(std::move(bytes));
  if (!writing_ && state_ != State::Connecting) doWrite();
  return WriteResult::Queued;
}

void TcpConnection::doRead() {
  socket_.async_read_some(asio::buffer(readBuf_),
                          [self = shared_from_this()](const ErrorCode& ec, std::size_t n) {
                            self->onRead(ec, n);
                          });
}

void TcpConnection::onRead(const ErrorCode& ec, std::size_t n) {
  if (state_ == State::Closed) return;
  if (ec) {
    finish(ec == asio::error::eof ? std::string("eof") : "read_error:" + ec.message());
    return;
  }
  hub_->stats().bytesIn += n;
  if (state_ == State::Lingering) {  // discard until EOF; the linger deadline bounds this
    doRead();
    return;
  }
  lastActivity_ = Clock::now();
  const bool fedOk = framer_.feed(std::string_view(readBuf_.data(), n));
  if (!deliverFramed(fedOk)) return;
  if (state_ == State::Open) doRead();
}

bool TcpConnection::deliverFramed(bool fedOk) {
  std::string message;
  for (;;) {
    // The framer may still hold complete messages ahead of the point where
    // feed() gave up, so drain them before reporting its error.
    const auto status = framer_.next(message);
    if (status == sip::StreamFramer::Status::Message) {
      ++hub_->stats().tcpMessagesIn;
      hub_->deliverMessage(std::move(message), peer_);
      message.clear();
      if (state_ != State::Open) return false;  // the handler closed us
      continue;
    }
    if (status == sip::StreamFramer::Status::NeedMore && fedOk) {
      // RFC 5626 §4.4.1: answer each double-CRLF ping with a single CRLF pong.
      for (std::size_t pings = framer_.takeKeepAlivePings(); pings > 0; --pings) {
        std::string pong = "\r\n";
        if (write(pong) != WriteResult::Queued) break;
      }
      return true;
    }
    break;  // Error, or NeedMore after a failed feed()
  }
  // Framing lost (RFC 3261 §18.3): let the core answer 400, then close once
  // that answer is flushed.
  ++hub_->stats().tcpFramingErrors;
  hub_->log().debug("tcp.framing_error conn={} error={}", peer_.connectionId,
                    sip::describe(framer_.error()));
  state_ = State::Draining;
  const std::string headers(framer_.pendingHeaders());
  hub_->deliverFramingError(framer_.error(), headers, peer_);
  if (state_ == State::Draining && writeQueue_.empty()) beginLinger();
  return false;
}

void TcpConnection::doWrite() {
  writing_ = true;
  asio::async_write(socket_, asio::buffer(writeQueue_.front()),
                    [self = shared_from_this()](const ErrorCode& ec, std::size_t n) {
                      self->onWrite(ec, n);
                    });
}

void TcpConnection::onWrite(const ErrorCode& ec, std::size_t n) {
  writing_ = false;
  if (state_ == State::Closed) return;
  if (ec) {
    finish("write_error:" + ec.message());
    return;
  }
  hub_->stats().bytesOut += n;
  lastActivity_ = Clock::now();
  queuedBytes_ -= writeQueue_.front().size();
  writeQueue_.pop_front();
  if (!writeQueue_.empty()) {
    doWrite();
  } else if (state_ == State::Draining) {
    beginLinger();
  }
}

void TcpConnection::beginLinger() {
  state_ = State::Lingering;
  ErrorCode ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  lingerDeadline_ = Clock::now() + std::min(kLinger, hub_->limits().tcpIdleTimeout);
  armTimer();
  doRead();
}

TcpConnection::Clock::time_point TcpConnection::deadline() const {
  switch (state_) {
    case State::Connecting: return connectDeadline_;
    case State::Lingering: return lingerDeadline_;
    case State::Open:
    case State::Draining:
    case State::Closed: break;
  }
  return lastActivity_ + hub_->limits().tcpIdleTimeout;
}

void TcpConnection::armTimer() {
  timer_.expires_at(deadline());  // cancels the previous wait, if any
  timer_.async_wait([self = shared_from_this()](const ErrorCode& ec) { self->onTimer(ec); });
}

void TcpConnection::onTimer(const ErrorCode& ec) {
  if (ec == asio::error::operation_aborted || state_ == State::Closed) return;
  if (Clock::now() < deadline()) {  // there was activity since: sleep until the new deadline
    armTimer();
    return;
  }
  switch (state_) {
    case State::Connecting:
      ++hub_->stats().tcpConnectFailures;
      finish("connect_timeout");
      return;
    case State::Lingering:
      finish("linger_timeout");
      return;
    case State::Open:
    case State::Draining:
      ++hub_->stats().tcpIdleClosed;
      finish("idle_timeout");
      return;
    case State::Closed: return;
  }
}

void TcpConnection::finish(std::string_view reason) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  ErrorCode ignored;
  socket_.close(ignored);  // completes pending operations with operation_aborted
  timer_.cancel();
  writeQueue_.clear();
  queuedBytes_ = 0;
  hub_->log().debug("tcp.closed conn={} remote={} reason={}", peer_.connectionId, remoteKey_, reason);
  // May drop the table's reference; our caller holds another (a handler's self
  // or the Hub's local copy).
  hub_->forgetConnection(peer_.connectionId, remoteKey_);
}

}  // namespace parley::transport::detail
