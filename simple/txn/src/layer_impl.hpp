// Private to parley_txn: the transaction records and the layer's
// implementation class. Split across server_transactions.cpp,
// client_transactions.cpp, matching.cpp and transaction_layer.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "parley/sip/message.hpp"
#include "parley/sip/peer.hpp"
#include "parley/txn/timer_heap.hpp"
#include "parley/txn/transaction_layer.hpp"
#include "parley/txn/txn_memory.hpp"

namespace parley::txn {

// RFC 3261 Figures 7 and 8. Terminated is not a state here: a terminated
// transaction is erased at once.
enum class ServerState : std::uint8_t { Trying, Proceeding, Completed, Confirmed };
// RFC 3261 Figure 6.
enum class ClientState : std::uint8_t { Trying, Proceeding, Completed };

/// What the RFC 2543 matching rules (§17.2.3) compare, kept apart so that the
/// common RFC 3261 transaction does not carry four empty strings through its
/// 32 s linger.
struct LegacyMatch {
  std::string requestUri;     ///< Request-URI text
  std::string toTag;          ///< To tag of the creating request
  std::string viaCanonical;   ///< top Via in comparable form (§20.42)
  std::string responseToTag;  ///< To tag of our final response (ACK matching)
};

struct ServerTxn {
  ServerTxnId id = kNoTransaction;
  bool invite = false;
  bool reliable = false;
  /// Created by an RFC 2543 request (top-Via branch without the cookie):
  /// matched with the §17.2.3 legacy rules and `old` (set exactly then).
  bool legacy = false;
  ServerState state = ServerState::Trying;
  // The strings that live as long as the transaction come from transaction
  // memory (txn_memory.hpp).
  TransactionString method;     ///< request method token ("INVITE", "SUBSCRIBE", ...)
  TransactionString branchKey;  ///< RFC 3261 key: branch + sent-by (empty when legacy)
  TransactionString dialogKey;  ///< Call-ID + From tag + CSeq number (legacy and §8.2.2.2)
  std::unique_ptr<LegacyMatch> old;  ///< legacy only
  sip::Peer replyTo;          ///< responseDestination() of the creating request
  TimePoint tryingAt;         ///< when the layer sends 100 Trying by itself (Trying100)
  TransactionString tryingHeaders;  ///< Via/From/To/Call-ID/CSeq/Timestamp rows for a 100
  TransactionString lastResponse;   ///< wire bytes of the most recent response sent
  int lastStatus = 0;         ///< its status code (0: nothing sent yet)
  std::chrono::milliseconds gInterval{0};
  std::uint16_t timers = 0;   ///< bit k set: TimerName k is armed (see Impl::arm)
};

struct ClientTxn {
  ClientTxnId id = kNoTransaction;
  bool reliable = false;
  ClientState state = ClientState::Trying;
  TransactionString key;      ///< branch + CSeq method (§17.1.3)
  sip::Peer to;
  TransactionString request;  ///< wire bytes, resent verbatim on Timer E
  std::chrono::milliseconds eInterval{0};
  TimePoint fDeadline;        ///< Timer F (over UDP carried by the Timer E entry)
  std::uint16_t timers = 0;  ///< bit k set: TimerName k is armed (see Impl::arm)
};

// --- matching helpers (matching.cpp) -------------------------------------------
namespace detail {
/// The method token of a request ("INVITE", or the extension token as received).
[[nodiscard]] std::string_view methodToken(const sip::Message& req);
/// RFC 3261 §17.2.3 key without the method: branch + sent-by host (lower case) + port.
[[nodiscard]] std::string branchKey(const sip::Via& via);
/// Call-ID + From tag + CSeq number: shared by the legacy rules and §8.2.2.2.
[[nodiscard]] std::string dialogKey(const sip::Message& req);
/// Top Via as a string that is equal for equal Via values (§20.42: sent-protocol,
/// sent-by, and the same parameters with the same values, in any order).
[[nodiscard]] std::string viaCanonical(const sip::Via& via);
/// Request-URIs equal per §19.1.4 (SIP/SIPS), else byte-equal.
[[nodiscard]] bool sameRequestUri(std::string_view a, std::string_view b);
/// The top Via of a message the TU built: the cached value if set, else the
/// first Via element parsed; nullopt without a usable Via.
[[nodiscard]] std::optional<sip::Via> topViaOf(const sip::Message& msg);
/// The To tag of a response the TU built (cached To, else the To header parsed).
[[nodiscard]] std::string toTagOf(const sip::Message& msg);
/// The CSeq method token of a message (cached CSeq, else the header parsed).
[[nodiscard]] std::string cseqMethodOf(const sip::Message& msg);
/// §17.1.3 client key: top-Via branch + CSeq method.
[[nodiscard]] std::string clientKey(std::string_view branch, std::string_view method);
/// The same, written into `key` (its buffer reused).
void clientKeyInto(std::string& key, std::string_view branch, std::string_view method);
}  // namespace detail

class TransactionLayer::Impl {
 public:
  Impl(Options options, TransactionUser& tu, TransportSink& sink);

