#include "parley/presence/watch_table.hpp"

#include <gtest/gtest.h>

namespace parley::presence {
namespace {
using namespace std::chrono_literals;
const txn::TimePoint t0 = txn::TimePoint{} + 1000s;

TEST(WatchTable, DeadlinesComeOutInOrderOncePerArming) {
  WatchTable t;
  t.insert("b");
  t.insert("a");
  t.arm("b", t0 + 20s);
  t.arm("a", t0 + 10s);
  EXPECT_EQ(t.nextDeadline(), t0 + 10s);
  EXPECT_FALSE(t.popDue(t0 + 9s));
  EXPECT_EQ(t.popDue(t0 + 20s), "a");
  EXPECT_EQ(t.popDue(t0 + 20s), "b");
  EXPECT_FALSE(t.popDue(t0 + 30s));
  EXPECT_EQ(t.size(), 2u) << "popping a deadline does not remove the watch";
}

TEST(WatchTable, ReArmingReplacesTheEarlierDeadline) {
  WatchTable t;
  t.insert("a");
  t.arm("a", t0 + 10s);
  t.arm("a", t0 + 50s);
  EXPECT_EQ(t.nextDeadline(), t0 + 50s);
  EXPECT_FALSE(t.popDue(t0 + 49s));
  EXPECT_EQ(t.popDue(t0 + 50s), "a");
}

TEST(WatchTable, ErasedWatchesNeverFireAndTheirSlotIsReused) {
  WatchTable t;
  t.insert("a").inFlight = true;
  t.arm("a", t0 + 10s);
  t.erase("a");
  EXPECT_EQ(t.find("a"), nullptr);
  EXPECT_FALSE(t.nextDeadline());
  t.insert("b");
  EXPECT_FALSE(t.find("b")->inFlight) << "a reused slot starts clean";
  t.arm("b", t0 + 5s);
  EXPECT_EQ(t.popDue(t0 + 60s), "b");
}

TEST(WatchTable, StaleEntriesAreCompactedSoShortLivedWatchesCannotPileUp) {
  WatchTable t;
  for (int i = 0; i < 100000; ++i) {
    const std::string id = "w" + std::to_string(i);
    t.insert(id);
    t.arm(id, t0 + 3600s);
    t.erase(id);
  }
  EXPECT_LE(t.heapEntriesForTest(), 2048u);
  EXPECT_FALSE(t.nextDeadline());
}

}  // namespace
}  // namespace parley::presence
