// The SIP transaction layer (RFC 3261 §17, updated by RFC 4320). Sans-I/O:
// messages come in as values, bytes go out through TransportSink, and time is
// the `now` argument of every call. It never reads a clock and owns no socket.
//
// What it runs:
//  * non-INVITE server transactions (§17.2.2) with the RFC 4320 rules: only
//    100 as provisional, a 100 Trying sent by the layer itself when the TU has
//    not answered by the time the client's Timer E reaches T2, and no 408 ever;
//  * INVITE server transactions (§17.2.1) for the INVITEs we reject (405):
//    Timer G retransmits the final over UDP, the ACK is absorbed, H/I clean up;
//  * non-INVITE client transactions (§17.1.2) for the requests we originate
//    (NOTIFY, PUBLISH, SUBSCRIBE, MESSAGE). No INVITE client transactions.
//
// Driving it (the Asio edge): after every call, re-arm one steady_timer at
// nextDeadline() (or leave it idle when nullopt); when it fires, call
// advance(now). All timers live in one TimerHeap.
//
// Callbacks into the TransactionUser happen synchronously from inside the call
// that caused them (receiveRequest, receiveResponse, advance, transportError).
// The TU may call back into the layer from a callback (respond() from
// onRequest, sendRequest() from onClientTimeout ...).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <tl/expected.hpp>

#include "parley/sip/message.hpp"
#include "parley/sip/peer.hpp"
#include "parley/txn/response_destination.hpp"
#include "parley/txn/timer_heap.hpp"

namespace parley::txn {

using std::chrono::milliseconds;

/// RFC 3261 Appendix A. T1 is clamped to at least 1 ms and T2 to at least T1.
struct TimerConfig {
  milliseconds t1{500};
  milliseconds t2{4000};
  milliseconds t4{5000};
};

/// The RFC's timer names, plus two of ours:
///  * Trying100: when the layer sends 100 Trying by itself (non-INVITE: when
///    the client's Timer E reaches T2, RFC 4320 §4.2; INVITE: 200 ms, §17.2.1);
///  * TuGuard: 64·T1 after a server transaction starts, ends it if the TU has
///    still not sent a final response, so a silent TU cannot leak transactions.
enum class TimerName : std::uint8_t { E, F, K, G, H, I, J, Trying100, TuGuard, kCount };

/// Transaction ids are never reused; 0 is never a valid id.
using ServerTxnId = std::uint64_t;
using ClientTxnId = std::uint64_t;
inline constexpr ServerTxnId kNoTransaction = 0;

/// What the layer knows about a new request, beyond the message.
struct RequestContext {
  /// RFC 3261 §8.2.2.2: no To-tag, and From-tag + Call-ID + CSeq equal those of
  /// a live server transaction this request does not match. The TU answers 482.
  bool merged = false;
  /// The server transaction table is full: no transaction was created, the id
  /// passed is kNoTransaction. The TU answers 503 + Retry-After with
  /// respondStateless().
  bool overloaded = false;
};

/// Implemented by the UAS core.
class TransactionUser {
 public:
  virtual ~TransactionUser() = default;
  /// A new request (never an ACK, never a retransmission). Answer it with
  /// respond(id, ...), now or later; for ctx.overloaded use respondStateless().
  virtual void onRequest(ServerTxnId id, sip::Message&& req, const sip::Peer& from,
                         const RequestContext& ctx) = 0;
  /// A response matched to one of our client transactions (§17.1.3): every
  /// provisional that arrives, and the first final only (retransmissions of the
  /// final are absorbed in Completed). A received 202 is passed up as is.
  virtual void onResponse(ClientTxnId id, sip::Message&& resp) = 0;
  /// Timer F fired or the transport failed before a final response arrived:
  /// treat as 408 (§17.1.2.2, §17.1.4). The transaction is gone.
  virtual void onClientTimeout(ClientTxnId id) = 0;
  /// A response that matches no client transaction (§17.1.3); counted, dropped.
  virtual void onStrayResponse(sip::Message&& /*resp*/, const sip::Peer& /*from*/) {}
  /// An ACK that matches no server transaction: the ACK for a 2xx, which
  /// §17.2.3 passes to the TU. We never send a 2xx to INVITE, so the core
  /// ignores it. It must never be answered.
  virtual void onStrayAck(sip::Message&& /*ack*/, const sip::Peer& /*from*/) {}
};

/// Implemented by the transport edge: sends bytes, never fails synchronously.
class TransportSink {
 public:
  virtual ~TransportSink() = default;
  virtual void transmit(const sip::Peer& to, std::string_view bytes) = 0;
};

/// Why sendRequest() refused to create a client transaction.
enum class ClientError : std::uint8_t {
  UnsupportedMethod,  ///< INVITE or ACK: we run no INVITE client transactions
  BadBranch,          ///< top Via missing or its branch lacks "z9hG4bK" (§8.1.1.7)
  DuplicateBranch,    ///< a live client transaction already has this branch + method
  Overloaded,         ///< the client transaction table is full
};

class TransactionLayer {
 public:
  struct Options {
    TimerConfig timers;
    /// Bound on live server transactions, and separately on live client ones.
    std::size_t maxTransactions = 100000;
  };

