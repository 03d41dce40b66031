#include "parley/messaging/message_router.hpp"

#include <gtest/gtest.h>

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
    o.domains = {"sip.localhost"};
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

}  // namespace
}  // namespace parley::messaging
