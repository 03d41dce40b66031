// Non-INVITE server transactions: RFC 3261 §17.2.2 with RFC 4320 §4.
#include <gtest/gtest.h>

#include "txn_harness.hpp"

namespace parley::txn::test {
namespace {

using Ms = std::chrono::milliseconds;

TEST(NonInviteServer, NewRequestReachesTheTuOnceWithAFreshId) {
  Harness h;
  h.injectRequest(Req{});
  ASSERT_EQ(h.tu.requests.size(), 1U);
  EXPECT_NE(h.lastId(), kNoTransaction);
  EXPECT_FALSE(h.tu.requests[0].ctx.merged);
  EXPECT_FALSE(h.tu.requests[0].ctx.overloaded);
  EXPECT_EQ(h.tu.requests[0].msg.method(), sip::Method::Message);
  EXPECT_TRUE(h.layer().serverTxnExists(h.lastId()));
  EXPECT_EQ(h.layer().stats().serverTransactions, 1U);
}

TEST(NonInviteServer, RetransmissionInTryingIsAbsorbed) {
  Harness h;
  h.injectRequest(Req{});
  h.runUntil(500ms);
  h.injectRequest(Req{});
  EXPECT_EQ(h.tu.requests.size(), 1U);
  EXPECT_TRUE(h.net.sent.empty());
  EXPECT_EQ(h.layer().stats().requestRetransmissions, 1U);
}

TEST(NonInviteServer, RetransmittedRequestGetsTheCachedFinalResponse) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  ASSERT_EQ(h.net.sent.size(), 1U);
  h.runUntil(2s);
  h.injectRequest(r);
  ASSERT_EQ(h.net.sent.size(), 2U);
  EXPECT_EQ(h.net.sent[1].bytes, h.net.sent[0].bytes);
  EXPECT_EQ(h.net.sent[1].to, h.net.sent[0].to);
  EXPECT_EQ(h.tu.requests.size(), 1U);
}

TEST(NonInviteServer, ResponseGoesToTheRequestsResponseDestination) {
  Harness h;
  Req r;
  r.viaParams = ";rport";
  h.injectRequest(r, udpPeer("198.51.100.7", 61000));
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  ASSERT_EQ(h.net.sent.size(), 1U);
  EXPECT_EQ(h.net.sent[0].to.address, "198.51.100.7");
  EXPECT_EQ(h.net.sent[0].to.port, 61000);
  EXPECT_EQ(h.net.sent[0].to.listenerIndex, 1);
  EXPECT_EQ(h.net.sent[0].bytes.rfind("SIP/2.0 200 OK\r\n", 0), 0U);
}

TEST(NonInviteServer, TimerJEndsTheTransactionAfter64T1OnUdp) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  const ServerTxnId id = h.lastId();
  h.runUntil(1s);
  ASSERT_TRUE(h.respond(id, r, 200, "OK"));
  EXPECT_EQ(h.layer().timerDeadlineForTest(id, TimerName::J), h.t0 + 33s);
  h.runUntil(32999ms);
  EXPECT_TRUE(h.layer().serverTxnExists(id));
  h.runUntil(33s);
  EXPECT_FALSE(h.layer().serverTxnExists(id));
  EXPECT_FALSE(h.layer().nextDeadline());
}

TEST(NonInviteServer, TimerJIsZeroOnTcp) {
  Harness h;
  Req r;
  r.viaTransport = "TCP";
  h.injectRequest(r, tcpPeer());
  const ServerTxnId id = h.lastId();
  ASSERT_TRUE(h.respond(id, r, 200, "OK"));
  EXPECT_FALSE(h.layer().serverTxnExists(id));
  EXPECT_FALSE(h.layer().nextDeadline());
  EXPECT_EQ(h.net.sent.at(0).to.connectionId, 7U);
}

