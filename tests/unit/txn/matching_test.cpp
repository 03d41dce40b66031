// Request matching (RFC 3261 §17.2.3), merged requests (§8.2.2.2), CANCEL
// targets (§9.2) and the transaction limit.
#include <gtest/gtest.h>

#include "txn_harness.hpp"

namespace parley::txn::test {
namespace {

Req invite() {
  Req r;
  r.method = "INVITE";
  r.branch = "z9hG4bK-inv1";
  return r;
}

Req cancelOf(Req r) {
  r.method = "CANCEL";
  r.cseqMethod.clear();
  return r;
}

// --- RFC 3261 matching ----------------------------------------------------------

TEST(Matching, SameBranchFromAnotherSentByIsANewTransaction) {
  Harness h;
  Req r;
  h.injectRequest(r);
  r.viaHost = "192.0.2.99";
  h.injectRequest(r);
  EXPECT_EQ(h.tu.requests.size(), 2U);
}

TEST(Matching, BranchComparisonIsByValueSentByHostIgnoresCase) {
  Harness h;
  Req r;
  r.viaHost = "Proxy.Example.COM";
  h.injectRequest(r);
  r.viaHost = "proxy.example.com";
  h.injectRequest(r);
  EXPECT_EQ(h.tu.requests.size(), 1U);
  EXPECT_EQ(h.layer().stats().requestRetransmissions, 1U);
}

TEST(Matching, CancelIsItsOwnTransaction) {
  Harness h;
  const Req inv = invite();
  h.injectRequest(inv);
  h.injectRequest(cancelOf(inv));
  ASSERT_EQ(h.tu.requests.size(), 2U);
  EXPECT_EQ(h.tu.requests[1].msg.method(), sip::Method::Cancel);
  EXPECT_NE(h.tu.requests[1].id, h.tu.requests[0].id);
  EXPECT_FALSE(h.tu.requests[1].ctx.merged);  // CSeq method differs
}

TEST(Matching, CancelFindsAPendingInvite) {
  Harness h;
  const Req inv = invite();
  h.injectRequest(inv);
  const ServerTxnId inviteId = h.lastId();
  h.injectRequest(cancelOf(inv));
  auto target = h.layer().findCancelTarget(h.tu.requests.back().msg);
  ASSERT_TRUE(target);
  EXPECT_EQ(target->id, inviteId);
  EXPECT_TRUE(target->invite);
  EXPECT_TRUE(target->pendingInvite);  // the core sends 487, then 200 to the CANCEL
}

TEST(Matching, CancelAfterTheFinalFindsTheInviteButNotPending) {
  Harness h;
  const Req inv = invite();
  h.injectRequest(inv);
  ASSERT_TRUE(h.respond(h.lastId(), inv, 405, "Method Not Allowed"));
  auto target = h.layer().findCancelTarget(parse(requestText(cancelOf(inv))));
  ASSERT_TRUE(target);
  EXPECT_FALSE(target->pendingInvite);
}

TEST(Matching, CancelFindsANonInviteTransaction) {
  Harness h;
  Req sub;
  sub.method = "SUBSCRIBE";
  h.injectRequest(sub);
  auto target = h.layer().findCancelTarget(parse(requestText(cancelOf(sub))));
  ASSERT_TRUE(target);
  EXPECT_EQ(target->id, h.lastId());
  EXPECT_FALSE(target->invite);
  EXPECT_FALSE(target->pendingInvite);
}

TEST(Matching, CancelWithNoMatchingTransactionFindsNothing) {
  Harness h;
  h.injectRequest(invite());
  Req other = cancelOf(invite());
  other.branch = "z9hG4bK-unknown";
  EXPECT_FALSE(h.layer().findCancelTarget(parse(requestText(other))));  // the core answers 481
  h.injectRequest(cancelOf(invite()));
  EXPECT_TRUE(h.layer().findCancelTarget(parse(requestText(cancelOf(invite())))));
}

// --- RFC 2543 matching (branch without the z9hG4bK cookie) ----------------------

Req legacy() {
  Req r;
  r.branch = "1a2b3c";
  return r;
}

TEST(Rfc2543Matching, RetransmissionIsMatchedWithoutTheCookie) {
  Harness h;
  const Req r = legacy();
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  h.injectRequest(r);
  EXPECT_EQ(h.tu.requests.size(), 1U);
  EXPECT_EQ(h.net.sent.size(), 2U);
}

TEST(Rfc2543Matching, RequestWithoutAnyBranchIsMatched) {
  Harness h;
  Req r = legacy();
  r.branch.clear();
  h.injectRequest(r);
  h.injectRequest(r);
  EXPECT_EQ(h.tu.requests.size(), 1U);
}

TEST(Rfc2543Matching, EquivalentRequestUriStillMatches) {
  Harness h;
  Req r = legacy();
  r.ruri = "sip:alice@EXAMPLE.com";
  h.injectRequest(r);
  r.ruri = "sip:alice@example.com";
  h.injectRequest(r);
  EXPECT_EQ(h.tu.requests.size(), 1U);
}

TEST(Rfc2543Matching, ViaParameterOrderDoesNotMatter) {
  Harness h;
  Req r = legacy();
  r.viaParams = ";received=192.0.2.10;ttl=5";
  h.injectRequest(r);
  r.viaParams = ";ttl=5;received=192.0.2.10";
  h.injectRequest(r);
  EXPECT_EQ(h.tu.requests.size(), 1U);
}

TEST(Rfc2543Matching, EachFieldDifferenceMakesANewTransaction) {
  const auto newTransaction = [](auto change) {
    Harness h;
    Req r = legacy();
    h.injectRequest(r);
    change(r);
    h.injectRequest(r);
    return h.tu.requests.size() == 2U;
  };
  EXPECT_TRUE(newTransaction([](Req& r) { r.ruri = "sip:carol@example.com"; }));
  EXPECT_TRUE(newTransaction([](Req& r) { r.toTag = "x"; }));
  EXPECT_TRUE(newTransaction([](Req& r) { r.fromTag = "other"; }));
  EXPECT_TRUE(newTransaction([](Req& r) { r.callId = "other@host"; }));
  EXPECT_TRUE(newTransaction([](Req& r) { r.cseq = 2; }));
  EXPECT_TRUE(newTransaction([](Req& r) { r.method = "OPTIONS"; }));
  EXPECT_TRUE(newTransaction([](Req& r) { r.branch = "9z8y7x"; }));
  EXPECT_TRUE(newTransaction([](Req& r) { r.viaPort = ":5070"; }));
  EXPECT_FALSE(newTransaction([](Req&) {}));
}

TEST(Rfc2543Matching, AckMatchesByTheToTagOfOurResponse) {
  Harness h;
  Req inv = legacy();
  inv.method = "INVITE";
  h.injectRequest(inv);
  const ServerTxnId id = h.lastId();
  ASSERT_TRUE(h.respond(id, inv, 405, "Method Not Allowed", "our-tag"));
  h.injectRequest(ackFor(inv, "not-our-tag"));
  EXPECT_EQ(h.tu.strayAcks.size(), 1U);
  EXPECT_TRUE(h.layer().timerDeadlineForTest(id, TimerName::G));
  h.injectRequest(ackFor(inv, "our-tag"));
  EXPECT_EQ(h.tu.strayAcks.size(), 1U);
  EXPECT_EQ(h.layer().stats().acksAbsorbed, 1U);
  EXPECT_FALSE(h.layer().timerDeadlineForTest(id, TimerName::G));
  EXPECT_TRUE(h.layer().timerDeadlineForTest(id, TimerName::I));
}

TEST(Rfc2543Matching, CancelFindsTheLegacyInvite) {
  Harness h;
  Req inv = legacy();
  inv.method = "INVITE";
  h.injectRequest(inv);
  const ServerTxnId id = h.lastId();
  auto target = h.layer().findCancelTarget(parse(requestText(cancelOf(inv))));
  ASSERT_TRUE(target);
  EXPECT_EQ(target->id, id);
  EXPECT_TRUE(target->pendingInvite);
  Req otherUri = cancelOf(inv);
  otherUri.ruri = "sip:carol@example.com";
  EXPECT_FALSE(h.layer().findCancelTarget(parse(requestText(otherUri))));
}

// --- merged requests (§8.2.2.2) ----------------------------------------------------

TEST(MergedRequest, SameFromTagCallIdAndCSeqOnAnotherBranchIsFlagged) {
  Harness h;
  Req r;
  h.injectRequest(r);
  r.branch = "z9hG4bK-forked";
  r.viaHost = "192.0.2.20";
  h.injectRequest(r, udpPeer("192.0.2.20"));
  ASSERT_EQ(h.tu.requests.size(), 2U);
  EXPECT_FALSE(h.tu.requests[0].ctx.merged);
  EXPECT_TRUE(h.tu.requests[1].ctx.merged);  // the core answers 482
  EXPECT_EQ(h.layer().stats().mergedRequests, 1U);
  // The merged request has its own transaction, so its 482 is retransmitted.
  EXPECT_TRUE(h.respond(h.lastId(), r, 482, "Loop Detected"));
}

TEST(MergedRequest, RequestWithAToTagIsNeverFlagged) {
  Harness h;
  Req r;
  r.toTag = "dialog";
  h.injectRequest(r);
  r.branch = "z9hG4bK-forked";
  h.injectRequest(r);
  EXPECT_FALSE(h.tu.requests.at(1).ctx.merged);
}

TEST(MergedRequest, DifferentCSeqIsNotMerged) {
  Harness h;
  Req r;
  h.injectRequest(r);
  r.branch = "z9hG4bK-next";
  r.cseq = 2;
  h.injectRequest(r);
  EXPECT_FALSE(h.tu.requests.at(1).ctx.merged);
}

TEST(MergedRequest, EndedTransactionNoLongerMerges) {
  Harness h;
  Req r;
  r.viaTransport = "TCP";
  h.injectRequest(r, tcpPeer());
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));  // J = 0 on TCP: gone
  r.branch = "z9hG4bK-later";
  h.injectRequest(r, tcpPeer());
  EXPECT_FALSE(h.tu.requests.at(1).ctx.merged);
}

