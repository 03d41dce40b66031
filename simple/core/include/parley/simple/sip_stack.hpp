// The SIP stack's UAS core (RFC 3261 §8.2), sans-I/O. It sits on the
// transaction layer and is fed by the transport edge:
//
//   transport bytes ──> onDatagram/onFramed ──> Parser ──> TransactionLayer
//        ▲                                                   │ onRequest
//        └──────── TransportSink::transmit <── respond ◄── SipStack (checks, dispatch)
//
// For every new request it runs the §8.2 checks in the RFC's order (method,
// Request-URI, merged request, Require) and answers what it can itself:
// OPTIONS (200 with Allow/Accept/Supported/Allow-Events), INVITE and other
// session methods (405 + Allow, through a real INVITE server transaction),
// CANCEL (200/481, 487 for a pending INVITE), unknown methods (501). Methods
// that later modules implement (PUBLISH, SUBSCRIBE, NOTIFY, MESSAGE, REGISTER)
// are dispatched to a registered RequestHandler, and answer 501 while none is.
//
// Malformed requests get 400 with a reason phrase naming the defect (505 for
// a SIP version other than 2.0) when enough was parsed to answer; anything
// else is dropped and counted. Time comes in as `now`; nothing here blocks.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "parley/sip/message.hpp"
#include "parley/sip/parser.hpp"
#include "parley/sip/peer.hpp"
#include "parley/txn/timer_heap.hpp"
#include "parley/txn/transaction_layer.hpp"

namespace parley::simple {

using txn::TimePoint;

class SipStack;

/// A server transaction handed to a RequestHandler: answer it exactly once
/// with a final response (now, or later from the same thread).
class ServerTransaction {
 public:
  ServerTransaction(SipStack& stack, txn::ServerTxnId id, const sip::Peer& from, std::string toTag)
      : stack_(&stack), id_(id), from_(from), toTag_(std::move(toTag)) {}
  /// Builds the response per §8.2.6 (To-tag of this transaction) and sends it.
  void respond(const sip::Message& req, int code, std::string_view reason = {}) const;
  /// Sends a response the handler built itself (usually from response()).
  void respond(sip::Message&& resp) const;
  /// A response to `req` per §8.2.6 with this transaction's To-tag and
  /// received/rport stamping, for the handler to add headers to and send.
  [[nodiscard]] sip::Message response(const sip::Message& req, int code, std::string_view reason = {}) const;
  /// 503 + Retry-After: the state behind the request is unavailable right now
  /// (e.g. the storage backend is down), RFC 3261 §21.5.4.
  void respondUnavailable(const sip::Message& req, int retryAfterSeconds = 5) const;
  /// The To-tag every response of this transaction carries (§8.2.6.2).
  [[nodiscard]] const std::string& toTag() const { return toTag_; }
  [[nodiscard]] txn::ServerTxnId id() const { return id_; }
  [[nodiscard]] const sip::Peer& peer() const { return from_; }

 private:
  SipStack* stack_;
  txn::ServerTxnId id_;
  sip::Peer from_;
  std::string toTag_;
};

/// Implemented by the modules that serve a method (presence agent, registrar...).
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  /// A request that passed the core's §8.2 checks.
  virtual void handle(ServerTransaction txn, sip::Message&& req) = 0;
};

/// What a module declares when it registers for a method.
struct MethodRegistration {
  sip::Method method = sip::Method::Unknown;
  RequestHandler* handler = nullptr;
  std::vector<std::string> accept;       ///< body types it accepts (OPTIONS Accept)
  std::vector<std::string> eventPackages;  ///< packages it serves (Allow-Events)
};

struct StackOptions {
  /// Domains whose users we serve (Request-URI hosts we accept), lower-case.
  std::vector<std::string> domains;
  /// Our own addresses (listen IPs); a Request-URI naming one of them is ours too.
  std::vector<std::string> localAddresses;
  std::string serverHeader = "Parley";
  sip::ParseLimits limits;
  txn::TransactionLayer::Options transactions;
  /// Option tags we support (Supported; anything else in Require gets 420).
  std::vector<std::string> supported;
  /// The time source for work that starts outside an inbound event (a module
  /// answering later, a request sent from a module's callback). Tests inject a
  /// fake; inbound events and advance() pass their own `now`.
  std::function<TimePoint()> clock = [] { return std::chrono::steady_clock::now(); };
};

class SipStack final : private txn::TransactionUser {
 public:
  struct Stats {
    std::array<std::uint64_t, 16> requestsByMethod{};  ///< indexed by sip::Method
    std::array<std::uint64_t, 7> responsesByClass{};   ///< [1..6] = 1xx..6xx sent by the core
    std::array<std::uint64_t, 32> parseErrors{};       ///< indexed by sip::ParseError
    std::uint64_t malformedAnswered = 0;  ///< malformed requests answered 400/505
    std::uint64_t malformedDropped = 0;   ///< malformed messages dropped (no response possible)
    std::uint64_t strayResponses = 0;
    std::uint64_t strayAcks = 0;
    /// Final responses by (method, code), as keyed by finalKey: `answered` we
    /// sent to requests (server transactions), `outcomes` we received to our
    /// requests (client transactions), code 0 for a timeout.
    std::unordered_map<std::uint32_t, std::uint64_t> answered, outcomes;
    static constexpr std::uint32_t finalKey(sip::Method m, int code) {
      return (static_cast<std::uint32_t>(m) << 16) | static_cast<std::uint32_t>(code & 0xffff);
    }
    static constexpr sip::Method methodOf(std::uint32_t key) { return static_cast<sip::Method>(key >> 16); }
    static constexpr int codeOf(std::uint32_t key) { return static_cast<int>(key & 0xffff); }
  };

