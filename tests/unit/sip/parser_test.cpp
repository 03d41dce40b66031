#include "parley/sip/parser.hpp"

#include <gtest/gtest.h>

#include "parley/sip/serializer.hpp"
#include "test_util.hpp"

namespace parley::sip {
namespace {
using test::crlf;

const std::string kPublish = crlf(
    "PUBLISH sip:alice@sip.localhost SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776asdhds;rport\n"
    "Max-Forwards: 70\n"
    "To: <sip:alice@sip.localhost>\n"
    "From: \"Alice \\\"A\\\" Smith\" <sip:alice@sip.localhost>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.sip.localhost\n"
    "CSeq: 314159 PUBLISH\n"
    "Event: presence\n"
    "Expires: 3600\n"
    "Content-Type: application/pidf+xml\n"
    "Content-Length: 5\n"
    "\n"
    "<xml>");

TEST(Parser, ParsesRequestLineAndMandatoryHeaders) {
  auto m = Parser{}.parseDatagram(kPublish);
  ASSERT_TRUE(m) << describe(m.error().error);
  EXPECT_TRUE(m->isRequest());
  EXPECT_EQ(m->method(), Method::Publish);
  EXPECT_EQ(m->requestLine().uri.user, "alice");
  EXPECT_EQ(m->requestLine().uri.host, "sip.localhost");
  EXPECT_EQ(m->topVia().transport, "UDP");
  EXPECT_EQ(m->topVia().host, "192.0.2.4");
  EXPECT_EQ(m->topVia().port, 5060);
  EXPECT_EQ(m->topVia().branch, "z9hG4bK776asdhds");
  EXPECT_TRUE(m->topVia().hasRport);
  EXPECT_FALSE(m->topVia().rport.has_value());
  EXPECT_EQ(m->from().tag(), "1928301774");
  EXPECT_EQ(m->from().displayName, "Alice \\\"A\\\" Smith");
  EXPECT_EQ(m->to().tag(), "");
  EXPECT_EQ(m->callId(), "a84b4c76e66710@pc33.sip.localhost");
  EXPECT_EQ(m->cseq().number, 314159u);
  EXPECT_EQ(m->cseq().method, Method::Publish);
  EXPECT_EQ(m->maxForwards(), 70);
  EXPECT_EQ(m->header(HeaderId::Event), "presence");
  EXPECT_EQ(m->body(), "<xml>");
}

TEST(Parser, ParsesResponse) {
  auto m = Parser{}.parseDatagram(crlf(
      "SIP/2.0 200 OK\n"
      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKx\n"
      "To: <sip:a@b>;tag=x\nFrom: <sip:a@b>;tag=y\nCall-ID: c\nCSeq: 1 OPTIONS\n"
      "Content-Length: 0\n\n"));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->isResponse());
  EXPECT_EQ(m->statusCode(), 200);
  EXPECT_EQ(m->statusLine().reason, "OK");
  EXPECT_EQ(m->maxForwards(), -1);
}

TEST(Parser, HeaderNamesAreCaseInsensitiveAndCompactFormsUnderstood) {
  auto m = Parser{}.parseDatagram(crlf(
      "SUBSCRIBE sip:bob@sip.localhost SIP/2.0\n"
      "v: SIP/2.0/TCP host.example;branch=z9hG4bK1\n"
      "mAX-fORWARDS: 10\nt: sip:bob@sip.localhost\nf: sip:al@x;tag=9\ni: cid\n"
      "cseq: 2 SUBSCRIBE\no: presence;id=7\nu: presence, dialog\nl: 0\n\n"));
  ASSERT_TRUE(m) << describe(m.error().error);
  EXPECT_EQ(m->topVia().transport, "TCP");
  EXPECT_EQ(m->header(HeaderId::Event), "presence;id=7");
  EXPECT_EQ(m->header("Allow-Events"), "presence, dialog");
  EXPECT_EQ(m->list(HeaderId::AllowEvents).size(), 2u);
  EXPECT_EQ(m->to().uri.user, "bob");
  EXPECT_FALSE(m->to().angleBrackets);
}

TEST(Parser, UnfoldsContinuationLines) {
  auto m = Parser{}.parseDatagram(crlf(
      "OPTIONS sip:sip.localhost SIP/2.0\n"
      "Via: SIP/2.0/UDP h;branch=z9hG4bK2\n"
      "Max-Forwards: 70\nTo: <sip:sip.localhost>\nFrom: <sip:a@h>;tag=1\nCall-ID: c\n"
      "CSeq: 1 OPTIONS\n"
      "Subject: I know you're there,\n"
      "         pick up the phone\n"
      "\tand talk to me!\n"
      "Content-Length: 0\n\n"));
  ASSERT_TRUE(m);
  auto subject = m->header(HeaderId::Subject);
  ASSERT_TRUE(subject);
  EXPECT_EQ(subject->find('\r'), std::string_view::npos);
  EXPECT_EQ(subject->find('\n'), std::string_view::npos);
  EXPECT_NE(subject->find("pick up the phone"), std::string_view::npos);
}

TEST(Parser, CommaJoinedAndRepeatedViaRowsKeepOrder) {
  auto m = Parser{}.parseDatagram(crlf(
      "OPTIONS sip:sip.localhost SIP/2.0\n"
      "Via: SIP/2.0/UDP first.example;branch=z9hG4bKa, SIP/2.0/UDP second.example;branch=z9hG4bKb\n"
      "Via: SIP/2.0/UDP third.example;branch=z9hG4bKc\n"
      "Max-Forwards: 70\nTo: <sip:sip.localhost>\nFrom: <sip:a@h>;tag=1\nCall-ID: c\n"
      "CSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->topVia().host, "first.example");
  auto vias = m->list(HeaderId::Via);
  ASSERT_EQ(vias.size(), 3u);
  EXPECT_EQ(parseVia(vias[2])->host, "third.example");
}

TEST(Parser, ListSplitsOnlyListHeadersAndNeverAuthenticationRows) {
  auto m = Parser{}.parseDatagram(crlf(
      "OPTIONS sip:sip.localhost SIP/2.0\n"
      "Via: SIP/2.0/UDP h;branch=z9hG4bK2\nMax-Forwards: 70\nTo: <sip:sip.localhost>\n"
      "From: <sip:a@h>;tag=1\nCall-ID: c\nCSeq: 1 OPTIONS\n"
      "Authorization: Digest username=\"a\", realm=\"r\", nonce=\"n\"\n"
      "Supported: path, timer\nSupported: 100rel\nContent-Length: 0\n\n"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->list(HeaderId::Supported), (std::vector<std::string_view>{"path", "timer", "100rel"}));
  const auto auth = m->list(HeaderId::Authorization);
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_EQ(auth[0], R"(Digest username="a", realm="r", nonce="n")");
}

TEST(Parser, AcceptsLwsInsideViaProtocol) {
  auto v = parseVia("SIP / 2.0 / UDP [2001:db8::9:1]:5070 ; branch = z9hG4bKx ; rport=5071; received=192.0.2.1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->host, "[2001:db8::9:1]");
  EXPECT_EQ(v->port, 5070);
  EXPECT_EQ(v->branch, "z9hG4bKx");
  EXPECT_EQ(v->rport, 5071);
  EXPECT_EQ(v->received, "192.0.2.1");
}

TEST(Parser, SkipsKeepAliveCrlfsBeforeStartLine) {
  auto m = Parser{}.parseDatagram("\r\n\r\n" + kPublish);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->method(), Method::Publish);
}

TEST(Parser, DatagramWithoutContentLengthTakesRestAsBody) {
  std::string text = kPublish;
  text.replace(text.find("Content-Length: 5\r\n"), 19, "");
  auto m = Parser{}.parseDatagram(text);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body(), "<xml>");
}

TEST(Parser, DatagramDropsBytesBeyondContentLength) {
  auto m = Parser{}.parseDatagram(kPublish + "garbage");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body(), "<xml>");
}

TEST(Parser, BodyShorterThanContentLengthIsAnError) {
  std::string text = kPublish;
  text.replace(text.find("Content-Length: 5"), 17, "Content-Length: 9");
  auto m = Parser{}.parseDatagram(text);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().error, ParseError::BodyTooShort);
  EXPECT_TRUE(m.error().partial.has_value());
}

TEST(Parser, BodyMayContainNulAndCrlf) {
  std::string body("a\0b\r\n\r\nc", 8);
  std::string text = kPublish;
  text.replace(text.find("Content-Length: 5"), 17, "Content-Length: 8");
  text.replace(text.size() - 5, 5, body);
  auto m = Parser{}.parseDatagram(text);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body(), body);
}

