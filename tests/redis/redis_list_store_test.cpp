// What RedisListStore does beyond the conformance suite: its key schema, TTLs,
// compare-and-set under real concurrency, and Redis being away.
#include "parley/redis/redis_list_store.hpp"

#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "redis_live_support.hpp"

namespace parley::redis {
namespace {
using namespace std::chrono_literals;
using storage::Binding;
using storage::Bindings;
using storage::RosterItem;
using storage::StoreError;
using storage::WallClock;
using storage::WallTime;
using test_support::LiveRedis;

template <class T>
using Result = tl::expected<std::vector<T>, StoreError>;

Binding binding(std::string contact, WallTime expires) {
  Binding b;
  b.contact = std::move(contact);
  b.callId = "c";
  b.expires = expires;
  return b;
}

class RedisListStoreLive : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = live_.startServer();
    ASSERT_EQ(why, "") << why;
    client_ = live_.connect();
    ASSERT_NE(client_, nullptr);
  }

  template <class T>
  Result<T> update(storage::ListStore<T>& s, const std::string& key, WallTime now,
                   typename storage::ListStore<T>::Change change) {
    std::optional<Result<T>> got;
    s.update(key, now, std::move(change), [&](Result<T> r) { got = std::move(r); });
    EXPECT_TRUE(live_.runUntil([&] { return got.has_value(); })) << "no answer in time";
    return got.value_or(tl::unexpected(StoreError{StoreError::Code::Unavailable, 0, "test: no answer"}));
  }
  template <class T>
  Result<T> put(storage::ListStore<T>& s, const std::string& key, WallTime now, std::vector<T> list) {
    return update<T>(s, key, now, [list](const std::vector<T>&) { return Result<T>(list); });
  }
  template <class T>
  Result<T> lookup(storage::ListStore<T>& s, const std::string& key, WallTime now) {
    std::optional<Result<T>> got;
    s.lookup(key, now, [&](Result<T> r) { got = std::move(r); });
    EXPECT_TRUE(live_.runUntil([&] { return got.has_value(); })) << "no answer in time";
    return got.value_or(tl::unexpected(StoreError{StoreError::Code::Unavailable, 0, "test: no answer"}));
  }
  std::int64_t integer(std::vector<std::string> argv) {
    auto r = live_.call(*client_, std::move(argv));
    EXPECT_TRUE(r && r->type == RedisReply::Type::Integer);
    return r ? r->integer : -999;
  }

  LiveRedis live_;
  RedisClient* client_ = nullptr;
};

TEST_F(RedisListStoreLive, KeyIsPrefixHashTaggedKeyAndKind) {
  RedisListStore<Binding> s(*client_, "parley:", "reg");
  EXPECT_EQ(s.redisKey("sip:alice@example.com"), "parley:{sip:alice@example.com}:reg");
  const WallTime now = WallClock::now();
  ASSERT_TRUE(put<Binding>(s, "sip:alice@example.com", now, {binding("sip:a@h", now + 60s)}));
  EXPECT_EQ(integer({"EXISTS", "parley:{sip:alice@example.com}:reg"}), 1);
  auto raw = live_.call(*client_, {"GET", "parley:{sip:alice@example.com}:reg"});
  ASSERT_TRUE(raw);
  const WallTime stored = std::chrono::floor<std::chrono::milliseconds>(now + 60s);
  EXPECT_EQ(Codec<Binding>::decode(raw->str).value(), (Bindings{binding("sip:a@h", stored)}));
}

TEST_F(RedisListStoreLive, TtlIsTheLatestExpiryAndAnEmptyListIsDeleted) {
  RedisListStore<Binding> s(*client_, "p:", "reg");
  const WallTime now = WallTime{} + 1000000s;  // the store's clock, not Redis's: only the difference counts
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("a", now + 30s), binding("b", now + 90s), binding("c", now + 10s)}));
  const auto pttl = integer({"PTTL", s.redisKey("k")});
  EXPECT_GT(pttl, 89000);
  EXPECT_LE(pttl, 90000);

  // A refresh moves the TTL with the records.
  ASSERT_TRUE(put<Binding>(s, "k", now + 1s, {binding("a", now + 1s + 500ms)}));
  const auto shorter = integer({"PTTL", s.redisKey("k")});
  EXPECT_GT(shorter, 0);
  EXPECT_LE(shorter, 500);

  ASSERT_TRUE(put<Binding>(s, "k", now, {}));
  EXPECT_EQ(integer({"EXISTS", s.redisKey("k")}), 0);
}

