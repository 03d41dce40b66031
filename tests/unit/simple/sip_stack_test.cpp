#include "parley/simple/sip_stack.hpp"

#include <gtest/gtest.h>


#include "parley/sip/parser.hpp"
#include "parley/sip/random.hpp"
#include "parley/sip/response.hpp"
#include "parley/sip/serializer.hpp"
#include "sip_test_support.hpp"
#include "torture_corpus.hpp"

namespace parley::simple {
namespace {
using namespace std::chrono_literals;

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

using FakeSink = test::RecordingSink;

class StackTest : public ::testing::Test {
 protected:
  StackTest() : stack_(options(), sink_) {}
  StackOptions options() {
    StackOptions o;
    o.clock = [this] { return now_; };
    o.domains = {"SIP.localhost"};
    o.localAddresses = {"127.0.0.1"};
    return o;
  }
  sip::Peer udpPeer() const { return {sip::Transport::Udp, "192.0.2.10", 5062, 0, 0}; }
  void receive(const std::string& bytes, const sip::Peer& from) { stack_.onDatagram(bytes, from, now_); }
  void receive(const std::string& bytes) { receive(bytes, udpPeer()); }
  sip::Message lastResponse() {
    EXPECT_FALSE(sink_.sent.empty());
    auto m = sip::Parser{}.parseDatagram(sink_.sent.back().bytes);
    EXPECT_TRUE(m) << sink_.sent.back().bytes;
    return std::move(*m);
  }
  static std::string request(std::string_view method, std::string_view ruri = "sip:alice@sip.localhost",
                             std::string_view extra = "", std::string_view branch = "z9hG4bKtest1") {
    return crlf(std::string(method) + " " + std::string(ruri) + " SIP/2.0\n" +
                "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=" + std::string(branch) + ";rport\n" +
                "Max-Forwards: 70\nTo: <sip:alice@sip.localhost>\nFrom: <sip:bob@sip.localhost>;tag=ft1\n"
                "Call-ID: call-1@192.0.2.10\nCSeq: 7 " + std::string(method) + "\n" + std::string(extra) +
                "Content-Length: 0\n\n");
  }

  TimePoint now_ = TimePoint{} + 1000s;  // declared first: the stack's clock reads it
  FakeSink sink_;
  SipStack stack_;
};

TEST_F(StackTest, OptionsGets200WithCapabilities) {
  receive(request("OPTIONS"));
  ASSERT_EQ(sink_.sent.size(), 1u);
  auto r = lastResponse();
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.header(sip::HeaderId::Allow), "OPTIONS, ACK, CANCEL");
  EXPECT_TRUE(r.header(sip::HeaderId::Accept));
  EXPECT_TRUE(r.header(sip::HeaderId::Supported));
  EXPECT_FALSE(r.to().tag().empty());
  EXPECT_EQ(r.from().tag(), "ft1");
  EXPECT_EQ(r.callId(), "call-1@192.0.2.10");
  EXPECT_EQ(r.cseq().number, 7u);
}

TEST_F(StackTest, ResponseGoesToSourcePortAndStampsReceivedAndRport) {
  sip::Peer from{sip::Transport::Udp, "198.51.100.7", 40000, 0, 0};
  receive(request("OPTIONS"), from);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to.address, "198.51.100.7");
  EXPECT_EQ(sink_.sent[0].to.port, 40000);
  auto r = lastResponse();
  EXPECT_EQ(r.topVia().rport, 40000);
  EXPECT_EQ(r.topVia().received, "198.51.100.7");
  EXPECT_EQ(r.topVia().branch, "z9hG4bKtest1");
}

TEST_F(StackTest, RetransmittedRequestGetsIdenticalResponse) {
  receive(request("OPTIONS"));
  receive(request("OPTIONS"));
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(sink_.sent[0].bytes, sink_.sent[1].bytes);
  EXPECT_EQ(stack_.stats().requestsByMethod[static_cast<std::size_t>(sip::Method::Options)], 1u);
}

