#include "parley/storage/memory_subscription_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace parley::storage {
namespace {
using namespace std::chrono_literals;

const WallTime kNow = WallTime{} + 1000h;

// A record whose dialog id is "<callId> l r".
Subscription sub(std::string callId, std::string resource, std::string watcher, WallTime expires) {
  Subscription s;
  s.callId = std::move(callId);
  s.localTag = "l";
  s.remoteTag = "r";
  s.resource = std::move(resource);
  s.watcher = std::move(watcher);
  s.expires = expires;
  return s;
}

// Stores `s` under `id` unconditionally; returns what update() handed back.
std::string idOf(const std::string& callId) { return subscriptionId(callId, "l", "r"); }

tl::expected<Subscription, StoreError> put(MemorySubscriptionStore& store, Subscription s, WallTime now = kNow) {
  const std::string id = subscriptionId(s.callId, s.localTag, s.remoteTag);
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
  put(store, sub("a", "presence sip:x@d", "sip:w1@d", kNow + 60s));
  put(store, sub("b", "presence sip:x@d", "sip:w2@d", kNow + 60s));
  put(store, sub("c", "dialog sip:x@d", "sip:w1@d", kNow + 60s));
  EXPECT_EQ(watchersOf(store, "presence sip:x@d"), (std::vector<std::string>{idOf("a"), idOf("b")}));
  EXPECT_EQ(watchersOf(store, "dialog sip:x@d"), (std::vector<std::string>{idOf("c")}));
  EXPECT_TRUE(watchersOf(store, "presence sip:nobody@d").empty());
  EXPECT_EQ(countOf(store, "sip:w1@d"), 2u);
  EXPECT_EQ(countOf(store, "sip:w2@d"), 1u);
  EXPECT_EQ(countOf(store, "sip:w3@d"), 0u);
}

TEST(MemorySubscriptionStore, ChangeSeesTheCurrentRecordAndMayRefuse) {
  MemorySubscriptionStore store;
  put(store, sub("a", "presence sip:x@d", "sip:w@d", kNow + 60s));
  bool sawIt = false;
  tl::expected<Subscription, StoreError> out;
  store.update(
      idOf("a"), kNow,
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
  put(store, sub("a", "presence sip:x@d", "sip:w@d", kNow + 60s));
  auto last = put(store, sub("a", "presence sip:x@d", "sip:w@d", kNow));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->watcher, "sip:w@d");
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(watchersOf(store, "presence sip:x@d").empty());
  EXPECT_EQ(countOf(store, "sip:w@d"), 0u);
  EXPECT_EQ(store.resources(), 0u);
}

TEST(MemorySubscriptionStore, ExpiredRecordsAreNotListedButStayReadableUntilSwept) {
  MemorySubscriptionStore store;
  put(store, sub("a", "presence sip:x@d", "sip:w@d", kNow + 60s));
  EXPECT_TRUE(watchersOf(store, "presence sip:x@d", kNow + 60s).empty());
  const Subscription* seen = nullptr;
  store.update(
      idOf("a"), kNow + 61s,
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
  put(store, sub("a", "presence sip:x@d", "sip:w@d", kNow + 60s));
  put(store, sub("a", "presence sip:y@d", "sip:v@d", kNow + 60s));
  EXPECT_TRUE(watchersOf(store, "presence sip:x@d").empty());
  EXPECT_EQ(watchersOf(store, "presence sip:y@d"), (std::vector<std::string>{idOf("a")}));
  EXPECT_EQ(countOf(store, "sip:w@d"), 0u);
  EXPECT_EQ(countOf(store, "sip:v@d"), 1u);
}

TEST(MemorySubscriptionStore, EveryFieldSurvivesPackingIncludingRouteSets) {
  MemorySubscriptionStore store;
  Subscription s = sub("c@h", "presence sip:x@d", "sip:w@d", kNow + 60s);
  s.eventId = "7";
  s.localUri = "<sip:x@d>";
  s.remoteUri = "\"W\" <sip:w@d>;tag=r";
  s.remoteTarget = "sip:w@192.0.2.1:5070";
  s.source = "udp:192.0.2.1:5070";
  s.routeSet = {"<sip:192.0.2.50;lr>", "<sip:p2.example;lr>"};
  s.localCSeq = 4;
  s.remoteCSeq = 9;
  put(store, s);
  Subscription seen;
  store.update(
      idOf("c@h"), kNow,
      [&](const Subscription* cur) -> tl::expected<Subscription, StoreError> {
        seen = *cur;
        return tl::unexpected(StoreError{});
      },
      [](auto) {});
  EXPECT_EQ(seen, s);
}

TEST(MemorySubscriptionStore, ARecordMustBeStoredUnderItsDialogId) {
  MemorySubscriptionStore store;
  tl::expected<Subscription, StoreError> out;
  store.update("other id", kNow,
               [](const Subscription*) -> tl::expected<Subscription, StoreError> {
                 return sub("a", "presence sip:x@d", "sip:w@d", kNow + 60s);
               },
               [&](auto r) { out = std::move(r); });
  EXPECT_FALSE(out);
  EXPECT_EQ(store.size(), 0u);
}

TEST(SubscriptionId, IsTheDialogId) {
  EXPECT_EQ(subscriptionId("c@h", "ours", "theirs"), "c@h ours theirs");
}

}  // namespace
}  // namespace parley::storage