TEST_F(RedisListStoreLive, RedisExpiresTheKeyAtTheLatestExpiry) {
  RedisListStore<Binding> s(*client_, "p:", "reg");
  const WallTime now = WallClock::now();
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("a", now + 150ms)}));
  EXPECT_EQ(integer({"EXISTS", s.redisKey("k")}), 1);
  live_.runUntil([] { return false; }, 400ms);
  EXPECT_EQ(integer({"EXISTS", s.redisKey("k")}), 0);
}

TEST_F(RedisListStoreLive, NeverExpiringListsHaveNoTtl) {
  RedisListStore<RosterItem> s(*client_, "p:", "roster");
  RosterItem forever;
  forever.jid = "bob@example.org";
  RosterItem lapsing = forever;
  lapsing.jid = "carol@example.org";
  lapsing.expires = WallClock::now() + 60s;
  ASSERT_TRUE(put<RosterItem>(s, "sip:alice@x", WallClock::now(), {forever}));
  EXPECT_EQ(integer({"PTTL", s.redisKey("sip:alice@x")}), -1);  // exists, no TTL
  ASSERT_TRUE(put<RosterItem>(s, "sip:alice@x", WallClock::now(), {lapsing, forever}));
  EXPECT_EQ(integer({"PTTL", s.redisKey("sip:alice@x")}), -1);
  ASSERT_TRUE(put<RosterItem>(s, "sip:alice@x", WallClock::now(), {lapsing}));  // a TTL again
  EXPECT_GT(integer({"PTTL", s.redisKey("sip:alice@x")}), 50000);
}

// rememberWrites: the store's own last write is the base of its next update,
// so that update costs one command (the compare-and-set) instead of two.
TEST_F(RedisListStoreLive, ARememberedWriteSavesTheGet) {
  RedisListStore<Binding> s(*client_, "p:", "reg", RedisListOptions{.rememberWrites = true});
  const WallTime now = WallClock::now();
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("a", now + 60s)}));
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("a", now + 60s)}));  // the script is loaded by now
  EXPECT_EQ(s.remembered(), 1u);
  const auto before = client_->stats().commands;
  auto r = update<Binding>(s, "k", now, [&](const Bindings& live) {
    Bindings next = live;
    next.push_back(binding("b", now + 60s));
    return Result<Binding>(next);
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(client_->stats().commands - before, 1u) << "GET sent although the value was remembered";
  ASSERT_TRUE(put<Binding>(s, "k", now, {}));  // deleted: nothing left to remember
  EXPECT_EQ(s.remembered(), 0u);
}

// A key this store never wrote is guessed absent: a new one costs one command;
// a guess proved wrong by the script, or one that would write nothing, is
// checked against Redis.
TEST_F(RedisListStoreLive, AKeyNeverWrittenIsGuessedAbsentAndTheGuessChecked) {
  RedisListStore<Binding> s(*client_, "p:", "reg", RedisListOptions{.rememberWrites = true});
  RedisListStore<Binding> other(*live_.connect(), "p:", "reg");
  const WallTime now = WallClock::now();
  ASSERT_TRUE(put<Binding>(s, "warm-up", now, {binding("a", now + 60s)}));  // loads the script
  const auto before = client_->stats().commands;
  ASSERT_TRUE(put<Binding>(s, "fresh", now, {binding("a", now + 60s)}));
  EXPECT_EQ(client_->stats().commands - before, 1u) << "a new key should cost one command";

  // Written by someone else: the guess fails, the closure sees the real list.
  ASSERT_TRUE(put<Binding>(other, "theirs", now, {binding("z", now + 60s)}));
  auto r = update<Binding>(s, "theirs", now, [&](const Bindings& live) {
    Bindings next = live;
    next.push_back(binding("b", now + 60s));
    return Result<Binding>(next);
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 2u);

  // Removing everything from a key guessed absent must still remove what is there.
  ASSERT_TRUE(put<Binding>(other, "gone", now, {binding("z", now + 60s)}));
  r = update<Binding>(s, "gone", now, [](const Bindings&) { return Result<Binding>(Bindings{}); });
  ASSERT_TRUE(r);
  EXPECT_EQ(integer({"EXISTS", s.redisKey("gone")}), 0);
}

// Another writer changed the key: the compare-and-set fails on the remembered
// value and the closure runs again on Redis's.
TEST_F(RedisListStoreLive, AStaleRememberedValueOnlyCostsARetry) {
  RedisListStore<Binding> s(*client_, "p:", "reg", RedisListOptions{.rememberWrites = true});
  RedisListStore<Binding> other(*live_.connect(), "p:", "reg");
  const WallTime now = WallClock::now();
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("a", now + 60s)}));
  ASSERT_TRUE(put<Binding>(other, "k", now, {binding("a", now + 60s), binding("z", now + 60s)}));
  auto r = update<Binding>(s, "k", now, [&](const Bindings& live) {
    Bindings next = live;
    next.push_back(binding("b", now + 60s));
    return Result<Binding>(next);
  });
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].contact, "z");
}

