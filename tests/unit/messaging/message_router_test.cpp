#include "parley/messaging/message_router.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <utility>
#include <vector>

#include "parley/sip/parser.hpp"
#include "parley/sip/response.hpp"
#include "parley/sip/serializer.hpp"
#include "parley/storage/memory_list_store.hpp"
#include "sip_test_support.hpp"
#include "parley/storage/registration_store.hpp"

namespace parley::messaging {
namespace {
using namespace std::chrono_literals;

using test::Sent;
using Sink = test::RecordingSink;

const sip::Peer kPhone1{sip::Transport::Udp, "192.0.2.21", 5062, 0, 0};
const sip::Peer kPhone2{sip::Transport::Udp, "192.0.2.22", 5064, 0, 0};
const sip::Peer kSender{sip::Transport::Udp, "192.0.2.30", 5070, 0, 0};

class MessageRouterTest : public ::testing::Test {
 protected:
  MessageRouterTest()
      : stack_(stackOptions(), sink_), registrar_(registrarOptions(), store_),
        router_(Options{4096, 30s, [this](const sip::Peer&) { return sentBy_; }}, stack_, registrar_) {
    stack_.registerMethod(registrar_.registration());
    stack_.registerMethod(router_.registration());
  }
  simple::StackOptions stackOptions() {
    simple::StackOptions o;
    // xmpp.example: a bridged domain, which the core lets through for the
    // bridge; the literals: our own addresses, whose users we serve too.
    o.domains = {"sip.localhost", "xmpp.example"};
    o.localAddresses = {"127.0.0.1", "::1"};
    o.clock = [this] { return now_; };
    return o;
  }
  registrar::Options registrarOptions() {
    registrar::Options o;
    o.domains = {"sip.localhost"};
    o.wallClock = [] { return storage::WallTime{} + 1000000s; };
    return o;
  }
  void receive(const std::string& text, const sip::Peer& from) { stack_.onDatagram(text, from, now_); }
  void registerPhone(const sip::Peer& phone, std::string_view contact, int n, std::string_view extraRows = "") {
    receive("REGISTER sip:sip.localhost SIP/2.0\r\n" + std::string(extraRows) + "Via: SIP/2.0/UDP " + phone.address + ":" +
                std::to_string(phone.port) + ";branch=z9hG4bK-reg" + std::to_string(n) +
                "\r\nMax-Forwards: 70\r\nTo: <sip:alice@sip.localhost>\r\nFrom: <sip:alice@sip.localhost>;tag=r" +
                std::to_string(n) + "\r\nCall-ID: reg-" + std::to_string(n) + "\r\nCSeq: 1 REGISTER\r\nContact: <" +
                std::string(contact) + ">\r\nContent-Length: 0\r\n\r\n",
            phone);
    ASSERT_EQ(sink_.sent.back().bytes.substr(0, 11), "SIP/2.0 200");
    sink_.sent.clear();
  }
  std::string message(std::string_view body = "hello", std::string_view to = "sip:alice@sip.localhost") {
    return "MESSAGE " + std::string(to) + " SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bK-msg1;rport\r\nMax-Forwards: 70\r\n"
           "To: <" + std::string(to) + ">\r\nFrom: <sip:bob@sip.localhost>;tag=b1\r\nCall-ID: msg-1\r\n"
           "CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + std::string(body);
  }
  static sip::Message parse(const std::string& bytes) {
    auto m = sip::Parser{}.parseDatagram(bytes);
    EXPECT_TRUE(m) << bytes;
    return std::move(*m);
  }
  // A response from a phone to the forwarded request `forwarded`.
  void answer(const Sent& forwarded, int code, const sip::Peer& from) {
    auto req = parse(forwarded.bytes);
    receive(sip::serialize(sip::makeResponse(req, code, {}, "phone-tag", nullptr)), from);
  }

