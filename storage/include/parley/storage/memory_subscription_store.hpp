// The in-memory SubscriptionStore (the default backend), on the event loop's
// thread only. Expired records are not listed by watchers(); they stay
// readable by update() until removed (the notifier removes them at expiry with
// the terminating NOTIFY) or swept.
//
// Memory matters here (a server holds one record per watched line, often
// hundreds of thousands): each record is one hash-set node whose strings are
// packed into a single buffer, its id (Call-ID, local tag, remote tag) being a
// view of that buffer, so a record costs two allocations instead of twelve
// (docs/performance.md). Reads unpack a Subscription; writes pack it again.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "parley/storage/subscription_store.hpp"

namespace parley::storage {

class MemorySubscriptionStore final : public SubscriptionStore {
 public:
  void update(const std::string& id, WallTime now, Change change, Found done) override {
    auto it = records_.find(std::string_view(id));
    std::optional<Subscription> current;
    if (it != records_.end()) current = it->unpack();
    auto next = change(current ? &*current : nullptr);
    if (!next) return done(tl::unexpected(std::move(next.error())));
    if (next->expires <= now) {
      if (it != records_.end()) erase(it);
      return done(std::move(*next));
    }
    if (it != records_.end()) {
      // Compared with the record itself: the closure may have moved from `current`.
      const bool moved = it->field(Resource) != next->resource || it->field(Watcher) != next->watcher;
      if (moved) unindex(*it, it->field(Resource), it->field(Watcher));
      // The id (dialog) never changes, so the node keeps its place. A NOTIFY
      // moves only the CSeq: the packed strings stay as they are.
      if (it->sameStrings(*next)) {
        it->setNumbers(*next);
      } else {
        it->pack(*next);
      }
      if (moved) index(*it, *next);
    } else {
      Record r;
      r.pack(*next);
      if (r.id() != id) return done(tl::unexpected(StoreError{StoreError::Code::Refused, 500, "Id Mismatch"}));
      auto [inserted, ok] = records_.insert(std::move(r));
      index(*inserted, *next);
    }
    done(std::move(*next));
  }

  void get(const std::string& id, WallTime now, Maybe done) override {
    auto it = records_.find(std::string_view(id));
    if (it == records_.end() || it->expires <= now) return done(std::optional<Subscription>());
    done(std::optional<Subscription>(it->unpack()));
  }

  void watchers(const std::string& resource, WallTime now, Ids done) override {
    std::vector<std::string> ids;
    if (auto r = byResource_.find(resource); r != byResource_.end()) {
      ids.reserve(r->second.size());
      for (const Record* rec : r->second)
        if (rec->expires > now) ids.emplace_back(rec->id());
    }
    done(std::move(ids));
  }

  /// Counts by a 64-bit hash of the AOR: a limit, where a collision between
  /// two watchers (odds ~n²/2⁶⁴) would only make them share one allowance.
  void countByWatcher(const std::string& aor, WallTime, Count done) override {
    auto w = byWatcher_.find(std::hash<std::string_view>{}(aor));
    done(w == byWatcher_.end() ? std::size_t{0} : std::size_t{w->second});
  }

  void owned(WallTime now, Ids done) override {
    std::vector<std::string> ids;
    for (const Record& r : records_)
      if (r.expires > now) ids.emplace_back(r.id());
    done(std::move(ids));
  }

  /// Removes every record expired at `now`; returns how many went.
  std::size_t sweep(WallTime now) {
    std::size_t dropped = 0;
    for (auto it = records_.begin(); it != records_.end();) {
      if (it->expires > now) {
        ++it;
        continue;
      }
      it = erase(it);
      ++dropped;
    }
    return dropped;
  }
  [[nodiscard]] std::size_t size() const { return records_.size(); }
  [[nodiscard]] std::size_t resources() const { return byResource_.size(); }

 private:
  // The string fields of a Subscription, in their packed order. The first three
  // are written "callId localTag remoteTag": exactly subscriptionId().
  enum Field : std::uint8_t {
    CallId, LocalTag, RemoteTag, Resource, Watcher, EventId, LocalUri, RemoteUri, RemoteTarget, Source, Routes,
    kFields
  };

  struct Record {
    mutable std::string text;                       // every string field, packed
    mutable std::array<std::uint32_t, kFields> end{};  // end offset of each field in text
    mutable WallTime expires;
    mutable std::uint32_t localCSeq = 0, remoteCSeq = 0;

    [[nodiscard]] std::string_view field(Field f) const {
      const std::uint32_t begin = f == CallId ? 0 : end[f - 1] + (f <= RemoteTag ? 1 : 0);
      return std::string_view(text).substr(begin, end[f] - begin);
    }
    [[nodiscard]] std::string_view id() const { return std::string_view(text).substr(0, end[RemoteTag]); }