TEST_F(StackTest, InviteGets405WithAllowAndAckIsAbsorbed) {
  receive(request("INVITE", "sip:alice@sip.localhost", "", "z9hG4bKinv"));
  ASSERT_EQ(sink_.sent.size(), 1u);
  auto r = lastResponse();
  EXPECT_EQ(r.statusCode(), 405);
  EXPECT_EQ(r.header(sip::HeaderId::Allow), "OPTIONS, ACK, CANCEL");
  // The ACK reuses the INVITE's branch and carries the 405's To-tag.
  std::string ack = crlf(
      "ACK sip:alice@sip.localhost SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv;rport\n"
      "Max-Forwards: 70\nTo: <sip:alice@sip.localhost>;tag=" + std::string(r.to().tag()) +
      "\nFrom: <sip:bob@sip.localhost>;tag=ft1\nCall-ID: call-1@192.0.2.10\nCSeq: 7 ACK\nContent-Length: 0\n\n");
  receive(ack);
  EXPECT_EQ(sink_.sent.size(), 1u) << "an ACK is never answered";
  EXPECT_EQ(stack_.transactionStats().acksAbsorbed, 1u);
  // No Timer G retransmission after the ACK.
  stack_.advance(now_ + 10s);
  EXPECT_EQ(sink_.sent.size(), 1u);
}

TEST_F(StackTest, Unacknowledged405IsRetransmittedOverUdpByTimerG) {
  receive(request("INVITE", "sip:alice@sip.localhost", "", "z9hG4bKinv2"));
  stack_.advance(now_ + 500ms);
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(sink_.sent[0].bytes, sink_.sent[1].bytes);
}

TEST_F(StackTest, StrayAckIsIgnored) {
  receive(request("ACK", "sip:alice@sip.localhost", "", "z9hG4bKstray"));
  EXPECT_TRUE(sink_.sent.empty());
}

TEST_F(StackTest, CancelWithoutTransactionGets481) {
  receive(request("CANCEL", "sip:alice@sip.localhost", "", "z9hG4bKnothing"));
  EXPECT_EQ(lastResponse().statusCode(), 481);
}

TEST_F(StackTest, CancelMatchingACompletedTransactionGets200) {
  receive(request("INVITE", "sip:alice@sip.localhost", "", "z9hG4bKc1"));
  receive(request("CANCEL", "sip:alice@sip.localhost", "", "z9hG4bKc1"));
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(lastResponse().statusCode(), 200);
  EXPECT_EQ(lastResponse().cseq().method, sip::Method::Cancel);
}

TEST_F(StackTest, UnknownMethodGets501WithAllow) {
  receive(request("FROB"));
  auto r = lastResponse();
  EXPECT_EQ(r.statusCode(), 501);
  EXPECT_TRUE(r.header(sip::HeaderId::Allow));
}

TEST_F(StackTest, MethodsWithoutAModuleGet501) {
  for (std::string_view m : {"PUBLISH", "SUBSCRIBE", "NOTIFY", "MESSAGE", "REGISTER"}) {
    receive(request(m, "sip:alice@sip.localhost", "", "z9hG4bK" + std::string(m)));
    EXPECT_EQ(lastResponse().statusCode(), 501) << m;
  }
}

TEST_F(StackTest, NonSipRequestUriGets416) {
  receive(request("OPTIONS", "tel:+15550100"));
  EXPECT_EQ(lastResponse().statusCode(), 416);
}

