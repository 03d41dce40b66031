// Non-INVITE client transactions (RFC 3261 §17.1.2) for the requests we send.
#include <gtest/gtest.h>

#include "txn_harness.hpp"

namespace parley::txn::test {
namespace {

using Ms = std::chrono::milliseconds;

Req notify() {
  Req r;
  r.method = "NOTIFY";
  r.branch = "z9hG4bK-out1";
  r.viaHost = "203.0.113.5";
  r.toTag = "sub-tag";
  return r;
}

ClientTxnId send(Harness& h, const Req& r, const sip::Peer& to = udpPeer()) {
  auto id = h.layer().sendRequest(parse(requestText(r)), to, h.now());
  EXPECT_TRUE(id.has_value());
  return id.value_or(kNoTransaction);
}

TEST(NonInviteClient, TimerERetransmitsAtDoublingIntervalsCappedAtT2ThenTimerFTimesOut) {
  Harness h;
  const ClientTxnId id = send(h, notify());
  h.runUntil(40s);
  EXPECT_EQ(h.sendTimes(), (std::vector<Ms>{0ms, 500ms, 1500ms, 3500ms, 7500ms, 11500ms, 15500ms,
                                            19500ms, 23500ms, 27500ms, 31500ms}));
  for (const auto& s : h.net.sent) {
    EXPECT_EQ(s.bytes, h.net.sent[0].bytes);  // the same bytes every time
    EXPECT_EQ(s.to, udpPeer());
  }
  ASSERT_EQ(h.tu.timeouts, (std::vector<ClientTxnId>{id}));
  EXPECT_EQ(h.tu.timeoutTimes[0], h.t0 + 32s);
  EXPECT_FALSE(h.layer().clientTxnExists(id));
  EXPECT_EQ(h.layer().stats().clientTimeouts, 1U);
  EXPECT_FALSE(h.layer().nextDeadline());
}

TEST(NonInviteClient, ProvisionalMakesTimerET2) {
  Harness h;
  const Req r = notify();
  const ClientTxnId id = send(h, r);
  h.runUntil(1s);  // retransmitted at 0.5 s; E due at 1.5 s
  h.injectResponse(responseText(r, 100, "Trying", ""));
  ASSERT_EQ(h.tu.responses.size(), 1U);
  EXPECT_EQ(h.tu.responses[0], std::make_pair(id, 100));
  h.runUntil(40s);
  EXPECT_EQ(h.sendTimes(), (std::vector<Ms>{0ms, 500ms, 1500ms, 5500ms, 9500ms, 13500ms, 17500ms,
                                            21500ms, 25500ms, 29500ms}));
  EXPECT_EQ(h.tu.timeouts.size(), 1U);
}

TEST(NonInviteClient, FinalResponseIsPassedUpOnceAndTimerKAbsorbsRetransmissions) {
  Harness h;
  const Req r = notify();
  const ClientTxnId id = send(h, r);
  h.runUntil(600ms);
  h.injectResponse(responseText(r, 200, "OK"));
  EXPECT_EQ(h.tu.responses, (std::vector<std::pair<ClientTxnId, int>>{{id, 200}}));
  EXPECT_EQ(h.layer().timerDeadlineForTest(id, TimerName::K), h.t0 + 5600ms);
  h.injectResponse(responseText(r, 200, "OK"));
  h.runUntil(3s);
  h.injectResponse(responseText(r, 200, "OK"));
  EXPECT_EQ(h.tu.responses.size(), 1U);
  EXPECT_EQ(h.layer().stats().responseRetransmissions, 2U);
  EXPECT_EQ(h.sendTimes(), (std::vector<Ms>{0ms, 500ms}));  // no E after the final
  h.runUntil(5599ms);
  EXPECT_TRUE(h.layer().clientTxnExists(id));
  h.runUntil(5600ms);
  EXPECT_FALSE(h.layer().clientTxnExists(id));
  EXPECT_TRUE(h.tu.timeouts.empty());
  // After K, a late retransmission matches nothing.
  h.injectResponse(responseText(r, 200, "OK"));
  EXPECT_EQ(h.tu.strayResponses.size(), 1U);
}

TEST(NonInviteClient, OverTcpNoRetransmissionsAndTimerKIsZero) {
  Harness h;
  Req r = notify();
  r.viaTransport = "TCP";
  const ClientTxnId id = send(h, r, tcpPeer());
  EXPECT_FALSE(h.layer().timerDeadlineForTest(id, TimerName::E));
  h.runUntil(10s);
  EXPECT_EQ(h.net.sent.size(), 1U);
  h.injectResponse(responseText(r, 202, "Accepted"), tcpPeer());
  EXPECT_EQ(h.tu.responses, (std::vector<std::pair<ClientTxnId, int>>{{id, 202}}));
  EXPECT_FALSE(h.layer().clientTxnExists(id));
}

TEST(NonInviteClient, OverTcpTimerFStillTimesOut) {
  Harness h;
  Req r = notify();
  r.viaTransport = "TCP";
  const ClientTxnId id = send(h, r, tcpPeer());
  h.runUntil(31999ms);
  EXPECT_TRUE(h.tu.timeouts.empty());
  h.runUntil(32s);
  EXPECT_EQ(h.tu.timeouts, (std::vector<ClientTxnId>{id}));
  EXPECT_EQ(h.net.sent.size(), 1U);
}

TEST(NonInviteClient, ResponseMatchesByBranchAndCSeqMethod) {
  Harness h;
  const Req r = notify();
  send(h, r);
  Req otherMethod = r;
  otherMethod.method = "SUBSCRIBE";
  h.injectResponse(responseText(otherMethod, 200, "OK"));
  Req otherBranch = r;
  otherBranch.branch = "z9hG4bK-other";
  h.injectResponse(responseText(otherBranch, 200, "OK"));
  EXPECT_TRUE(h.tu.responses.empty());
  EXPECT_EQ(h.tu.strayResponses.size(), 2U);
  EXPECT_EQ(h.layer().stats().strayResponses, 2U);
}

TEST(NonInviteClient, TransportErrorReportsATimeoutAndEndsTheTransaction) {
  Harness h;
  const ClientTxnId id = send(h, notify());
  h.layer().transportError(id, h.now());
  EXPECT_EQ(h.tu.timeouts, (std::vector<ClientTxnId>{id}));
  EXPECT_FALSE(h.layer().clientTxnExists(id));
  EXPECT_FALSE(h.layer().nextDeadline());
  EXPECT_EQ(h.layer().stats().transportErrors, 1U);
}

TEST(NonInviteClient, TransportErrorAfterTheFinalIsSilent) {
  Harness h;
  const Req r = notify();
  const ClientTxnId id = send(h, r);
  h.injectResponse(responseText(r, 200, "OK"));
  h.layer().transportError(id, h.now());
  EXPECT_TRUE(h.tu.timeouts.empty());
  EXPECT_FALSE(h.layer().clientTxnExists(id));
}

TEST(NonInviteClient, RefusesInviteAndAck) {
  Harness h;
  Req r = notify();
  r.method = "INVITE";
  auto sent = h.layer().sendRequest(parse(requestText(r)), udpPeer(), h.now());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error(), ClientError::UnsupportedMethod);
  EXPECT_TRUE(h.net.sent.empty());
}

TEST(NonInviteClient, RefusesABranchWithoutTheMagicCookie) {
  Harness h;
  Req r = notify();
  r.branch = "legacy-1";
  auto sent = h.layer().sendRequest(parse(requestText(r)), udpPeer(), h.now());
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error(), ClientError::BadBranch);
}

