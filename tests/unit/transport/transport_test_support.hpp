// Helpers for the transport tests: a recording Handler, a bounded event-loop
// runner, and non-blocking loopback clients driven from the test thread.
#pragma once

#include <utility>  // before Asio: Boost 1.74 + g++ 12 + C++20 (asio#944)

#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "parley/transport/transports.hpp"

namespace parley::transport::test {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;

/// Runs `io` until `done()` holds or `limit` passes; returns done().
template <class Pred>
bool runUntil(asio::io_context& io, Pred done, std::chrono::milliseconds limit = 2000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_one_for(2ms);  // at most one handler, then look again
  }
  return true;
}

/// Runs `io` for `d` (to show that something does NOT happen).
inline void runFor(asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

inline bool ipv6LoopbackAvailable() {
  asio::io_context io;
  udp::socket s(io);
  boost::system::error_code ec;
  s.open(udp::v6(), ec);
  if (!ec) s.bind(udp::endpoint(asio::ip::make_address("::1"), 0), ec);
  return !ec;
}

struct Received {
  std::string bytes;
  sip::Peer from;
};

struct FramingError {
  sip::ParseError error;
  std::string headers;
  sip::Peer from;
};

/// Records every upcall; optional hooks let a test answer from inside one.
class RecordingHandler : public Handler {
 public:
  std::vector<Received> messages;
  std::vector<FramingError> framingErrors;
  std::function<void(const Received&)> onMessageHook;
  std::function<void(const FramingError&)> onFramingErrorHook;

  void onMessage(std::string&& bytes, const sip::Peer& from) override {
    messages.push_back({std::move(bytes), from});
    if (onMessageHook) onMessageHook(messages.back());
  }
  void onFramingError(sip::ParseError error, std::string_view headerBytes,
                      const sip::Peer& from) override {
    framingErrors.push_back({error, std::string(headerBytes), from});
    if (onFramingErrorHook) onFramingErrorHook(framingErrors.back());
  }
};

/// A complete request framed by Content-Length.
inline std::string sipRequest(std::string_view callId, std::string_view body = "") {
  std::string m = "MESSAGE sip:bob@example.com SIP/2.0\r\n"
                  "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-";
  m += callId;
  m += "\r\nMax-Forwards: 70\r\n"
       "From: <sip:alice@example.com>;tag=a1\r\n"
       "To: <sip:bob@example.com>\r\n"
       "Call-ID: ";
  m += callId;
  m += "\r\nCSeq: 1 MESSAGE\r\n"
       "Content-Type: text/plain\r\n"
       "Content-Length: ";
  m += std::to_string(body.size());
  m += "\r\n\r\n";
  m += body;
  return m;
}

inline std::uint16_t listenerPort(const Transports& t, std::size_t index) {
  return t.endpoints().at(index).port;
}

/// A loopback TCP client used from the test thread. Connecting completes in
/// the kernel's backlog, so the blocking connect() needs no running loop;
/// reads are non-blocking and polled from runUntil() predicates.
class TcpClient {
 public:
  TcpClient(asio::io_context& io, const std::string& address, std::uint16_t port) : socket_(io) {
    socket_.connect(tcp::endpoint(asio::ip::make_address(address), port), connectError_);
    if (!connectError_) socket_.non_blocking(true, connectError_);
  }
  explicit TcpClient(tcp::socket accepted) : socket_(std::move(accepted)) {
    socket_.non_blocking(true, connectError_);
  }

  [[nodiscard]] bool connected() const { return !connectError_; }
  tcp::socket& socket() { return socket_; }

  void write(std::string_view bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {  // small writes on loopback: would_block is not expected
      boost::system::error_code ec;
      off += socket_.write_some(asio::buffer(bytes.data() + off, bytes.size() - off), ec);
      if (ec && ec != asio::error::would_block) return;
    }
  }

  /// Reads whatever has arrived; notes EOF/reset. Returns true once closed.
  bool poll() {
    std::array<char, 4096> buf{};
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) return closed_;
      if (ec) {
        closed_ = true;
        return true;
      }
      data_.append(buf.data(), n);
    }
  }
  /// Polls, then says whether `needle` has arrived.
  bool received(std::string_view needle) {
    poll();
    return data_.find(needle) != std::string::npos;
  }
  [[nodiscard]] const std::string& data() const { return data_; }
  [[nodiscard]] bool closed() const { return closed_; }

 private:
  tcp::socket socket_;
  boost::system::error_code connectError_;
  std::string data_;
  bool closed_ = false;
};

}  // namespace parley::transport::test