// --- overload --------------------------------------------------------------------

TEST(Overload, RequestsPastTheLimitReachTheTuWithoutATransaction) {
  Harness h(TimerConfig{}, 2);
  Req r;
  h.injectRequest(r);
  r.branch = "z9hG4bK-2";
  r.cseq = 2;
  h.injectRequest(r);
  r.branch = "z9hG4bK-3";
  r.cseq = 3;
  r.viaParams = ";rport";
  h.injectRequest(r, udpPeer("198.51.100.1", 40000));
  ASSERT_EQ(h.tu.requests.size(), 3U);
  EXPECT_EQ(h.tu.requests[2].id, kNoTransaction);
  EXPECT_TRUE(h.tu.requests[2].ctx.overloaded);
  EXPECT_EQ(h.layer().stats().serverTransactions, 2U);
  EXPECT_EQ(h.layer().stats().overloadRefusals, 1U);

  // The 503 goes out statelessly, to the request's response destination.
  EXPECT_TRUE(h.layer().respondStateless(parse(responseText(r, 503, "Service Unavailable")),
                                         udpPeer("198.51.100.1", 40000)));
  ASSERT_EQ(h.net.sent.size(), 1U);
  EXPECT_EQ(h.net.sent[0].to.address, "198.51.100.1");
  EXPECT_EQ(h.net.sent[0].to.port, 40000);
  EXPECT_EQ(h.layer().stats().serverTransactions, 2U);
}

TEST(Overload, NewTransactionsAreAcceptedOnceOldOnesEnd) {
  Harness h(TimerConfig{}, 1);
  Req r;
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  h.runUntil(32s);  // Timer J
  r.branch = "z9hG4bK-2";
  r.cseq = 2;
  h.injectRequest(r);
  EXPECT_NE(h.lastId(), kNoTransaction);
  EXPECT_FALSE(h.tu.requests.back().ctx.overloaded);
}

TEST(Overload, RetransmissionsOfLiveTransactionsAreStillAnsweredWhenFull) {
  Harness h(TimerConfig{}, 1);
  const Req r;
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  h.injectRequest(r);
  EXPECT_EQ(h.tu.requests.size(), 1U);
  EXPECT_EQ(h.net.sent.size(), 2U);
}

}  // namespace
}  // namespace parley::txn::test