TEST(NonInviteServer, LayerSendsTrying100At3500msWhenTheTuIsSilent) {
  Harness h;
  Req r;
  r.toTag.clear();
  h.injectRequest(r);
  h.runUntil(3499ms);
  EXPECT_TRUE(h.net.sent.empty());
  h.runUntil(3500ms);
  ASSERT_EQ(h.net.sent.size(), 1U);
  const std::string& bytes = h.net.sent[0].bytes;
  EXPECT_EQ(bytes.rfind("SIP/2.0 100 Trying\r\n", 0), 0U);
  EXPECT_NE(bytes.find("Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-a1\r\n"),
            std::string::npos);
  EXPECT_NE(bytes.find("Call-ID: call-1@192.0.2.10\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("CSeq: 1 MESSAGE\r\n"), std::string::npos);
  EXPECT_EQ(bytes.find("tag=srv"), std::string::npos);  // no To tag on a 100 (§8.2.6.2)
  EXPECT_NE(bytes.find("\r\n\r\n"), std::string::npos);
  // The layer's 100 is itself a valid response.
  EXPECT_EQ(parse(bytes).statusCode(), 100);
  h.runUntil(10s);
  EXPECT_EQ(h.net.sent.size(), 1U);  // once
  EXPECT_EQ(h.layer().stats().tryingSent, 1U);
}

TEST(NonInviteServer, LayerTrying100CarriesReceivedAndRport) {
  Harness h;
  Req r;
  r.toTag.clear();
  r.viaParams = ";rport";
  h.injectRequest(r, udpPeer("198.51.100.9", 40123));  // behind a NAT
  h.runUntil(3500ms);
  ASSERT_EQ(h.net.sent.size(), 1U);
  EXPECT_NE(h.net.sent[0].bytes.find(
                "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-a1;rport=40123;received=198.51.100.9\r\n"),
            std::string::npos)
      << h.net.sent[0].bytes;
}

TEST(NonInviteServer, Trying100InstantFollowsTheTimerConfig) {
  const auto tryingAt = [](TimerConfig timers) {
    Harness h(timers);
    h.injectRequest(Req{});
    h.runUntil(60s);
    return h.sendTimes();
  };
  // The client's E fires after 100, 200, ... ms and resets to T2 once
  // min(2·interval, T2) = T2: 100+200+400+800+1600+3200 = 6300 ms.
  EXPECT_EQ(tryingAt(TimerConfig{100ms, 4000ms, 5000ms}), (std::vector<Ms>{6300ms}));
  // Capped before doubling gets there: 300 + 600 = 900 ms, then T2 = 1 s.
  EXPECT_EQ(tryingAt(TimerConfig{300ms, 1000ms, 5000ms}), (std::vector<Ms>{900ms}));
}

TEST(NonInviteServer, RetransmissionInProceedingGetsTheLayersTrying) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  h.runUntil(3500ms);
  ASSERT_EQ(h.net.sent.size(), 1U);
  h.runUntil(7500ms);
  h.injectRequest(r);
  ASSERT_EQ(h.net.sent.size(), 2U);
  EXPECT_EQ(h.net.sent[1].bytes, h.net.sent[0].bytes);
}

TEST(NonInviteServer, FinalAfterTheLayersTryingIsSentAndCached) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  h.runUntil(5s);
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  ASSERT_EQ(h.net.sent.size(), 2U);
  h.injectRequest(r);
  ASSERT_EQ(h.net.sent.size(), 3U);
  EXPECT_EQ(h.net.sent[2].bytes, h.net.sent[1].bytes);
}

TEST(NonInviteServer, TuTryingOverUdpBeforeTimerEReachesT2IsDropped) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  h.runUntil(1s);
  EXPECT_FALSE(h.respond(h.lastId(), r, 100, "Trying", ""));
  EXPECT_TRUE(h.net.sent.empty());
  EXPECT_EQ(h.layer().stats().refusedProvisionals, 1U);
  EXPECT_TRUE(h.respond(h.lastId(), r, 200, "OK"));  // still answerable
}

TEST(NonInviteServer, TuTryingOverTcpIsSentAtAnyTime) {
  Harness h;
  Req r;
  r.viaTransport = "TCP";
  h.injectRequest(r, tcpPeer());
  EXPECT_TRUE(h.respond(h.lastId(), r, 100, "Trying", ""));
  EXPECT_EQ(h.net.sent.size(), 1U);
  h.runUntil(10s);
  EXPECT_EQ(h.net.sent.size(), 1U);  // the layer does not add its own 100
}

