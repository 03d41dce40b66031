// Test harness for parley_txn, in the style of reSIProcate's transaction
// scripts: inject wire text, expect TU calls and transmitted bytes, with a fake
// clock stepped by hand (no sleeps, no real time).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/sip/parser.hpp"
#include "parley/txn/transaction_layer.hpp"

namespace parley::txn::test {

using namespace std::chrono_literals;

inline sip::Message parse(std::string_view text) {
  auto r = sip::Parser{}.parseDatagram(text);
  if (!r) {
    throw std::runtime_error("test message does not parse: " +
                             std::string(sip::describe(r.error().error)));
  }
  return std::move(*r);
}

inline sip::Peer udpPeer(std::string address = "192.0.2.10", std::uint16_t port = 5060) {
  sip::Peer p;
  p.transport = sip::Transport::Udp;
  p.address = std::move(address);
  p.port = port;
  p.listenerIndex = 1;
  return p;
}

inline sip::Peer tcpPeer(std::string address = "192.0.2.10", std::uint16_t port = 40000) {
  sip::Peer p;
  p.transport = sip::Transport::Tcp;
  p.address = std::move(address);
  p.port = port;
  p.connectionId = 7;
  return p;
}

/// The parts of a request the tests vary. Defaults: an out-of-dialog MESSAGE
/// over UDP from 192.0.2.10:5060.
struct Req {
  std::string method = "MESSAGE";
  std::string branch = "z9hG4bK-a1";  ///< empty: no branch parameter (RFC 2543)
  std::string viaTransport = "UDP";
  std::string viaHost = "192.0.2.10";
  std::string viaPort = ":5060";
  std::string viaParams;             ///< appended after the branch, e.g. ";rport"
  std::string ruri = "sip:alice@example.com";
  std::string fromTag = "from-1";
  std::string toTag;                 ///< empty: no To tag
  std::string callId = "call-1@192.0.2.10";
  unsigned cseq = 1;
  std::string cseqMethod;            ///< empty: same as method
};

inline std::string viaRow(const Req& r) {
  std::string v = "Via: SIP/2.0/" + r.viaTransport + " " + r.viaHost + r.viaPort;
  if (!r.branch.empty()) {
    v += ";branch=" + r.branch;
  }
  return v + r.viaParams + "\r\n";
}

inline std::string requestText(const Req& r) {
  const std::string cseqMethod = r.cseqMethod.empty() ? r.method : r.cseqMethod;
  return r.method + " " + r.ruri + " SIP/2.0\r\n" + viaRow(r) +
         "Max-Forwards: 70\r\n"
         "From: <sip:bob@example.org>;tag=" + r.fromTag + "\r\n" +
         "To: <sip:alice@example.com>" + (r.toTag.empty() ? "" : ";tag=" + r.toTag) + "\r\n" +
         "Call-ID: " + r.callId + "\r\n" +
         "CSeq: " + std::to_string(r.cseq) + " " + cseqMethod + "\r\n" +
         "Content-Length: 0\r\n\r\n";
}

/// A response to `r`, with To tag `toTag` (none when empty).
inline std::string responseText(const Req& r, int code, std::string_view reason,
                                std::string_view toTag = "srv-tag") {
  const std::string cseqMethod = r.cseqMethod.empty() ? r.method : r.cseqMethod;
  return "SIP/2.0 " + std::to_string(code) + " " + std::string(reason) + "\r\n" + viaRow(r) +
         "From: <sip:bob@example.org>;tag=" + r.fromTag + "\r\n" +
         "To: <sip:alice@example.com>" + (toTag.empty() ? "" : ";tag=" + std::string(toTag)) +
         "\r\n" + "Call-ID: " + r.callId + "\r\n" +
         "CSeq: " + std::to_string(r.cseq) + " " + cseqMethod + "\r\n" +
         "Content-Length: 0\r\n\r\n";
}

/// The ACK a client sends for a non-2xx final to INVITE `invite` (§17.1.1.3):
/// same branch, the response's To tag, CSeq number with method ACK.
inline Req ackFor(Req invite, std::string toTag = "srv-tag") {
  invite.method = "ACK";
  invite.cseqMethod.clear();
  invite.toTag = std::move(toTag);
  return invite;
}

struct FakeTu final : TransactionUser {
  struct Request {
    ServerTxnId id;
    sip::Message msg;
    sip::Peer from;
    RequestContext ctx;
  };
  std::vector<Request> requests;
  std::vector<std::pair<ClientTxnId, int>> responses;
  std::vector<ClientTxnId> timeouts;
  std::vector<TimePoint> timeoutTimes;
  std::vector<sip::Message> strayResponses;
  std::vector<sip::Message> strayAcks;
  const TimePoint* clock = nullptr;
  /// Called after a request is recorded (e.g. to respond re-entrantly).
  std::function<void(ServerTxnId, const sip::Message&)> hook;