namespace parley::storage {
namespace {

Subscription getOf(MemorySubscriptionStore& store, const std::string& id) {
  std::optional<Subscription> got;
  store.get(id, kNow, [&](auto r) { got = *r; });
  return got.value_or(Subscription{});
}

TEST(MemorySubscriptionStore, AClosureMayTakeTheRecordAndOnlyWhatChangedIsStored) {
  MemorySubscriptionStore store;
  Subscription s = sub("a", "presence sip:x@d", "sip:w1@d", kNow + 60s);
  s.routeSet = {"<sip:p1@d;lr>", "<sip:p2@d;lr>"};
  s.remoteTarget = "sip:w1@192.0.2.1";
  ASSERT_TRUE(put(store, s));

  // A NOTIFY's CSeq bump: the closure moves from the store's copy.
  store.update(idOf("a"), kNow, [](Subscription* cur) -> tl::expected<Subscription, StoreError> {
    Subscription next = std::move(*cur);
    ++next.localCSeq;
    return next;
  }, [](auto r) { ASSERT_TRUE(r); });
  Subscription expected = s;
  expected.localCSeq = s.localCSeq + 1;
  EXPECT_EQ(getOf(store, idOf("a")), expected);

  // Strings that change (a route set, then the resource) are stored and reindexed.
  store.update(idOf("a"), kNow, [](Subscription* cur) -> tl::expected<Subscription, StoreError> {
    Subscription next = std::move(*cur);
    next.routeSet = {"<sip:p1@d;lr>"};
    next.resource = "presence sip:y@d";
    return next;
  }, [](auto r) { ASSERT_TRUE(r); });
  expected.routeSet = {"<sip:p1@d;lr>"};
  expected.resource = "presence sip:y@d";
  EXPECT_EQ(getOf(store, idOf("a")), expected);
  EXPECT_TRUE(watchersOf(store, "presence sip:x@d").empty());
  EXPECT_EQ(watchersOf(store, "presence sip:y@d"), (std::vector<std::string>{idOf("a")}));

  // A route that only extends or shortens the stored one is a change too.
  for (const char* route : {"<sip:p1@d;lr>;x", "<sip:p1@d;lr>", "<sip:p1@d>"}) {
    store.update(idOf("a"), kNow, [route](Subscription* cur) -> tl::expected<Subscription, StoreError> {
      Subscription next = std::move(*cur);
      next.routeSet = {route};
      return next;
    }, [](auto r) { ASSERT_TRUE(r); });
    EXPECT_EQ(getOf(store, idOf("a")).routeSet, (std::vector<std::string>{route}));
  }
}

}  // namespace
}  // namespace parley::storage
