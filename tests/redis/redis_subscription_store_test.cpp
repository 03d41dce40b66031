// What RedisSubscriptionStore does beyond the conformance suite: its key
// schema and index scores, the grace a lapsed record is kept for, ownership by
// node (what a restarted node resumes, what any node fans out to), and Redis
// being away.
#include "parley/redis/redis_subscription_store.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "redis_live_support.hpp"

namespace parley::redis {
namespace {
using namespace std::chrono_literals;
using storage::StoreError;
using storage::Subscription;
using storage::WallClock;
using storage::WallTime;
using test_support::LiveRedis;

using Found = tl::expected<Subscription, StoreError>;
using Ids = tl::expected<std::vector<std::string>, StoreError>;

Subscription sub(int n, std::string resource, std::string watcher, WallTime expires) {
  Subscription s;
  s.resource = std::move(resource);
  s.watcher = std::move(watcher);
  s.callId = "call-" + std::to_string(n);
  s.localTag = "l" + std::to_string(n);
  s.remoteTag = "r" + std::to_string(n);
  s.localUri = "sip:alice@example.com";
  s.remoteUri = "<sip:w@example.com>;tag=r" + std::to_string(n);
  s.remoteTarget = "sip:w@192.0.2.1:5060";
  s.routeSet = {"<sip:p1.example;lr>"};
  s.source = "udp:192.0.2.1:5060";
  s.expires = expires;
  return s;
}
std::string idOf(const Subscription& s) { return storage::subscriptionId(s.callId, s.localTag, s.remoteTag); }

std::int64_t ms(WallTime t) { return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count(); }

class RedisSubscriptionStoreLive : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = live_.startServer();
    ASSERT_EQ(why, "") << why;
    client_ = live_.connect();
    ASSERT_NE(client_, nullptr);
    a_ = std::make_unique<RedisSubscriptionStore>(*client_, "p:", "node-a");
    b_ = std::make_unique<RedisSubscriptionStore>(*client_, "p:", "node-b");
  }

  Found update(storage::SubscriptionStore& s, const std::string& id, WallTime now,
               storage::SubscriptionStore::Change change) {
    std::optional<Found> got;
    s.update(id, now, std::move(change), [&](Found r) { got = std::move(r); });
    EXPECT_TRUE(live_.runUntil([&] { return got.has_value(); })) << "no answer in time";
    return got.value_or(tl::unexpected(StoreError{StoreError::Code::Unavailable, 0, "test: no answer"}));
  }
  Found put(storage::SubscriptionStore& s, const Subscription& value, WallTime now) {
    return update(s, idOf(value), now, [value](const Subscription*) { return Found(value); });
  }
  template <class Call>
  Ids ids(Call call) {
    std::optional<Ids> got;
    call([&](Ids r) { got = std::move(r); });
    EXPECT_TRUE(live_.runUntil([&] { return got.has_value(); })) << "no answer in time";
    return got.value_or(tl::unexpected(StoreError{StoreError::Code::Unavailable, 0, "test: no answer"}));
  }
  std::optional<std::string> score(const std::string& key, const std::string& member) {
    auto r = live_.call(*client_, {"ZSCORE", key, member});
    if (!r || r->type != RedisReply::Type::String) return std::nullopt;
    return r->str;
  }
  std::int64_t integer(std::vector<std::string> argv) {
    auto r = live_.call(*client_, std::move(argv));
    return r && r->type == RedisReply::Type::Integer ? r->integer : -99;
  }

  LiveRedis live_;
  RedisClient* client_ = nullptr;
  std::unique_ptr<RedisSubscriptionStore> a_, b_;
  const WallTime now_ = std::chrono::floor<std::chrono::seconds>(WallClock::now());
  const std::vector<std::string> none{"(store error)"};
};

