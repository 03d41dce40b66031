// The SIP transport layer (RFC 3261 §18): UDP and TCP sockets on Boost.Asio.
//
// Message-agnostic: it moves bytes. A UDP datagram or a TCP message delimited
// by sip::StreamFramer goes up to a Handler; parsing happens above (the core
// calls Parser::parseDatagram / Parser::parseFramed). Bytes to send come down
// with a sip::Peer saying where they go:
//   * UDP: from the listener the request arrived on (Peer::listenerIndex), so a
//     response leaves from the port the client sent to (RFC 3581 §4);
//   * TCP: on the connection the request arrived on (Peer::connectionId,
//     RFC 3261 §18.2.2); when it is gone, on a live connection to the same
//     address:port, else on a new outbound connection.
//
// Threading: one io_context run by one thread. Every member function must be
// called on that thread (or before run() starts); nothing here locks.
// Every queue and buffer is capped (Limits); a peer that exceeds a cap is
// dropped or refused, never waited for. See docs/transport.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "parley/sip/parser.hpp"
#include "parley/sip/peer.hpp"

// Forward declarations keep Asio and spdlog out of users' translation units.
namespace boost::asio {
class io_context;
}  // namespace boost::asio
namespace spdlog {
class logger;
}  // namespace spdlog

namespace parley::transport {

/// One socket to listen on.
struct ListenSpec {
  sip::Transport transport = sip::Transport::Udp;
  std::string address;      ///< IP literal without brackets: "127.0.0.1", "::", "::1"
  std::uint16_t port = 0;   ///< 0 = let the OS pick (see Transports::endpoints())
};

/// Caps on everything a peer can make us hold, and the TCP timers.
struct Limits {
  std::size_t maxMessageBytes = 65535;       ///< larger UDP datagrams are dropped; TCP framing cap
  std::size_t maxHeaders = 128;              ///< TCP framing: header rows per message
  std::size_t maxLineBytes = 8192;           ///< TCP framing: one header line
  std::size_t maxTcpConnections = 4096;      ///< inbound + outbound; extra accepts are closed at once
  std::size_t maxWriteQueueBytes = 4 << 20;  ///< per TCP connection / per UDP socket
  std::chrono::milliseconds tcpIdleTimeout{std::chrono::seconds(300)};   ///< no bytes either way
  std::chrono::milliseconds tcpConnectTimeout{std::chrono::seconds(10)}; ///< outbound connects
};

/// Upcalls from the transport, on the io_context's thread. They may call back
/// into Transports (send() a response from inside onMessage is the normal case).
/// They must not throw; an exception is caught, logged and the bytes dropped.
class Handler {
 public:
  virtual ~Handler() = default;
  /// UDP: one datagram (at most Limits::maxMessageBytes). TCP: one message as
  /// delimited by Content-Length (RFC 3261 §18.3); `from.connectionId` is set.
  virtual void onMessage(std::string&& bytes, const sip::Peer& from) = 0;
  /// TCP only: the stream's framing is lost (missing/bad Content-Length, caps).
  /// `headerBytes` are the headers read so far, for building a 400. The
  /// connection stops reading and closes once its pending writes are flushed,
  /// so a response sent from inside this callback still goes out.
  virtual void onFramingError(sip::ParseError error, std::string_view headerBytes,
                              const sip::Peer& from) = 0;
};

/// A listener's actual local address (port 0 resolved). Index = listener index.
struct LocalEndpoint {
  sip::Transport transport = sip::Transport::Udp;
  std::string address;
  std::uint16_t port = 0;
};

/// Counters since construction. tcpConnectionsOpen is a gauge.
struct Stats {
  std::uint64_t udpDatagramsIn = 0;
  std::uint64_t udpDatagramsOut = 0;
  std::uint64_t udpOversizedDropped = 0;   ///< datagram > maxMessageBytes, never parsed
  std::uint64_t udpReceiveErrors = 0;
  std::uint64_t udpSendDropped = 0;        ///< send error or the socket's send queue full
  std::uint64_t tcpConnectionsOpen = 0;
  std::uint64_t tcpAccepted = 0;
  std::uint64_t tcpRefused = 0;            ///< accepted past maxTcpConnections and closed
  std::uint64_t tcpAcceptErrors = 0;
  std::uint64_t tcpConnectsStarted = 0;    ///< outbound
  std::uint64_t tcpConnectFailures = 0;    ///< outbound: refused, unreachable or timed out
  std::uint64_t tcpMessagesIn = 0;
  std::uint64_t tcpFramingErrors = 0;
  std::uint64_t tcpIdleClosed = 0;
  std::uint64_t tcpWriteQueueOverflows = 0; ///< connection dropped: peer not reading
  std::uint64_t sendsUnroutable = 0;        ///< bad address, no listener of the family, at the connection cap, closed
  std::uint64_t bytesIn = 0;
  std::uint64_t bytesOut = 0;
};

namespace detail {
class Hub;
}  // namespace detail

class Transports {
 public:
  /// `handler` must outlive this object; `log` may be null (no logging).
  Transports(boost::asio::io_context& io, Limits limits, Handler& handler,
             std::shared_ptr<spdlog::logger> log);
  /// Closes everything. Pending Asio handlers then complete harmlessly.
  ~Transports();
  Transports(const Transports&) = delete;
  Transports& operator=(const Transports&) = delete;

  /// Binds and starts receiving/accepting now. IPv6 sockets are v6-only.
  /// Logs `sip.listening transport=udp local=127.0.0.1:5060` at info.
  /// Returns the listener index (what Peer::listenerIndex refers to), or why
  /// the bind failed.
  [[nodiscard]] tl::expected<std::size_t, std::string> listen(const ListenSpec& spec);

  /// Actual bound address and port of each listener, by listener index.
  [[nodiscard]] std::vector<LocalEndpoint> endpoints() const;

  /// Sends or queues `bytes` for `to`; never blocks. A UDP datagram goes out
  /// at once (one sendto, no copy) unless the socket's buffer is full or
  /// earlier datagrams wait; then it is copied and queued. Failures are counted
  /// in Stats and logged at debug (UDP is lossy and TCP failures show up as
  /// timeouts above).
  void send(const sip::Peer& to, std::string_view bytes);

  /// Closes the TCP acceptors. UDP listeners, live TCP connections and
  /// outbound connects keep working so in-flight transactions can finish.
  void stopAccepting();

  /// Closes every socket and cancels every timer, so io_context::run() can
  /// return. Later send() calls are dropped; listen() fails.
  void close();

  [[nodiscard]] Stats stats() const;

 private:
  std::shared_ptr<detail::Hub> hub_;
};

/// "127.0.0.1:5060" or "[::1]:5060".
[[nodiscard]] std::string formatHostPort(std::string_view address, std::uint16_t port);

}  // namespace parley::transport