  // The forwarded request with its (random) branch replaced by "BRANCH".
  static std::string withoutBranch(std::string bytes) {
    const auto at = bytes.find(";branch=z9hG4bK") + 8;
    bytes.replace(at, bytes.find(';', at) - at, "BRANCH");
    return bytes;
  }
  // `request` as a new transaction (no retransmission, no merge): its own branch and Call-ID.
  static std::string renumbered(std::string request, char n) {
    request[request.find("z9hG4bK-msg1") + 11] = n;
    request[request.find("Call-ID: msg-1") + 13] = n;
    return request;
  }
  // A 200 from the phone to `forwarded` with `viaRows` as its Via rows.
  std::string ok(const std::string& viaRows, std::string_view body = "") {
    return "SIP/2.0 200 OK\r\n" + viaRows + "From: <sip:bob@sip.localhost>;tag=b1\r\n"
           "To: <sip:alice@sip.localhost>;tag=p\r\nCall-ID: msg-1\r\nCSeq: 1 MESSAGE\r\n"
           "X-Phone: kept\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  }

  std::string sentBy_ = "198.51.100.1:5060";
  txn::TimePoint now_ = txn::TimePoint{} + 1000s;
  Sink sink_;
  simple::SipStack stack_;
  storage::MemoryListStore<storage::Binding> store_;
  registrar::Registrar registrar_;
  MessageRouter router_;
  std::optional<MessageRouter> bridge_;

  // A router with `options` (and router_'s sent-by) in router_'s place for MESSAGE.
  MessageRouter& useRouter(Options options) {
    options.sentBy = [this](const sip::Peer&) { return sentBy_; };
    bridge_.emplace(std::move(options), stack_, registrar_);
    stack_.registerMethod(bridge_->registration());
    return *bridge_;
  }
};

TEST_F(MessageRouterTest, ForksToEveryBindingAndRelaysTheFirst2xx) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  registerPhone(kPhone2, "sip:alice@192.0.2.22:5064", 2);
  receive(message(), kSender);
  ASSERT_EQ(sink_.sent.size(), 2u);
  std::vector<Sent> branches = sink_.sent;
  for (const auto& b : branches) {
    auto fwd = parse(b.bytes);
    EXPECT_EQ(fwd.method(), sip::Method::Message);
    EXPECT_EQ(fwd.maxForwards(), 69);
    EXPECT_EQ(fwd.topVia().host, "198.51.100.1");
    EXPECT_EQ(fwd.list(sip::HeaderId::Via).size(), 2u);
    EXPECT_EQ(fwd.body(), "hello");
    EXPECT_EQ(std::string(fwd.requestLine().uriText),
              b.to == kPhone1 ? "sip:alice@192.0.2.21:5062" : "sip:alice@192.0.2.22:5064");
  }
  sink_.sent.clear();
  answer(branches[1], 200, branches[1].to);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to.address, "192.0.2.30");
  auto relayed = parse(sink_.sent[0].bytes);
  EXPECT_EQ(relayed.statusCode(), 200);
  EXPECT_EQ(relayed.list(sip::HeaderId::Via).size(), 1u);  // ours removed
  EXPECT_EQ(relayed.topVia().branch, "z9hG4bK-msg1");
  EXPECT_EQ(relayed.to().tag(), "phone-tag");
  // The slower branch's failure changes nothing.
  answer(branches[0], 486, branches[0].to);
  EXPECT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(router_.stats().delivered, 1u);
  EXPECT_EQ(stack_.inFlight(), 0u);
}

TEST_F(MessageRouterTest, RelaysA2xxWhoseViasShareOneRow) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(message(), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  auto fwd = parse(sink_.sent[0].bytes);
  const auto vias = fwd.list(sip::HeaderId::Via);
  ASSERT_EQ(vias.size(), 2u);
  // As sipp's [last_Via:] writes them: both elements in one row.
  std::string ok = "SIP/2.0 200 OK\r\nVia: " + std::string(vias[0]) + ", " + std::string(vias[1]) +
                   "\r\nFrom: <sip:bob@sip.localhost>;tag=b1\r\nTo: <sip:alice@sip.localhost>;tag=p\r\n"
                   "Call-ID: msg-1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
  sink_.sent.clear();
  receive(ok, kPhone1);
  ASSERT_EQ(sink_.sent.size(), 1u);
  auto relayed = parse(sink_.sent[0].bytes);
  EXPECT_EQ(relayed.statusCode(), 200);
  EXPECT_EQ(relayed.list(sip::HeaderId::Via).size(), 1u);
  EXPECT_EQ(relayed.topVia().branch, "z9hG4bK-msg1");
}

TEST_F(MessageRouterTest, NoBindingGets480) {
  receive(message(), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 480);
}

TEST_F(MessageRouterTest, OversizedBodyGets413) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(message(std::string(5000, 'x')), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 413);
}

