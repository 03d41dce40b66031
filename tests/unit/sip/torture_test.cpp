// Runs the parser over the torture corpus (tests/fixtures/sip/torture,
// RFC 4475 categories plus our own): every message must be accepted or
// rejected as the manifest says, whole and fed one byte at a time to the
// stream framer, without crashing.
#include <gtest/gtest.h>

#include "parley/sip/parser.hpp"
#include "parley/sip/serializer.hpp"
#include "torture_corpus.hpp"

namespace parley::sip {
namespace {

using Case = test::TortureCase;

class Torture : public ::testing::TestWithParam<Case> {};

TEST_P(Torture, ParserVerdictMatchesManifest) {
  const Case& c = GetParam();
  const std::string bytes = test::tortureBytes(c.file);
  ASSERT_FALSE(bytes.empty()) << c.file;
  auto m = Parser{}.parseDatagram(bytes);
  if (c.parser == "accept") {
    ASSERT_TRUE(m) << c.file << ": " << describe(m.error().error);
    // A message we accept must survive a serialize/parse round trip.
    auto again = Parser{}.parseDatagram(serialize(*m));
    ASSERT_TRUE(again) << c.file << " round trip: " << describe(again.error().error);
    EXPECT_EQ(again->callId(), m->callId());
    EXPECT_EQ(again->body(), m->body());
  } else {
    EXPECT_FALSE(m) << c.file << " was accepted";
  }
}

TEST_P(Torture, ByteAtATimeFramingNeverCrashes) {
  const std::string bytes = test::tortureBytes(GetParam().file);
  StreamFramer framer;
  std::string out;
  for (char ch : bytes) {
    framer.feed(std::string_view(&ch, 1));
    while (framer.next(out) == StreamFramer::Status::Message) (void)Parser{}.parseFramed(out);
  }
  SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(Corpus, Torture, ::testing::ValuesIn(test::tortureCases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return test::tortureTestName(i.param); });

TEST(Torture, ManifestCoversAtLeastEveryRfc4475Case) { EXPECT_GE(test::tortureCases().size(), 49u); }

}  // namespace
}  // namespace parley::sip