  SipStack(StackOptions options, txn::TransportSink& sink);
  ~SipStack() override;
  SipStack(const SipStack&) = delete;
  SipStack& operator=(const SipStack&) = delete;

  /// Adds a module for a method; Allow, Accept and Allow-Events follow.
  void registerMethod(MethodRegistration reg);

  // --- from the transport edge -------------------------------------------------
  void onDatagram(std::string_view bytes, const sip::Peer& from, TimePoint now);
  void onFramed(std::string_view bytes, const sip::Peer& from, TimePoint now);
  void onFramingError(sip::ParseError error, std::string_view headerBytes, const sip::Peer& from,
                      TimePoint now);

  // --- timers ---------------------------------------------------------------------
  /// The earliest deadline of the transaction layer and of module timers.
  [[nodiscard]] std::optional<TimePoint> nextDeadline() const;
  /// Fires every transaction and module timer due at `now`.
  void advance(TimePoint now);

  /// Module timers (subscription, registration, publication expiry ...), kept in
  /// the same single-timer discipline as transactions: one heap, one deadline
  /// for the edge. The callback runs once, from advance(); it may set timers.
  using TimerId = std::uint64_t;
  using TimerCallback = std::function<void(TimePoint now)>;
  TimerId setTimer(TimePoint deadline, TimerCallback callback);
  /// Returns false if the timer already fired or was cancelled.
  bool cancelTimer(TimerId id);
  /// The stack's clock (StackOptions::clock), for modules computing deadlines.
  [[nodiscard]] TimePoint now() const { return options_.clock(); }
  [[nodiscard]] std::size_t moduleTimers() const { return moduleTimers_.size(); }

  /// Outcome of a request we sent: a final response, or nullopt when Timer F
  /// fired or the transport failed (treat as 408, RFC 3261 §17.1.2.2).
  using ResponseCallback = std::function<void(const sip::Message* finalResponse)>;
  /// Sends a request in a new non-INVITE client transaction (NOTIFY, MESSAGE ...).
  /// The caller sets a fresh branch (sip::newBranch()) in the top Via. The
  /// callback runs once, with the final response or nullptr on timeout.
  [[nodiscard]] tl::expected<txn::ClientTxnId, txn::ClientError> sendRequest(
      sip::Message&& req, const sip::Peer& to, ResponseCallback done);

  /// Sends a final response in a server transaction (used by ServerTransaction).
  void respond(txn::ServerTxnId id, sip::Message&& resp);

  [[nodiscard]] const Stats& stats() const { return stats_; }
  [[nodiscard]] txn::TransactionLayer::Stats transactionStats() const { return layer_.stats(); }
  /// Requests handed to a module and not answered yet, plus requests we sent
  /// that have no final response yet: what a graceful shutdown waits for.
  [[nodiscard]] std::size_t inFlight() const { return awaitingAnswer_.size() + pending_.size(); }
  /// The Allow header value we advertise.
  [[nodiscard]] const std::string& allow() const { return allow_; }

 private:
  // txn::TransactionUser
  void onRequest(txn::ServerTxnId id, sip::Message&& req, const sip::Peer& from,
                 const txn::RequestContext& ctx) override;
  void onResponse(txn::ClientTxnId id, sip::Message&& resp) override;
  void onClientTimeout(txn::ClientTxnId id) override;
  void onStrayResponse(sip::Message&& resp, const sip::Peer& from) override;
  void onStrayAck(sip::Message&& ack, const sip::Peer& from) override;

  void ingest(tl::expected<sip::Message, sip::ParseFailure>&& parsed, const sip::Peer& from,
              TimePoint now);
  void answerMalformed(sip::ParseFailure&& failure, const sip::Peer& from);
  /// §8.2.2.1: a Request-URI host we accept requests for.
  [[nodiscard]] bool isOurs(const sip::Uri& uri) const;
  void reply(txn::ServerTxnId id, const sip::Message& req, const sip::Peer& from, int code,
             std::string_view reason = {});
  [[nodiscard]] sip::Message response(const sip::Message& req, const sip::Peer& from, int code,
                                      std::string_view reason = {}) const;
  void answerOptions(txn::ServerTxnId id, const sip::Message& req, const sip::Peer& from);
  void answerCancel(txn::ServerTxnId id, const sip::Message& req, const sip::Peer& from);
  void addCapabilities(sip::Message& resp) const;
  void rebuildCapabilities();
  void countResponse(const sip::Message& resp);

  StackOptions options_;
  sip::Parser parser_;
  txn::TransactionLayer layer_;
  std::array<MethodRegistration, 16> handlers_{};
  std::string allow_, accept_, allowEvents_, supported_;
  struct Pending {
    sip::Method method;
    ResponseCallback done;
  };
  std::unordered_map<txn::ClientTxnId, Pending> pending_;
  std::unordered_set<txn::ServerTxnId> awaitingAnswer_;
  txn::TimerHeap moduleHeap_;
  std::unordered_map<TimerId, TimerCallback> moduleTimers_;
  TimerId nextTimerId_ = 1;
  Stats stats_;
};

}  // namespace parley::simple