TEST_F(MessageRouterTest, RequestUriWithoutUserGets404) {
  receive(message("hi", "sip:sip.localhost"), kSender);
  EXPECT_EQ(parse(sink_.sent.back().bytes).statusCode(), 404);
}

TEST_F(MessageRouterTest, AllBranchesFailingRelaysTheBestFinal) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  registerPhone(kPhone2, "sip:alice@192.0.2.22:5064", 2);
  receive(message(), kSender);
  std::vector<Sent> branches = sink_.sent;
  sink_.sent.clear();
  answer(branches[0], 486, branches[0].to);
  EXPECT_TRUE(sink_.sent.empty()) << "waits for the other branch";
  answer(branches[1], 404, branches[1].to);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 404);  // lowest 4xx
}

TEST_F(MessageRouterTest, SilentPhonesGive480NotA408) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(message(), kSender);
  // Step through Timer E retransmissions up to Timer F.
  const auto until = now_ + 33s;
  while (auto d = stack_.nextDeadline()) {
    if (*d > until) break;
    now_ = *d;
    stack_.advance(*d);
  }
  std::vector<int> toSender;
  for (const auto& s : sink_.sent)
    if (s.to == kSender) toSender.push_back(parse(s.bytes).statusCode());
  // 100 Trying at 3.5 s (RFC 4320), then 480 at the 30 s branch timeout: before
  // the sender's own Timer F, and never a 408.
  EXPECT_EQ(toSender, (std::vector<int>{100, 480}));
  EXPECT_EQ(router_.stats().unavailable, 1u);
  EXPECT_EQ(stack_.inFlight(), 0u);
}

TEST_F(MessageRouterTest, BranchCopiesTheCallersRowsAndBodyByteForByte) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062;transport=udp", 1);
  const std::string body = "line 1\r\nline 2\r\n\x01\xff end";  // CRLFs and raw bytes in the body
  std::string req = "MESSAGE sip:alice@sip.localhost SIP/2.0\r\n";
  test::appendRows(req,
                   "Via: SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bK-msg1;rport\n"
                   "Via: SIP/2.0/TCP 192.0.2.99;branch=z9hG4bK-ua , SIP/2.0/UDP 192.0.2.98;branch=z9hG4bK-ua2\n"
                   "Max-Forwards: 7\nTo: <sip:alice@sip.localhost>\nf: <sip:bob@sip.localhost>;tag=b1\n"
                   "Call-ID: msg-1\nCSeq: 1 MESSAGE\nX-Custom:  spaced value\nRoute: <sip:sip.localhost;lr>\n"
                   "Content-Type: text/plain;charset=UTF-8");
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  receive(req, kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to, kPhone1);
  std::string expected = "MESSAGE sip:alice@192.0.2.21:5062;transport=udp SIP/2.0\r\n";
  test::appendRows(expected,
                   "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=BRANCH;rport\n"
                   "Via: SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bK-msg1;rport\n"
                   "Via: SIP/2.0/TCP 192.0.2.99;branch=z9hG4bK-ua , SIP/2.0/UDP 192.0.2.98;branch=z9hG4bK-ua2\n"
                   "To: <sip:alice@sip.localhost>\nFrom: <sip:bob@sip.localhost>;tag=b1\n"
                   "Call-ID: msg-1\nCSeq: 1 MESSAGE\nX-Custom: spaced value\nRoute: <sip:sip.localhost;lr>\n"
                   "Content-Type: text/plain;charset=UTF-8\nMax-Forwards: 6");
  expected += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  EXPECT_EQ(withoutBranch(sink_.sent[0].bytes), expected);
  EXPECT_EQ(parse(sink_.sent[0].bytes).topVia().branch.substr(0, 7), "z9hG4bK");
}

