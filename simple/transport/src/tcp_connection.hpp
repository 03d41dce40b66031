// Private: one TCP connection, inbound or outbound (Beast-style session).
// Held by shared_ptr: the Hub's table owns it while it is live, and every
// pending operation's handler holds shared_from_this(), so it lives until its
// last completion.
//
// States:
//   Connecting -> Open             outbound connect done (bytes queued meanwhile)
//   Open       -> Draining         framing lost: no more reads, flush the queue
//   Draining   -> Lingering        queue empty: FIN sent, read and discard until EOF
//   any        -> Closed           EOF, error, timeout, overflow, shutdown
// One steady_timer serves the connect timeout, the idle timeout (no bytes
// either way) and the linger deadline; its handler recomputes the deadline
// from the current state, so I/O never has to re-arm it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "hub.hpp"

namespace parley::transport::detail {

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  TcpConnection(std::shared_ptr<Hub> hub, tcp::socket socket, sip::Peer peer, std::string remoteKey);

  /// The socket is connected (accepted): start reading.
  void startInbound();
  /// Connects to `to`; bytes written meanwhile wait in the queue.
  void startOutbound(const tcp::endpoint& to);

  enum class WriteResult {
    Queued,      ///< will be written
    Overflow,    ///< the queue cap was hit: the connection was dropped, bytes discarded
    NotWritable  ///< closing or closed: `bytes` untouched, try another connection
  };
  /// Queues bytes; moves from `bytes` unless NotWritable.
  WriteResult write(std::string& bytes);

  /// Closes at once, dropping queued bytes.
  void abort(std::string_view reason) { finish(reason); }

  [[nodiscard]] const sip::Peer& peer() const { return peer_; }

 private:
  enum class State { Connecting, Open, Draining, Lingering, Closed };

  void onConnect(const ErrorCode& ec);
  void doRead();
  void onRead(const ErrorCode& ec, std::size_t n);
  /// Hands every complete message in the framer up; false once framing is lost.
  bool deliverFramed(bool fedOk);
  void doWrite();
  void onWrite(const ErrorCode& ec, std::size_t n);
  void beginLinger();
  void armTimer();
  void onTimer(const ErrorCode& ec);
  [[nodiscard]] Clock::time_point deadline() const;
  void finish(std::string_view reason);

  std::shared_ptr<Hub> hub_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  sip::StreamFramer framer_;
  sip::Peer peer_;
  std::string remoteKey_;
  State state_ = State::Connecting;  // until startInbound() or the connect completes
  std::array<char, 16384> readBuf_{};
  std::deque<std::string> writeQueue_;
  std::size_t queuedBytes_ = 0;   // includes the write in flight
  bool writing_ = false;
  Clock::time_point lastActivity_;
  Clock::time_point connectDeadline_;
  Clock::time_point lingerDeadline_;
};

}  // namespace parley::transport::detail
