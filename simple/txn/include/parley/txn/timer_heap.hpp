// One timer structure for many owners (transactions today; subscriptions and
// registrations later). Pure: deadlines are values, nothing here reads a clock.
//
// A binary min-heap of (deadline, generation, owner, kind) with lazy
// cancellation: arming or cancelling a timer only updates a small index of
// live timers; stale heap entries are skipped when they reach the top and are
// swept out when they outnumber the live ones, so memory stays O(live timers).
// The top of the heap is always a live timer, so nextDeadline() is exact and
// the I/O edge can keep a single steady_timer at that instant.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "parley/txn/txn_memory.hpp"

namespace parley::txn {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

/// Who a timer belongs to (a transaction id, a subscription id ...). Never 0
/// by convention of the callers, though the heap does not care.
using TimerOwner = std::uint64_t;
/// Which of the owner's timers (an enum cast to an integer by the caller).
using TimerKind = std::uint8_t;

class TimerHeap {
 public:
  struct Expired {
    TimerOwner owner = 0;
    TimerKind kind = 0;
    TimePoint deadline;
  };

  /// Arms (owner, kind) to fire at `deadline`, replacing any earlier arming of
  /// the same pair: each owner has at most one timer of each kind.
  void arm(TimerOwner owner, TimerKind kind, TimePoint deadline);
  /// Disarms (owner, kind). Returns false if it was not armed.
  bool cancel(TimerOwner owner, TimerKind kind);
  /// Disarms the kinds whose bits are set in `kinds` (bit k = kind k, k < 32),
  /// used when an owner dies: an owner that can only have some kinds armed
  /// pays a lookup for those only.
  void cancelKinds(TimerOwner owner, std::uint32_t kinds);

  [[nodiscard]] bool armed(TimerOwner owner, TimerKind kind) const;
  /// When (owner, kind) fires, or nullopt if it is not armed.
  [[nodiscard]] std::optional<TimePoint> deadline(TimerOwner owner, TimerKind kind) const;

  /// The earliest live deadline, or nullopt when nothing is armed.
  [[nodiscard]] std::optional<TimePoint> nextDeadline() const;
  /// Removes and returns the earliest live timer whose deadline is <= now, or
  /// nullopt if none is due. Timers with equal deadlines come out in the order
  /// they were armed. Call it in a loop; timers armed meanwhile (also ones
  /// already due) are seen by the next call.
  [[nodiscard]] std::optional<Expired> popDue(TimePoint now);

  /// Pre-sizes for `n` live timers, so arming never rehashes the index while
  /// the loop is busy (a rehash of a large table stalls it for tens of ms).
  void reserve(std::size_t n) {
    live_.reserve(n);
    heap_.reserve(n);
  }

  /// Number of live (armed) timers.
  [[nodiscard]] std::size_t size() const { return live_.size(); }
  [[nodiscard]] bool empty() const { return live_.empty(); }
  /// Heap entries including stale ones (for tests of the sweeping bound).
  [[nodiscard]] std::size_t entriesForTest() const { return heap_.size(); }

 private:
  struct Entry {
    TimePoint deadline;
    std::uint64_t generation = 0;  // unique per arm(); orders ties and spots stale entries
    TimerOwner owner = 0;
    TimerKind kind = 0;
  };
  struct Key {
    TimerOwner owner = 0;
    TimerKind kind = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };
  struct Slot {
    std::uint64_t generation = 0;
    TimePoint deadline;
  };
  // std heap algorithms build a max-heap; "later" makes it a min-heap.
  static bool later(const Entry& a, const Entry& b);
  [[nodiscard]] bool isLive(const Entry& e) const;
  void popTop();
  // Restores the invariants: the top is live, stale entries are at most about
  // half the heap.
  void tidy();

  // Transaction memory (txn_memory.hpp): a transaction's Timer J lives as
  // long as the transaction.
  std::vector<Entry, TransactionAllocator<Entry>> heap_;
  std::unordered_map<Key, Slot, KeyHash, std::equal_to<Key>, TransactionAllocator<std::pair<const Key, Slot>>> live_;
  std::uint64_t nextGeneration_ = 1;
};

}  // namespace parley::txn