TEST_F(MessageRouterTest, BindingPathBecomesRouteRowsAndTheNextHop) {
  // RFC 3327: the Path the REGISTER carried is the route to the phone; an edge
  // proxy named by an IP literal is where the branch goes.
  registerPhone(kPhone1, "sip:alice@10.0.0.5:5062", 1,
                "Path: <sip:192.0.2.50:5080;lr>, <sip:core.example;lr>\r\nPath: <sip:third.example;lr>\r\n");
  receive(message(), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to.address, "192.0.2.50");
  EXPECT_EQ(sink_.sent[0].to.port, 5080);
  std::string expected = "MESSAGE sip:alice@10.0.0.5:5062 SIP/2.0\r\n";
  test::appendRows(expected,
                   "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=BRANCH;rport\n"
                   "Route: <sip:192.0.2.50:5080;lr>\nRoute: <sip:core.example;lr>\nRoute: <sip:third.example;lr>\n"
                   "Via: SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bK-msg1;rport\n"
                   "To: <sip:alice@sip.localhost>\nFrom: <sip:bob@sip.localhost>;tag=b1\nCall-ID: msg-1\n"
                   "CSeq: 1 MESSAGE\nContent-Type: text/plain\nMax-Forwards: 69\nContent-Length: 5");
  expected += "\r\nhello";
  EXPECT_EQ(withoutBranch(sink_.sent[0].bytes), expected);
}

TEST_F(MessageRouterTest, RelayedResponseKeepsTheCallersViaRowsExactly) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  std::string req = message();
  const std::string callerVias =
      "Via: SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bK-msg1;rport\r\n"
      "Via: SIP/2.0/TCP 192.0.2.99;branch=z9hG4bK-ua ,SIP/2.0/UDP 192.0.2.98;branch=z9hG4bK-ua2\r\n";
  req.replace(req.find("Via: "), req.find("Max-Forwards") - req.find("Via: "), callerVias);
  receive(req, kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  auto fwd = parse(sink_.sent[0].bytes);
  const std::string ours(fwd.list(sip::HeaderId::Via).front());
  sink_.sent.clear();
  receive(ok("Via: " + ours + "\r\n" + callerVias, "thanks"), kPhone1);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to, kSender);
  const std::string expected =
      "SIP/2.0 200 OK\r\n" + callerVias +
      "From: <sip:bob@sip.localhost>;tag=b1\r\nTo: <sip:alice@sip.localhost>;tag=p\r\nCall-ID: msg-1\r\n"
      "CSeq: 1 MESSAGE\r\nX-Phone: kept\r\nContent-Length: 6\r\n\r\nthanks";
  EXPECT_EQ(sink_.sent[0].bytes, expected);
}

TEST_F(MessageRouterTest, RelayedResponseSplitsOurViaOffARowSippJoined) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(message(), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  const auto fwd = parse(sink_.sent[0].bytes);
  const auto vias = fwd.list(sip::HeaderId::Via);
  ASSERT_EQ(vias.size(), 2u);
  sink_.sent.clear();
  // All Via elements in one row, as sipp's [last_Via:] writes them, plus a later row.
  receive(ok("Via: " + std::string(vias[0]) + ",  " + std::string(vias[1]) + ", SIP/2.0/UDP 192.0.2.97\r\n"
             "Via: SIP/2.0/UDP 192.0.2.96\r\n"),
          kPhone1);
  ASSERT_EQ(sink_.sent.size(), 1u);
  const std::string& relayed = sink_.sent[0].bytes;
  EXPECT_NE(relayed.find("\r\nVia: " + std::string(vias[1]) + ", SIP/2.0/UDP 192.0.2.97\r\n"
                         "Via: SIP/2.0/UDP 192.0.2.96\r\nFrom: "),
            std::string::npos)
      << relayed;
  EXPECT_EQ(relayed.find("198.51.100.1"), std::string::npos) << "our Via is gone";
  EXPECT_EQ(parse(relayed).topVia().branch, "z9hG4bK-msg1");
}