TEST_F(StackTest, ForeignDomainGets404AndExhaustedMaxForwards483) {
  receive(request("OPTIONS", "sip:carol@elsewhere.example"));
  EXPECT_EQ(lastResponse().statusCode(), 404);
  std::string zero = request("OPTIONS", "sip:carol@elsewhere.example", "", "z9hG4bKmf0");
  zero.replace(zero.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  receive(zero);
  EXPECT_EQ(lastResponse().statusCode(), 483);
}

TEST_F(StackTest, OptionsWithMaxForwardsZeroToUsIsAnswered) {
  std::string zero = request("OPTIONS");
  zero.replace(zero.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  receive(zero);
  EXPECT_EQ(lastResponse().statusCode(), 200);
}

TEST_F(StackTest, RequestUriNamingOurAddressIsOurs) {
  receive(request("OPTIONS", "sip:127.0.0.1:5060"));
  EXPECT_EQ(lastResponse().statusCode(), 200);
}

TEST_F(StackTest, UnknownRequireGets420WithUnsupported) {
  receive(request("OPTIONS", "sip:alice@sip.localhost", "Require: foo, bar\n"));
  auto r = lastResponse();
  EXPECT_EQ(r.statusCode(), 420);
  EXPECT_EQ(r.header(sip::HeaderId::Unsupported), "foo, bar");
}

TEST_F(StackTest, MergedRequestGets482) {
  receive(request("OPTIONS", "sip:alice@sip.localhost", "", "z9hG4bKfirst"));
  receive(request("OPTIONS", "sip:alice@sip.localhost", "", "z9hG4bKsecond"));
  EXPECT_EQ(lastResponse().statusCode(), 482);
}

TEST_F(StackTest, InDialogOptionsWithoutDialogGets481) {
  std::string r = request("OPTIONS");
  r.replace(r.find("To: <sip:alice@sip.localhost>"), 29, "To: <sip:alice@sip.localhost>;tag=nodialog");
  receive(r);
  EXPECT_EQ(lastResponse().statusCode(), 481);
}

TEST_F(StackTest, MalformedRequestGets400NamingTheDefect) {
  std::string r = request("OPTIONS");
  r.replace(r.find("CSeq: 7 OPTIONS"), 15, "CSeq: 7 NOTIFY");
  receive(r);
  auto resp = lastResponse();
  EXPECT_EQ(resp.statusCode(), 400);
  EXPECT_EQ(resp.statusLine().reason, "CSeq Method Does Not Match Request Method");
  EXPECT_EQ(stack_.stats().malformedAnswered, 1u);
}

TEST_F(StackTest, WrongSipVersionGets505) {
  std::string r = request("OPTIONS");
  r.replace(r.find("SIP/2.0\r\n"), 7, "SIP/3.0");
  receive(r);
  EXPECT_EQ(lastResponse().statusCode(), 505);
}

TEST_F(StackTest, GarbageIsDroppedAndCounted) {
  receive("\x01\x02garbage\r\n\r\n");
  receive("");
  receive(std::string(100, '\0'));
  EXPECT_TRUE(sink_.sent.empty());
  EXPECT_EQ(stack_.stats().malformedDropped, 3u);
  receive(request("OPTIONS"));
  EXPECT_EQ(lastResponse().statusCode(), 200);
}

TEST_F(StackTest, TcpFramingErrorGets400OnTheSameConnection) {
  sip::Peer tcp{sip::Transport::Tcp, "192.0.2.10", 40001, 42, 0};
  std::string headers = request("OPTIONS");
  headers.replace(headers.find("Content-Length: 0\r\n"), 19, "");
  stack_.onFramingError(sip::ParseError::MissingContentLength, headers, tcp, now_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to.connectionId, 42u);
  auto r = lastResponse();
  EXPECT_EQ(r.statusCode(), 400);
  EXPECT_EQ(r.statusLine().reason, "Missing Content-Length");
}

class RecordingHandler : public RequestHandler {
 public:
  void handle(ServerTransaction txn, sip::Message&& req) override {
    txn.respond(req, 202 == code ? 200 : code);
    handled.push_back(std::string(req.callId()));
  }
  int code = 200;
  std::vector<std::string> handled;
};

TEST_F(StackTest, RegisteredModuleReceivesItsMethodAndCapabilitiesFollow) {
  RecordingHandler h;
  stack_.registerMethod({sip::Method::Publish, &h, {"application/pidf+xml"}, {"presence"}});
  receive(request("PUBLISH", "sip:alice@sip.localhost", "", "z9hG4bKpub"));
  ASSERT_EQ(h.handled.size(), 1u);
  EXPECT_EQ(lastResponse().statusCode(), 200);
  receive(request("OPTIONS", "sip:alice@sip.localhost", "", "z9hG4bKopt2"));
  auto r = lastResponse();
  EXPECT_EQ(r.header(sip::HeaderId::Allow), "OPTIONS, ACK, CANCEL, PUBLISH");
  EXPECT_EQ(r.header(sip::HeaderId::Accept), "application/pidf+xml");
  EXPECT_EQ(r.header(sip::HeaderId::AllowEvents), "presence");
}

class DeferringHandler : public RequestHandler {
 public:
  void handle(ServerTransaction txn, sip::Message&& req) override {
    pending.emplace_back(std::move(txn), std::move(req));
  }
  std::vector<std::pair<ServerTransaction, sip::Message>> pending;
};

TEST_F(StackTest, DeferredAnswerCountsAsInFlightUntilTheFinalResponse) {
  DeferringHandler h;
  stack_.registerMethod({sip::Method::Message, &h, {"text/plain"}, {}});
  receive(request("MESSAGE", "sip:alice@sip.localhost", "", "z9hG4bKdefer"));
  ASSERT_EQ(h.pending.size(), 1u);
  EXPECT_TRUE(sink_.sent.empty());
  EXPECT_EQ(stack_.inFlight(), 1u);
  // A retransmission while the module works is absorbed, not handed over again.
  receive(request("MESSAGE", "sip:alice@sip.localhost", "", "z9hG4bKdefer"));
  EXPECT_EQ(h.pending.size(), 1u);
  auto& [txn, req] = h.pending.front();
  txn.respond(req, 200);
  EXPECT_EQ(stack_.inFlight(), 0u);
  ASSERT_EQ(sink_.sent.size(), 1u);
  auto r = lastResponse();
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.to().tag(), txn.toTag());
}

TEST_F(StackTest, SentRequestReportsItsFinalResponseOnce) {
  std::string notify = request("NOTIFY", "sip:bob@192.0.2.10:5062", "", "");
  notify.replace(notify.find("branch=;rport"), 13, "branch=" + sip::newBranch());
  auto parsed = sip::Parser{}.parseDatagram(notify);
  ASSERT_TRUE(parsed);
  std::vector<int> outcomes;
  auto id = stack_.sendRequest(std::move(*parsed), udpPeer(), [&](const sip::Message* r) {
    outcomes.push_back(r ? r->statusCode() : 408);
  });
  ASSERT_TRUE(id);
  EXPECT_EQ(stack_.inFlight(), 1u);
  ASSERT_EQ(sink_.sent.size(), 1u);
  // The peer answers 200: build it from what we sent.
  auto sent = sip::Parser{}.parseDatagram(sink_.sent[0].bytes);
  ASSERT_TRUE(sent);
  std::string ok = sip::serialize(sip::makeResponse(*sent, 200, {}, "peer-tag", nullptr));
  receive(ok);
  receive(ok);  // retransmitted 200: absorbed
  EXPECT_EQ(outcomes, std::vector<int>{200});
  EXPECT_EQ(stack_.inFlight(), 0u);
}

TEST_F(StackTest, SentRequestTimesOutWithTimerF) {
  std::string notify = request("NOTIFY", "sip:bob@192.0.2.10:5062", "", "");
  notify.replace(notify.find("branch=;rport"), 13, "branch=" + sip::newBranch());
  auto parsed = sip::Parser{}.parseDatagram(notify);
  ASSERT_TRUE(parsed);
  std::vector<int> outcomes;
  ASSERT_TRUE(stack_.sendRequest(std::move(*parsed), udpPeer(), [&](const sip::Message* r) {
    outcomes.push_back(r ? r->statusCode() : 408);
  }));
  // Step from deadline to deadline, as the Asio edge does.
  auto runUntil = [&](TimePoint until) {
    while (auto d = stack_.nextDeadline()) {
      if (*d > until) break;
      stack_.advance(*d);
    }
  };
  runUntil(now_ + 31s);
  EXPECT_TRUE(outcomes.empty());
  EXPECT_GT(sink_.sent.size(), 5u) << "Timer E retransmits over UDP";
  runUntil(now_ + 32s);
  EXPECT_EQ(outcomes, std::vector<int>{408});
  EXPECT_EQ(stack_.inFlight(), 0u);
}

TEST_F(StackTest, ModuleTimersFireOnceInDeadlineOrderAndCanBeCancelled) {
  std::vector<int> fired;
  stack_.setTimer(now_ + 3s, [&](TimePoint) { fired.push_back(3); });
  const auto cancelled = stack_.setTimer(now_ + 2s, [&](TimePoint) { fired.push_back(2); });
  stack_.setTimer(now_ + 1s, [&](TimePoint t) {
    fired.push_back(1);
    stack_.setTimer(t + 10s, [&](TimePoint) { fired.push_back(15); });  // t: the time advance() ran
  });
  EXPECT_TRUE(stack_.cancelTimer(cancelled));
  EXPECT_FALSE(stack_.cancelTimer(cancelled));
  EXPECT_EQ(stack_.nextDeadline(), now_ + 1s);
  stack_.advance(now_ + 5s);
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_EQ(stack_.nextDeadline(), now_ + 15s);
  stack_.advance(now_ + 15s);
  EXPECT_EQ(fired, (std::vector<int>{1, 3, 15}));
  EXPECT_EQ(stack_.moduleTimers(), 0u);
  EXPECT_FALSE(stack_.nextDeadline());
}

TEST_F(StackTest, NextDeadlineIsTheEarlierOfTransactionAndModuleTimers) {
  stack_.setTimer(now_ + 100s, [](TimePoint) {});
  receive(request("OPTIONS"));  // a UDP server transaction: Timer J at +32 s
  EXPECT_EQ(stack_.nextDeadline(), now_ + 32s);
}

// --- the torture corpus through the whole stack ------------------------------------

std::vector<test::TortureCase> answeredCases() {
  std::vector<test::TortureCase> out;
  for (auto& c : test::tortureCases())
    if (c.response != "any") out.push_back(c);
  return out;
}

class TortureThroughStack : public StackTest, public ::testing::WithParamInterface<test::TortureCase> {};

// Methods whose modules arrive with the presence agent (issue 3): until then the
// core answers them 501, before any check that module would make (§8.2.1 order).
bool methodWithoutModule(const std::string& bytes) {
  for (std::string_view m : {"PUBLISH ", "SUBSCRIBE ", "NOTIFY ", "MESSAGE ", "REGISTER "})
    if (bytes.rfind(m, 0) == 0) return true;
  return false;
}

TEST_P(TortureThroughStack, AnswersWhatTheManifestSays) {
  const test::TortureCase& c = GetParam();
  const std::string bytes = test::tortureBytes(c.file);
  receive(bytes);
  std::string expected = c.response;
  if (c.parser == "accept" && methodWithoutModule(bytes) && expected != "none") expected = "501";
  if (expected == "none") {
    EXPECT_TRUE(sink_.sent.empty()) << c.file << " was answered: " << sink_.sent.front().bytes;
    return;
  }
  ASSERT_EQ(sink_.sent.size(), 1u) << c.file;
  // Read the status line only: a 400 echoes the request's broken headers.
  const std::string& wire = sink_.sent[0].bytes;
  ASSERT_EQ(wire.rfind("SIP/2.0 ", 0), 0u) << wire;
  EXPECT_EQ(wire.substr(8, 3), expected) << c.file << "\n" << wire;
}

INSTANTIATE_TEST_SUITE_P(Corpus, TortureThroughStack, ::testing::ValuesIn(answeredCases()),
                         [](const ::testing::TestParamInfo<test::TortureCase>& i) {
                           return test::tortureTestName(i.param);
                         });

}  // namespace
}  // namespace parley::simple
