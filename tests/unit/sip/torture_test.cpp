// Runs the parser over the torture corpus (tests/fixtures/sip/torture,
// RFC 4475 categories plus our own): every message must be accepted or
// rejected as the manifest says, whole and fed one byte at a time to the
// stream framer, without crashing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "parley/sip/parser.hpp"
#include "parley/sip/serializer.hpp"

namespace parley::sip {
namespace {

struct Case {
  std::string file, parser, response;
};

std::vector<Case> loadManifest() {
  std::ifstream in(std::string(PARLEY_FIXTURES_DIR) + "/sip/torture/MANIFEST.tsv");
  std::vector<Case> cases;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    Case c;
    std::getline(fields, c.file, '\t');
    std::getline(fields, c.parser, '\t');
    std::getline(fields, c.response, '\t');
    cases.push_back(c);
  }
  return cases;
}

std::string readFile(const std::string& name) {
  std::ifstream in(std::string(PARLEY_FIXTURES_DIR) + "/sip/torture/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class Torture : public ::testing::TestWithParam<Case> {};

TEST_P(Torture, ParserVerdictMatchesManifest) {
  const Case& c = GetParam();
  const std::string bytes = readFile(c.file);
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
  const std::string bytes = readFile(GetParam().file);
  StreamFramer framer;
  std::string out;
  for (char ch : bytes) {
    framer.feed(std::string_view(&ch, 1));
    while (framer.next(out) == StreamFramer::Status::Message) (void)Parser{}.parseFramed(out);
  }
  SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(Corpus, Torture, ::testing::ValuesIn(loadManifest()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string n = std::filesystem::path(i.param.file).stem().string();
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(Torture, ManifestIsNotEmpty) { EXPECT_GE(loadManifest().size(), 49u); }

}  // namespace
}  // namespace parley::sip
