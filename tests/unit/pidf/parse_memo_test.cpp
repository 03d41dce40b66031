// The parsers remember recently parsed documents (pidf/src/parse_memo.hpp). What a caller can
// observe must not change: same bytes under other limits are judged under those limits, a failure
// is never remembered, and a document parsed again after many others is still parsed right.
#include <string>

#include <gtest/gtest.h>

#include "parley/pidf/parse.hpp"

namespace parley::pidf {
namespace {

std::string pidf(int n, int tuples = 1) {
  std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" )"
                    R"(entity="sip:u)" + std::to_string(n) + R"(@example.com">)";
  for (int t = 0; t < tuples; ++t)
    xml += "<tuple id=\"t" + std::to_string(t) + "\"><status><basic>open</basic></status></tuple>";
  return xml + "</presence>";
}

std::string dialogInfo(const std::string& state) {
  return R"(<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" )"
         R"(state="full" entity="sip:100@pbx.example.com"><dialog id="d1"><state>)" +
         state + "</state></dialog></dialog-info>";
}

TEST(ParseMemo, SameBytesUnderTighterLimitsAreRefusedAfterASuccessfulParse) {
  const std::string xml = pidf(1, 3);
  ASSERT_TRUE(parsePidf(xml).has_value());
  Limits tight;
  tight.maxTuples = 2;
  const auto refused = parsePidf(xml, tight);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, DocumentError::Code::TooManyTuples);
  EXPECT_TRUE(parsePidf(xml).has_value());  // and the default limits still accept it

  Limits small;
  small.maxBytes = xml.size() - 1;
  EXPECT_EQ(parsePidf(xml, small).error().code, DocumentError::Code::TooLarge);
}

TEST(ParseMemo, ADocumentWithinTightLimitsParsesTheSameUnderLooserOnes) {
  // The publisher validates under its configured limits; composing parses under the defaults.
  const std::string xml = pidf(3, 2);
  Limits tight;
  tight.maxBytes = xml.size();
  tight.maxTuples = 2;
  const auto validated = parsePidf(xml, tight);
  ASSERT_TRUE(validated.has_value());
  const auto composed = parsePidf(xml);
  ASSERT_TRUE(composed.has_value());
  EXPECT_EQ(*composed, *validated);
  Limits tighter = tight;
  tighter.maxTuples = 1;  // and tighter than the first still refuses
  EXPECT_EQ(parsePidf(xml, tighter).error().code, DocumentError::Code::TooManyTuples);
}

TEST(ParseMemo, AFailureIsNotRememberedAsASuccessNorTheReverse) {
  const std::string broken = pidf(2).substr(0, 60);
  EXPECT_FALSE(parsePidf(broken).has_value());
  EXPECT_FALSE(parsePidf(broken).has_value());
  const std::string good = pidf(2);
  EXPECT_TRUE(parsePidf(good).has_value());
  EXPECT_TRUE(parsePidf(good).has_value());
}

TEST(ParseMemo, ParsingAgainGivesTheSameDocumentAfterManyOthers) {
  const auto first = parsePidf(pidf(1000));
  ASSERT_TRUE(first.has_value());
  const auto remembered = parsePidf(pidf(1000));
  ASSERT_TRUE(remembered.has_value());
  EXPECT_EQ(*remembered, *first);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(parsePidf(pidf(2000 + i)).has_value());  // pushed out
  const auto again = parsePidf(pidf(1000));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(again->entity, "sip:u1000@example.com");
}

TEST(ParseMemo, DialogInfoIsRememberedByExactBytes) {
  const auto confirmed = parseDialogInfo(dialogInfo("confirmed"));
  const auto terminated = parseDialogInfo(dialogInfo("terminated"));
  ASSERT_TRUE(confirmed.has_value());
  ASSERT_TRUE(terminated.has_value());
  EXPECT_NE(*confirmed, *terminated);
  const auto confirmedAgain = parseDialogInfo(dialogInfo("confirmed"));
  const auto terminatedAgain = parseDialogInfo(dialogInfo("terminated"));
  ASSERT_TRUE(confirmedAgain.has_value() && terminatedAgain.has_value());
  EXPECT_EQ(*confirmedAgain, *confirmed);
  EXPECT_EQ(*terminatedAgain, *terminated);
}

TEST(ParseMemo, ValidatingJudgesLikeParsingAndLeavesTheDocumentForTheNextParse) {
  const std::string xml = pidf(3000, 2);
  EXPECT_EQ(validatePidf(xml), std::nullopt);
  const auto parsed = parsePidf(xml);  // from the memo: the validated document itself
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->entity, "sip:u3000@example.com");
  ASSERT_EQ(parsed->tuples.size(), 2u);
  EXPECT_EQ(parsed->tuples[1].id, "t1");

  Limits tight;
  tight.maxTuples = 1;
  const auto refused = validatePidf(xml, tight);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code, DocumentError::Code::TooManyTuples);
  EXPECT_EQ(refused->message, parsePidf(xml, tight).error().message);

  const std::string broken = pidf(3001).substr(0, 70);
  ASSERT_TRUE(validatePidf(broken).has_value());
  EXPECT_EQ(validatePidf(broken)->message, parsePidf(broken).error().message);

  EXPECT_EQ(validateDialogInfo(dialogInfo("early")), std::nullopt);
  EXPECT_EQ(parseDialogInfo(dialogInfo("early"))->dialogs.at(0).state, DialogState::Early);
  EXPECT_EQ(validateDialogInfo(pidf(3002))->code, parseDialogInfo(pidf(3002)).error().code);
}

}  // namespace
}  // namespace parley::pidf
