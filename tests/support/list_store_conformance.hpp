// The behaviour every storage::ListStore backend owes its callers
// (list_store.hpp), as one typed GoogleTest suite run against each backend and
// record type.
//
// A backend plugs in as `template <class T> class B` with
//   std::string setUp();                                  // "" or why it cannot run
//   storage::ListStore<T>& store();
//   bool runUntil(const std::function<bool()>& done);     // drives its loop; false on its time limit
// and is instantiated with
//   using Cases = ::testing::Types<ListStoreCase<B, Binding>, ...>;
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, ListStoreConformance, Cases);
// A backend may call back at once (memory) or later from its loop (Redis); the
// tests only ever wait through runUntil().
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/storage/list_store.hpp"
#include "parley/storage/publication_store.hpp"
#include "parley/storage/registration_store.hpp"
#include "parley/storage/roster_store.hpp"

namespace parley::storage::conformance {

using namespace std::chrono_literals;

/// Whole seconds: every backend stores times to the millisecond at least.
inline const WallTime kNow = WallTime{} + 1000000s;

/// A distinct record of type T, told apart by `n`, lapsing at `expires`.
template <class T>
T record(int n, WallTime expires);

template <>
inline Binding record<Binding>(int n, WallTime expires) {
  Binding b;
  b.contact = "sip:u@h" + std::to_string(n);
  b.callId = "call-" + std::to_string(n);
  b.cseq = static_cast<std::uint32_t>(n + 1);
  b.expires = expires;
  b.qMilli = static_cast<std::uint16_t>(n % 1001);
  b.path = {"<sip:p1.example;lr>", "<sip:p" + std::to_string(n) + ".example;lr>"};
  b.source = "udp:192.0.2.1:5060";
  return b;
}

template <>
inline Publication record<Publication>(int n, WallTime expires) {
  Publication p;
  p.etag = "e" + std::to_string(n);
  p.body = "<presence>" + std::to_string(n) + std::string("\0\r\n", 3) + "</presence>";
  p.expires = expires;
  p.modified = kNow - std::chrono::seconds(n);
  return p;
}

template <>
inline RosterItem record<RosterItem>(int n, WallTime expires) {
  RosterItem i;
  i.jid = "c" + std::to_string(n) + "@example.org";
  i.from = n % 2 == 0;
  i.to = n % 3 == 0;
  i.pendingOut = n % 5 == 0;
  i.expires = expires;
  return i;
}

template <>
inline ContactResource record<ContactResource>(int n, WallTime expires) {
  ContactResource c;
  c.resource = "res" + std::to_string(n);
  c.available = n % 2 == 1;
  c.show = "away";
  c.status = "st\xc3\xa9 " + std::to_string(n);
  c.lang = "en";
  c.priority = static_cast<std::int8_t>(-(n % 128));
  c.expires = expires;
  return c;
}

template <template <class> class Backend, class Record>
struct ListStoreCase {
  using B = Backend<Record>;
  using T = Record;
};

template <class Case>
class ListStoreConformance : public ::testing::Test {
 protected:
  // Not T/List/Result: the test bodies declare those, and -Wshadow minds.
  using RecordT = typename Case::T;
  using ListT = std::vector<RecordT>;
  using ResultT = tl::expected<ListT, StoreError>;

  void SetUp() override {
    const std::string why = backend_.setUp();
    ASSERT_EQ(why, "") << why;
  }

  /// Issues the update and waits for its answer.
  ResultT update(const std::string& key, WallTime now, typename ListStore<RecordT>::Change change) {
    std::optional<ResultT> got;
    backend_.store().update(key, now, std::move(change), [&](ResultT r) { got = std::move(r); });
    EXPECT_TRUE(backend_.runUntil([&] { return got.has_value(); })) << "no answer in time";
    return got.value_or(tl::unexpected(StoreError{StoreError::Code::Unavailable, 0, "test: no answer"}));
  }
  ResultT put(const std::string& key, WallTime now, ListT list) {
    return update(key, now, [list](const ListT&) { return ResultT(list); });
  }
  ResultT lookup(const std::string& key, WallTime now) {
    std::optional<ResultT> got;
    backend_.store().lookup(key, now, [&](ResultT r) { got = std::move(r); });
    EXPECT_TRUE(backend_.runUntil([&] { return got.has_value(); })) << "no answer in time";
    return got.value_or(tl::unexpected(StoreError{StoreError::Code::Unavailable, 0, "test: no answer"}));
  }
  static std::string show(const ResultT& r) {
    return r ? std::to_string(r->size()) + " records" : "error: " + r.error().message;
  }

