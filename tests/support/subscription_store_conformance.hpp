// The behaviour every storage::SubscriptionStore backend owes its callers
// (subscription_store.hpp), as one typed GoogleTest suite run against each
// backend.
//
// A backend plugs in as a class B with
//   std::string setUp();                                  // "" or why it cannot run
//   storage::SubscriptionStore& store();
//   bool runUntil(const std::function<bool()>& done);     // drives its loop; false on its time limit
// and is instantiated with
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, SubscriptionStoreConformance, ::testing::Types<B>);
// A backend may call back at once (memory) or later from its loop (Redis); the
// tests only ever wait through runUntil().
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/storage/subscription_store.hpp"

namespace parley::storage::conformance {

using namespace std::chrono_literals;

/// When the tests subscribe. Whole seconds (a backend keeps milliseconds at
/// least), and ahead of the real clock: a backend may hand these times to its
/// server as absolute expiries (Redis PEXPIREAT), which must not lapse on
/// their own mid-test. Not kNow: list_store_conformance.hpp has that name in
/// this namespace, and one file may include both suites.
inline const WallTime kSubscribedAt = WallTime{} + 4102444800s;  // 2100-01-01T00:00:00Z

/// A distinct subscription `n` (dialog "call-<n>@h l<n> r<n>"), every field set.
inline Subscription subscription(int n, const std::string& resource, const std::string& watcher, WallTime expires) {
  const std::string tag = std::to_string(n);
  Subscription s;
  s.resource = resource;
  s.watcher = watcher;
  s.eventId = n % 2 == 0 ? "" : "id" + tag;
  s.callId = "call-" + tag + "@h";
  s.localTag = "l" + tag;
  s.remoteTag = "r" + tag;
  s.localUri = "<sip:bob@example.com>";
  s.remoteUri = "<" + watcher + ">;tag=r" + tag;
  s.remoteTarget = "sip:w" + tag + "@192.0.2.7:5070";
  s.routeSet = {"<sip:p1.example;lr>", "<sip:p" + tag + ".example;lr>"};
  s.source = "udp:192.0.2.7:5070";
  s.localCSeq = static_cast<std::uint32_t>(n);
  s.remoteCSeq = static_cast<std::uint32_t>(n + 1);
  s.expires = expires;
  return s;
}

inline std::string idOf(const Subscription& s) { return subscriptionId(s.callId, s.localTag, s.remoteTag); }

/// What update() answers, and what watchers() and owned() list.
using SubscriptionResult = tl::expected<Subscription, StoreError>;
using IdList = std::vector<std::string>;

template <class B>
class SubscriptionStoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = backend_.setUp();
    ASSERT_EQ(why, "") << why;
  }

  /// Issues the update and waits for its answer.
  SubscriptionResult update(const std::string& id, WallTime now, SubscriptionStore::Change change) {
    std::optional<SubscriptionResult> got;
    backend_.store().update(id, now, std::move(change), [&](SubscriptionResult r) { got = std::move(r); });
    EXPECT_TRUE(backend_.runUntil([&] { return got.has_value(); })) << "no answer in time";
    return got.value_or(tl::unexpected(StoreError{StoreError::Code::Unavailable, 0, "test: no answer"}));
  }
  /// Stores `s` under its dialog id, whatever is there.
  SubscriptionResult put(const Subscription& s, WallTime now) {
    return update(idOf(s), now, [s](const Subscription*) { return SubscriptionResult(s); });
  }
  /// What update() shows its closure for `id` at `now` (nullopt: no record),
  /// refusing so that nothing changes.
  std::optional<Subscription> peek(const std::string& id, WallTime now) {
    std::optional<Subscription> seen;
    bool ran = false;
    const auto r = update(id, now, [&](const Subscription* current) -> SubscriptionResult {
      ran = true;
      if (current != nullptr) seen = *current;
      return tl::unexpected(StoreError{StoreError::Code::Refused, 499, "peek"});
    });
    EXPECT_TRUE(ran) << "the closure never ran";
    EXPECT_FALSE(r) << "a refusal was stored";
    return seen;
  }

  /// What get() answers for `id` at `now`.
  std::optional<Subscription> get(const std::string& id, WallTime now) {
    std::optional<tl::expected<std::optional<Subscription>, StoreError>> got;
    backend_.store().get(id, now, [&](tl::expected<std::optional<Subscription>, StoreError> r) { got = std::move(r); });
    if (!backend_.runUntil([&] { return got.has_value(); })) {
      ADD_FAILURE() << "no answer in time";
      return std::nullopt;
    }
    if (!*got) {
      ADD_FAILURE() << "get: " << got->error().message;
      return std::nullopt;
    }
    return **got;
  }

  /// The answers of watchers() and owned(), sorted: their order is unspecified.
  IdList watchersOf(const std::string& resource, WallTime now) {
    return ids([&](SubscriptionStore::Ids done) { backend_.store().watchers(resource, now, std::move(done)); });
  }
  IdList ownedAt(WallTime now) {
    return ids([&](SubscriptionStore::Ids done) { backend_.store().owned(now, std::move(done)); });
  }
  /// countByWatcher() of `aor` at `now`, where `live` subscriptions are live and `stored`
  /// are not removed yet: a backend may count the lapsed ones until they are removed
  /// (subscription_store.hpp).
  void expectCount(const std::string& aor, WallTime now, std::size_t live, std::size_t stored) {
    const auto n = countOf(aor, now);
    EXPECT_GE(n, live) << aor;
    EXPECT_LE(n, stored) << aor;
  }
  std::size_t countOf(const std::string& aor, WallTime now) {
    std::optional<tl::expected<std::size_t, StoreError>> got;
    backend_.store().countByWatcher(aor, now, [&](tl::expected<std::size_t, StoreError> r) { got = std::move(r); });
    if (!backend_.runUntil([&] { return got.has_value(); })) {
      ADD_FAILURE() << "no answer in time";
      return std::numeric_limits<std::size_t>::max();
    }
    if (!*got) {
      ADD_FAILURE() << "countByWatcher: " << got->error().message;
      return std::numeric_limits<std::size_t>::max();
    }
    return **got;
  }

  static IdList sorted(IdList v) {
    std::sort(v.begin(), v.end());
    return v;
  }
  static std::string show(const SubscriptionResult& r) { return r ? "stored " + idOf(*r) : "error: " + r.error().message; }

  B backend_;

 private:
  IdList ids(const std::function<void(SubscriptionStore::Ids)>& ask) {
    std::optional<tl::expected<IdList, StoreError>> got;
    ask([&](tl::expected<IdList, StoreError> r) { got = std::move(r); });
    if (!backend_.runUntil([&] { return got.has_value(); })) {
      ADD_FAILURE() << "no answer in time";
      return {};
    }
    if (!*got) {
      ADD_FAILURE() << "listing: " << got->error().message;
      return {};
    }
    return sorted(std::move(**got));
  }
};