  void onRequest(ServerTxnId id, sip::Message&& req, const sip::Peer& from,
                 const RequestContext& ctx) override {
    requests.push_back(Request{id, std::move(req), from, ctx});
    if (hook) {
      hook(id, requests.back().msg);
    }
  }
  void onResponse(ClientTxnId id, sip::Message&& resp) override {
    responses.emplace_back(id, resp.statusCode());
  }
  void onClientTimeout(ClientTxnId id) override {
    timeouts.push_back(id);
    timeoutTimes.push_back(*clock);
  }
  void onStrayResponse(sip::Message&& resp, const sip::Peer& /*from*/) override {
    strayResponses.push_back(std::move(resp));
  }
  void onStrayAck(sip::Message&& ack, const sip::Peer& /*from*/) override {
    strayAcks.push_back(std::move(ack));
  }
};

struct FakeTransport final : TransportSink {
  struct Sent {
    TimePoint at;
    sip::Peer to;
    std::string bytes;
  };
  std::vector<Sent> sent;
  const TimePoint* clock = nullptr;

  void transmit(const sip::Peer& to, std::string_view bytes) override {
    sent.push_back(Sent{*clock, to, std::string(bytes)});
  }
};

/// A layer wired to a FakeTu and a FakeTransport on a fake clock that starts at t0.
class Harness {
 public:
  explicit Harness(TimerConfig timers = {}, std::size_t maxTransactions = 100000)
      : layer_(TransactionLayer::Options{timers, maxTransactions}, tu, net) {
    tu.clock = &now_;
    net.clock = &now_;
  }

  FakeTu tu;
  FakeTransport net;

  TransactionLayer& layer() { return layer_; }
  [[nodiscard]] TimePoint now() const { return now_; }
  [[nodiscard]] std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now_ - t0);
  }

  void injectRequest(const Req& r, const sip::Peer& from = udpPeer()) {
    layer_.receiveRequest(parse(requestText(r)), from, now_);
  }
  void injectResponse(std::string_view text, const sip::Peer& from = udpPeer()) {
    layer_.receiveResponse(parse(text), from, now_);
  }
  bool respond(ServerTxnId id, const Req& r, int code, std::string_view reason,
               std::string_view toTag = "srv-tag") {
    return layer_.respond(id, parse(responseText(r, code, reason, toTag)), now_);
  }
  /// Id of the last request the TU saw.
  [[nodiscard]] ServerTxnId lastId() const {
    return tu.requests.empty() ? kNoTransaction : tu.requests.back().id;
  }

  /// Moves the clock to t0 + `at`, firing every timer due on the way at its
  /// exact deadline.
  void runUntil(std::chrono::milliseconds at) {
    const TimePoint end = t0 + at;
    for (int guard = 0; guard < 100000; ++guard) {
      auto next = layer_.nextDeadline();
      if (!next || *next > end) {
        break;
      }
      now_ = std::max(now_, *next);
      layer_.advance(now_);
    }
    now_ = std::max(now_, end);
    layer_.advance(now_);
  }

  /// Transmission instants (relative to t0) from index `from` on.
  [[nodiscard]] std::vector<std::chrono::milliseconds> sendTimes(std::size_t from = 0) const {
    std::vector<std::chrono::milliseconds> out;
    for (std::size_t i = from; i < net.sent.size(); ++i) {
      out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(net.sent[i].at - t0));
    }
    return out;
  }

  const TimePoint t0{};

 private:
  TimePoint now_{};
  TransactionLayer layer_;
};

}  // namespace parley::txn::test
