// The in-memory ListStore (the default backend): one hash map, on the event
// loop's thread only. Expired records are never returned; their memory is
// reclaimed when their key is next touched or by sweep().
#pragma once

#include <algorithm>
#include <string>
#include <unordered_map>

#include "parley/storage/list_store.hpp"

namespace parley::storage {

template <class T>
class MemoryListStore final : public ListStore<T> {
 public:
  using typename ListStore<T>::List;
  using typename ListStore<T>::Done;
  using typename ListStore<T>::Change;

  // ListStore
  void lookup(const std::string& key, WallTime now, Done done) override {
    auto it = map_.find(key);
    if (it == map_.end()) return done(List{});
    dropExpired(it->second, now);
    List live = it->second;
    if (it->second.empty()) map_.erase(it);
    done(std::move(live));
  }

  void update(const std::string& key, WallTime now, Change change, Done done) override {
    auto it = map_.find(key);
    List live;
    if (it != map_.end()) {
      dropExpired(it->second, now);
      live = it->second;
    }
    auto next = change(live);
    if (!next) return done(tl::unexpected(std::move(next.error())));
    if (next->empty()) {
      if (it != map_.end()) map_.erase(it);
    } else if (it != map_.end()) {
      it->second = *next;
    } else {
      map_.emplace(key, *next);
    }
    done(std::move(*next));
  }

  /// Drops every expired record and empty key; returns how many records went.
  std::size_t sweep(WallTime now) {
    std::size_t dropped = 0;
    for (auto it = map_.begin(); it != map_.end();) {
      dropped += dropExpired(it->second, now);
      it = it->second.empty() ? map_.erase(it) : std::next(it);
    }
    return dropped;
  }
  [[nodiscard]] std::size_t keys() const { return map_.size(); }
  [[nodiscard]] std::size_t records() const {
    std::size_t n = 0;
    for (const auto& [k, list] : map_) n += list.size();
    return n;
  }

 private:
  static std::size_t dropExpired(List& list, WallTime now) {
    return std::erase_if(list, [now](const T& r) { return r.expires <= now; });
  }
  std::unordered_map<std::string, List> map_;
};

}  // namespace parley::storage