TYPED_TEST_SUITE_P(SubscriptionStoreConformance);

TYPED_TEST_P(SubscriptionStoreConformance, CreateThenReadBack) {
  const Subscription s = subscription(1, "presence sip:bob@example.com", "sip:alice@example.com",
                                      kSubscribedAt + 3600s);
  bool sawNone = false;
  auto stored = this->update(idOf(s), kSubscribedAt, [&](const Subscription* current) {
    sawNone = current == nullptr;
    return SubscriptionResult(s);
  });
  ASSERT_TRUE(stored) << this->show(stored);
  EXPECT_TRUE(sawNone);
  EXPECT_EQ(*stored, s);
  EXPECT_EQ(this->peek(idOf(s), kSubscribedAt + 1s), s);  // every field
  EXPECT_EQ(this->peek(subscriptionId("call-1@h", "l1", "r2"), kSubscribedAt), std::nullopt);
}

// A refresh: the closure sees the stored record and its answer replaces it.
TYPED_TEST_P(SubscriptionStoreConformance, UpdateSeesTheRecordAndReplacesIt) {
  const Subscription s = subscription(1, "presence sip:bob@example.com", "sip:alice@example.com",
                                      kSubscribedAt + 3600s);
  ASSERT_TRUE(this->put(s, kSubscribedAt));
  Subscription next = s;
  next.remoteTarget = "sip:alice@192.0.2.99:5080";
  next.localCSeq = s.localCSeq + 1;
  next.remoteCSeq = s.remoteCSeq + 1;
  next.expires = kSubscribedAt + 7200s;
  std::optional<Subscription> seen;
  auto stored = this->update(idOf(s), kSubscribedAt + 60s, [&](const Subscription* current) {
    if (current != nullptr) seen = *current;
    return SubscriptionResult(next);
  });
  ASSERT_TRUE(stored) << this->show(stored);
  EXPECT_EQ(seen, s);
  EXPECT_EQ(*stored, next);
  EXPECT_EQ(this->peek(idOf(s), kSubscribedAt + 61s), next);
}

