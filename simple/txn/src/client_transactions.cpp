// Non-INVITE client transactions (RFC 3261 §17.1.2, Figure 6). We originate
// NOTIFY, PUBLISH, SUBSCRIBE and MESSAGE; we never send INVITE.
#include <algorithm>
#include <string>
#include <utility>

#include "layer_impl.hpp"
#include "parley/sip/serializer.hpp"

namespace parley::txn {

tl::expected<ClientTxnId, ClientError> TransactionLayer::Impl::sendRequest(sip::Message&& req,
                                                                            const sip::Peer& to,
                                                                            TimePoint now) {
  if (req.method() == sip::Method::Invite || req.method() == sip::Method::Ack) {
    return tl::unexpected(ClientError::UnsupportedMethod);
  }
  auto via = detail::topViaOf(req);
  if (!via || !via->rfc3261Branch()) {
    return tl::unexpected(ClientError::BadBranch);
  }
  std::string key = detail::clientKey(via->branch, detail::methodToken(req));
  if (clientByKey_.contains(key)) {
    return tl::unexpected(ClientError::DuplicateBranch);
  }
  if (clients_.size() >= maxTransactions_) {
    return tl::unexpected(ClientError::Overloaded);
  }

  ClientTxn txn;
  txn.id = nextId_++;
  txn.reliable = sip::isReliable(to.transport);
  txn.key = key;
  txn.to = to;
  txn.request = sip::serialize(req);  // once, into transaction memory; Timer E resends these bytes

  const ClientTxnId id = txn.id;
  sink_.transmit(txn.to, txn.request);
  // Over UDP one heap entry carries both timers: Timer E's next firing, or
  // Timer F's if that comes first (fDeadline). Almost every transaction ends
  // with its response within T1, so this halves the timer work per request.
  txn.fDeadline = now + timeoutInterval();
  if (!txn.reliable) {
    txn.eInterval = timers_.t1;
    arm(txn, TimerName::E, std::min(now + txn.eInterval, txn.fDeadline));
  } else {
    arm(txn, TimerName::F, txn.fDeadline);
  }
  ClientTxn& stored = clients_.emplace(id, std::move(txn)).first->second;
  clientByKey_.emplace(stored.key, &stored);  // views the key in place
  return id;
}

void TransactionLayer::Impl::receiveResponse(sip::Message&& resp, const sip::Peer& from,
                                             TimePoint now) {
  detail::clientKeyInto(responseKey_, resp.topVia().branch, detail::cseqMethodOf(resp));
  auto found = clientByKey_.find(responseKey_);
  if (found == clientByKey_.end()) {
    ++stats_.strayResponses;
    tu_.onStrayResponse(std::move(resp), from);
    return;
  }
  ClientTxn& txn = *found->second;
  const ClientTxnId id = txn.id;
  if (txn.state == ClientState::Completed) {
    ++stats_.responseRetransmissions;  // Completed absorbs retransmitted finals
    return;
  }
  if (resp.statusCode() < 200) {
    txn.state = ClientState::Proceeding;  // Timer E continues; resets to T2 from now on
    tu_.onResponse(id, std::move(resp));
    return;
  }
  cancel(txn, TimerName::E);
  cancel(txn, TimerName::F);
  if (txn.reliable) {
    eraseClient(id);  // Timer K = 0 on reliable transports
  } else {
    txn.state = ClientState::Completed;
    // Completed only absorbs retransmitted responses for T4; the request is
    // never resent again, so its bytes (a NOTIFY with its body) go now.
    TransactionString().swap(txn.request);
    arm(txn, TimerName::K, now + timers_.t4);
  }
  tu_.onResponse(id, std::move(resp));
}

void TransactionLayer::Impl::transportError(ClientTxnId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    return;
  }
  const bool awaitingFinal = it->second.state != ClientState::Completed;
  eraseClient(id);
  if (awaitingFinal) {
    ++stats_.transportErrors;  // §17.1.4: inform the TU, as a timeout
    tu_.onClientTimeout(id);
  }
}

void TransactionLayer::Impl::onClientTimer(ClientTxn& txn, TimerName name, TimePoint now) {
  switch (name) {
    case TimerName::E:
      if (txn.state == ClientState::Completed) {
        return;
      }
      if (now >= txn.fDeadline) {
        return onClientTimer(txn, TimerName::F, now);  // Timer F, carried by the E entry
      }
      ++stats_.retransmissionsSent;
      sink_.transmit(txn.to, txn.request);
      // §17.1.2.2: doubling up to T2 in Trying; T2 flat in Proceeding.
      txn.eInterval = txn.state == ClientState::Proceeding
                          ? timers_.t2
                          : std::min(2 * txn.eInterval, timers_.t2);
      arm(txn, TimerName::E, std::min(now + txn.eInterval, txn.fDeadline));
      return;
    case TimerName::F: {
      const ClientTxnId id = txn.id;
      ++stats_.clientTimeouts;
      eraseClient(id);
      tu_.onClientTimeout(id);
      return;
    }
    case TimerName::K:
      eraseClient(txn.id);
      return;
    default:
      return;  // server timers never reach a client transaction
  }
}

}  // namespace parley::txn