struct ErrorCase {
  const char* name;
  std::string from;
  std::string to;
  ParseError expected;
};

class ParserRejects : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParserRejects, NamesTheDefect) {
  const auto& c = GetParam();
  std::string text = kPublish;
  const auto at = text.find(c.from);
  ASSERT_NE(at, std::string::npos) << c.from;
  text.replace(at, c.from.size(), c.to);
  auto m = Parser{}.parseDatagram(text);
  ASSERT_FALSE(m) << c.name;
  EXPECT_EQ(m.error().error, c.expected) << describe(m.error().error);
  EXPECT_FALSE(describe(m.error().error).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Defects, ParserRejects,
    ::testing::Values(
        ErrorCase{"NoVia", "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776asdhds;rport\r\n", "", ParseError::MissingVia},
        ErrorCase{"BadVia", "SIP/2.0/UDP 192.0.2.4", "SIP/2.0/UDP 192.0.2..4", ParseError::BadVia},
        ErrorCase{"NoFrom", "From: \"Alice", "X-From: \"Alice", ParseError::MissingFrom},
        ErrorCase{"NoTo", "To: <sip", "X-To: <sip", ParseError::MissingTo},
        ErrorCase{"BadTo", "To: <sip:alice@sip.localhost>", "To: <sip:alice@sip.localhost", ParseError::BadTo},
        ErrorCase{"NoCallId", "Call-ID:", "X-Call-ID:", ParseError::MissingCallId},
        ErrorCase{"NoCSeq", "CSeq: 314159 PUBLISH", "X: 1", ParseError::MissingCSeq},
        ErrorCase{"CSeqTooBig", "CSeq: 314159", "CSeq: 4294967296", ParseError::BadCSeq},
        ErrorCase{"CSeqMethod", "CSeq: 314159 PUBLISH", "CSeq: 314159 SUBSCRIBE", ParseError::CSeqMethodMismatch},
        ErrorCase{"UriHeaders", "PUBLISH sip:alice@sip.localhost", "PUBLISH sip:alice@sip.localhost?Subject=x", ParseError::BadRequestUri},
        ErrorCase{"MaxForwards300", "Max-Forwards: 70", "Max-Forwards: 300", ParseError::BadMaxForwards},
        ErrorCase{"TwoCallIds", "Event:", "Call-ID: other\r\nEvent:", ParseError::DuplicateHeader},
        ErrorCase{"NegativeLength", "Content-Length: 5", "Content-Length: -5", ParseError::BadContentLength},
        ErrorCase{"ConflictingLength", "Content-Length: 5", "Content-Length: 5\r\nl: 6", ParseError::ConflictingContentLength},
        ErrorCase{"Version", "SIP/2.0\r\nVia", "SIP/7.0\r\nVia", ParseError::BadVersion},
        ErrorCase{"UriSpaces", "sip:alice@sip.localhost SIP", "sip:alice@sip. localhost SIP", ParseError::BadStartLine},
        ErrorCase{"BadUri", "PUBLISH sip:alice@sip.localhost", "PUBLISH sip:alice@sip.local[host", ParseError::BadRequestUri},
        ErrorCase{"HeaderWithoutColon", "Event: presence", "Event presence", ParseError::BadHeaderLine},
        ErrorCase{"NulInHeader", "Event: presence", std::string("Event: pre\0ence", 15), ParseError::NulInHeaders},
        ErrorCase{"NoHeaderEnd", "\r\n\r\n<xml>", "\r\n", ParseError::NoHeaderEnd}),
    [](const ::testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

TEST(Parser, MissingMaxForwardsIsToleratedForRfc2543Peers) {
  std::string text = kPublish;
  text.replace(text.find("Max-Forwards: 70\r\n"), 18, "");
  auto m = Parser{}.parseDatagram(text);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->maxForwards(), -1);
}

TEST(Parser, ResponseCodeAbove699IsRejected) {
  auto m = Parser{}.parseDatagram(crlf(
      "SIP/2.0 700 Weird\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:a@b>\nFrom: <sip:a@b>;tag=1\n"
      "Call-ID: c\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().error, ParseError::BadStatusCode);
}

TEST(Parser, BadVersionKeepsPartialMessageFor505) {
  std::string text = kPublish;
  text.replace(text.find("SIP/2.0\r\n"), 7, "SIP/3.0");
  auto m = Parser{}.parseDatagram(text);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().error, ParseError::BadVersion);
  ASSERT_TRUE(m.error().partial);
  EXPECT_EQ(m.error().partial->topVia().branch, "z9hG4bK776asdhds");
}

TEST(Parser, EnforcesLimits) {
  ParseLimits small;
  small.maxMessageBytes = 100;
  EXPECT_EQ(Parser{small}.parseDatagram(kPublish).error().error, ParseError::TooLarge);
  ParseLimits fewHeaders;
  fewHeaders.maxHeaderCount = 5;
  EXPECT_EQ(Parser{fewHeaders}.parseDatagram(kPublish).error().error, ParseError::TooManyHeaders);
  ParseLimits shortLines;
  shortLines.maxLineBytes = 40;
  EXPECT_EQ(Parser{shortLines}.parseDatagram(kPublish).error().error, ParseError::LineTooLong);
}

TEST(Parser, FramedMessageRequiresContentLength) {
  std::string text = kPublish;
  text.replace(text.find("Content-Length: 5\r\n"), 19, "");
  auto m = Parser{}.parseFramed(text);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().error, ParseError::MissingContentLength);
}

TEST(Parser, MessageOutlivesInputBufferAndSurvivesMoves) {
  std::optional<Message> kept;
  {
    std::string transient = kPublish;
    auto m = Parser{}.parseDatagram(transient);
    ASSERT_TRUE(m);
    kept.emplace(std::move(*m));
    transient.assign(transient.size(), 'X');
  }
  Message moved = std::move(*kept);
  kept.reset();
  EXPECT_EQ(moved.callId(), "a84b4c76e66710@pc33.sip.localhost");
  EXPECT_EQ(moved.topVia().branch, "z9hG4bK776asdhds");
}

TEST(Serializer, RoundTripsAParsedMessage) {
  auto m = Parser{}.parseDatagram(kPublish);
  ASSERT_TRUE(m);
  const std::string wire = serialize(*m);
  EXPECT_EQ(wire, kPublish);
  auto again = Parser{}.parseDatagram(wire);
  ASSERT_TRUE(again);
  EXPECT_EQ(serialize(*again), wire);
}

TEST(Serializer, WritesLongNamesForCompactHeadersAndComputesContentLength) {
  auto m = Parser{}.parseDatagram(crlf(
      "OPTIONS sip:sip.localhost SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK2\nMax-Forwards: 70\n"
      "t: <sip:sip.localhost>\nf: <sip:a@h>;tag=1\ni: c\nCSeq: 1 OPTIONS\nX-Custom: keep Me\n\nhello"));
  ASSERT_TRUE(m);
  const std::string wire = serialize(*m);
  EXPECT_NE(wire.find("Via: SIP/2.0/UDP h;branch=z9hG4bK2\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Call-ID: c\r\n"), std::string::npos);
  EXPECT_NE(wire.find("X-Custom: keep Me\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Content-Length: 5\r\n\r\nhello"), std::string::npos);
}

TEST(Serializer, BuildsResponseFromScratch) {
  Message r = Message::response(405, "Method Not Allowed");
  r.addHeader(HeaderId::Via, "SIP/2.0/UDP h;branch=z9hG4bK2");
  r.addHeader(HeaderId::Allow, "OPTIONS, SUBSCRIBE");
  r.addHeader("X-Thing", "1");
  EXPECT_EQ(serialize(r),
            "SIP/2.0 405 Method Not Allowed\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\r\n"
            "Allow: OPTIONS, SUBSCRIBE\r\nX-Thing: 1\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace parley::sip