  // server_transactions.cpp
  void receiveRequest(sip::Message&& req, const sip::Peer& from, TimePoint now);
  bool respond(ServerTxnId id, sip::Message&& resp, TimePoint now);
  bool respondStateless(sip::Message&& resp, const sip::Peer& requestSource);
  void onServerTimer(ServerTxn& txn, TimerName name, TimePoint now);

  // client_transactions.cpp
  tl::expected<ClientTxnId, ClientError> sendRequest(sip::Message&& req, const sip::Peer& to,
                                                     TimePoint now);
  void receiveResponse(sip::Message&& resp, const sip::Peer& from, TimePoint now);
  void transportError(ClientTxnId id);
  void onClientTimer(ClientTxn& txn, TimerName name, TimePoint now);

  // matching.cpp
  /// `branchKey` (RFC 3261 requests) and `dialogKey` of the request, computed
  /// once: a new transaction is matched, checked for merging and indexed by them.
  [[nodiscard]] ServerTxn* matchRequest(const sip::Message& req, std::string_view branchKey,
                                        std::string_view dialogKey);
  [[nodiscard]] ServerTxn* matchAck(const sip::Message& ack);
  [[nodiscard]] bool isMerged(const sip::Message& req, std::string_view dialogKey) const;
  [[nodiscard]] std::optional<CancelTarget> findCancelTarget(const sip::Message& cancel) const;
  void indexServer(ServerTxn& txn);
  void unindexServer(const ServerTxn& txn);

  // transaction_layer.cpp
  void advance(TimePoint now);
  // A transaction knows which of its timers are armed: cancelling one that is
  // not, and erasing a transaction whose timers have all fired (the usual end,
  // by Timer J or K), then cost no lookup in the timer index.
  static constexpr std::uint16_t bit(TimerName name) {
    return static_cast<std::uint16_t>(1U << static_cast<unsigned>(name));
  }
  template <class Txn>
  void arm(Txn& txn, TimerName name, TimePoint deadline) {
    txn.timers |= bit(name);
    heap_.arm(txn.id, static_cast<TimerKind>(name), deadline);
  }
  template <class Txn>
  void cancel(Txn& txn, TimerName name) {
    if ((txn.timers & bit(name)) == 0) return;
    txn.timers &= static_cast<std::uint16_t>(~bit(name));
    heap_.cancel(txn.id, static_cast<TimerKind>(name));
  }
  void eraseServer(ServerTxnId id);
  void eraseClient(ClientTxnId id);
  [[nodiscard]] std::chrono::milliseconds timeoutInterval() const { return 64 * timers_.t1; }
  /// RFC 4320 §4.2: how long after the request a client's Timer E reaches T2
  /// (T1 + 2·T1 + 4·T1 = 3.5 s with the defaults).
  [[nodiscard]] std::chrono::milliseconds nonInviteTryingDelay() const;

  TimerConfig timers_;
  std::size_t maxTransactions_;
  TransactionUser& tu_;
  TransportSink& sink_;
  TimerHeap heap_;
  std::uint64_t nextId_ = 1;  // shared by server and client ids: one heap owner space
  template <class K, class V>
  using Map = std::unordered_map<K, V, std::hash<K>, std::equal_to<K>,
                                 TransactionAllocator<std::pair<const K, V>>>;
  template <class K, class V>
  using MultiMap = std::unordered_multimap<K, V, std::hash<K>, std::equal_to<K>,
                                           TransactionAllocator<std::pair<const K, V>>>;
  Map<ServerTxnId, ServerTxn> servers_;
  Map<ClientTxnId, ClientTxn> clients_;
  // The index keys view the keys held by the transaction itself (its map node
  // never moves), so a transaction's keys are stored once: index a transaction
  // after it is in servers_/clients_, unindex it before it leaves. They point
  // at the transaction itself (map nodes never move): one lookup, not two.
  MultiMap<std::string_view, ServerTxn*> byBranch_;  // RFC 3261 server txns
  MultiMap<std::string_view, ServerTxn*> byDialog_;  // every server txn
  Map<std::string_view, ClientTxn*> clientByKey_;
  std::string responseKey_;  // receiveResponse's lookup key, its buffer reused
  Stats stats_;
};

}  // namespace parley::txn
