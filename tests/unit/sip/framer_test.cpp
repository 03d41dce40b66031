#include <gtest/gtest.h>

#include "parley/sip/parser.hpp"
#include "test_util.hpp"

namespace parley::sip {
namespace {
using test::crlf;

std::string message(std::string_view callId, std::string_view body) {
  return crlf("MESSAGE sip:bob@sip.localhost SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\n"
              "Max-Forwards: 70\nTo: <sip:bob@sip.localhost>\nFrom: <sip:a@h>;tag=1\nCall-ID: ") +
         std::string(callId) + crlf("\nCSeq: 1 MESSAGE\nContent-Type: text/plain\nl: ") +
         std::to_string(body.size()) + crlf("\n\n") + std::string(body);
}

std::vector<std::string> drain(StreamFramer& f) {
  std::vector<std::string> out;
  std::string m;
  while (f.next(m) == StreamFramer::Status::Message) out.push_back(m);
  return out;
}

TEST(StreamFramer, SplitsTwoMessagesInOneChunk) {
  const std::string a = message("a", "hello"), b = message("b", "");
  StreamFramer f;
  f.feed("\r\n\r\n" + a + "\r\n" + b);  // keep-alives between messages
  auto got = drain(f);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(StreamFramer, CountsDoubleCrlfKeepAlivePingsHoweverChunked) {
  const std::string stream = "\r\n\r\n" + message("a", "x") + "\r\n\r\n\r\n\r\n" + message("b", "") + "\r\n";
  for (std::size_t chunk : {stream.size(), std::size_t{1}, std::size_t{3}}) {
    StreamFramer f;
    std::size_t pings = 0, messages = 0;
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
      f.feed(std::string_view(stream).substr(i, chunk));
      messages += drain(f).size();
      pings += f.takeKeepAlivePings();
    }
    EXPECT_EQ(messages, 2u) << "chunk " << chunk;
    EXPECT_EQ(pings, 3u) << "chunk " << chunk;  // a lone trailing CRLF is no ping
  }
}

TEST(StreamFramer, ReassemblesMessagesFedOneByteAtATime) {
  const std::string body("bin\0ary\r\n\r\nbody", 16);
  const std::string stream = message("a", body) + message("b", "x");
  StreamFramer f;
  std::vector<std::string> got;
  for (char c : stream) {
    f.feed(std::string_view(&c, 1));
    for (auto& m : drain(f)) got.push_back(m);
  }
  ASSERT_EQ(got.size(), 2u);
  auto parsed = Parser{}.parseFramed(got[0]);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->body(), body);
  EXPECT_EQ(Parser{}.parseFramed(got[1])->body(), "x");
}

TEST(StreamFramer, MissingContentLengthLosesFramingAndKeepsHeadersFor400) {
  std::string m = message("a", "");
  m.replace(m.find("l: 0\r\n"), 6, "");
  StreamFramer f;
  f.feed(m);
  std::string out;
  EXPECT_EQ(f.next(out), StreamFramer::Status::Error);
  EXPECT_EQ(f.error(), ParseError::MissingContentLength);
  EXPECT_NE(f.pendingHeaders().find("Call-ID: a"), std::string_view::npos);
  EXPECT_FALSE(f.feed("more"));
  EXPECT_EQ(f.next(out), StreamFramer::Status::Error);
}

TEST(StreamFramer, NegativeOrConflictingContentLengthIsAnError) {
  for (std::string_view bad : {"l: -1\r\n", "l: 1\r\nContent-Length: 2\r\n", "l: abc\r\n"}) {
    std::string m = message("a", "");
    m.replace(m.find("l: 0\r\n"), 6, bad);
    StreamFramer f;
    f.feed(m);
    std::string out;
    EXPECT_EQ(f.next(out), StreamFramer::Status::Error) << bad;
  }
}

TEST(StreamFramer, RefusesHeadersBeyondTheSizeLimit) {
  ParseLimits limits;
  limits.maxMessageBytes = 1000;
  StreamFramer f(limits);
  f.feed("OPTIONS sip:x SIP/2.0\r\nX: " + std::string(2000, 'a'));
  std::string out;
  EXPECT_EQ(f.next(out), StreamFramer::Status::Error);
  EXPECT_EQ(f.error(), ParseError::TooLarge);
}

TEST(StreamFramer, RefusesContentLengthBeyondTheSizeLimit) {
  ParseLimits limits;
  limits.maxMessageBytes = 1000;
  std::string m = message("a", "");
  m.replace(m.find("l: 0\r\n"), 6, "l: 4000000000\r\n");
  StreamFramer f(limits);
  f.feed(m);
  std::string out;
  EXPECT_EQ(f.next(out), StreamFramer::Status::Error);
  EXPECT_EQ(f.error(), ParseError::TooLarge);
}

TEST(StreamFramer, WaitsForTheWholeBody) {
  const std::string m = message("a", "0123456789");
  StreamFramer f;
  f.feed(std::string_view(m).substr(0, m.size() - 3));
  std::string out;
  EXPECT_EQ(f.next(out), StreamFramer::Status::NeedMore);
  f.feed(std::string_view(m).substr(m.size() - 3));
  EXPECT_EQ(f.next(out), StreamFramer::Status::Message);
  EXPECT_EQ(out, m);
}

}  // namespace
}  // namespace parley::sip