  typename Case::B backend_;
};

TYPED_TEST_SUITE_P(ListStoreConformance);

TYPED_TEST_P(ListStoreConformance, UpdateStoresWhatTheClosureReturns) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  bool sawEmpty = false;
  const List want = {record<T>(1, kNow + 60s), record<T>(2, kNow + 30s)};
  auto stored = this->update("sip:a@x", kNow, [&](const List& live) {
    sawEmpty = live.empty();
    return typename TestFixture::ResultT(want);
  });
  ASSERT_TRUE(stored) << this->show(stored);
  EXPECT_TRUE(sawEmpty);
  EXPECT_EQ(*stored, want);
  auto looked = this->lookup("sip:a@x", kNow);
  ASSERT_TRUE(looked) << this->show(looked);
  EXPECT_EQ(*looked, want);  // every field, in order
}

TYPED_TEST_P(ListStoreConformance, UpdateSeesTheLiveRecordsAndReplacesThem) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  ASSERT_TRUE(this->put("k", kNow, {record<T>(1, kNow + 60s)}));
  List seen;
  auto stored = this->update("k", kNow + 1s, [&](const List& live) {
    seen = live;
    List next = live;
    next.push_back(record<T>(2, kNow + 90s));
    return typename TestFixture::ResultT(next);
  });
  ASSERT_TRUE(stored) << this->show(stored);
  EXPECT_EQ(seen, (List{record<T>(1, kNow + 60s)}));
  EXPECT_EQ(*this->lookup("k", kNow + 2s), (List{record<T>(1, kNow + 60s), record<T>(2, kNow + 90s)}));
}

TYPED_TEST_P(ListStoreConformance, RefusalStoresNothingAndIsReported) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  ASSERT_TRUE(this->put("sip:a@x", kNow, {record<T>(1, kNow + 60s)}));
  auto refused = this->update("sip:a@x", kNow, [](const List&) -> typename TestFixture::ResultT {
    return tl::unexpected(StoreError{StoreError::Code::Refused, 400, "no"});
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreError::Code::Refused);
  EXPECT_EQ(refused.error().sipCode, 400);
  EXPECT_EQ(refused.error().message, "no");
  EXPECT_EQ(*this->lookup("sip:a@x", kNow), (List{record<T>(1, kNow + 60s)}));

  // Refusing on an absent key creates nothing either.
  ASSERT_FALSE(this->update("sip:none@x", kNow, [](const List&) -> typename TestFixture::ResultT {
    return tl::unexpected(StoreError{StoreError::Code::Refused, 403, "no"});
  }));
  EXPECT_TRUE(this->lookup("sip:none@x", kNow)->empty());
}

TYPED_TEST_P(ListStoreConformance, ExpiredRecordsAreNeverSeen) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  ASSERT_TRUE(this->put("sip:a@x", kNow, {record<T>(1, kNow + 10s), record<T>(2, kNow + 20s)}));
  EXPECT_EQ(this->lookup("sip:a@x", kNow + 10s - 1ms)->size(), 2u);
  EXPECT_EQ(*this->lookup("sip:a@x", kNow + 10s), (List{record<T>(2, kNow + 20s)}));  // expires <= now: gone
  std::size_t seen = 99;
  ASSERT_TRUE(this->update("sip:a@x", kNow + 10s, [&](const List& live) {
    seen = live.size();
    return typename TestFixture::ResultT(live);
  }));
  EXPECT_EQ(seen, 1u);
  EXPECT_TRUE(this->lookup("sip:a@x", kNow + 20s)->empty());
}

TYPED_TEST_P(ListStoreConformance, AnEmptyListRemovesTheKey) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  ASSERT_TRUE(this->put("k", kNow, {record<T>(1, kNow + 60s)}));
  auto stored = this->put("k", kNow, {});
  ASSERT_TRUE(stored) << this->show(stored);
  EXPECT_TRUE(stored->empty());
  EXPECT_TRUE(this->lookup("k", kNow)->empty());
  bool sawEmpty = false;
  ASSERT_TRUE(this->update("k", kNow, [&](const List& live) {
    sawEmpty = live.empty();
    return typename TestFixture::ResultT(live);
  }));
  EXPECT_TRUE(sawEmpty);
}