// A refusal must never rest on a remembered value: the closure runs again on
// Redis's own, which here makes it accept.
TEST_F(RedisListStoreLive, ARefusalOfARememberedValueIsCheckedAgainstRedis) {
  RedisListStore<Binding> s(*client_, "p:", "reg", RedisListOptions{.rememberWrites = true});
  RedisListStore<Binding> other(*live_.connect(), "p:", "reg");
  const WallTime now = WallClock::now();
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("a", now + 60s)}));
  ASSERT_TRUE(put<Binding>(other, "k", now, {binding("ready", now + 60s)}));
  int runs = 0;
  auto r = update<Binding>(s, "k", now, [&](const Bindings& live) -> Result<Binding> {
    ++runs;
    if (live.empty() || live.front().contact != "ready")
      return tl::unexpected(StoreError{StoreError::Code::Refused, 409, "not ready"});
    return live;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(r->front().contact, "ready");
}

// Two servers' worth of traffic on one key: each store (its own connection)
// appends 100 records, all issued at once and interleaved. Every one must be
// in the final list exactly once, and nothing may fail.
TEST_F(RedisListStoreLive, RacingUpdatesFromTwoClientsLoseNothing) {
  RedisClient* other = live_.connect();
  ASSERT_NE(other, nullptr);
  RedisListStore<Binding> a(*client_, "p:", "reg");
  RedisListStore<Binding> b(*other, "p:", "reg");
  const WallTime now = WallClock::now();
  constexpr int kEach = 100;
  int answered = 0;
  int failed = 0;
  int runs = 0;
  auto append = [&](RedisListStore<Binding>& s, std::string contact) {
    s.update("sip:hot@x", now, [&runs, contact, now](const Bindings& live) {
      ++runs;
      Bindings next = live;
      next.push_back(binding(contact, now + 60s));
      return Result<Binding>(next);
    }, [&](Result<Binding> r) {
      ++answered;
      if (!r) ++failed;
    });
  };
  for (int i = 0; i < kEach; ++i) {
    append(a, "sip:a" + std::to_string(i));
    append(b, "sip:b" + std::to_string(i));
  }
  ASSERT_TRUE(live_.runUntil([&] { return answered == 2 * kEach; }, 20s)) << answered;
  EXPECT_EQ(failed, 0);
  auto all = lookup<Binding>(a, "sip:hot@x", now);
  ASSERT_TRUE(all);
  std::set<std::string> contacts;
  for (const auto& x : *all) contacts.insert(x.contact);
  EXPECT_EQ(all->size(), 2u * kEach);
  EXPECT_EQ(contacts.size(), 2u * kEach);
  EXPECT_GE(runs, 2 * kEach);  // more when a batch lost a race and ran again
  RecordProperty("closureRuns", runs);
}

// The same with each store issuing its next update only when the previous one
// was answered: now the two race on (nearly) every write, and the
// compare-and-set, not the batching, keeps every update.
TEST_F(RedisListStoreLive, ChainedRacingUpdatesLoseNothing) {
  RedisClient* other = live_.connect();
  ASSERT_NE(other, nullptr);
  RedisListStore<Binding> a(*client_, "p:", "reg");
  RedisListStore<Binding> b(*other, "p:", "reg");
  const WallTime now = WallClock::now();
  constexpr int kEach = 100;
  int answered = 0;
  int failed = 0;
  int runs = 0;
  std::function<void(RedisListStore<Binding>&, std::string, int)> chain = [&](RedisListStore<Binding>& s,
                                                                              std::string name, int i) {
    if (i == kEach) return;
    s.update("sip:hot@x", now, [&runs, contact = name + std::to_string(i), now](const Bindings& live) {
      ++runs;
      Bindings next = live;
      next.push_back(binding(contact, now + 60s));
      return Result<Binding>(next);
    }, [&, name, i](Result<Binding> r) {
      ++answered;
      if (!r) ++failed;
      chain(s, name, i + 1);
    });
  };
  chain(a, "a", 0);
  chain(b, "b", 0);
  ASSERT_TRUE(live_.runUntil([&] { return answered == 2 * kEach; }, 20s)) << answered;
  EXPECT_EQ(failed, 0);
  auto all = lookup<Binding>(a, "sip:hot@x", now);
  ASSERT_TRUE(all);
  std::set<std::string> contacts;
  for (const auto& x : *all) contacts.insert(x.contact);
  EXPECT_EQ(contacts.size(), all->size());
  EXPECT_EQ(all->size() + static_cast<std::size_t>(failed), 2u * kEach);
  EXPECT_GT(runs, 2 * kEach);  // there were conflicts
  RecordProperty("closureRuns", runs);
}

// Two stores on ONE connection still race (each batches only its own updates).
TEST_F(RedisListStoreLive, RacingStoresOnOneConnectionLoseNothing) {
  RedisListStore<Binding> a(*client_, "p:", "reg");
  RedisListStore<Binding> b(*client_, "p:", "reg");
  const WallTime now = WallClock::now();
  int answered = 0;
  int failed = 0;
  for (int i = 0; i < 50; ++i) {
    for (auto* s : {&a, &b}) {
      const std::string contact = (s == &a ? "a" : "b") + std::to_string(i);
      s->update("k", now, [contact, now](const Bindings& live) {
        Bindings next = live;
        next.push_back(binding(contact, now + 60s));
        return Result<Binding>(next);
      }, [&](Result<Binding> r) {
        ++answered;
        if (!r) ++failed;
      });
    }
  }
  ASSERT_TRUE(live_.runUntil([&] { return answered == 100; }, 20s)) << answered;
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(lookup<Binding>(a, "k", now)->size(), 100u);
}

// The closure itself makes the key change before the write (through the same
// pipelined connection, so the SET lands first): every attempt conflicts.
TEST_F(RedisListStoreLive, EndlessConflictsGiveUpWithContention) {
  RedisListStore<Binding> s(*client_, "p:", "reg");
  const WallTime now = WallClock::now();
  int runs = 0;
  int n = 0;
  auto r = update<Binding>(s, "k", now, [&](const Bindings&) {
    ++runs;
    client_->command({"SET", s.redisKey("k"), Codec<Binding>::encode({binding("x" + std::to_string(n++), now + 60s)})},
                     [](auto) {});
    return Result<Binding>(Bindings{binding("mine", now + 60s)});
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, StoreError::Code::Unavailable);
  EXPECT_EQ(r.error().sipCode, 503);
  EXPECT_EQ(r.error().message, "contention");
  EXPECT_EQ(runs, 1 + RedisListStore<Binding>::kMaxRetries);
  EXPECT_NE(lookup<Binding>(s, "k", now)->at(0).contact, "mine");
}

TEST_F(RedisListStoreLive, ALostScriptCacheFallsBackToEval) {
  RedisListStore<Binding> s(*client_, "p:", "reg");
  const WallTime now = WallClock::now();
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("1", now + 60s)}));
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("2", now + 60s)}));  // by EVALSHA by now
  auto flushed = live_.call(*client_, {"SCRIPT", "FLUSH"});
  ASSERT_TRUE(flushed && flushed->type == RedisReply::Type::Status);
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("3", now + 60s)}));  // NOSCRIPT -> EVAL
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("4", now + 60s)}));
  EXPECT_EQ(lookup<Binding>(s, "k", now)->at(0).contact, "4");
}

