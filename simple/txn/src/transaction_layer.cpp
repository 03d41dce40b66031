// TransactionLayer: the public facade, the timer dispatch and the bookkeeping
// shared by server and client transactions.
#include "parley/txn/transaction_layer.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "layer_impl.hpp"

namespace parley::txn {

namespace {

constexpr std::uint32_t bits(std::initializer_list<TimerName> names) {
  std::uint32_t mask = 0;
  for (auto n : names) mask |= std::uint32_t{1} << static_cast<unsigned>(n);
  return mask;
}
// The timers each side can have armed (RFC 3261 Figures 5 to 8, plus the layer's own): a due
// timer is looked up only in its side's table.
constexpr std::uint32_t kServerTimers =
    bits({TimerName::G, TimerName::H, TimerName::I, TimerName::J, TimerName::Trying100, TimerName::TuGuard});
constexpr std::uint32_t kClientTimers = bits({TimerName::E, TimerName::F, TimerName::K});
static_assert((kServerTimers | kClientTimers) == (std::uint32_t{1} << static_cast<unsigned>(TimerName::kCount)) - 1,
              "every timer belongs to one side");

TimerConfig sanitized(TimerConfig t) {
  // A zero T1 would re-arm Timer E/G at `now` forever; keep every retransmit
  // interval positive.
  t.t1 = std::max(t.t1, milliseconds{1});
  t.t2 = std::max(t.t2, t.t1);
  t.t4 = std::max(t.t4, milliseconds{0});
  return t;
}

}  // namespace

TransactionLayer::Impl::Impl(Options options, TransactionUser& tu, TransportSink& sink)
    : timers_(sanitized(options.timers)),
      maxTransactions_(options.maxTransactions),
      tu_(tu),
      sink_(sink) {
  // Server transactions linger 64·T1 over UDP, so under load these tables hold
  // up to maxTransactions entries. Sizing them once avoids rehashing a table of
  // tens of thousands of entries on the loop — measured as 20–56 ms stalls and
  // UDP drops at 5,000 PUBLISH/s (bench/presence_load.sh). The cost is the
  // bucket arrays: about 8 bytes × maxTransactions per table, paid at start.
  servers_.reserve(maxTransactions_);
  byBranch_.reserve(maxTransactions_);
  byDialog_.reserve(maxTransactions_);
  heap_.reserve(maxTransactions_);
}

void TransactionLayer::Impl::eraseServer(ServerTxnId id) {
  auto it = servers_.find(id);
  if (it == servers_.end()) {
    return;
  }
  if (it->second.timers != 0) heap_.cancelKinds(id, it->second.timers);
  unindexServer(it->second);
  servers_.erase(it);
}

void TransactionLayer::Impl::eraseClient(ClientTxnId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    return;
  }
  if (it->second.timers != 0) heap_.cancelKinds(id, it->second.timers);
  clientByKey_.erase(it->second.key);
  clients_.erase(it);
}

void TransactionLayer::Impl::advance(TimePoint now) {
  // Bounded: each pass consumes one timer, and every re-arm lands after `now`
  // (intervals are at least 1 ms; zero-length timers are never armed).
  while (auto due = heap_.popDue(now)) {
    const auto name = static_cast<TimerName>(due->kind);
    // The kind says which side owns it: one table lookup, not two.
    if (((kClientTimers >> due->kind) & 1U) != 0) {
      if (auto c = clients_.find(due->owner); c != clients_.end()) {
        c->second.timers &= static_cast<std::uint16_t>(~bit(name));
        onClientTimer(c->second, name, now);
      }
    } else if (auto s = servers_.find(due->owner); s != servers_.end()) {
      s->second.timers &= static_cast<std::uint16_t>(~bit(name));
      onServerTimer(s->second, name, now);
    }
  }
}

// --- facade ------------------------------------------------------------------------

TransactionLayer::TransactionLayer(Options options, TransactionUser& tu, TransportSink& sink)
    : impl_(std::make_unique<Impl>(options, tu, sink)) {}

TransactionLayer::~TransactionLayer() = default;

void TransactionLayer::receiveRequest(sip::Message&& req, const sip::Peer& from, TimePoint now) {
  impl_->receiveRequest(std::move(req), from, now);
}

void TransactionLayer::receiveResponse(sip::Message&& resp, const sip::Peer& from, TimePoint now) {
  impl_->receiveResponse(std::move(resp), from, now);
}

bool TransactionLayer::respond(ServerTxnId id, sip::Message&& resp, TimePoint now) {
  return impl_->respond(id, std::move(resp), now);
}

bool TransactionLayer::respondStateless(sip::Message&& resp, const sip::Peer& requestSource) {
  return impl_->respondStateless(std::move(resp), requestSource);
}

tl::expected<ClientTxnId, ClientError> TransactionLayer::sendRequest(sip::Message&& req,
                                                                     const sip::Peer& to,
                                                                     TimePoint now) {
  return impl_->sendRequest(std::move(req), to, now);
}

void TransactionLayer::transportError(ClientTxnId id, TimePoint /*now*/) {
  impl_->transportError(id);
}

std::optional<TransactionLayer::CancelTarget> TransactionLayer::findCancelTarget(
    const sip::Message& cancel) const {
  return impl_->findCancelTarget(cancel);
}

std::optional<TimePoint> TransactionLayer::nextDeadline() const {
  return impl_->heap_.nextDeadline();
}

void TransactionLayer::advance(TimePoint now) { impl_->advance(now); }

TransactionLayer::Stats TransactionLayer::stats() const {
  Stats s = impl_->stats_;
  s.serverTransactions = impl_->servers_.size();
  s.clientTransactions = impl_->clients_.size();
  return s;
}

bool TransactionLayer::serverTxnExists(ServerTxnId id) const {
  return impl_->servers_.contains(id);
}

bool TransactionLayer::clientTxnExists(ClientTxnId id) const {
  return impl_->clients_.contains(id);
}

std::optional<TimePoint> TransactionLayer::timerDeadlineForTest(std::uint64_t id,
                                                                TimerName name) const {
  return impl_->heap_.deadline(id, static_cast<TimerKind>(name));
}

}  // namespace parley::txn
