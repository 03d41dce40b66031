#include "parley/txn/timer_heap.hpp"

#include <algorithm>
#include <functional>

namespace parley::txn {

namespace {
// Sweep stale entries once they exceed the live ones by this factor (plus a
// small floor so tiny heaps are not rebuilt on every cancel).
constexpr std::size_t kSweepFactor = 2;
constexpr std::size_t kSweepFloor = 64;
}  // namespace

std::size_t TimerHeap::KeyHash::operator()(const Key& k) const noexcept {
  // Owners are dense counters; mixing the kind into the low bits is enough.
  return std::hash<std::uint64_t>{}(k.owner * 31U + k.kind);
}

bool TimerHeap::later(const Entry& a, const Entry& b) {
  if (a.deadline != b.deadline) {
    return a.deadline > b.deadline;
  }
  return a.generation > b.generation;
}

bool TimerHeap::isLive(const Entry& e) const {
  auto it = live_.find(Key{e.owner, e.kind});
  return it != live_.end() && it->second.generation == e.generation;
}

void TimerHeap::popTop() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  heap_.pop_back();
}

void TimerHeap::tidy() {
  if (heap_.size() > kSweepFactor * live_.size() + kSweepFloor) {
    std::erase_if(heap_, [this](const Entry& e) { return !isLive(e); });
    std::make_heap(heap_.begin(), heap_.end(), later);
  }
  while (!heap_.empty() && !isLive(heap_.front())) {
    popTop();
  }
}

void TimerHeap::arm(TimerOwner owner, TimerKind kind, TimePoint deadline) {
  const std::uint64_t gen = nextGeneration_++;
  live_[Key{owner, kind}] = Slot{gen, deadline};
  heap_.push_back(Entry{deadline, gen, owner, kind});
  std::push_heap(heap_.begin(), heap_.end(), later);
  tidy();  // the replaced arming may have been the top
}

bool TimerHeap::cancel(TimerOwner owner, TimerKind kind) {
  if (live_.erase(Key{owner, kind}) == 0) {
    return false;
  }
  tidy();
  return true;
}

void TimerHeap::cancelKinds(TimerOwner owner, std::uint32_t kinds) {
  bool any = false;
  for (TimerKind k = 0; kinds != 0 && k < 32; ++k, kinds >>= 1) {
    if ((kinds & 1U) != 0) any = live_.erase(Key{owner, k}) > 0 || any;
  }
  if (any) {
    tidy();
  }
}

bool TimerHeap::armed(TimerOwner owner, TimerKind kind) const {
  return live_.contains(Key{owner, kind});
}

std::optional<TimePoint> TimerHeap::deadline(TimerOwner owner, TimerKind kind) const {
  auto it = live_.find(Key{owner, kind});
  if (it == live_.end()) {
    return std::nullopt;
  }
  return it->second.deadline;
}

std::optional<TimePoint> TimerHeap::nextDeadline() const {
  if (heap_.empty()) {
    return std::nullopt;
  }
  return heap_.front().deadline;  // tidy() keeps the top live
}

std::optional<TimerHeap::Expired> TimerHeap::popDue(TimePoint now) {
  if (heap_.empty() || heap_.front().deadline > now) {
    return std::nullopt;
  }
  const Entry top = heap_.front();
  popTop();
  live_.erase(Key{top.owner, top.kind});
  tidy();
  return Expired{top.owner, top.kind, top.deadline};
}

}  // namespace parley::txn
