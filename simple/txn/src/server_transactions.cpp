// Server transactions: INVITE (RFC 3261 §17.2.1, Figure 7) and non-INVITE
// (§17.2.2, Figure 8, with RFC 4320 §4).
#include <algorithm>
#include <string>
#include <utility>

#include "layer_impl.hpp"
#include "parley/sip/response.hpp"
#include "parley/sip/headers.hpp"
#include "parley/sip/serializer.hpp"

namespace parley::txn {

namespace {

// §17.2.1: an INVITE server transaction sends 100 Trying unless the TU answers
// within 200 ms.
constexpr std::chrono::milliseconds kInviteTryingDelay{200};

bool isTryingRow(sip::HeaderId id) {
  using sip::HeaderId;
  return id == HeaderId::Via || id == HeaderId::From || id == HeaderId::To ||
         id == HeaderId::CallId || id == HeaderId::CSeq || id == HeaderId::Timestamp;
}

// §8.2.6: a 100 copies Via (all rows, in order), From, To (no tag is added to a
// 100), Call-ID, CSeq and Timestamp. Kept as wire rows so the layer can send
// the 100 after the request itself went to the TU.
TransactionString tryingRows(const sip::Message& req, const sip::Peer& source) {
  TransactionString rows;
  bool firstVia = true;
  for (const auto& h : req.headers()) {
    if (!isTryingRow(h.id)) {
      continue;
    }
    rows.append(sip::headerName(h.id));
    rows.append(": ");
    if (h.id == sip::HeaderId::Via && firstVia) {
      firstVia = false;  // received/rport as in every other response (RFC 3581 §4)
      rows.append(sip::stampTopViaRow(h.value, req.topVia(), source));
    } else {
      rows.append(h.value);
    }
    rows.append("\r\n");
  }
  return rows;
}

}  // namespace

std::chrono::milliseconds TransactionLayer::Impl::nonInviteTryingDelay() const {
  // Replays the client's Timer E: fires after `interval`, resets to
  // min(2·interval, T2); stop once the reset value is T2.
  std::chrono::milliseconds at{0};
  std::chrono::milliseconds interval = timers_.t1;
  do {
    at += interval;
    interval = std::min(2 * interval, timers_.t2);
  } while (interval < timers_.t2);
  return at;
}

void TransactionLayer::Impl::receiveRequest(sip::Message&& req, const sip::Peer& from,
                                            TimePoint now) {
  if (req.method() == sip::Method::Ack) {
    ServerTxn* txn = matchAck(req);
    if (txn == nullptr) {
      ++stats_.strayAcks;  // ACK for a 2xx (§17.2.3): the TU's business
      tu_.onStrayAck(std::move(req), from);
      return;
    }
    ++stats_.acksAbsorbed;  // never passed up (§17.2.1)
    if (txn->state == ServerState::Completed) {
      txn->state = ServerState::Confirmed;
      cancel(*txn, TimerName::G);
      cancel(*txn, TimerName::H);
      if (txn->reliable) {
        eraseServer(txn->id);  // Timer I = 0 on reliable transports
      } else {
        arm(*txn, TimerName::I, now + timers_.t4);
      }
    }
    return;
  }

  const bool rfc3261 = req.topVia().rfc3261Branch();
  std::string branchKey = rfc3261 ? detail::branchKey(req.topVia()) : std::string();
  std::string dialogKey = detail::dialogKey(req);
  if (ServerTxn* txn = matchRequest(req, branchKey, dialogKey)) {
    // A retransmission: absorbed in Trying (and INVITE Proceeding without a
    // provisional, and Confirmed); otherwise the last response is resent.
    ++stats_.requestRetransmissions;
    const bool resend = txn->lastStatus != 0 && txn->state != ServerState::Confirmed;
    if (resend) {
      sink_.transmit(txn->replyTo, txn->lastResponse);
    }
    return;
  }

  if (servers_.size() >= maxTransactions_) {
    ++stats_.overloadRefusals;
    RequestContext ctx;
    ctx.overloaded = true;
    tu_.onRequest(kNoTransaction, std::move(req), from, ctx);
    return;
  }

  RequestContext ctx;
  ctx.merged = isMerged(req, dialogKey);
  if (ctx.merged) {
    ++stats_.mergedRequests;
  }

  ServerTxn txn;
  txn.id = nextId_++;
  txn.invite = req.method() == sip::Method::Invite;
  txn.reliable = sip::isReliable(from.transport);
  txn.legacy = !rfc3261;
  txn.state = txn.invite ? ServerState::Proceeding : ServerState::Trying;
  txn.method = detail::methodToken(req);
  txn.dialogKey = dialogKey;
  if (txn.legacy) {
    txn.old = std::make_unique<LegacyMatch>();
    txn.old->requestUri = std::string(req.requestLine().uriText);
    txn.old->toTag = std::string(req.to().tag());
    txn.old->viaCanonical = detail::viaCanonical(req.topVia());
  } else {
    txn.branchKey = branchKey;
  }
  txn.replyTo = responseDestination(req.topVia(), from);
  txn.tryingHeaders = tryingRows(req, from);
  txn.tryingAt = now + (txn.invite ? kInviteTryingDelay : nonInviteTryingDelay());

  const ServerTxnId id = txn.id;
  indexServer(servers_.emplace(id, std::move(txn)).first->second);  // keys viewed in place

  tu_.onRequest(id, std::move(req), from, ctx);  // may call respond() re-entrantly

  // The guards are armed only if the TU has not answered by now. Most answers
  // come inside onRequest (the memory backend), and a timer armed and
  // cancelled at once still cost two index updates and a stale heap entry.
  // Their deadlines count from `now` all the same.
  const auto it = servers_.find(id);
  if (it == servers_.end() || it->second.lastStatus >= 200) return;
  if (it->second.lastStatus == 0) arm(it->second, TimerName::Trying100, it->second.tryingAt);
  arm(it->second, TimerName::TuGuard, now + timeoutInterval());
}

bool TransactionLayer::Impl::respond(ServerTxnId id, sip::Message&& resp, TimePoint now) {
  auto it = servers_.find(id);
  if (it == servers_.end()) {
    ++stats_.lateResponses;
    return false;
  }
  ServerTxn& txn = it->second;
  const int code = resp.statusCode();
  if (txn.state == ServerState::Completed || txn.state == ServerState::Confirmed) {
    ++stats_.lateResponses;  // §17.2.2: further finals are discarded
    return false;
  }
  if (!txn.invite) {
    if (code == 408) {
      ++stats_.refused408;  // RFC 4320 §4.3: never a 408 to a non-INVITE
      return false;
    }
    // RFC 4320 §4.2: only 100, and over UDP not before the client's Timer E
    // reached T2 (the layer sends that 100 itself at tryingAt).
    if (code > 100 && code < 200) {
      ++stats_.refusedProvisionals;
      return false;
    }
    if (code == 100 && !txn.reliable && now < txn.tryingAt) {
      ++stats_.refusedProvisionals;
      return false;
    }
  }

  const std::string bytes = sip::serialize(resp);
  sink_.transmit(txn.replyTo, bytes);
  txn.lastResponse = bytes;  // kept in transaction memory for retransmissions
  txn.lastStatus = code;

  if (code < 200) {
    txn.state = ServerState::Proceeding;
    cancel(txn, TimerName::Trying100);
    return true;
  }
  cancel(txn, TimerName::Trying100);
  cancel(txn, TimerName::TuGuard);
  // A final response was sent: the 100 Trying template is dead weight while the
  // transaction lingers (up to 64·T1 on UDP); free it.
  TransactionString().swap(txn.tryingHeaders);
  if (txn.invite) {
    if (code < 300) {
      eraseServer(id);  // §17.2.1: a 2xx ends the transaction; the TU retransmits it
      return true;
    }
    txn.state = ServerState::Completed;
    if (txn.legacy) {
      txn.old->responseToTag = detail::toTagOf(resp);
    }
    if (!txn.reliable) {
      txn.gInterval = timers_.t1;
      arm(txn, TimerName::G, now + txn.gInterval);
    }
    arm(txn, TimerName::H, now + timeoutInterval());
    return true;
  }
  txn.state = ServerState::Completed;
  if (txn.reliable) {
    eraseServer(id);  // Timer J = 0 on reliable transports
  } else {
    arm(txn, TimerName::J, now + timeoutInterval());
  }
  return true;
}

bool TransactionLayer::Impl::respondStateless(sip::Message&& resp, const sip::Peer& requestSource) {
  auto via = detail::topViaOf(resp);
  if (!via) {
    return false;
  }
  sink_.transmit(responseDestination(*via, requestSource), sip::serialize(resp));
  return true;
}

void TransactionLayer::Impl::onServerTimer(ServerTxn& txn, TimerName name, TimePoint now) {
  switch (name) {
    case TimerName::Trying100: {
      const bool unanswered = txn.lastStatus == 0 && (txn.state == ServerState::Trying ||
                                                      txn.state == ServerState::Proceeding);
      if (unanswered) {
        txn.lastResponse =
            "SIP/2.0 100 Trying\r\n" + txn.tryingHeaders + "Content-Length: 0\r\n\r\n";
        txn.lastStatus = 100;
        txn.state = ServerState::Proceeding;
        ++stats_.tryingSent;
        sink_.transmit(txn.replyTo, txn.lastResponse);
      }
      return;
    }
    case TimerName::G:
      if (txn.state == ServerState::Completed) {
        ++stats_.retransmissionsSent;
        sink_.transmit(txn.replyTo, txn.lastResponse);
        txn.gInterval = std::min(2 * txn.gInterval, timers_.t2);
        arm(txn, TimerName::G, now + txn.gInterval);
      }
      return;
    case TimerName::H:
      ++stats_.ackTimeouts;
      eraseServer(txn.id);
      return;
    case TimerName::TuGuard:
      ++stats_.tuGuardExpiries;
      eraseServer(txn.id);
      return;
    case TimerName::I:
    case TimerName::J:
      eraseServer(txn.id);
      return;
    default:
      return;  // client timers never reach a server transaction
  }
}

}  // namespace parley::txn
