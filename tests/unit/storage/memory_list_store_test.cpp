#include "parley/storage/memory_list_store.hpp"
#include "parley/storage/registration_store.hpp"

#include <gtest/gtest.h>

namespace parley::storage {
namespace {
using namespace std::chrono_literals;

const WallTime kNow = WallTime{} + 1000000s;

Binding binding(std::string contact, WallTime expires) {
  Binding b;
  b.contact = std::move(contact);
  b.callId = "c";
  b.cseq = 1;
  b.expires = expires;
  return b;
}

// The behaviour every backend owes (update, refusal, expiry, ...) is the
// conformance suite's (memory_list_store_conformance_test.cpp); here is what is
// the memory store's own: one run of the closure, sweep(), keys(), records().

TEST(MemoryListStore, RunsTheClosureOnceAndCallsBackBeforeReturning) {
  MemoryListStore<Binding> s;
  int runs = 0;
  bool answered = false;
  s.update("sip:a@x", kNow, [&](const Bindings&) {
    ++runs;
    return tl::expected<Bindings, StoreError>(Bindings{binding("sip:a@h", kNow + 60s)});
  }, [&](auto r) { answered = r.has_value(); });
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(answered);
  bool refused = false;
  s.update("sip:a@x", kNow, [](const Bindings&) -> tl::expected<Bindings, StoreError> {
    return tl::unexpected(StoreError{StoreError::Code::Refused, 400, "no"});
  }, [&](auto r) { refused = !r && r.error().sipCode == 400; });
  EXPECT_TRUE(refused);
  EXPECT_EQ(s.records(), 1u);
}

TEST(MemoryListStore, ExpiredBindingsAreNeverSeenAndSweepReclaimsThem) {
  MemoryListStore<Binding> s;
  s.update("sip:a@x", kNow, [](const Bindings&) {
    return tl::expected<Bindings, StoreError>(Bindings{binding("sip:a@1", kNow + 10s), binding("sip:a@2", kNow + 20s)});
  }, [](auto) {});
  s.update("sip:b@x", kNow, [](const Bindings&) {
    return tl::expected<Bindings, StoreError>(Bindings{binding("sip:b@1", kNow + 10s)});
  }, [](auto) {});
  std::size_t seen = 99;
  s.update("sip:a@x", kNow + 10s, [&](const Bindings& live) {
    seen = live.size();
    return tl::expected<Bindings, StoreError>(live);
  }, [](auto) {});
  EXPECT_EQ(seen, 1u);
  EXPECT_EQ(s.sweep(kNow + 10s), 1u);  // b's binding; a's expired one went at the update
  EXPECT_EQ(s.keys(), 1u);
  EXPECT_EQ(s.sweep(kNow + 20s), 1u);
  EXPECT_EQ(s.keys(), 0u);
}

}  // namespace
}  // namespace parley::storage
