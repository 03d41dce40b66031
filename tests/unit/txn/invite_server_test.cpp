// INVITE server transactions (RFC 3261 §17.2.1) for the INVITEs we reject.
#include <gtest/gtest.h>

#include "txn_harness.hpp"

namespace parley::txn::test {
namespace {

using Ms = std::chrono::milliseconds;

Req invite() {
  Req r;
  r.method = "INVITE";
  r.branch = "z9hG4bK-inv1";
  return r;
}

TEST(InviteServer, FinalIsRetransmittedOnTimerGDoublingToT2UntilTimerH) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  const ServerTxnId id = h.lastId();
  ASSERT_TRUE(h.respond(id, r, 405, "Method Not Allowed"));
  h.runUntil(40s);
  EXPECT_EQ(h.sendTimes(), (std::vector<Ms>{0ms, 500ms, 1500ms, 3500ms, 7500ms, 11500ms, 15500ms,
                                            19500ms, 23500ms, 27500ms, 31500ms}));
  for (const auto& s : h.net.sent) {
    EXPECT_EQ(s.bytes, h.net.sent[0].bytes);
  }
  EXPECT_FALSE(h.layer().serverTxnExists(id));
  EXPECT_EQ(h.layer().stats().ackTimeouts, 1U);
  EXPECT_EQ(h.layer().stats().retransmissionsSent, 10U);
}

TEST(InviteServer, TimerHFiresAt64T1) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  const ServerTxnId id = h.lastId();
  ASSERT_TRUE(h.respond(id, r, 405, "Method Not Allowed"));
  EXPECT_EQ(h.layer().timerDeadlineForTest(id, TimerName::H), h.t0 + 32s);
  h.runUntil(31999ms);
  EXPECT_TRUE(h.layer().serverTxnExists(id));
  h.runUntil(32s);
  EXPECT_FALSE(h.layer().serverTxnExists(id));
}

TEST(InviteServer, AckIsAbsorbedStopsTimerGAndStartsTimerI) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  const ServerTxnId id = h.lastId();
  ASSERT_TRUE(h.respond(id, r, 405, "Method Not Allowed"));
  h.runUntil(1s);  // one retransmission at 0.5 s
  h.injectRequest(ackFor(r));
  EXPECT_EQ(h.tu.requests.size(), 1U);  // never passed to the TU
  EXPECT_TRUE(h.tu.strayAcks.empty());
  EXPECT_EQ(h.layer().stats().acksAbsorbed, 1U);
  EXPECT_EQ(h.layer().timerDeadlineForTest(id, TimerName::I), h.t0 + 6s);
  h.runUntil(5999ms);
  EXPECT_TRUE(h.layer().serverTxnExists(id));
  EXPECT_EQ(h.sendTimes(), (std::vector<Ms>{0ms, 500ms}));
  h.runUntil(6s);
  EXPECT_FALSE(h.layer().serverTxnExists(id));
  EXPECT_FALSE(h.layer().nextDeadline());
}

TEST(InviteServer, AckRetransmissionsInConfirmedAreAbsorbed) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 405, "Method Not Allowed"));
  h.injectRequest(ackFor(r));
  h.runUntil(2s);
  h.injectRequest(ackFor(r));
  h.injectRequest(ackFor(r));
  EXPECT_EQ(h.tu.requests.size(), 1U);
  EXPECT_TRUE(h.tu.strayAcks.empty());
  EXPECT_EQ(h.layer().stats().acksAbsorbed, 3U);
  EXPECT_EQ(h.net.sent.size(), 1U);
}

TEST(InviteServer, NoTimerGAndTimerIZeroOnTcp) {
  Harness h;
  Req r = invite();
  r.viaTransport = "TCP";
  h.injectRequest(r, tcpPeer());
  const ServerTxnId id = h.lastId();
  ASSERT_TRUE(h.respond(id, r, 405, "Method Not Allowed"));
  EXPECT_FALSE(h.layer().timerDeadlineForTest(id, TimerName::G));
  EXPECT_EQ(h.layer().timerDeadlineForTest(id, TimerName::H), h.t0 + 32s);
  h.runUntil(10s);
  EXPECT_EQ(h.net.sent.size(), 1U);
  h.injectRequest(ackFor(r), tcpPeer());
  EXPECT_FALSE(h.layer().serverTxnExists(id));
}

TEST(InviteServer, RetransmittedInviteInCompletedGetsTheFinalAgain) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 405, "Method Not Allowed"));
  h.runUntil(200ms);
  h.injectRequest(r);
  ASSERT_EQ(h.net.sent.size(), 2U);
  EXPECT_EQ(h.net.sent[1].bytes, h.net.sent[0].bytes);
  EXPECT_EQ(h.sendTimes(), (std::vector<Ms>{0ms, 200ms}));
  EXPECT_EQ(h.tu.requests.size(), 1U);
}

TEST(InviteServer, RetransmittedInviteInProceedingGetsTheLastProvisional) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 180, "Ringing"));
  h.injectRequest(r);
  ASSERT_EQ(h.net.sent.size(), 2U);
  EXPECT_EQ(h.net.sent[1].bytes, h.net.sent[0].bytes);
  EXPECT_EQ(h.net.sent[1].bytes.rfind("SIP/2.0 180 Ringing", 0), 0U);
}

TEST(InviteServer, LayerSendsTryingAfter200msWhenTheTuIsSilent) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  h.runUntil(199ms);
  EXPECT_TRUE(h.net.sent.empty());
  h.runUntil(200ms);
  ASSERT_EQ(h.net.sent.size(), 1U);
  EXPECT_EQ(h.net.sent[0].bytes.rfind("SIP/2.0 100 Trying\r\n", 0), 0U);
  h.injectRequest(r);  // retransmission gets the 100 again
  EXPECT_EQ(h.net.sent.size(), 2U);
  auto target = h.layer().findCancelTarget(parse(requestText(r)));
  ASSERT_TRUE(target);
  EXPECT_TRUE(target->pendingInvite);
}

TEST(InviteServer, TwoHundredEndsTheTransactionAtOnce) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  const ServerTxnId id = h.lastId();
  ASSERT_TRUE(h.respond(id, r, 200, "OK"));
  EXPECT_FALSE(h.layer().serverTxnExists(id));
  EXPECT_FALSE(h.layer().nextDeadline());
}

TEST(InviteServer, AckForA2xxIsAStrayAckForTheTu) {
  Harness h;
  const Req r = invite();
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  Req ack = ackFor(r);
  ack.branch = "z9hG4bK-ack-2xx";  // the ACK for a 2xx is a new transaction (§17.1.1.3)
  h.injectRequest(ack);
  ASSERT_EQ(h.tu.strayAcks.size(), 1U);
  EXPECT_EQ(h.tu.requests.size(), 1U);
  EXPECT_EQ(h.layer().stats().strayAcks, 1U);
  EXPECT_TRUE(h.net.sent.size() == 1U);
}

TEST(InviteServer, TuGuardEndsAnInviteTheTuNeverAnswers) {
  Harness h;
  h.injectRequest(invite());
  const ServerTxnId id = h.lastId();
  h.runUntil(32s);
  EXPECT_FALSE(h.layer().serverTxnExists(id));
  EXPECT_EQ(h.layer().stats().tuGuardExpiries, 1U);
}

}  // namespace
}  // namespace parley::txn::test
