#include "parley/redis/codecs.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

namespace parley::redis {
namespace {
using namespace std::chrono_literals;
using storage::Binding;
using storage::ContactResource;
using storage::Publication;
using storage::RosterItem;
using storage::Subscription;
using storage::WallTime;

const WallTime kT = WallTime{} + 1732460000123ms;

std::string allBytes() {
  std::string s;
  for (int b = 0; b < 256; ++b) s.push_back(static_cast<char>(b));
  return s + std::string("\0\r\n", 3);
}

template <class T>
std::vector<T> roundTrip(const std::vector<T>& list) {
  auto decoded = Codec<T>::decode(Codec<T>::encode(list));
  EXPECT_TRUE(decoded) << toString(decoded.error());
  return decoded.value_or(std::vector<T>{});
}

std::vector<Binding> bindings() {
  Binding full;
  full.contact = "sip:alice@192.0.2.4:5060;transport=tcp";
  full.callId = allBytes();
  full.cseq = 0xffffffffu;
  full.expires = kT;
  full.qMilli = 65535;
  full.path = {"<sip:p1.example;lr>", "", allBytes()};
  full.source = "tcp:[2001:db8::1]:5061";
  Binding minimal;  // every field at its default
  return {full, minimal};
}

// A full dialog with binary bytes in every string, the CSeq and time extremes;
// one with a route set long enough for a two-byte count; one all defaults.
std::vector<Subscription> subscriptions() {
  Subscription full;
  full.resource = "presence sip:bob@example.com";
  full.watcher = "sip:alice@example.com";
  full.eventId = allBytes();
  full.callId = allBytes();
  full.localTag = "ours";
  full.remoteTag = std::string("the\0irs", 7);
  full.localUri = "<sip:bob@example.com>";
  full.remoteUri = "\"Alice\" <sip:alice@example.com>;tag=theirs";
  full.remoteTarget = "sip:alice@[2001:db8::1]:5061;transport=tls";
  full.routeSet = {"<sip:p1.example;lr>", "", allBytes()};
  full.source = "tls:[2001:db8::1]:5061";
  full.localCSeq = std::numeric_limits<std::uint32_t>::max();
  full.remoteCSeq = std::numeric_limits<std::uint32_t>::max();
  full.expires = WallTime::max();
  Subscription manyRoutes;
  manyRoutes.callId = "c@h";
  for (int i = 0; i < 300; ++i) manyRoutes.routeSet.push_back("<sip:p" + std::to_string(i) + ".example;lr>");
  manyRoutes.remoteCSeq = 1;
  manyRoutes.expires = kT;
  Subscription minimal;  // every field at its default: no routes, both CSeqs 0
  return {full, manyRoutes, minimal};
}

TEST(Codec, BindingEveryFieldRoundTrips) {
  const auto list = bindings();
  EXPECT_EQ(roundTrip(list), list);
}

TEST(Codec, PublicationEveryFieldRoundTrips) {
  Publication p;
  p.etag = "a1b2";
  p.body = "<?xml version='1.0'?><presence/>" + allBytes();
  p.expires = kT + 3600s;
  p.modified = kT - 1ms;
  Publication pre1970;
  pre1970.expires = WallTime{} - 5000ms;  // negative times stay exact too
  pre1970.modified = WallTime::max();
  const std::vector<Publication> list = {p, pre1970, Publication{}};
  EXPECT_EQ(roundTrip(list), list);
}

TEST(Codec, RosterItemEveryFlagCombinationRoundTrips) {
  std::vector<RosterItem> list;
  for (int f = 0; f < 8; ++f) {
    RosterItem i;
    i.jid = "c" + std::to_string(f) + "@example.org";
    i.from = (f & 1) != 0;
    i.to = (f & 2) != 0;
    i.pendingOut = (f & 4) != 0;
    if (f == 3) i.expires = kT;
    list.push_back(i);
  }
  EXPECT_EQ(roundTrip(list), list);
}

TEST(Codec, ContactResourceEveryFieldRoundTrips) {
  ContactResource a;
  a.resource = "phone\xe2\x98\x8e";
  a.available = true;
  a.show = "dnd";
  a.status = allBytes();
  a.lang = "de-CH";
  a.priority = -128;
  ContactResource b;
  b.priority = 127;
  b.expires = kT;
  const std::vector<ContactResource> list = {a, b, ContactResource{}};
  EXPECT_EQ(roundTrip(list), list);
}

TEST(Codec, SubscriptionEveryFieldRoundTrips) {
  const auto list = subscriptions();
  EXPECT_EQ(roundTrip(list), list);
  for (const auto& s : list) EXPECT_EQ(roundTrip(std::vector<Subscription>{s}), std::vector<Subscription>{s});
}

TEST(Codec, EmptyListsRoundTrip) {
  EXPECT_TRUE(roundTrip(std::vector<Binding>{}).empty());
  EXPECT_TRUE(roundTrip(std::vector<Publication>{}).empty());
  EXPECT_TRUE(roundTrip(std::vector<RosterItem>{}).empty());
  EXPECT_TRUE(roundTrip(std::vector<ContactResource>{}).empty());
  EXPECT_TRUE(roundTrip(std::vector<Subscription>{}).empty());
  EXPECT_FALSE(Codec<Binding>::encode({}).empty());  // never "" (the store's "delete")
}

TEST(Codec, WallTimeMaxAndMinRoundTripExactly) {
  RosterItem i;
  i.expires = WallTime::max();
  EXPECT_EQ(roundTrip(std::vector<RosterItem>{i}).at(0).expires, WallTime::max());
  i.expires = WallTime::min();
  EXPECT_EQ(roundTrip(std::vector<RosterItem>{i}).at(0).expires, WallTime::min());
  i.expires = WallTime::max() - 1ms;  // floored to the millisecond
  EXPECT_EQ(roundTrip(std::vector<RosterItem>{i}).at(0).expires,
            std::chrono::floor<std::chrono::milliseconds>(WallTime::max() - 1ms));
}

TEST(Codec, SubMillisecondsAreFloored) {
  RosterItem i;
  i.expires = kT + 999us;
  EXPECT_EQ(roundTrip(std::vector<RosterItem>{i}).at(0).expires, kT);
}

TEST(Codec, EncodingIsCompact) {
  Binding b;
  b.contact = "sip:a@h";
  b.expires = kT;
  // version + type + count, 7 + 1 contact, 1 callId, 1 cseq, 6 time, 2 q, 1 path count, 1 source
  EXPECT_LE(Codec<Binding>::encode({b}).size(), 24u);
}

template <class T>
void expectEveryTruncationRejected(const std::vector<T>& list) {
  const std::string full = Codec<T>::encode(list);
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = Codec<T>::decode(std::string_view(full).substr(0, n));
    EXPECT_FALSE(r) << "accepted a prefix of " << n << " bytes";
  }
}

TEST(Codec, EveryTruncationIsRejected) {
  expectEveryTruncationRejected(bindings());
  expectEveryTruncationRejected(subscriptions());
}

TEST(Codec, TrailingBytesVersionAndTypeAreChecked) {
  const std::string good = Codec<Publication>::encode({Publication{}});
  EXPECT_EQ(Codec<Publication>::decode(good + "x").error(), CodecError::Malformed);
  std::string v2 = good;
  v2[0] = 2;
  EXPECT_EQ(Codec<Publication>::decode(v2).error(), CodecError::BadVersion);
  EXPECT_EQ(Codec<Binding>::decode(good).error(), CodecError::BadType);
  EXPECT_EQ(Codec<RosterItem>::decode("").error(), CodecError::Truncated);

  const std::string sub = Codec<Subscription>::encode({Subscription{}});
  EXPECT_EQ(sub[1], 'S');
  EXPECT_EQ(Codec<Subscription>::decode(good).error(), CodecError::BadType);
  EXPECT_EQ(Codec<Binding>::decode(sub).error(), CodecError::BadType);
  EXPECT_EQ(Codec<Subscription>::decode(sub + "x").error(), CodecError::Malformed);
}

TEST(Codec, OutOfRangeFieldsAreRejected) {
  RosterItem i;
  std::string bad = Codec<RosterItem>::encode({i});
  bad[4] = 8;  // version, type, count, jid length 0, then flags: an unknown bit
  EXPECT_EQ(Codec<RosterItem>::decode(bad).error(), CodecError::Malformed);

  // A count far beyond the bytes that follow.
  EXPECT_EQ(Codec<Binding>::decode(std::string("\x01" "B" "\xff\xff\xff\xff\x0f", 7)).error(), CodecError::Malformed);
  // An 11-byte varint.
  EXPECT_FALSE(Codec<Binding>::decode(std::string("\x01" "B") + std::string(10, '\xff') + "\x01"));
  // A cseq over 32 bits: count 1, contact "", callId "", cseq 2^32.
  EXPECT_EQ(Codec<Binding>::decode(std::string("\x01" "B\x01\x00\x00\x80\x80\x80\x80\x10", 10)).error(),
            CodecError::Malformed);
  // A priority outside int8: count 1, "", flags 0, "", "", "", priority 128 (zigzag 256).
  EXPECT_EQ(Codec<ContactResource>::decode(std::string("\x01" "C\x01\x00\x00\x00\x00\x00\x80\x02\x00", 11)).error(),
            CodecError::Malformed);
}

TEST(Codec, SubscriptionCSeqsOver32BitsAreRejected) {
  // count 1, nine empty strings, no routes, source "", then the CSeqs.
  const std::string head("\x01" "S\x01" "\0\0\0\0\0\0\0\0\0" "\0" "\0", 14);
  const std::string max("\xff\xff\xff\xff\x0f", 5);  // 2^32 - 1
  const std::string over("\x80\x80\x80\x80\x10", 5);  // 2^32
  const std::string never("\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);  // zigzag INT64_MAX
  auto ok = Codec<Subscription>::decode(head + max + max + never);
  ASSERT_TRUE(ok) << toString(ok.error());
  EXPECT_EQ(ok->at(0).localCSeq, std::numeric_limits<std::uint32_t>::max());
  EXPECT_EQ(ok->at(0).expires, WallTime::max());
  EXPECT_EQ(Codec<Subscription>::decode(head + over + max + never).error(), CodecError::Malformed);
  EXPECT_EQ(Codec<Subscription>::decode(head + max + over + never).error(), CodecError::Malformed);
}

// Mutates and truncates an encoding of `seedList` and decodes each result as
// every record type: no input may crash, and most mutants of T are refused.
template <class T>
void expectGarbageNeverCrashes(const std::vector<T>& seedList) {
  std::mt19937 rng(42);  // fixed: failures reproduce
  const std::string seed = Codec<T>::encode(seedList);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s = seed;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) s[rng() % s.size()] = static_cast<char>(rng() % 256);
    s.resize(rng() % (s.size() + 1));
    if (Codec<T>::decode(s)) ++accepted;
    (void)Codec<Binding>::decode(s);
    (void)Codec<Publication>::decode(s);
    (void)Codec<RosterItem>::decode(s);
    (void)Codec<ContactResource>::decode(s);
    (void)Codec<Subscription>::decode(s);
  }
  EXPECT_LT(accepted, 20000);
}

TEST(Codec, RandomGarbageNeverCrashes) {
  expectGarbageNeverCrashes(bindings());
  expectGarbageNeverCrashes(subscriptions());
}

}  // namespace
}  // namespace parley::redis
