// gloox::ConnectionBase over a Boost.Asio TCP socket (internal to xmpp/).
//
// gloox owns this object (ClientBase::setConnectionImpl) and calls connect(),
// send() and disconnect(); asio completions call back into gloox through
// m_handler. Completion handlers hold a shared_ptr to the per-connection I/O
// state, whose `owner` the connection clears when it lets go of it, so a
// completion that arrives after disconnect() or destruction touches nothing.
//
// Rules gloox imposes (see docs/xmpp.md): m_state must be StateConnected
// before handleConnect() (gloox drops sends otherwise); disconnect() must not
// call handleDisconnect() (ClientBase::disconnect notifies by itself) and must
// flush what is queued (gloox has just queued </stream:stream>).
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gloox/connectionbase.h>

namespace parley::xmpp::detail {

class AsioConnection final : public gloox::ConnectionBase {
 public:
  AsioConnection(gloox::ConnectionDataHandler* handler, boost::asio::io_context& io,
                 boost::asio::ip::tcp::endpoint server, std::size_t maxOutputBytes);
  ~AsioConnection() override;
  AsioConnection(const AsioConnection&) = delete;
  AsioConnection& operator=(const AsioConnection&) = delete;

  gloox::ConnectionError connect() override;
  gloox::ConnectionError recv(int /*timeout*/) override { return gloox::ConnNoError; }
  bool send(const std::string& data) override;
  gloox::ConnectionError receive() override { return gloox::ConnNoError; }
  void disconnect() override;
  void getStatistics(long int& totalIn, long int& totalOut) override;
  gloox::ConnectionBase* newInstance() const override;

 private:
  struct Io {
    explicit Io(boost::asio::io_context& ctx) : socket(ctx) {}
    boost::asio::ip::tcp::socket socket;
    AsioConnection* owner = nullptr;
    std::deque<std::string> out;
    std::size_t outBytes = 0;
    std::size_t inWrite = 0;  ///< entries of `out` in the write under way
    bool closing = false;     ///< close once `out` is flushed
    std::array<char, 16384> buf{};
  };

  static void startRead(const std::shared_ptr<Io>& io);
  static void startWrite(const std::shared_ptr<Io>& io);
  /// The link failed under us: forget the socket and tell gloox.
  void fail(gloox::ConnectionError reason);
  /// Lets go of the current I/O state: flushes then closes if asked, else closes now.
  void release(bool flush);

  boost::asio::io_context& ctx_;
  boost::asio::ip::tcp::endpoint server_;
  std::size_t maxOutputBytes_;
  std::shared_ptr<Io> io_;
  long int totalIn_ = 0, totalOut_ = 0;
};

}  // namespace parley::xmpp::detail