TEST_F(RedisListStoreLive, AnUndecodableValueIsUnavailableAndLeftAlone) {
  RedisListStore<Binding> s(*client_, "p:", "reg");
  const WallTime now = WallClock::now();
  ASSERT_TRUE(live_.call(*client_, {"SET", s.redisKey("k"), "garbage"}));
  auto looked = lookup<Binding>(s, "k", now);
  ASSERT_FALSE(looked);
  EXPECT_EQ(looked.error().code, StoreError::Code::Unavailable);
  EXPECT_EQ(looked.error().sipCode, 503);
  bool ran = false;
  auto updated = update<Binding>(s, "k", now, [&](const Bindings&) {
    ran = true;
    return Result<Binding>(Bindings{});
  });
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, StoreError::Code::Unavailable);
  EXPECT_FALSE(ran);
  EXPECT_EQ(live_.call(*client_, {"GET", s.redisKey("k")})->str, "garbage");

  // Another type altogether (WRONGTYPE): the same.
  ASSERT_TRUE(live_.call(*client_, {"RPUSH", s.redisKey("l"), "x"}));
  EXPECT_EQ(lookup<Binding>(s, "l", now).error().code, StoreError::Code::Unavailable);
}

TEST_F(RedisListStoreLive, RedisDownIsUnavailable) {
  RedisListStore<Binding> s(*client_, "p:", "reg");
  const WallTime now = WallClock::now();
  ASSERT_TRUE(put<Binding>(s, "k", now, {binding("1", now + 60s)}));
  live_.server().stop();
  ASSERT_TRUE(live_.runUntil([&] { return !client_->connected(); }));

  auto looked = lookup<Binding>(s, "k", now);
  ASSERT_FALSE(looked);
  EXPECT_EQ(looked.error().code, StoreError::Code::Unavailable);
  EXPECT_EQ(looked.error().sipCode, 503);
  bool ran = false;
  auto updated = update<Binding>(s, "k", now, [&](const Bindings& live) {
    ran = true;
    return Result<Binding>(live);
  });
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, StoreError::Code::Unavailable);
  EXPECT_FALSE(ran);  // nothing was read, so nothing to change

  // The key's queue is free again: the next update is answered too.
  EXPECT_FALSE(put<Binding>(s, "k", now, {}));
}

TEST_F(RedisListStoreLive, ACommandTimeoutIsUnavailable) {
  RedisListStore<Binding> s(*client_, "p:", "reg");
  live_.server().signal(SIGSTOP);  // up but silent: the command deadline fires
  auto looked = lookup<Binding>(s, "k", WallClock::now());
  live_.server().signal(SIGCONT);
  ASSERT_FALSE(looked);
  EXPECT_EQ(looked.error().code, StoreError::Code::Unavailable);
  EXPECT_NE(looked.error().message.find("timeout"), std::string::npos) << looked.error().message;
}

TEST_F(RedisListStoreLive, DestroyingTheStoreDropsItsCallbacks) {
  auto s = std::make_unique<RedisListStore<Binding>>(*client_, "p:", "reg");
  bool called = false;
  s->lookup("k", WallClock::now(), [&](auto) { called = true; });
  s->update("k", WallClock::now(), [](const Bindings& live) { return Result<Binding>(live); },
            [&](auto) { called = true; });
  s.reset();
  live_.runUntil([] { return false; }, 200ms);
  EXPECT_FALSE(called);
  EXPECT_EQ(client_->pending(), 0u);
}

}  // namespace
}  // namespace parley::redis
