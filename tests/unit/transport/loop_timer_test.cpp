// LoopTimer: one steady_timer standing in for the earliest deadline of a pure
// timer structure. Deadlines are either already past or an hour away, so no
// assertion depends on how fast the machine is.
#include "parley/transport/loop_timer.hpp"

#include <chrono>
#include <memory>
#include <vector>

#include "transport_test_support.hpp"

#include <gtest/gtest.h>

namespace parley::transport::test {
namespace {

using Clock = std::chrono::steady_clock;

class LoopTimerTest : public ::testing::Test {
 protected:
  asio::io_context io_;
  std::vector<Clock::time_point> fired_;
  LoopTimer timer_{io_, [this](Clock::time_point now) { fired_.push_back(now); }};
};

TEST_F(LoopTimerTest, FiresOnceAtTheEarliestScheduledDeadline) {
  const auto soon = Clock::now() - 1ms;
  timer_.schedule(Clock::now() + 1h);
  timer_.schedule(soon);  // re-armed earlier
  ASSERT_TRUE(runUntil(io_, [&] { return !fired_.empty(); }));
  runFor(io_, 20ms);
  ASSERT_EQ(fired_.size(), 1U);
  EXPECT_GE(fired_[0], soon);
  EXPECT_FALSE(timer_.deadline().has_value()) << "a fired timer is disarmed";
}

TEST_F(LoopTimerTest, RearmingLaterPostponesTheWake) {
  const auto later = Clock::now() + 1h;
  timer_.schedule(Clock::now() - 1ms);
  timer_.schedule(later);
  runFor(io_, 30ms);
  EXPECT_TRUE(fired_.empty());
  EXPECT_EQ(timer_.deadline(), later);
}

TEST_F(LoopTimerTest, DisarmingCancelsTheWake) {
  timer_.schedule(Clock::now() - 1ms);
  timer_.schedule(std::nullopt);
  runFor(io_, 30ms);
  EXPECT_TRUE(fired_.empty());
  EXPECT_TRUE(io_.stopped()) << "a disarmed timer keeps no work in the loop";
}

TEST_F(LoopTimerTest, SchedulingTheArmedDeadlineAgainFiresOnce) {
  const auto due = Clock::now() - 1ms;
  timer_.schedule(due);
  timer_.schedule(due);
  ASSERT_TRUE(runUntil(io_, [&] { return !fired_.empty(); }));
  runFor(io_, 20ms);
  EXPECT_EQ(fired_.size(), 1U);
}

TEST(LoopTimer, ALazyTimerKeepsTheEarlierWakeWhenTheDeadlineMovesLater) {
  asio::io_context io;
  std::vector<Clock::time_point> fired;
  LoopTimer timer(io, [&](Clock::time_point now) { fired.push_back(now); }, nullptr, true);
  const auto due = Clock::now() - 1ms;
  timer.schedule(due);
  timer.schedule(Clock::now() + 1h);  // later: no re-arm, the wake at `due` stays
  EXPECT_EQ(timer.deadline(), due);
  ASSERT_TRUE(runUntil(io, [&] { return !fired.empty(); }));
  EXPECT_EQ(fired.size(), 1U);
  // Earlier still re-arms.
  timer.schedule(Clock::now() + 1h);
  const auto sooner = Clock::now() - 1ms;
  timer.schedule(sooner);
  EXPECT_EQ(timer.deadline(), sooner);
  ASSERT_TRUE(runUntil(io, [&] { return fired.size() == 2; }));
  // Disarming cancels, lazy or not.
  timer.schedule(Clock::now() - 1ms);
  timer.schedule(std::nullopt);
  runFor(io, 20ms);
  EXPECT_EQ(fired.size(), 2U);
}

TEST(LoopTimer, DeadlinesInOneSlotShareOneWakeThatIsNeverEarly) {
  asio::io_context io;
  std::vector<Clock::time_point> fired;
  LoopTimer timer(io, [&](Clock::time_point now) { fired.push_back(now); }, nullptr, true, 50ms);
  // A slot boundary well ahead, then deadlines inside the slot before it.
  const auto base = Clock::now() + 200ms;
  const auto slotEnd = Clock::time_point(
      (base.time_since_epoch() + 50ms - Clock::duration(1)) / Clock::duration(50ms) * Clock::duration(50ms));
  timer.schedule(slotEnd - 30ms);
  EXPECT_EQ(timer.deadline(), slotEnd);  // rounded up to the end of its slot
  timer.schedule(slotEnd - 10ms);        // same slot: nothing changes
  timer.schedule(slotEnd);               // the boundary itself stays
  EXPECT_EQ(timer.deadline(), slotEnd);
  timer.schedule(slotEnd + 1ms);         // the next slot, later: a lazy timer keeps its wake
  EXPECT_EQ(timer.deadline(), slotEnd);
  ASSERT_TRUE(runUntil(io, [&] { return !fired.empty(); }));
  EXPECT_EQ(fired.size(), 1U);
  EXPECT_GE(fired.front(), slotEnd);  // never before any deadline of the slot
}

TEST(LoopTimer, CallbackMayScheduleTheNextDeadline) {
  asio::io_context io;
  int calls = 0;
  std::unique_ptr<LoopTimer> timer;
  timer = std::make_unique<LoopTimer>(io, [&](Clock::time_point) {
    if (++calls < 3) timer->schedule(Clock::now() - 1ms);
  });
  timer->schedule(Clock::now() - 1ms);
  ASSERT_TRUE(runUntil(io, [&] { return calls == 3; }));
  runFor(io, 20ms);
  EXPECT_EQ(calls, 3);
}

TEST(LoopTimer, DestroyedTimerNeverCallsBack) {
  asio::io_context io;
  int calls = 0;
  auto timer = std::make_unique<LoopTimer>(io, [&](Clock::time_point) { ++calls; });
  timer->schedule(Clock::now() - 1ms);
  timer.reset();
  runFor(io, 20ms);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace parley::transport::test