TEST_F(MessageRouterTest, A2xxThatLostTheCallersViaGets502) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(message(), kSender);
  const std::string ours(parse(sink_.sent[0].bytes).list(sip::HeaderId::Via).front());
  sink_.sent.clear();
  receive(ok("Via: " + ours + "\r\n"), kPhone1);  // only our own Via: nothing to relay to
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 502);
  EXPECT_EQ(router_.stats().delivered, 0u);
}

TEST_F(MessageRouterTest, A2xxWithAMangledCallerViaGets502) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(message(), kSender);
  const std::string ours(parse(sink_.sent[0].bytes).list(sip::HeaderId::Via).front());
  sink_.sent.clear();
  receive(ok("Via: " + ours + "\r\nVia: SIP/3.0/UDP 192.0.2.30:5070;branch=z9hG4bK-msg1\r\n"), kPhone1);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 502);
}

TEST_F(MessageRouterTest, A2xxWithADifferentButValidCallerViaIsRelayed) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(message(), kSender);
  const std::string ours(parse(sink_.sent[0].bytes).list(sip::HeaderId::Via).front());
  sink_.sent.clear();
  receive(ok("Via: " + ours + "\r\nVia: SIP/2.0/UDP 192.0.2.30:5070;rport=5070;branch=z9hG4bK-msg1\r\n"), kPhone1);
  ASSERT_EQ(sink_.sent.size(), 1u);
  auto relayed = parse(sink_.sent[0].bytes);
  EXPECT_EQ(relayed.statusCode(), 200);
  EXPECT_EQ(relayed.topVia().rport, 5070);
}

TEST_F(MessageRouterTest, OurViaFollowsTheSentByAndAnUnusableOneForwardsNothing) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(message(), kSender);
  EXPECT_EQ(parse(sink_.sent.back().bytes).topVia().host, "198.51.100.1");
  sentBy_ = "[2001:db8::1]:5070";  // the listeners changed
  sink_.sent.clear();
  receive(renumbered(message("second"), '2'), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  auto fwd = parse(sink_.sent[0].bytes);
  EXPECT_EQ(fwd.topVia().host, "[2001:db8::1]");
  EXPECT_EQ(fwd.topVia().port, 5070);
  EXPECT_EQ(fwd.body(), "second");
  sentBy_ = "bad host:5060";  // not a sent-by: no branch can carry it
  sink_.sent.clear();
  receive(renumbered(message("third"), '3'), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to, kSender);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 480);
}

TEST_F(MessageRouterTest, AContactThatCannotBeARequestUriIsSkipped) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062?Subject=hi", 1);  // ?headers: not in a Request-URI
  registerPhone(kPhone2, "sip:alice@192.0.2.22:5064", 2);
  receive(message(), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to, kPhone2);
}

// --- foreign domains (the XMPP bridge) -------------------------------------------

struct ForeignCalls {
  std::vector<std::pair<simple::ServerTransaction, sip::Message>> calls;
  Options options(std::vector<std::string> domains = {"sip.localhost"}) {
    Options o;
    o.maxBodyBytes = 4096;
    o.domains = std::move(domains);
    o.foreign = [this](simple::ServerTransaction txn, sip::Message&& req) { calls.emplace_back(std::move(txn), std::move(req)); };
    return o;
  }
};

TEST_F(MessageRouterTest, AForeignMessageGoesToTheHandlerUntouched) {
  ForeignCalls foreign;
  useRouter(foreign.options());
  receive(message("hi juliet", "sip:juliet@xmpp.example"), kSender);
  ASSERT_EQ(foreign.calls.size(), 1u);
  EXPECT_TRUE(sink_.sent.empty()) << "the handler answers";
  const sip::Message& req = foreign.calls[0].second;
  EXPECT_EQ(req.requestLine().uriText, "sip:juliet@xmpp.example");
  EXPECT_EQ(req.body(), "hi juliet");
  EXPECT_EQ(req.maxForwards(), 70);
  EXPECT_EQ(req.topVia().branch, "z9hG4bK-msg1");
  EXPECT_EQ(req.from().tag(), "b1");
  foreign.calls[0].first.respond(req, 202);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to, kSender);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 202);
  EXPECT_EQ(bridge_->stats().forwarded, 0u);
  EXPECT_EQ(stack_.inFlight(), 0u);
}