TYPED_TEST_P(ListStoreConformance, KeysAreIndependentAndBinarySafe) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  const std::string odd("sip:a@x {}:\0\r\n\xff", 15);
  ASSERT_TRUE(this->put(odd, kNow, {record<T>(1, kNow + 60s)}));
  ASSERT_TRUE(this->put("sip:a@x", kNow, {record<T>(2, kNow + 60s)}));
  ASSERT_TRUE(this->put("sip:b@x", kNow, {record<T>(3, kNow + 60s)}));
  EXPECT_EQ(*this->lookup(odd, kNow), (List{record<T>(1, kNow + 60s)}));
  EXPECT_EQ(*this->lookup("sip:a@x", kNow), (List{record<T>(2, kNow + 60s)}));
  EXPECT_EQ(*this->lookup("sip:b@x", kNow), (List{record<T>(3, kNow + 60s)}));
  EXPECT_TRUE(this->lookup("sip:c@x", kNow)->empty());
}

TYPED_TEST_P(ListStoreConformance, RecordsThatNeverExpireStay) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  const List forever = {record<T>(1, WallTime::max()), record<T>(2, kNow + 5s)};
  ASSERT_TRUE(this->put("k", kNow, forever));
  EXPECT_EQ(*this->lookup("k", kNow), forever);
  EXPECT_EQ(*this->lookup("k", kNow + 24h * 3650), (List{record<T>(1, WallTime::max())}));
}

// Updates issued back to back, without waiting: each closure sees the result
// of the ones before it, and none is lost.
TYPED_TEST_P(ListStoreConformance, BackToBackUpdatesAreAllApplied) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  constexpr int kCount = 50;
  int answered = 0;
  int failed = 0;
  for (int i = 0; i < kCount; ++i) {
    this->backend_.store().update(
        "k", kNow,
        [i](const List& live) {
          List next = live;
          next.push_back(record<T>(i, kNow + 60s));
          return typename TestFixture::ResultT(next);
        },
        [&](typename TestFixture::ResultT r) {
          ++answered;
          if (!r) ++failed;
        });
  }
  ASSERT_TRUE(this->backend_.runUntil([&] { return answered == kCount; }));
  EXPECT_EQ(failed, 0);
  auto all = this->lookup("k", kNow);
  ASSERT_TRUE(all) << this->show(all);
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ((*all)[static_cast<std::size_t>(i)], record<T>(i, kNow + 60s));
}

// A callback may issue the next operation on the same store (callers chain
// lookup -> update -> answer).
TYPED_TEST_P(ListStoreConformance, OperationsMayBeIssuedFromCallbacks) {
  using List = typename TestFixture::ListT;
  using T = typename TestFixture::RecordT;
  auto& store = this->backend_.store();
  std::optional<std::size_t> finalSize;
  store.update("k", kNow, [](const List&) { return typename TestFixture::ResultT(List{record<T>(1, kNow + 60s)}); },
               [&](typename TestFixture::ResultT) {
                 store.update("k", kNow, [](const List& live) {
                   List next = live;
                   next.push_back(record<T>(2, kNow + 60s));
                   return typename TestFixture::ResultT(next);
                 }, [&](typename TestFixture::ResultT) {
                   store.lookup("k", kNow, [&](typename TestFixture::ResultT r) { finalSize = r ? r->size() : 0; });
                 });
               });
  ASSERT_TRUE(this->backend_.runUntil([&] { return finalSize.has_value(); }));
  EXPECT_EQ(*finalSize, 2u);
}

REGISTER_TYPED_TEST_SUITE_P(ListStoreConformance, UpdateStoresWhatTheClosureReturns,
                            UpdateSeesTheLiveRecordsAndReplacesThem, RefusalStoresNothingAndIsReported,
                            ExpiredRecordsAreNeverSeen, AnEmptyListRemovesTheKey, KeysAreIndependentAndBinarySafe,
                            RecordsThatNeverExpireStay, BackToBackUpdatesAreAllApplied,
                            OperationsMayBeIssuedFromCallbacks);

}  // namespace parley::storage::conformance