  /// Counters for the stats endpoint and for tests.
  struct Stats {
    std::size_t serverTransactions = 0;      ///< live now
    std::size_t clientTransactions = 0;      ///< live now
    std::uint64_t requestRetransmissions = 0;  ///< retransmitted requests absorbed or re-answered
    std::uint64_t responseRetransmissions = 0; ///< client side: responses absorbed in Completed
    std::uint64_t retransmissionsSent = 0;   ///< Timer E / Timer G resends
    std::uint64_t tryingSent = 0;            ///< 100 Trying generated by the layer
    std::uint64_t acksAbsorbed = 0;          ///< ACKs matched to an INVITE server transaction
    std::uint64_t strayAcks = 0;             ///< ACKs passed to onStrayAck
    std::uint64_t strayResponses = 0;        ///< responses passed to onStrayResponse
    std::uint64_t clientTimeouts = 0;        ///< Timer F expiries
    std::uint64_t transportErrors = 0;       ///< transportError() on a live client transaction
    std::uint64_t ackTimeouts = 0;           ///< Timer H expiries (no ACK for our final)
    std::uint64_t tuGuardExpiries = 0;       ///< server transactions the TU never answered
    std::uint64_t refused408 = 0;            ///< 408s to non-INVITE dropped (RFC 4320 §4.3)
    std::uint64_t refusedProvisionals = 0;   ///< non-100 1xx to non-INVITE, or 100 too early on UDP
    std::uint64_t lateResponses = 0;         ///< respond() on an unknown or completed transaction
    std::uint64_t mergedRequests = 0;        ///< requests flagged RequestContext::merged
    std::uint64_t overloadRefusals = 0;      ///< requests flagged RequestContext::overloaded
  };

  /// How a CANCEL relates to the server transaction it targets (RFC 3261 §9.2).
  struct CancelTarget {
    ServerTxnId id = kNoTransaction;  ///< the cancelled request's transaction
    bool invite = false;              ///< it is an INVITE transaction
    /// An INVITE still in Proceeding (no final response yet): the core sends
    /// 487 on `id`, then 200 to the CANCEL.
    bool pendingInvite = false;
  };

  TransactionLayer(Options options, TransactionUser& tu, TransportSink& sink);
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  // --- from the transport -----------------------------------------------------
  /// A parsed request. Retransmissions are absorbed or re-answered from the
  /// cache; ACKs matching an INVITE transaction are absorbed; anything new
  /// creates a server transaction and reaches TransactionUser::onRequest.
  void receiveRequest(sip::Message&& req, const sip::Peer& from, TimePoint now);
  /// A parsed response, matched by top-Via branch + CSeq method (§17.1.3).
  void receiveResponse(sip::Message&& resp, const sip::Peer& from, TimePoint now);

  // --- from the TU ------------------------------------------------------------
  /// Sends a response in server transaction `id`; the bytes are serialized once
  /// and kept for retransmission. Returns false when the response was dropped:
  /// unknown/finished transaction, final already sent, a 408 or non-100 1xx to
  /// a non-INVITE, or a 100 over UDP before the RFC 4320 instant (the layer
  /// sends that one itself).
  bool respond(ServerTxnId id, sip::Message&& resp, TimePoint now);
  /// Sends a response without a transaction (for RequestContext::overloaded).
  /// The destination comes from the response's top Via (a copy of the
  /// request's, §8.2.6.2) and `requestSource`. False if it has no usable Via.
  bool respondStateless(sip::Message&& resp, const sip::Peer& requestSource);
  /// Starts a non-INVITE client transaction and sends `req` to `to`. The caller
  /// has set a fresh `z9hG4bK` branch in the top Via (the layer does not edit
  /// messages).
  [[nodiscard]] tl::expected<ClientTxnId, ClientError> sendRequest(sip::Message&& req,
                                                                   const sip::Peer& to,
                                                                   TimePoint now);
  /// The transport could not deliver client transaction `id`'s request:
  /// onClientTimeout() follows if no final response had arrived (§17.1.4).
  void transportError(ClientTxnId id, TimePoint now);
  /// §9.2: the server transaction a CANCEL targets, found with the §17.2.3
  /// rules with the method ignored (CANCEL and ACK transactions excluded).
  [[nodiscard]] std::optional<CancelTarget> findCancelTarget(const sip::Message& cancel) const;

  // --- from the timer edge ----------------------------------------------------
  /// When advance() next has work, or nullopt when no timer is armed.
  [[nodiscard]] std::optional<TimePoint> nextDeadline() const;
  /// Fires every timer due at or before `now`, in deadline order.
  void advance(TimePoint now);

  [[nodiscard]] Stats stats() const;
  /// True while server transaction `id` exists (any state before Terminated).
  [[nodiscard]] bool serverTxnExists(ServerTxnId id) const;
  [[nodiscard]] bool clientTxnExists(ClientTxnId id) const;
  /// When timer `name` of transaction `id` fires, or nullopt (for tests).
  [[nodiscard]] std::optional<TimePoint> timerDeadlineForTest(std::uint64_t id,
                                                              TimerName name) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::txn