TEST_F(MessageRouterTest, ForeignHostsCompareCaseInsensitively) {
  ForeignCalls foreign;
  useRouter(foreign.options());
  receive(message("hi", "sip:juliet@XMPP.Example"), kSender);
  EXPECT_EQ(foreign.calls.size(), 1u);
  receive(renumbered(message("hi", "sip:alice@SIP.Localhost"), '2'), kSender);
  EXPECT_EQ(foreign.calls.size(), 1u) << "a served domain in capitals is still ours";
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 480);
}

TEST_F(MessageRouterTest, AForeignMessageStillGets413And483) {
  ForeignCalls foreign;
  useRouter(foreign.options());
  receive(message(std::string(5000, 'x'), "sip:juliet@xmpp.example"), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 413);
  std::string req = renumbered(message("hi", "sip:juliet@xmpp.example"), '2');
  req.replace(req.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  receive(req, kSender);
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(parse(sink_.sent[1].bytes).statusCode(), 483);
  EXPECT_TRUE(foreign.calls.empty());
}

TEST_F(MessageRouterTest, IpLiteralsAndServedDomainsAreNotForeign) {
  ForeignCalls foreign;
  MessageRouter& router = useRouter(foreign.options());
  receive(message("hi", "sip:alice@127.0.0.1"), kSender);
  receive(renumbered(message("hi", "sip:alice@[::1]"), '2'), kSender);
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 480);  // routed: a user of ours without a binding
  EXPECT_EQ(parse(sink_.sent[1].bytes).statusCode(), 480);
  sink_.sent.clear();
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  receive(renumbered(message(), '3'), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to, kPhone1);
  EXPECT_EQ(router.stats().forwarded, 1u);
  EXPECT_TRUE(foreign.calls.empty());
}

TEST_F(MessageRouterTest, WithoutDomainsNothingIsForeign) {
  ForeignCalls foreign;
  useRouter(foreign.options({}));
  receive(message("hi", "sip:juliet@xmpp.example"), kSender);
  EXPECT_TRUE(foreign.calls.empty());
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 480);  // routed as before: no binding
}

TEST_F(MessageRouterTest, AForeignMessageWithoutAHandlerGets404) {
  Options o;
  o.domains = {"sip.localhost"};
  useRouter(std::move(o));
  receive(message("hi", "sip:juliet@xmpp.example"), kSender);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(parse(sink_.sent[0].bytes).statusCode(), 404);
}

// --- originate (the bridge as UAC) --------------------------------------------------

struct Outcome {
  std::vector<std::pair<int, std::string>> calls;
  MessageRouter::OriginateDone callback() {
    return [this](int code, std::string_view reason) { calls.emplace_back(code, std::string(reason)); };
  }
};

MessageRouter::Outgoing outgoing() {
  MessageRouter::Outgoing m;
  m.from = "sip:juliet@xmpp.example;gr=balcony";
  m.fromDisplay = "Juliet \"J\" Capulet";
  m.to = "sip:alice@sip.localhost";
  m.callId = "thread-42@xmpp.example";
  m.cseq = 7;
  m.body = "wherefore art thou";
  m.headers = {{sip::HeaderId::Subject, "balcony"}, {sip::HeaderId::ContentLanguage, "en"}};
  return m;
}

TEST_F(MessageRouterTest, OriginateWithoutABindingReports480AtOnce) {
  Outcome outcome;
  router_.originate(outgoing(), outcome.callback());
  EXPECT_EQ(outcome.calls, (std::vector<std::pair<int, std::string>>{{480, "Temporarily Unavailable"}}));
  EXPECT_TRUE(sink_.sent.empty());
  EXPECT_EQ(router_.stats().unavailable, 1u);
}

