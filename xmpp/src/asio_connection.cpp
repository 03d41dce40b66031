#include "asio_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace parley::xmpp::detail {
namespace asio = boost::asio;
using boost::system::error_code;

AsioConnection::AsioConnection(gloox::ConnectionDataHandler* handler, asio::io_context& io,
                               asio::ip::tcp::endpoint server, std::size_t maxOutputBytes)
    : gloox::ConnectionBase(handler), ctx_(io), server_(std::move(server)), maxOutputBytes_(maxOutputBytes) {
  m_server = server_.address().to_string();
  m_port = server_.port();
}

AsioConnection::~AsioConnection() { release(true); }

gloox::ConnectionError AsioConnection::connect() {
  if (m_state != gloox::StateDisconnected) return gloox::ConnNoError;
  release(false);
  io_ = std::make_shared<Io>(ctx_);
  io_->owner = this;
  m_state = gloox::StateConnecting;
  io_->socket.async_connect(server_, [io = io_](const error_code& ec) {
    AsioConnection* self = io->owner;
    if (self == nullptr) return;
    if (ec) return self->fail(gloox::ConnConnectionRefused);
    error_code ignored;
    io->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    self->m_state = gloox::StateConnected;  // before handleConnect: gloox sends the stream header from it
    self->m_handler->handleConnect(self);
    if (io->owner != nullptr) startRead(io);
  });
  return gloox::ConnNoError;
}

void AsioConnection::startRead(const std::shared_ptr<Io>& io) {
  io->socket.async_read_some(asio::buffer(io->buf), [io](const error_code& ec, std::size_t n) {
    AsioConnection* self = io->owner;
    if (self == nullptr) return;
    if (ec) return self->fail(ec == asio::error::eof ? gloox::ConnStreamClosed : gloox::ConnIoError);
    self->totalIn_ += static_cast<long int>(n);
    // gloox parses and dispatches synchronously; a stream error in there calls
    // disconnect(), which clears io->owner: then this read loop ends.
    self->m_handler->handleReceivedData(self, std::string(io->buf.data(), n));
    if (io->owner != nullptr) startRead(io);
  });
}

bool AsioConnection::send(const std::string& data) {
  if (m_state != gloox::StateConnected || !io_ || data.empty()) return false;
  if (io_->outBytes + data.size() > maxOutputBytes_) {
    // The server stopped reading: drop the link (never block, never grow without
    // bound). Deferred so gloox is not re-entered from inside its own send().
    asio::post(ctx_, [io = io_] {
      if (io->owner != nullptr) io->owner->fail(gloox::ConnIoError);
    });
    return false;
  }
  io_->outBytes += data.size();
  io_->out.push_back(data);
  totalOut_ += static_cast<long int>(data.size());
  if (io_->inWrite == 0) startWrite(io_);
  return true;
}

void AsioConnection::startWrite(const std::shared_ptr<Io>& io) {
  // Everything queued goes out in one gathered write.
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(io->out.size());
  for (const auto& s : io->out) buffers.emplace_back(asio::buffer(s));
  io->inWrite = io->out.size();
  asio::async_write(io->socket, buffers, [io](const error_code& ec, std::size_t) {
    for (; io->inWrite > 0; --io->inWrite) {
      io->outBytes -= io->out.front().size();
      io->out.pop_front();
    }
    if (ec) {
      io->out.clear();
      io->outBytes = 0;
      if (io->owner != nullptr) io->owner->fail(gloox::ConnIoError);
      return;
    }
    if (!io->out.empty()) return startWrite(io);
    if (io->closing) {
      error_code ignored;
      io->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      io->socket.close(ignored);
    }
  });
}

void AsioConnection::fail(gloox::ConnectionError reason) {
  m_state = gloox::StateDisconnected;
  release(false);
  m_handler->handleDisconnect(this, reason);
}

void AsioConnection::release(bool flush) {
  if (!io_) return;
  io_->owner = nullptr;
  io_->closing = true;
  error_code ignored;
  if (!flush || io_->inWrite == 0) {
    // Nothing in flight (or no reason to wait): close now. A write under way
    // completes with an error that nobody hears.
    if (!flush || io_->out.empty()) io_->socket.close(ignored);
    else startWrite(io_);
  }
  io_.reset();
}

void AsioConnection::disconnect() {
  m_state = gloox::StateDisconnected;
  release(true);
}

void AsioConnection::getStatistics(long int& totalIn, long int& totalOut) {
  totalIn = totalIn_;
  totalOut = totalOut_;
}

gloox::ConnectionBase* AsioConnection::newInstance() const {
  return new AsioConnection(m_handler, ctx_, server_, maxOutputBytes_);
}

}  // namespace parley::xmpp::detail
