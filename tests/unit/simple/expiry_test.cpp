#include "parley/simple/expiry.hpp"

#include <gtest/gtest.h>

namespace parley::simple {
namespace {
using namespace std::chrono_literals;

TEST(ExpiryBounds, AbsentTakesTheFallbackZeroStaysTooBriefIsRefusedLongIsShortened) {
  const ExpiryBounds b{60s, 3600s, 1800s};
  EXPECT_EQ(b.grant(std::nullopt), 1800u);
  EXPECT_EQ(b.grant(0u), 0u);
  EXPECT_EQ(b.grant(59u), std::nullopt);
  EXPECT_EQ(b.grant(60u), 60u);
  EXPECT_EQ(b.grant(4294967295u), 3600u);
}

}  // namespace
}  // namespace parley::simple
