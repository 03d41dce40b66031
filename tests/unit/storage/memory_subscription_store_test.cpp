#include "parley/storage/memory_subscription_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace parley::storage {
namespace {
using namespace std::chrono_literals;

const WallTime kNow = WallTime{} + 1000h;

Subscription sub(std::string resource, std::string watcher, WallTime expires) {
  Subscription s;
  s.resource = std::move(resource);
  s.watcher = std::move(watcher);
  s.expires = expires;
  return s;
}

// Stores `s` under `id` unconditionally; returns what update() handed back.
tl::expected<Subscription, StoreError> put(MemorySubscriptionStore& store, const std::string& id, Subscription s,
                                           WallTime now = kNow) {
  tl::expected<Subscription, StoreError> out = tl::unexpected(StoreError{});
  store.update(id, now, [s](const Subscription*) -> tl::expected<Subscription, StoreError> { return s; },
               [&](auto r) { out = std::move(r); });
  return out;
}

std::vector<std::string> watchersOf(MemorySubscriptionStore& store, const std::string& resource, WallTime now = kNow) {
  std::vector<std::string> ids;
  store.watchers(resource, now, [&](auto r) { ids = *r; });
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::size_t countOf(MemorySubscriptionStore& store, const std::string& watcher) {
  std::size_t n = 99;
  store.countByWatcher(watcher, kNow, [&](auto r) { n = *r; });
  return n;
}

TEST(MemorySubscriptionStore, ListsLiveSubscriptionsByResourceAndCountsByWatcher) {
  MemorySubscriptionStore store;
  put(store, "a", sub("presence sip:x@d", "sip:w1@d", kNow + 60s));
  put(store, "b", sub("presence sip:x@d", "sip:w2@d", kNow + 60s));
  put(store, "c", sub("dialog sip:x@d", "sip:w1@d", kNow + 60s));
  EXPECT_EQ(watchersOf(store, "presence sip:x@d"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(watchersOf(store, "dialog sip:x@d"), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(watchersOf(store, "presence sip:nobody@d").empty());
  EXPECT_EQ(countOf(store, "sip:w1@d"), 2u);
  EXPECT_EQ(countOf(store, "sip:w2@d"), 1u);
  EXPECT_EQ(countOf(store, "sip:w3@d"), 0u);
}

TEST(MemorySubscriptionStore, ChangeSeesTheCurrentRecordAndMayRefuse) {
  MemorySubscriptionStore store;
  put(store, "a", sub("presence sip:x@d", "sip:w@d", kNow + 60s));
  bool sawIt = false;
  tl::expected<Subscription, StoreError> out;
  store.update(
      "a", kNow,
      [&](const Subscription* cur) -> tl::expected<Subscription, StoreError> {
        sawIt = cur != nullptr && cur->watcher == "sip:w@d";
        return tl::unexpected(StoreError{StoreError::Code::Refused, 481, "no"});
      },
      [&](auto r) { out = std::move(r); });
  EXPECT_TRUE(sawIt);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().sipCode, 481);
  EXPECT_EQ(store.size(), 1u) << "a refusal stores nothing";
}

TEST(MemorySubscriptionStore, ARecordReturnedAlreadyExpiredIsRemovedButHandedBack) {
  MemorySubscriptionStore store;
  put(store, "a", sub("presence sip:x@d", "sip:w@d", kNow + 60s));
  auto last = put(store, "a", sub("presence sip:x@d", "sip:w@d", kNow));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->watcher, "sip:w@d");
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(watchersOf(store, "presence sip:x@d").empty());
  EXPECT_EQ(countOf(store, "sip:w@d"), 0u);
  EXPECT_EQ(store.resources(), 0u);
}

TEST(MemorySubscriptionStore, ExpiredRecordsAreNotListedButStayReadableUntilSwept) {
  MemorySubscriptionStore store;
  put(store, "a", sub("presence sip:x@d", "sip:w@d", kNow + 60s));
  EXPECT_TRUE(watchersOf(store, "presence sip:x@d", kNow + 60s).empty());
  const Subscription* seen = nullptr;
  store.update(
      "a", kNow + 61s,
      [&](const Subscription* cur) -> tl::expected<Subscription, StoreError> {
        seen = cur;
        return tl::unexpected(StoreError{});
      },
      [](auto) {});
  EXPECT_NE(seen, nullptr) << "the notifier needs it for the terminating NOTIFY";
  EXPECT_EQ(store.sweep(kNow + 61s), 1u);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(countOf(store, "sip:w@d"), 0u);
}

TEST(MemorySubscriptionStore, MovingAResourceReindexesIt) {
  MemorySubscriptionStore store;
  put(store, "a", sub("presence sip:x@d", "sip:w@d", kNow + 60s));
  put(store, "a", sub("presence sip:y@d", "sip:v@d", kNow + 60s));
  EXPECT_TRUE(watchersOf(store, "presence sip:x@d").empty());
  EXPECT_EQ(watchersOf(store, "presence sip:y@d"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(countOf(store, "sip:w@d"), 0u);
  EXPECT_EQ(countOf(store, "sip:v@d"), 1u);
}

TEST(SubscriptionId, IsTheDialogId) {
  EXPECT_EQ(subscriptionId("c@h", "ours", "theirs"), "c@h ours theirs");
}

}  // namespace
}  // namespace parley::storage
