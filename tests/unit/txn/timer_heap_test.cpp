#include "parley/txn/timer_heap.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace parley::txn {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0{};

std::vector<TimerOwner> drainOwners(TimerHeap& heap, TimePoint now) {
  std::vector<TimerOwner> owners;
  while (auto e = heap.popDue(now)) {
    owners.push_back(e->owner);
  }
  return owners;
}

TEST(TimerHeap, PopsTimersInDeadlineOrder) {
  TimerHeap heap;
  heap.arm(1, 0, kT0 + 300ms);
  heap.arm(2, 0, kT0 + 100ms);
  heap.arm(3, 0, kT0 + 200ms);
  EXPECT_EQ(drainOwners(heap, kT0 + 1s), (std::vector<TimerOwner>{2, 3, 1}));
  EXPECT_TRUE(heap.empty());
}

TEST(TimerHeap, EqualDeadlinesPopInArmingOrder) {
  TimerHeap heap;
  heap.arm(5, 0, kT0 + 100ms);
  heap.arm(3, 0, kT0 + 100ms);
  heap.arm(4, 0, kT0 + 100ms);
  EXPECT_EQ(drainOwners(heap, kT0 + 100ms), (std::vector<TimerOwner>{5, 3, 4}));
}

TEST(TimerHeap, NothingIsDueBeforeItsDeadline) {
  TimerHeap heap;
  heap.arm(1, 0, kT0 + 100ms);
  EXPECT_FALSE(heap.popDue(kT0 + 99ms));
  auto e = heap.popDue(kT0 + 100ms);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->deadline, kT0 + 100ms);
}

TEST(TimerHeap, ReArmingReplacesTheEarlierDeadline) {
  TimerHeap heap;
  heap.arm(1, 2, kT0 + 100ms);
  heap.arm(1, 2, kT0 + 500ms);
  EXPECT_EQ(heap.size(), 1U);
  EXPECT_EQ(heap.nextDeadline(), kT0 + 500ms);
  EXPECT_FALSE(heap.popDue(kT0 + 400ms));
  EXPECT_TRUE(heap.popDue(kT0 + 500ms));
  EXPECT_FALSE(heap.popDue(kT0 + 10s));
}

TEST(TimerHeap, KindsOfOneOwnerAreIndependent) {
  TimerHeap heap;
  heap.arm(1, 0, kT0 + 100ms);
  heap.arm(1, 1, kT0 + 200ms);
  EXPECT_TRUE(heap.armed(1, 0));
  EXPECT_TRUE(heap.armed(1, 1));
  EXPECT_EQ(heap.deadline(1, 1), kT0 + 200ms);
  EXPECT_EQ(heap.size(), 2U);
}

TEST(TimerHeap, CancelledTimerNeverFiresAndLeavesNextDeadlineExact) {
  TimerHeap heap;
  heap.arm(1, 0, kT0 + 100ms);
  heap.arm(2, 0, kT0 + 200ms);
  EXPECT_TRUE(heap.cancel(1, 0));
  EXPECT_FALSE(heap.cancel(1, 0));
  EXPECT_EQ(heap.nextDeadline(), kT0 + 200ms);
  EXPECT_EQ(drainOwners(heap, kT0 + 1s), (std::vector<TimerOwner>{2}));
  EXPECT_FALSE(heap.nextDeadline());
}

TEST(TimerHeap, CancelKindsDisarmsEveryNamedKindOfTheOwnerOnly) {
  TimerHeap heap;
  heap.arm(1, 0, kT0 + 100ms);
  heap.arm(1, 3, kT0 + 150ms);
  heap.arm(2, 0, kT0 + 200ms);
  heap.cancelKinds(1, 0b1111);
  EXPECT_FALSE(heap.armed(1, 0));
  EXPECT_FALSE(heap.armed(1, 3));
  EXPECT_EQ(drainOwners(heap, kT0 + 1s), (std::vector<TimerOwner>{2}));
}

TEST(TimerHeap, CancelKindsDisarmsOnlyTheKindsNamed) {
  TimerHeap heap;
  heap.arm(1, 0, kT0 + 100ms);
  heap.arm(1, 2, kT0 + 150ms);
  heap.arm(1, 5, kT0 + 160ms);
  heap.cancelKinds(1, (1U << 0) | (1U << 5) | (1U << 7));  // 7 was never armed
  EXPECT_FALSE(heap.armed(1, 0));
  EXPECT_TRUE(heap.armed(1, 2));
  EXPECT_FALSE(heap.armed(1, 5));
  EXPECT_EQ(heap.size(), 1U);
  auto due = heap.popDue(kT0 + 1s);
  ASSERT_TRUE(due);
  EXPECT_EQ(due->kind, 2);
  EXPECT_FALSE(heap.popDue(kT0 + 1s));
}

TEST(TimerHeap, TimerArmedWhileDrainingIsSeenByTheNextPop) {
  TimerHeap heap;
  heap.arm(1, 0, kT0 + 100ms);
  auto first = heap.popDue(kT0 + 100ms);
  ASSERT_TRUE(first);
  heap.arm(2, 0, kT0 + 50ms);  // already due
  auto second = heap.popDue(kT0 + 100ms);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->owner, 2U);
}

TEST(TimerHeap, StaleEntriesAreSweptSoMemoryFollowsLiveTimers) {
  TimerHeap heap;
  heap.arm(999, 0, kT0 + 1h);  // one long-lived timer at the bottom
  for (TimerOwner i = 1; i <= 10000; ++i) {
    heap.arm(i, 1, kT0 + 32s + std::chrono::milliseconds(i));
    heap.arm(i, 1, kT0 + 64s);  // re-arm leaves a stale entry behind
    heap.cancel(i, 1);
  }
  EXPECT_EQ(heap.size(), 1U);
  EXPECT_LT(heap.entriesForTest(), 200U);
  EXPECT_EQ(heap.nextDeadline(), kT0 + 1h);
}

}  // namespace
}  // namespace parley::txn