    void pack(const Subscription& s) const {
      const std::string_view parts[kFields - 1] = {s.callId,  s.localTag,  s.remoteTag, s.resource,
                                                   s.watcher, s.eventId,   s.localUri,  s.remoteUri,
                                                   s.remoteTarget, s.source};
      std::size_t size = 2;
      for (auto p : parts) size += p.size();
      for (const auto& r : s.routeSet) size += r.size() + 1;
      text.clear();
      text.reserve(size);
      for (int f = 0; f < kFields - 1; ++f) {
        if (f == LocalTag || f == RemoteTag) text.push_back(' ');
        text.append(parts[f]);
        end[f] = static_cast<std::uint32_t>(text.size());
      }
      for (std::size_t i = 0; i < s.routeSet.size(); ++i) {
        if (i > 0) text.push_back('\n');  // header values never contain LF (unfolded by the parser)
        text.append(s.routeSet[i]);
      }
      end[Routes] = static_cast<std::uint32_t>(text.size());
      text.shrink_to_fit();
      setNumbers(s);
    }

    void setNumbers(const Subscription& s) const {
      expires = s.expires;
      localCSeq = s.localCSeq;
      remoteCSeq = s.remoteCSeq;
    }

    [[nodiscard]] bool sameStrings(const Subscription& s) const {
      if (field(CallId) != s.callId || field(LocalTag) != s.localTag || field(RemoteTag) != s.remoteTag ||
          field(Resource) != s.resource || field(Watcher) != s.watcher || field(EventId) != s.eventId ||
          field(LocalUri) != s.localUri || field(RemoteUri) != s.remoteUri ||
          field(RemoteTarget) != s.remoteTarget || field(Source) != s.source)
        return false;
      std::string_view routes = field(Routes);
      for (std::size_t i = 0; i < s.routeSet.size(); ++i) {
        if (i > 0) {
          if (routes.empty() || routes.front() != '\n') return false;
          routes.remove_prefix(1);
        }
        if (!routes.starts_with(s.routeSet[i])) return false;
        routes.remove_prefix(s.routeSet[i].size());
      }
      return routes.empty();
    }

    [[nodiscard]] Subscription unpack() const {
      Subscription s;
      s.callId = field(CallId);
      s.localTag = field(LocalTag);
      s.remoteTag = field(RemoteTag);
      s.resource = field(Resource);
      s.watcher = field(Watcher);
      s.eventId = field(EventId);
      s.localUri = field(LocalUri);
      s.remoteUri = field(RemoteUri);
      s.remoteTarget = field(RemoteTarget);
      s.source = field(Source);
      for (std::string_view routes = field(Routes); !routes.empty();) {
        const auto nl = routes.find('\n');
        s.routeSet.emplace_back(routes.substr(0, nl));
        routes = nl == std::string_view::npos ? std::string_view{} : routes.substr(nl + 1);
      }
      s.expires = expires;
      s.localCSeq = localCSeq;
      s.remoteCSeq = remoteCSeq;
      return s;
    }
  };

  // Heterogeneous lookup: records by their id view, resources by a string_view.
  struct ViewHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
    std::size_t operator()(const Record& r) const { return (*this)(r.id()); }
  };
  struct IdEqual {
    using is_transparent = void;
    static std::string_view idOf(std::string_view v) { return v; }
    static std::string_view idOf(const Record& r) { return r.id(); }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const { return idOf(a) == idOf(b); }
  };
  using Set = std::unordered_set<Record, ViewHash, IdEqual>;

  void index(const Record& r, const Subscription& s) {
    byResource_[s.resource].push_back(&r);
    ++byWatcher_[std::hash<std::string_view>{}(s.watcher)];
  }
  void unindex(const Record& r, const Subscription& s) { unindex(r, s.resource, s.watcher); }
  void unindex(const Record& r, std::string_view resource, std::string_view watcher) {
    if (auto it = byResource_.find(resource); it != byResource_.end()) {
      auto& list = it->second;
      if (auto p = std::find(list.begin(), list.end(), &r); p != list.end()) {
        *p = list.back();  // order of watchers does not matter
        list.pop_back();
      }
      if (list.empty()) byResource_.erase(it);
    }
    if (auto w = byWatcher_.find(std::hash<std::string_view>{}(watcher)); w != byWatcher_.end() && --w->second == 0)
      byWatcher_.erase(w);
  }
  Set::iterator erase(Set::iterator it) {
    unindex(*it, it->field(Resource), it->field(Watcher));
    return records_.erase(it);
  }

  Set records_;
  // node-based set: stable pointers; found by string_view without building a key
  std::unordered_map<std::string, std::vector<const Record*>, ViewHash, std::equal_to<>> byResource_;
  std::unordered_map<std::size_t, std::uint32_t> byWatcher_;
};

}  // namespace parley::storage