TEST_F(RedisSubscriptionStoreLive, RecordAndItsThreeIndexesAreHashTaggedAndScoredWithTheExpiry) {
  const Subscription s = sub(1, "presence sip:alice@example.com", "sip:w@example.com", now_ + 600s);
  ASSERT_TRUE(put(*a_, s, now_));
  const std::string id = idOf(s);
  EXPECT_EQ(a_->recordKey(id), "p:{" + id + "}:sub");
  EXPECT_EQ(a_->resourceKey(s.resource), "p:{presence sip:alice@example.com}:watchers");
  EXPECT_EQ(a_->watcherKey(s.watcher), "p:{sip:w@example.com}:watching");
  EXPECT_EQ(a_->nodeKey(), "p:{node:node-a}:subs");
  const std::string expected = std::to_string(ms(s.expires));
  EXPECT_EQ(score(a_->resourceKey(s.resource), id), expected);
  EXPECT_EQ(score(a_->watcherKey(s.watcher), id), expected);
  EXPECT_EQ(score(a_->nodeKey(), id), expected);
  // Everything lapses kGrace after the expiry, so nothing is left behind.
  const auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(RedisSubscriptionStore::kGrace).count();
  for (const auto& key : {a_->recordKey(id), a_->resourceKey(s.resource), a_->watcherKey(s.watcher), a_->nodeKey()}) {
    const auto pttl = integer({"PTTL", key});
    EXPECT_GT(pttl, 600 * 1000 + grace - 60 * 1000) << key;
    EXPECT_LE(pttl, 600 * 1000 + grace + 1000) << key;
  }
}

