// Store decorators for a backend that answers later, from the event loop
// (Redis): after each answer they run `after`, which re-arms the node's SIP
// timer. An answer may start transactions or timers (a NOTIFY, a forwarded
// MESSAGE) outside any SIP event, and only SIP events re-arm the timer
// themselves. The memory backend answers inside the SIP event and needs none.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "parley/storage/list_store.hpp"
#include "parley/storage/subscription_store.hpp"

namespace parley::server {

/// Wraps `done` so that `after` runs once it returned.
template <class Done>
Done thenRun(Done done, const std::function<void()>& after) {
  return [done = std::move(done), &after](auto r) {
    done(std::move(r));
    after();
  };
}

template <class T>
class LoopAwareListStore final : public storage::ListStore<T> {
 public:
  using typename storage::ListStore<T>::Done;
  using typename storage::ListStore<T>::Change;

  /// `after` must outlive the store (the node owns both).
  LoopAwareListStore(std::unique_ptr<storage::ListStore<T>> inner, const std::function<void()>& after)
      : inner_(std::move(inner)), after_(after) {}

  void lookup(const std::string& key, storage::WallTime now, Done done) override {
    inner_->lookup(key, now, thenRun(std::move(done), after_));
  }
  void update(const std::string& key, storage::WallTime now, Change change, Done done) override {
    inner_->update(key, now, std::move(change), thenRun(std::move(done), after_));
  }

 private:
  std::unique_ptr<storage::ListStore<T>> inner_;
  const std::function<void()>& after_;
};

class LoopAwareSubscriptionStore final : public storage::SubscriptionStore {
 public:
  LoopAwareSubscriptionStore(std::unique_ptr<storage::SubscriptionStore> inner, const std::function<void()>& after)
      : inner_(std::move(inner)), after_(after) {}

  void update(const std::string& id, storage::WallTime now, Change change, Found done) override {
    inner_->update(id, now, std::move(change), thenRun(std::move(done), after_));
  }
  void get(const std::string& id, storage::WallTime now, Maybe done) override {
    inner_->get(id, now, thenRun(std::move(done), after_));
  }
  void watchers(const std::string& resource, storage::WallTime now, Ids done) override {
    inner_->watchers(resource, now, thenRun(std::move(done), after_));
  }
  void countByWatcher(const std::string& aor, storage::WallTime now, Count done) override {
    inner_->countByWatcher(aor, now, thenRun(std::move(done), after_));
  }
  void owned(storage::WallTime now, Ids done) override { inner_->owned(now, thenRun(std::move(done), after_)); }

 private:
  std::unique_ptr<storage::SubscriptionStore> inner_;
  const std::function<void()>& after_;
};

}  // namespace parley::server
