// The notifier's node-local state per subscription (is a NOTIFY outstanding,
// did the state change meanwhile) and the expiry deadlines of all of them, in
// about 100 bytes a subscription: one index entry, one 16-byte slot, and
// 16-byte heap entries, instead of a map node plus a module timer (a
// std::function, its captures and a timer-table node) per subscription.
//
// Deadlines live in one min-heap that the owner drains from a single module
// timer. Re-arming or erasing leaves the old heap entry behind, recognised
// as stale by a per-slot sequence number; the heap is compacted when stale
// entries outnumber live ones, so short-lived subscriptions cannot pile up.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "parley/txn/timer_heap.hpp"

namespace parley::presence {

class WatchTable {
 public:
  struct Watch {
    bool inFlight = false;  ///< a NOTIFY transaction is outstanding
    bool pending = false;   ///< the state changed meanwhile: send again when it ends
  };

  [[nodiscard]] Watch* find(const std::string& id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &slots_[it->second].watch;
  }
  /// The watch of `id`, created if absent.
  Watch& insert(const std::string& id) {
    auto [it, fresh] = index_.try_emplace(id, 0);
    if (!fresh) return slots_[it->second].watch;
    std::uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    it->second = slot;
    Slot& s = slots_[slot];
    s.watch = {};
    s.id = &it->first;  // node-based map: the key's address is stable until erased
    s.used = true;
    return s.watch;
  }
  void erase(const std::string& id) {
    auto it = index_.find(id);
    if (it == index_.end()) return;
    Slot& s = slots_[it->second];
    s.used = false;
    s.id = nullptr;
    ++s.seq;  // its heap entries are stale now
    free_.push_back(it->second);
    index_.erase(it);
  }
  [[nodiscard]] std::size_t size() const { return index_.size(); }
  /// NOTIFYs outstanding, and watches waiting to send one more after them
  /// (a scan: for metrics scrapes, not for the hot path).
  struct Queue {
    std::size_t inFlight = 0, waiting = 0;
  };
  [[nodiscard]] Queue queue() const {
    Queue q;
    for (const Slot& s : slots_) {
      if (!s.used) continue;
      q.inFlight += s.watch.inFlight ? 1 : 0;
      q.waiting += s.watch.pending ? 1 : 0;
    }
    return q;
  }
  /// Calls fn(id) for every watch, in no particular order; fn must not insert or erase.
  template <class Fn>
  void forEach(Fn&& fn) const {
    for (const auto& [id, slot] : index_) fn(id);
  }

  /// Sets the expiry deadline of `id`'s watch (which must exist), replacing any.
  void arm(const std::string& id, txn::TimePoint deadline) {
    auto it = index_.find(id);
    if (it == index_.end()) return;
    Slot& s = slots_[it->second];
    ++s.seq;
    heap_.push_back({deadline, it->second, s.seq});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
    if (heap_.size() > 1024 && heap_.size() > 2 * index_.size()) compact();
  }
  /// The earliest live deadline.
  [[nodiscard]] std::optional<txn::TimePoint> nextDeadline() {
    dropStaleTop();
    if (heap_.empty()) return std::nullopt;
    return heap_.front().at;
  }
  /// The id of a watch whose deadline is <= now (its deadline is consumed), or nullopt.
  [[nodiscard]] std::optional<std::string> popDue(txn::TimePoint now) {
    dropStaleTop();
    if (heap_.empty() || heap_.front().at > now) return std::nullopt;
    const Slot& s = slots_[heap_.front().slot];
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
    return *s.id;
  }
  [[nodiscard]] std::size_t heapEntriesForTest() const { return heap_.size(); }

 private:
  struct Slot {
    Watch watch;
    bool used = false;
    std::uint32_t seq = 0;
    const std::string* id = nullptr;
  };
  struct Expiry {
    txn::TimePoint at;
    std::uint32_t slot = 0, seq = 0;
  };
  struct Later {
    bool operator()(const Expiry& a, const Expiry& b) const { return a.at > b.at; }
  };

  [[nodiscard]] bool live(const Expiry& e) const { return slots_[e.slot].used && slots_[e.slot].seq == e.seq; }
  void dropStaleTop() {
    while (!heap_.empty() && !live(heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      heap_.pop_back();
    }
  }
  void compact() {
    std::erase_if(heap_, [this](const Expiry& e) { return !live(e); });
    std::make_heap(heap_.begin(), heap_.end(), Later{});
  }

  std::unordered_map<std::string, std::uint32_t> index_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::vector<Expiry> heap_;
};

}  // namespace parley::presence