TEST_F(MessageRouterTest, OriginateBuildsTheRequestOfRfc3261Section811) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  Outcome outcome;
  router_.originate(outgoing(), outcome.callback());
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].to, kPhone1);
  auto req = parse(sink_.sent[0].bytes);
  EXPECT_EQ(req.requestLine().uriText, "sip:alice@192.0.2.21:5062");
  EXPECT_EQ(req.method(), sip::Method::Message);
  EXPECT_EQ(req.list(sip::HeaderId::Via).size(), 1u) << "we are the UAC: our Via alone";
  EXPECT_EQ(req.topVia().host, "198.51.100.1");
  EXPECT_EQ(req.maxForwards(), 70);
  EXPECT_EQ(req.header(sip::HeaderId::To), "<sip:alice@sip.localhost>");
  EXPECT_TRUE(req.to().tag().empty());
  EXPECT_EQ(req.from().displayName, R"(Juliet \"J\" Capulet)");
  EXPECT_EQ(req.from().uriText, "sip:juliet@xmpp.example;gr=balcony");
  EXPECT_EQ(req.from().tag().size(), 16u);
  EXPECT_EQ(req.callId(), "thread-42@xmpp.example");
  EXPECT_EQ(req.cseq().number, 7u);
  EXPECT_EQ(req.cseq().method, sip::Method::Message);
  EXPECT_EQ(req.header(sip::HeaderId::ContentType), "text/plain;charset=UTF-8");
  EXPECT_EQ(req.header(sip::HeaderId::Subject), "balcony");
  EXPECT_EQ(req.header(sip::HeaderId::ContentLanguage), "en");
  EXPECT_FALSE(req.header(sip::HeaderId::Contact)) << "MESSAGE makes no dialog";
  EXPECT_EQ(req.body(), "wherefore art thou");
  EXPECT_TRUE(outcome.calls.empty());
}

TEST_F(MessageRouterTest, BuildRequestAndItsEstimatedSize) {
  auto built = MessageRouter::buildRequest(outgoing());
  ASSERT_TRUE(built);
  EXPECT_EQ(built->requestLine().uriText, "sip:alice@sip.localhost");
  EXPECT_EQ(built->header(sip::HeaderId::MaxForwards), "70");
  EXPECT_EQ(built->count(sip::HeaderId::Via), 0u);
  EXPECT_EQ(built->callId(), "thread-42@xmpp.example");
  EXPECT_EQ(built->cseq().number, 7u);
  EXPECT_EQ(built->to().uriText, "sip:alice@sip.localhost");
  EXPECT_EQ(built->from().uriText, "sip:juliet@xmpp.example;gr=balcony");
  const std::size_t size = MessageRouter::estimatedSize(outgoing());
  EXPECT_EQ(size, sip::serialize(*built).size());
  // Exact: the branch on the wire is that plus our Via row.
  registerPhone(kPhone1, "sip:alice@sip.localhost", 1);
  router_.originate(outgoing(), [](int, std::string_view) {});
  ASSERT_EQ(sink_.sent.size(), 1u);
  const std::string via(parse(sink_.sent[0].bytes).header(sip::HeaderId::Via).value_or(""));
  EXPECT_EQ(sink_.sent[0].bytes.size(), size + via.size() + 7);  // "Via: " ... CRLF
}

TEST_F(MessageRouterTest, OriginateMakesAFreshCallIdWhenNoneIsGiven) {
  auto m = outgoing();
  m.callId.clear();
  auto a = MessageRouter::buildRequest(m);
  auto b = MessageRouter::buildRequest(m);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->callId().size(), 32u);
  EXPECT_NE(a->callId(), b->callId());
  EXPECT_NE(a->from().tag(), b->from().tag());
}