TEST(NonInviteServer, TuTryingFromInsideOnRequestLeavesOnlyTheGuard) {
  Harness h;
  Req r;
  r.viaTransport = "TCP";
  h.tu.hook = [&](ServerTxnId id, const sip::Message&) {
    EXPECT_TRUE(h.respond(id, r, 100, "Trying", ""));
  };
  h.injectRequest(r, tcpPeer());
  EXPECT_FALSE(h.layer().timerDeadlineForTest(h.lastId(), TimerName::Trying100));
  EXPECT_EQ(h.layer().timerDeadlineForTest(h.lastId(), TimerName::TuGuard), h.t0 + 32s);
  h.runUntil(10s);
  EXPECT_EQ(h.net.sent.size(), 1U);  // the TU's 100 only
  EXPECT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  EXPECT_FALSE(h.layer().timerDeadlineForTest(h.lastId(), TimerName::TuGuard));
}

TEST(NonInviteServer, ProvisionalOtherThan100IsRefused) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  h.runUntil(5s);
  EXPECT_FALSE(h.respond(h.lastId(), r, 180, "Ringing"));
  EXPECT_EQ(h.net.sent.size(), 1U);  // only the layer's 100
  EXPECT_EQ(h.layer().stats().refusedProvisionals, 1U);
}

TEST(NonInviteServer, FinalResponse408IsNeverSent) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  EXPECT_FALSE(h.respond(h.lastId(), r, 408, "Request Timeout"));
  EXPECT_TRUE(h.net.sent.empty());
  EXPECT_EQ(h.layer().stats().refused408, 1U);
  EXPECT_TRUE(h.layer().serverTxnExists(h.lastId()));
}

TEST(NonInviteServer, SecondFinalResponseIsDiscarded) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  ASSERT_TRUE(h.respond(h.lastId(), r, 200, "OK"));
  EXPECT_FALSE(h.respond(h.lastId(), r, 500, "Server Internal Error"));
  EXPECT_EQ(h.net.sent.size(), 1U);
  EXPECT_EQ(h.layer().stats().lateResponses, 1U);
}

TEST(NonInviteServer, TuGuardEndsATransactionTheTuNeverAnswers) {
  Harness h;
  const Req r;
  h.injectRequest(r);
  const ServerTxnId id = h.lastId();
  h.runUntil(31999ms);
  EXPECT_TRUE(h.layer().serverTxnExists(id));
  h.runUntil(32s);
  EXPECT_FALSE(h.layer().serverTxnExists(id));
  EXPECT_EQ(h.layer().stats().tuGuardExpiries, 1U);
  EXPECT_FALSE(h.layer().nextDeadline());
  EXPECT_FALSE(h.respond(id, r, 200, "OK"));
  EXPECT_EQ(h.layer().stats().lateResponses, 1U);
  EXPECT_EQ(h.net.sent.size(), 1U);  // only the 100 at 3.5 s
}

TEST(NonInviteServer, TuMayRespondFromInsideOnRequest) {
  Harness h;
  const Req r;
  h.tu.hook = [&](ServerTxnId id, const sip::Message&) {
    EXPECT_TRUE(h.respond(id, r, 200, "OK"));
  };
  h.injectRequest(r);
  EXPECT_EQ(h.net.sent.size(), 1U);
  EXPECT_FALSE(h.layer().timerDeadlineForTest(h.lastId(), TimerName::Trying100));
  EXPECT_FALSE(h.layer().timerDeadlineForTest(h.lastId(), TimerName::TuGuard));
  EXPECT_TRUE(h.layer().timerDeadlineForTest(h.lastId(), TimerName::J));
}

TEST(NonInviteServer, RespondToAnUnknownIdIsDropped) {
  Harness h;
  EXPECT_FALSE(h.respond(12345, Req{}, 200, "OK"));
  EXPECT_TRUE(h.net.sent.empty());
}

TEST(NonInviteServer, IdsAreNeverReused) {
  Harness h;
  Req r;
  h.tu.hook = [&](ServerTxnId id, const sip::Message&) { h.respond(id, r, 200, "OK"); };
  r.viaTransport = "TCP";
  h.injectRequest(r, tcpPeer());
  const ServerTxnId first = h.lastId();
  h.injectRequest(r, tcpPeer());  // same key, the first one is gone: a new transaction
  EXPECT_EQ(h.tu.requests.size(), 2U);
  EXPECT_GT(h.lastId(), first);
}

}  // namespace
}  // namespace parley::txn::test