TEST(NonInviteClient, RefusesADuplicateBranch) {
  Harness h;
  send(h, notify());
  auto again = h.layer().sendRequest(parse(requestText(notify())), udpPeer(), h.now());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), ClientError::DuplicateBranch);
}

TEST(NonInviteClient, RefusesPastTheTransactionLimit) {
  Harness h(TimerConfig{}, 2);
  Req r = notify();
  send(h, r);
  r.branch = "z9hG4bK-out2";
  send(h, r);
  r.branch = "z9hG4bK-out3";
  auto third = h.layer().sendRequest(parse(requestText(r)), udpPeer(), h.now());
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), ClientError::Overloaded);
  EXPECT_EQ(h.layer().stats().clientTransactions, 2U);
}

TEST(NonInviteClient, TuMaySendANewRequestFromOnClientTimeout) {
  struct RetryingTu final : TransactionUser {
    TransactionLayer* layer = nullptr;
    TimePoint* now = nullptr;
    int retries = 0;
    void onRequest(ServerTxnId, sip::Message&&, const sip::Peer&, const RequestContext&) override {}
    void onResponse(ClientTxnId, sip::Message&&) override {}
    void onClientTimeout(ClientTxnId) override {
      Req r = notify();
      r.branch = "z9hG4bK-retry" + std::to_string(++retries);
      EXPECT_TRUE(layer->sendRequest(parse(requestText(r)), udpPeer(), *now));
    }
  } tu;
  struct NullSink final : TransportSink {
    void transmit(const sip::Peer&, std::string_view) override {}
  } sink;
  TimePoint now{};
  TransactionLayer layer(TransactionLayer::Options{}, tu, sink);
  tu.layer = &layer;
  tu.now = &now;
  ASSERT_TRUE(layer.sendRequest(parse(requestText(notify())), udpPeer(), now));
  now += 32s;
  layer.advance(now);
  EXPECT_EQ(tu.retries, 1);
  EXPECT_EQ(layer.stats().clientTransactions, 1U);
  EXPECT_EQ(layer.nextDeadline(), now + 500ms);
}

}  // namespace
}  // namespace parley::txn::test
