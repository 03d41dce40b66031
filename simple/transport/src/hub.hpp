// Private: the state behind Transports, shared (by shared_ptr) with every
// listener and connection so a handler that completes after Transports is
// gone still touches live memory. Transports::~Transports closes everything
// and detaches the Handler; late completions then see closed_ and return.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "parley/transport/transports.hpp"

namespace parley::transport::detail {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using ErrorCode = boost::system::error_code;

class TcpConnection;

struct UdpListener {
  UdpListener(asio::io_context& io, std::uint16_t idx, std::size_t bufferBytes)
      : socket(io), buffer(bufferBytes), index(idx) {}
  udp::socket socket;
  std::vector<char> buffer;        // maxMessageBytes + 1: one more byte means "too big"
  udp::endpoint from;
  std::size_t pendingSendBytes = 0;  // bytes in async_send_to operations not yet complete
  // The text of the last sender's address: consecutive datagrams mostly come
  // from the same few peers, and formatting an address (inet_ntop) per datagram
  // showed in profiles.
  asio::ip::address lastFrom;
  std::string lastFromText;
  std::uint16_t index;
  bool v6 = false;
};

struct TcpListener {
  TcpListener(asio::io_context& io, std::uint16_t idx) : acceptor(io), retryTimer(io), index(idx) {}
  tcp::acceptor acceptor;
  asio::steady_timer retryTimer;   // backs off after accept errors (EMFILE) instead of spinning
  std::uint16_t index;
};

/// Parses an IP literal, tolerating surrounding brackets.
[[nodiscard]] std::optional<asio::ip::address> parseAddress(std::string_view text);

class Hub : public std::enable_shared_from_this<Hub> {
 public:
  Hub(asio::io_context& io, const Limits& limits, Handler& handler,
      std::shared_ptr<spdlog::logger> log);

  // --- Transports' API -------------------------------------------------------
  tl::expected<std::size_t, std::string> listen(const ListenSpec& spec);
  std::vector<LocalEndpoint> endpoints() const;
  void send(const sip::Peer& to, std::string_view bytes);
  void stopAccepting();
  void close();
  void detachHandler() { handler_ = nullptr; }

  // --- for TcpConnection -----------------------------------------------------
  asio::io_context& io() { return io_; }
  const Limits& limits() const { return limits_; }
  spdlog::logger& log() { return *log_; }
  Stats& stats() { return stats_; }
  const Stats& stats() const { return stats_; }
  bool closed() const { return closed_; }
  void deliverMessage(std::string&& bytes, const sip::Peer& from);
  void deliverFramingError(sip::ParseError error, std::string_view headers, const sip::Peer& from);
  /// Called once by a connection as it closes: forget it.
  void forgetConnection(std::uint64_t id, const std::string& remoteKey);

 private:
  struct Listener {
    LocalEndpoint local;
    std::shared_ptr<UdpListener> udp;
    std::shared_ptr<TcpListener> tcp;
  };

  tl::expected<std::size_t, std::string> listenUdp(const asio::ip::address& addr, std::uint16_t port);
  tl::expected<std::size_t, std::string> listenTcp(const asio::ip::address& addr, std::uint16_t port);
  void logListening(const Listener& l);

  // udp.cpp
  void startReceive(const std::shared_ptr<UdpListener>& l);
  void onReceive(const std::shared_ptr<UdpListener>& l, const ErrorCode& ec, std::size_t n);
  void sendUdp(const sip::Peer& to, std::string_view bytes);
  /// `text` as an address, remembering the last one parsed (sends go to few peers).
  std::optional<asio::ip::address> destination(const std::string& text);
  UdpListener* pickUdpListener(std::uint16_t preferred, bool v6);

  // tcp_accept.cpp
  void startAccept(const std::shared_ptr<TcpListener>& l);
  void onAccept(const std::shared_ptr<TcpListener>& l, const ErrorCode& ec, tcp::socket socket);
  void sendTcp(const sip::Peer& to, std::string&& bytes);
  std::string lastToText_;
  asio::ip::address lastTo_;
  std::shared_ptr<TcpConnection> findWritable(std::uint64_t id);
  void connectAndSend(const asio::ip::address& addr, std::uint16_t port, std::string&& bytes);
  std::uint16_t firstTcpListener(bool v6) const;

  asio::io_context& io_;
  Limits limits_;
  Handler* handler_;
  std::shared_ptr<spdlog::logger> log_;
  Stats stats_;
  bool closed_ = false;
  std::vector<Listener> listeners_;
  // Live connections by id (O(1) response routing), and by remote
  // "address:port" for reusing a connection when the id is unknown or gone.
  std::unordered_map<std::uint64_t, std::shared_ptr<TcpConnection>> connections_;
  std::unordered_map<std::string, std::uint64_t> byRemote_;
  std::uint64_t nextConnectionId_ = 1;  // ids are never reused
};

}  // namespace parley::transport::detail
