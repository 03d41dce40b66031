// The in-memory SubscriptionStore (the default backend): records by id, plus
// two indexes (resource → records, watcher → count), on the event loop's thread
// only. Expired records are not listed by watchers(); they stay readable by
// update() until removed (the notifier removes them at expiry with the
// terminating NOTIFY) or swept.
#pragma once

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "parley/storage/subscription_store.hpp"

namespace parley::storage {

class MemorySubscriptionStore final : public SubscriptionStore {
 public:
  void update(const std::string& id, WallTime now, Change change, Found done) override {
    auto it = byId_.find(id);
    auto next = change(it == byId_.end() ? nullptr : &it->second);
    if (!next) return done(tl::unexpected(std::move(next.error())));
    if (next->expires <= now) {
      if (it != byId_.end()) erase(it);
      return done(std::move(*next));
    }
    if (it == byId_.end()) {
      it = byId_.emplace(id, *next).first;
      index(it);
    } else if (it->second.resource != next->resource || it->second.watcher != next->watcher) {
      unindex(it);
      it->second = *next;
      index(it);
    } else {
      it->second = *next;
    }
    done(std::move(*next));
  }

  void watchers(const std::string& resource, WallTime now, Ids done) override {
    std::vector<std::string> ids;
    if (auto r = byResource_.find(resource); r != byResource_.end()) {
      ids.reserve(r->second.size());
      for (const Entry* e : r->second)
        if (e->second.expires > now) ids.push_back(e->first);
    }
    done(std::move(ids));
  }

  void countByWatcher(const std::string& aor, WallTime, Count done) override {
    auto w = byWatcher_.find(aor);
    done(w == byWatcher_.end() ? std::size_t{0} : w->second);
  }

  /// Removes every expired record; returns how many went.
  std::size_t sweep(WallTime now) {
    std::size_t dropped = 0;
    for (auto it = byId_.begin(); it != byId_.end();) {
      if (it->second.expires > now) {
        ++it;
        continue;
      }
      auto victim = it++;
      erase(victim);
      ++dropped;
    }
    return dropped;
  }
  [[nodiscard]] std::size_t size() const { return byId_.size(); }
  [[nodiscard]] std::size_t resources() const { return byResource_.size(); }

 private:
  using Map = std::unordered_map<std::string, Subscription>;
  using Entry = Map::value_type;  // node-based: pointers stay valid until erased

  void index(Map::iterator it) {
    byResource_[it->second.resource].push_back(&*it);
    ++byWatcher_[it->second.watcher];
  }
  void unindex(Map::iterator it) {
    if (auto r = byResource_.find(it->second.resource); r != byResource_.end()) {
      auto& list = r->second;
      if (auto p = std::find(list.begin(), list.end(), &*it); p != list.end()) {
        *p = list.back();  // order of watchers does not matter
        list.pop_back();
      }
      if (list.empty()) byResource_.erase(r);
    }
    if (auto w = byWatcher_.find(it->second.watcher); w != byWatcher_.end() && --w->second == 0)
      byWatcher_.erase(w);
  }
  void erase(Map::iterator it) {
    unindex(it);
    byId_.erase(it);
  }

  Map byId_;
  std::unordered_map<std::string, std::vector<const Entry*>> byResource_;
  std::unordered_map<std::string, std::size_t> byWatcher_;
};

}  // namespace parley::storage