TYPED_TEST_P(SubscriptionStoreConformance, RefusalStoresNothingAndIsReported) {
  const std::string resource = "presence sip:bob@example.com";
  const Subscription s = subscription(1, resource, "sip:alice@example.com", kSubscribedAt + 3600s);

  // On an absent id: nothing is created.
  auto refused = this->update(idOf(s), kSubscribedAt, [](const Subscription*) -> SubscriptionResult {
    return tl::unexpected(StoreError{StoreError::Code::Refused, 403, "Forbidden here"});
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreError::Code::Refused);
  EXPECT_EQ(refused.error().sipCode, 403);
  EXPECT_EQ(refused.error().message, "Forbidden here");
  EXPECT_EQ(this->peek(idOf(s), kSubscribedAt), std::nullopt);
  EXPECT_TRUE(this->watchersOf(resource, kSubscribedAt).empty());
  EXPECT_EQ(this->countOf("sip:alice@example.com", kSubscribedAt), 0u);
  EXPECT_TRUE(this->ownedAt(kSubscribedAt).empty());

  // On a stored one: it stays as it was.
  ASSERT_TRUE(this->put(s, kSubscribedAt));
  refused = this->update(idOf(s), kSubscribedAt + 1s, [](const Subscription*) -> SubscriptionResult {
    return tl::unexpected(StoreError{StoreError::Code::Refused, 481, "Subscription Does Not Exist"});
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreError::Code::Refused);
  EXPECT_EQ(refused.error().sipCode, 481);
  EXPECT_EQ(refused.error().message, "Subscription Does Not Exist");
  EXPECT_EQ(this->peek(idOf(s), kSubscribedAt + 2s), s);
  EXPECT_EQ(this->watchersOf(resource, kSubscribedAt + 2s), IdList{idOf(s)});
}

// How unsubscribe and expiry end a subscription: the closure returns it with
// `expires` not after `now`; it is removed, and `done` gets it for the
// terminating NOTIFY.
TYPED_TEST_P(SubscriptionStoreConformance, AReturnedExpiredRecordIsRemovedAndHandedBack) {
  const std::string resource = "presence sip:bob@example.com";
  const Subscription a = subscription(1, resource, "sip:alice@example.com", kSubscribedAt + 3600s);
  const Subscription b = subscription(2, resource, "sip:alice@example.com", kSubscribedAt + 3600s);
  ASSERT_TRUE(this->put(a, kSubscribedAt));
  ASSERT_TRUE(this->put(b, kSubscribedAt));

  const WallTime now = kSubscribedAt + 10s;
  Subscription last = a;
  last.localCSeq = a.localCSeq + 1;
  last.expires = now;  // expires == now: not live
  auto ended = this->update(idOf(a), now, [&](const Subscription*) { return SubscriptionResult(last); });
  ASSERT_TRUE(ended) << this->show(ended);
  EXPECT_EQ(*ended, last);
  last = b;
  last.expires = now - 5s;  // already past
  ended = this->update(idOf(b), now, [&](const Subscription*) { return SubscriptionResult(last); });
  ASSERT_TRUE(ended) << this->show(ended);
  EXPECT_EQ(*ended, last);

  for (const auto& s : {a, b}) {
    bool sawNone = false;
    ASSERT_FALSE(this->update(idOf(s), now + 1s, [&](const Subscription* current) -> SubscriptionResult {
      sawNone = current == nullptr;
      return tl::unexpected(StoreError{StoreError::Code::Refused, 481, "gone"});
    }));
    EXPECT_TRUE(sawNone) << idOf(s);
  }
  EXPECT_TRUE(this->watchersOf(resource, now).empty());
  EXPECT_EQ(this->countOf("sip:alice@example.com", now), 0u);
  EXPECT_TRUE(this->ownedAt(now).empty());
}

// A fetch (SUBSCRIBE with Expires: 0) creates a record that ends at once.
TYPED_TEST_P(SubscriptionStoreConformance, ACreatedExpiredRecordIsHandedBackAndNotStored) {
  const std::string resource = "presence sip:bob@example.com";
  const Subscription fetch = subscription(1, resource, "sip:alice@example.com", kSubscribedAt);
  auto answered = this->update(idOf(fetch), kSubscribedAt, [&](const Subscription*) { return SubscriptionResult(fetch); });
  ASSERT_TRUE(answered) << this->show(answered);
  EXPECT_EQ(*answered, fetch);
  EXPECT_EQ(this->peek(idOf(fetch), kSubscribedAt), std::nullopt);
  EXPECT_TRUE(this->watchersOf(resource, kSubscribedAt - 1s).empty());
  EXPECT_EQ(this->countOf("sip:alice@example.com", kSubscribedAt - 1s), 0u);
  EXPECT_TRUE(this->ownedAt(kSubscribedAt - 1s).empty());
}

// Lapsed but not yet removed (the notifier's expiry timer removes it with the
// terminating NOTIFY): update() still shows it, the listings do not.
TYPED_TEST_P(SubscriptionStoreConformance, AnExpiredRecordIsShownToUpdateButNotListed) {
  const std::string resource = "presence sip:bob@example.com";
  const WallTime expires = kSubscribedAt + 60s;
  const Subscription s = subscription(1, resource, "sip:alice@example.com", expires);
  const Subscription other = subscription(2, resource, "sip:carol@example.com", kSubscribedAt + 3600s);
  ASSERT_TRUE(this->put(s, kSubscribedAt));
  ASSERT_TRUE(this->put(other, kSubscribedAt));

  EXPECT_EQ(this->watchersOf(resource, expires - 1s), this->sorted({idOf(s), idOf(other)}));
  EXPECT_EQ(this->countOf("sip:alice@example.com", expires - 1s), 1u);
  EXPECT_EQ(this->ownedAt(expires - 1s), this->sorted({idOf(s), idOf(other)}));

  for (const WallTime now : {expires, expires + 1s}) {  // expires <= now: not live
    EXPECT_EQ(this->watchersOf(resource, now), IdList{idOf(other)});
    this->expectCount("sip:alice@example.com", now, 0, 1);
    EXPECT_EQ(this->countOf("sip:carol@example.com", now), 1u);
    EXPECT_EQ(this->ownedAt(now), IdList{idOf(other)});
  }
  EXPECT_EQ(this->peek(idOf(s), expires + 1s), s);
}

TYPED_TEST_P(SubscriptionStoreConformance, WatchersListsTheLiveSubscriptionsToOneResource) {
  const std::string bob = "presence sip:bob@example.com";
  const std::string bobDialogs = "dialog sip:bob@example.com";  // same AOR, another package
  const std::string carol = "presence sip:carol@example.com";
  const WallTime hour = kSubscribedAt + 3600s;
  const Subscription b1 = subscription(1, bob, "sip:w1@example.com", hour);
  const Subscription b2 = subscription(2, bob, "sip:w2@example.com", hour);
  const Subscription b3 = subscription(3, bob, "sip:w1@example.com", hour);
  const Subscription d4 = subscription(4, bobDialogs, "sip:w1@example.com", hour);
  const Subscription c5 = subscription(5, carol, "sip:w2@example.com", hour);
  for (const auto& s : {b1, b2, b3, d4, c5}) ASSERT_TRUE(this->put(s, kSubscribedAt));

  const WallTime t = kSubscribedAt + 1s;
  EXPECT_EQ(this->watchersOf(bob, t), this->sorted({idOf(b1), idOf(b2), idOf(b3)}));
  EXPECT_EQ(this->watchersOf(bobDialogs, t), IdList{idOf(d4)});
  EXPECT_EQ(this->watchersOf(carol, t), IdList{idOf(c5)});
  EXPECT_TRUE(this->watchersOf("presence sip:nobody@example.com", t).empty());
  EXPECT_TRUE(this->watchersOf("presence sip:bob@example.co", t).empty());

  // Refreshes that shorten one and lengthen another.
  Subscription shorter = b1;
  shorter.expires = kSubscribedAt + 30s;
  ASSERT_TRUE(this->update(idOf(b1), t, [&](const Subscription*) { return SubscriptionResult(shorter); }));
  Subscription longer = b2;
  longer.expires = kSubscribedAt + 7200s;
  ASSERT_TRUE(this->update(idOf(b2), t, [&](const Subscription*) { return SubscriptionResult(longer); }));
  EXPECT_EQ(this->watchersOf(bob, kSubscribedAt + 29s), this->sorted({idOf(b1), idOf(b2), idOf(b3)}));
  EXPECT_EQ(this->watchersOf(bob, kSubscribedAt + 30s), this->sorted({idOf(b2), idOf(b3)}));
  EXPECT_EQ(this->watchersOf(bob, hour), IdList{idOf(b2)});
  EXPECT_TRUE(this->watchersOf(bob, kSubscribedAt + 7200s).empty());

  // A removal.
  Subscription ended = b3;
  ended.expires = t;
  ASSERT_TRUE(this->update(idOf(b3), t, [&](const Subscription*) { return SubscriptionResult(ended); }));
  EXPECT_EQ(this->watchersOf(bob, t), this->sorted({idOf(b1), idOf(b2)}));
  EXPECT_EQ(this->watchersOf(bobDialogs, t), IdList{idOf(d4)});
  EXPECT_EQ(this->watchersOf(carol, t), IdList{idOf(c5)});
}

TYPED_TEST_P(SubscriptionStoreConformance, CountByWatcherCountsSubscriptionsUntilRemoved) {
  const std::string w1 = "sip:w1@example.com";
  const std::string w2 = "sip:w2@example.com";
  const Subscription a = subscription(1, "presence sip:bob@example.com", w1, kSubscribedAt + 3600s);
  const Subscription b = subscription(2, "presence sip:carol@example.com", w1, kSubscribedAt + 60s);
  const Subscription c = subscription(3, "dialog sip:bob@example.com", w1, kSubscribedAt + 3600s);
  const Subscription d = subscription(4, "presence sip:bob@example.com", w2, kSubscribedAt + 3600s);
  for (const auto& s : {a, b, c, d}) ASSERT_TRUE(this->put(s, kSubscribedAt));

  const WallTime t = kSubscribedAt + 1s;
  EXPECT_EQ(this->countOf(w1, t), 3u);
  EXPECT_EQ(this->countOf(w2, t), 1u);
  EXPECT_EQ(this->countOf("sip:w3@example.com", t), 0u);
  EXPECT_EQ(this->countOf("sip:w1@example.co", t), 0u);

  Subscription ended = c;
  ended.expires = t;
  ASSERT_TRUE(this->update(idOf(c), t, [&](const Subscription*) { return SubscriptionResult(ended); }));
  EXPECT_EQ(this->countOf(w1, t), 2u);
  this->expectCount(w1, kSubscribedAt + 60s, 1, 2);  // b lapsed, not removed
  EXPECT_EQ(this->countOf(w2, kSubscribedAt + 60s), 1u);
  this->expectCount(w1, kSubscribedAt + 3600s, 0, 2);
}

TYPED_TEST_P(SubscriptionStoreConformance, OwnedListsTheLiveSubscriptionsWrittenHere) {
  EXPECT_TRUE(this->ownedAt(kSubscribedAt).empty());
  const Subscription a = subscription(1, "presence sip:bob@example.com", "sip:w1@example.com", kSubscribedAt + 3600s);
  const Subscription b = subscription(2, "presence sip:carol@example.com", "sip:w2@example.com", kSubscribedAt + 60s);
  const Subscription c = subscription(3, "presence sip:bob@example.com", "sip:w2@example.com", kSubscribedAt + 3600s);
  for (const auto& s : {a, b, c}) ASSERT_TRUE(this->put(s, kSubscribedAt));

  const WallTime t = kSubscribedAt + 1s;
  EXPECT_EQ(this->ownedAt(t), this->sorted({idOf(a), idOf(b), idOf(c)}));
  EXPECT_EQ(this->ownedAt(kSubscribedAt + 60s), this->sorted({idOf(a), idOf(c)}));

  Subscription ended = a;
  ended.expires = t;
  ASSERT_TRUE(this->update(idOf(a), t, [&](const Subscription*) { return SubscriptionResult(ended); }));
  EXPECT_EQ(this->ownedAt(t), this->sorted({idOf(b), idOf(c)}));
  EXPECT_EQ(this->ownedAt(kSubscribedAt + 3600s), IdList{});
}

// Every string as the headers may carry it. Call-IDs and tags hold no spaces
// in SIP (they are separators in subscriptionId()) and no header value holds
// an LF once unfolded (the memory store joins the route set with LF).
TYPED_TEST_P(SubscriptionStoreConformance, OddBytesManyRoutesAndCSeqExtremesSurvive) {
  const std::string odd("{x} \"y\"\t\r\0\xff\xc3\xa9", 13);
  Subscription s;
  s.resource = "presence sip:{bob}@example.com " + odd;
  s.watcher = "sip:{al ice}@example.com" + odd;
  s.eventId = "{id}" + odd;
  s.callId = "a{b}c:%41\"~'`!*()<>[]/?@[2001:db8::1]";
  s.localTag = "{ours}";
  s.remoteTag = "{}";
  s.localUri = "\"Bob {B}\" <sip:bob@example.com>" + odd;
  s.remoteUri = "\"Al {ice}\" <sip:alice@example.com>;tag={}" + odd;
  s.remoteTarget = "sip:alice@[2001:db8::1]:5061;transport=tls;x=" + odd;
  for (int i = 0; i < 100; ++i) s.routeSet.push_back("<sip:p" + std::to_string(i) + ".example;lr> {" + odd + "}");
  s.routeSet.front() = "";
  s.source = "tls:[2001:db8::1]:5061 " + odd;
  s.localCSeq = std::numeric_limits<std::uint32_t>::max();
  s.remoteCSeq = std::numeric_limits<std::uint32_t>::max();
  s.expires = kSubscribedAt + 3600s;
  const Subscription plain = subscription(2, "presence sip:bob@example.com", "sip:alice@example.com",
                                          kSubscribedAt + 3600s);
  auto stored = this->put(s, kSubscribedAt);
  ASSERT_TRUE(stored) << this->show(stored);
  EXPECT_EQ(*stored, s);
  ASSERT_TRUE(this->put(plain, kSubscribedAt));

  const WallTime t = kSubscribedAt + 1s;
  EXPECT_EQ(this->peek(idOf(s), t), s);
  EXPECT_EQ(this->watchersOf(s.resource, t), IdList{idOf(s)});
  EXPECT_EQ(this->watchersOf("presence sip:bob@example.com", t), IdList{idOf(plain)});
  EXPECT_EQ(this->countOf(s.watcher, t), 1u);
  EXPECT_EQ(this->countOf("sip:alice@example.com", t), 1u);
  EXPECT_EQ(this->ownedAt(t), this->sorted({idOf(s), idOf(plain)}));

  Subscription none;  // every field empty: the id is "  "
  none.expires = kSubscribedAt + 3600s;
  stored = this->put(none, kSubscribedAt);
  ASSERT_TRUE(stored) << this->show(stored);
  EXPECT_EQ(this->peek(idOf(none), t), none);
  EXPECT_EQ(this->watchersOf("", t), IdList{idOf(none)});
}

// A popular presentity: updates issued back to back, without waiting, and
// every listing exact.
TYPED_TEST_P(SubscriptionStoreConformance, TwoHundredSubscriptionsFromFiftyWatchers) {
  constexpr int kSubscriptions = 200;
  constexpr int kWatchers = 50;
  const std::string resource = "presence sip:popular@example.com";
  auto watcher = [](int w) { return "sip:w" + std::to_string(w) + "@example.com"; };
  std::vector<Subscription> subs;
  for (int n = 0; n < kSubscriptions; ++n)
    subs.push_back(subscription(n, resource, watcher(n % kWatchers), kSubscribedAt + 3600s + std::chrono::seconds(n)));

  // Issues `change(n, subscription n)` for every n at once and waits for all answers.
  auto updateAll = [&](WallTime now, const std::function<Subscription(int, const Subscription&)>& change) {
    int answered = 0;
    int failed = 0;
    for (int n = 0; n < kSubscriptions; ++n)
      this->backend_.store().update(
          idOf(subs[static_cast<std::size_t>(n)]), now,
          [next = change(n, subs[static_cast<std::size_t>(n)])](const Subscription*) { return SubscriptionResult(next); },
          [&](SubscriptionResult r) {
            ++answered;
            if (!r) ++failed;
          });
    EXPECT_TRUE(this->backend_.runUntil([&] { return answered == kSubscriptions; })) << answered << " answered";
    EXPECT_EQ(failed, 0);
  };
  updateAll(kSubscribedAt, [](int, const Subscription& s) { return s; });

  std::vector<std::string> all;
  for (const auto& s : subs) all.push_back(idOf(s));
  const WallTime t = kSubscribedAt + 1s;
  EXPECT_EQ(this->watchersOf(resource, t), this->sorted(all));
  EXPECT_EQ(this->ownedAt(t), this->sorted(all));
  for (int w = 0; w < kWatchers; ++w) EXPECT_EQ(this->countOf(watcher(w), t), 4u) << watcher(w);

  // The first fifty end (one of each watcher's four), the rest are refreshed.
  updateAll(t, [t](int n, const Subscription& s) {
    Subscription next = s;
    next.localCSeq += 1;
    if (n < kWatchers) next.expires = t;
    return next;
  });
  const std::vector<std::string> left(all.begin() + kWatchers, all.end());
  EXPECT_EQ(this->watchersOf(resource, t), this->sorted(left));
  EXPECT_EQ(this->ownedAt(t), this->sorted(left));
  for (int w = 0; w < kWatchers; ++w) EXPECT_EQ(this->countOf(watcher(w), t), 3u) << watcher(w);
  // Expiries are a second apart: at +3700 s, subscriptions 0..100 have lapsed.
  const WallTime later = kSubscribedAt + 3700s;
  EXPECT_EQ(this->watchersOf(resource, later),
            this->sorted(std::vector<std::string>(all.begin() + 101, all.end())));
  this->expectCount(watcher(0), later, 1, 3);  // 0 removed; 50, 100 lapsed; 150 live
  this->expectCount(watcher(1), later, 2, 3);  // 1 removed; 51 lapsed; 101, 151 live
}

// get(): the live record, every field; nothing once it lapsed (even while
// update() still shows it for the terminating NOTIFY) or was removed.
TYPED_TEST_P(SubscriptionStoreConformance, GetReadsALiveRecordOnly) {
  const Subscription s = subscription(7, "presence sip:bob@example.com", "sip:alice@example.com", kSubscribedAt + 60s);
  EXPECT_EQ(this->get(idOf(s), kSubscribedAt), std::nullopt);
  ASSERT_TRUE(this->put(s, kSubscribedAt));
  EXPECT_EQ(this->get(idOf(s), kSubscribedAt + 1s), s);
  EXPECT_EQ(this->get(idOf(s), kSubscribedAt + 60s), std::nullopt);  // lapsed
  EXPECT_EQ(this->get(subscriptionId("call-7@h", "l7", "r8"), kSubscribedAt), std::nullopt);
  Subscription ended = s;
  ended.expires = kSubscribedAt;
  ASSERT_TRUE(this->update(idOf(s), kSubscribedAt + 2s, [&](const Subscription*) { return SubscriptionResult(ended); }));
  EXPECT_EQ(this->get(idOf(s), kSubscribedAt + 2s), std::nullopt);
}

REGISTER_TYPED_TEST_SUITE_P(SubscriptionStoreConformance, CreateThenReadBack, GetReadsALiveRecordOnly, UpdateSeesTheRecordAndReplacesIt,
                            RefusalStoresNothingAndIsReported, AReturnedExpiredRecordIsRemovedAndHandedBack,
                            ACreatedExpiredRecordIsHandedBackAndNotStored, AnExpiredRecordIsShownToUpdateButNotListed,
                            WatchersListsTheLiveSubscriptionsToOneResource, CountByWatcherCountsSubscriptionsUntilRemoved,
                            OwnedListsTheLiveSubscriptionsWrittenHere, OddBytesManyRoutesAndCSeqExtremesSurvive,
                            TwoHundredSubscriptionsFromFiftyWatchers);

}  // namespace parley::storage::conformance
