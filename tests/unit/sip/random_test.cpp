#include "parley/sip/random.hpp"

#include <gtest/gtest.h>

#include <set>

namespace parley::sip {
namespace {

TEST(Random, TokensHaveTheLengthAskedAndOnlyTokenCharacters) {
  const std::string t = randomToken(15);
  EXPECT_EQ(t.size(), 15u);
  for (char c : t)
    EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')
        << t;
}

TEST(Random, TokensDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(randomToken(15)).second);
}

TEST(Random, TagsAndBranchesHaveTheirShape) {
  EXPECT_EQ(newTag().size(), 16u);
  const std::string b = newBranch();
  EXPECT_EQ(b.rfind("z9hG4bK", 0), 0u);
  EXPECT_EQ(b.size(), 7u + 24u);
}

}  // namespace
}  // namespace parley::sip