TEST_F(MessageRouterTest, OriginateForksAndTheFirst2xxIsReportedOnce) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  registerPhone(kPhone2, "sip:alice@192.0.2.22:5064", 2);
  Outcome outcome;
  router_.originate(outgoing(), outcome.callback());
  ASSERT_EQ(sink_.sent.size(), 2u);
  std::vector<Sent> branches = sink_.sent;
  sink_.sent.clear();
  answer(branches[1], 202, branches[1].to);
  EXPECT_EQ(outcome.calls, (std::vector<std::pair<int, std::string>>{{202, "Accepted"}}));
  answer(branches[0], 200, branches[0].to);  // a second 2xx is absorbed
  EXPECT_EQ(outcome.calls.size(), 1u);
  EXPECT_TRUE(sink_.sent.empty()) << "nothing to relay to";
  EXPECT_EQ(router_.stats().forwarded, 2u);
  EXPECT_EQ(router_.stats().delivered, 1u);
  EXPECT_EQ(stack_.inFlight(), 0u);
  // The timer was cancelled: stepping past the branch timeout reports nothing more.
  now_ += 40s;
  stack_.advance(now_);
  EXPECT_EQ(outcome.calls.size(), 1u);
}

TEST_F(MessageRouterTest, OriginateReportsTheBestFinalResponse) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  registerPhone(kPhone2, "sip:alice@192.0.2.22:5064", 2);
  Outcome outcome;
  router_.originate(outgoing(), outcome.callback());
  std::vector<Sent> branches = sink_.sent;
  answer(branches[0], 486, branches[0].to);
  EXPECT_TRUE(outcome.calls.empty()) << "waits for the other branch";
  answer(branches[1], 415, branches[1].to);
  EXPECT_EQ(outcome.calls, (std::vector<std::pair<int, std::string>>{{415, "Unsupported Media Type"}}));
  EXPECT_EQ(router_.stats().delivered, 0u);
}

TEST_F(MessageRouterTest, OriginateToSilentPhonesReports480AtTheBranchTimeout) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  Outcome outcome;
  router_.originate(outgoing(), outcome.callback());
  const auto until = now_ + 40s;
  while (auto d = stack_.nextDeadline()) {
    if (*d > until) break;
    now_ = *d;
    stack_.advance(*d);
  }
  EXPECT_EQ(outcome.calls, (std::vector<std::pair<int, std::string>>{{480, "Temporarily Unavailable"}}));
  EXPECT_EQ(stack_.inFlight(), 0u);
}

TEST_F(MessageRouterTest, OriginateRefusesWhatCannotMakeARequest) {
  registerPhone(kPhone1, "sip:alice@192.0.2.21:5062", 1);
  auto check = [&](MessageRouter::Outgoing m, int code) {
    Outcome outcome;
    router_.originate(std::move(m), outcome.callback());
    ASSERT_EQ(outcome.calls.size(), 1u);
    EXPECT_EQ(outcome.calls[0].first, code);
  };
  auto m = outgoing();
  m.from = "sip:juliet@xmpp.example>;x=<sip:evil@x";
  check(m, 400);
  m = outgoing();
  m.to = "not a uri";
  check(m, 400);
  m = outgoing();
  m.callId = "two words";
  check(m, 400);
  m = outgoing();
  m.headers.emplace_back(sip::HeaderId::Subject, "hi\r\nVia: SIP/2.0/UDP evil");
  check(m, 400);
  m = outgoing();
  m.headers.emplace_back(sip::HeaderId::CallId, "second");
  check(m, 400);
  m = outgoing();
  m.cseq = 1u << 31;
  check(m, 400);
  m = outgoing();
  m.to = "sip:sip.localhost";  // no user: no AOR
  check(m, 404);
  m = outgoing();
  m.body.assign(5000, 'x');
  check(m, 413);
  EXPECT_TRUE(sink_.sent.empty());
  // A display name with quotes, a backslash and a line break stays one quoted-string.
  m = outgoing();
  m.fromDisplay = "a\"b\\c\r\nVia: x";
  auto built = MessageRouter::buildRequest(m);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->from().displayName, R"(a\"b\\c  Via: x)");
}

}  // namespace
}  // namespace parley::messaging