TEST_F(RedisSubscriptionStoreLive, ANotifyChangesTheRecordAndLeavesTheIndexesAlone) {
  const Subscription s = sub(1, "presence sip:alice@example.com", "sip:w@example.com", now_ + 600s);
  ASSERT_TRUE(put(*a_, s, now_));
  ASSERT_EQ(integer({"DEL", a_->resourceKey(s.resource)}), 1);  // so a rewrite would show
  auto r = update(*a_, idOf(s), now_, [](const Subscription* cur) {
    Subscription next = *cur;
    ++next.localCSeq;
    return Found(next);
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->localCSeq, 1u);
  EXPECT_EQ(integer({"EXISTS", a_->resourceKey(s.resource)}), 0);
}

TEST_F(RedisSubscriptionStoreLive, NotifyCSeqsAreLeasedSoRedisIsWrittenOncePerLeaseAndStaysAhead) {
  const Subscription s = sub(1, "presence sip:alice@example.com", "sip:w@example.com", now_ + 600s);
  ASSERT_TRUE(put(*a_, s, now_));
  const std::string key = a_->recordKey(idOf(s));
  auto stored = [&]() -> std::int64_t {
    auto r = live_.call(*client_, {"GET", key});
    if (!r || r->type != RedisReply::Type::String) return -1;
    auto list = Codec<Subscription>::decode(r->str);
    return list && list->size() == 1 ? static_cast<std::int64_t>(list->front().localCSeq) : -2;
  };
  auto notify = [&](RedisSubscriptionStore& store) {
    return update(store, idOf(s), now_, [](const Subscription* cur) {
      if (cur == nullptr) return Found(tl::unexpected(StoreError{StoreError::Code::Refused, 481, "gone"}));
      Subscription next = *cur;
      ++next.localCSeq;
      return Found(next);
    });
  };
  constexpr auto kLease = RedisSubscriptionStore::kCSeqLease;
  EXPECT_EQ(stored(), kLease);  // written at 0: Redis holds 0 + the lease
  for (std::uint32_t i = 1; i <= kLease; ++i) {
    auto r = notify(*a_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->localCSeq, i);  // contiguous, as RFC 3261 §12.2.1.1 wants
  }
  EXPECT_EQ(stored(), kLease);  // a hundred NOTIFYs, no write
  auto got = [&](RedisSubscriptionStore& store) {
    std::optional<tl::expected<std::optional<Subscription>, StoreError>> answer;
    store.get(idOf(s), now_, [&](auto r) { answer = std::move(r); });
    EXPECT_TRUE(live_.runUntil([&] { return answer.has_value(); }));
    return answer && *answer && **answer ? static_cast<std::int64_t>((**answer)->localCSeq) : -1;
  };
  EXPECT_EQ(got(*a_), kLease);  // the CSeq in use (here equal to the ceiling)
  auto r = notify(*a_);  // past the ceiling: one write, the next lease
  ASSERT_TRUE(r);
  EXPECT_EQ(r->localCSeq, kLease + 1);
  EXPECT_EQ(stored(), 2 * kLease + 1);
  EXPECT_EQ(got(*a_), kLease + 1);

  // A refresh (the expiry moves) is written at once, with the CSeq in use.
  r = update(*a_, idOf(s), now_, [&](const Subscription* cur) {
    Subscription next = *cur;
    next.expires = now_ + 900s;
    return Found(next);
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->localCSeq, kLease + 1);
  EXPECT_EQ(stored(), 2 * kLease + 1);

  // After a crash, a new store (same node) goes on above every CSeq used.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(notify(*a_));  // kLease + 6, not written
  RedisSubscriptionStore restarted(*client_, "p:", "node-a");
  r = notify(restarted);
  ASSERT_TRUE(r);
  EXPECT_GT(r->localCSeq, kLease + 6);
  EXPECT_LE(r->localCSeq, 2 * kLease + 2);
  // Had the old one kept running (two live writers of one dialog), it could not
  // know: it goes on within its own lease, below every CSeq the new one uses, so
  // no CSeq is sent twice (the watcher refuses the lower ones, RFC 3261 §12.2.2).
  auto old = notify(*a_);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->localCSeq, kLease + 7);
  EXPECT_LT(old->localCSeq, r->localCSeq);
}

TEST_F(RedisSubscriptionStoreLive, EveryNodeSeesEveryWatcherButOwnsOnlyWhatItWrote) {
  const std::string resource = "presence sip:alice@example.com";
  const Subscription onA = sub(1, resource, "sip:w1@example.com", now_ + 600s);
  const Subscription onB = sub(2, resource, "sip:w2@example.com", now_ + 600s);
  ASSERT_TRUE(put(*a_, onA, now_));
  ASSERT_TRUE(put(*b_, onB, now_));
  auto all = ids([&](auto done) { b_->watchers(resource, now_, done); });
  ASSERT_TRUE(all);
  std::sort(all->begin(), all->end());
  EXPECT_EQ(*all, (std::vector<std::string>{idOf(onA), idOf(onB)}));
  EXPECT_EQ(ids([&](auto done) { a_->owned(now_, done); }).value_or(none), std::vector<std::string>{idOf(onA)});
  EXPECT_EQ(ids([&](auto done) { b_->owned(now_, done); }).value_or(none), std::vector<std::string>{idOf(onB)});
  // A restarted node (a new store, same node id) finds the same ones.
  RedisSubscriptionStore again(*client_, "p:", "node-b");
  EXPECT_EQ(ids([&](auto done) { again.owned(now_, done); }).value_or(none), std::vector<std::string>{idOf(onB)});
}

TEST_F(RedisSubscriptionStoreLive, ALapsedRecordIsKeptForTheTerminatingNotifyThenRemovedEverywhere) {
  const Subscription s = sub(1, "presence sip:alice@example.com", "sip:w@example.com", now_ + 10s);
  ASSERT_TRUE(put(*a_, s, now_));
  const auto later = now_ + 11s;
  auto lapsed = ids([&](auto done) { a_->watchers(s.resource, later, done); });
  ASSERT_TRUE(lapsed);
  EXPECT_TRUE(lapsed->empty());
  // The expiry timer reads it past its expiry and removes it.
  auto last = update(*a_, idOf(s), later, [later](const Subscription* cur) -> Found {
    if (cur == nullptr) return tl::unexpected(StoreError{StoreError::Code::Refused, 481, "gone"});
    Subscription end = *cur;
    ++end.localCSeq;
    end.expires = later;
    return end;
  });
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(last->localCSeq, 1u);
  EXPECT_EQ(integer({"EXISTS", a_->recordKey(idOf(s))}), 0);
  EXPECT_EQ(integer({"EXISTS", a_->resourceKey(s.resource)}), 0);
  EXPECT_EQ(integer({"EXISTS", a_->watcherKey(s.watcher)}), 0);
  EXPECT_EQ(integer({"EXISTS", a_->nodeKey()}), 0);
}

TEST_F(RedisSubscriptionStoreLive, RedisAwayIsUnavailable) {
  const Subscription s = sub(1, "presence sip:alice@example.com", "sip:w@example.com", now_ + 600s);
  ASSERT_TRUE(put(*a_, s, now_));
  live_.server().stop();
  ASSERT_TRUE(live_.runUntil([&] { return !client_->connected(); }));
  auto r = update(*a_, idOf(s), now_, [](const Subscription* cur) { return Found(*cur); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, StoreError::Code::Unavailable);
  EXPECT_EQ(r.error().sipCode, 503);
  auto w = ids([&](auto done) { a_->watchers(s.resource, now_, done); });
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, StoreError::Code::Unavailable);
}

}  // namespace
}  // namespace parley::redis
