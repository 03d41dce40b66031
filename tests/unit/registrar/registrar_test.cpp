#include "parley/registrar/registrar.hpp"

#include <gtest/gtest.h>

#include "parley/sip/parser.hpp"
#include "parley/sip/serializer.hpp"
#include "parley/storage/memory_list_store.hpp"
#include "parley/storage/registration_store.hpp"
#include "sip_test_support.hpp"
#include "torture_corpus.hpp"

namespace parley::registrar {
namespace {
using namespace std::chrono_literals;

using Sink = test::RecordingSink;

class RegistrarTest : public ::testing::Test {
 protected:
  RegistrarTest() : stack_(stackOptions(), sink_), registrar_(registrarOptions(), store_) {
    stack_.registerMethod(registrar_.registration());
  }
  simple::StackOptions stackOptions() {
    simple::StackOptions o;
    o.domains = {"sip.localhost"};
    o.supported = {"path"};
    o.clock = [this] { return now_; };
    return o;
  }
  Options registrarOptions() {
    Options o;
    o.domains = {"sip.localhost"};
    o.expiry = {60s, 3600s, 1800s};
    o.maxContacts = 3;
    o.wallClock = [this] { return wall_; };
    return o;
  }
  // A REGISTER for alice; `headers` are extra rows (Contact, Expires ...).
  sip::Message registerRequest(std::string_view headers, std::uint32_t cseq = 1,
                               std::string_view callId = "reg-1", std::string_view to = "sip:alice@sip.localhost") {
    std::string text = "REGISTER sip:sip.localhost SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-r" + std::to_string(branch_++) + "\r\n"
                       "Max-Forwards: 70\r\nTo: <" + std::string(to) + ">\r\n"
                       "From: <sip:alice@sip.localhost>;tag=ft\r\nCall-ID: " + std::string(callId) + "\r\n"
                       "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
    test::appendRows(text, headers);
    text += "Content-Length: 0\r\n\r\n";
    auto m = sip::Parser{}.parseDatagram(text);
    EXPECT_TRUE(m) << text;
    return std::move(*m);
  }
  sip::Message send(std::string_view headers, std::uint32_t cseq = 1, std::string_view callId = "reg-1",
                    std::string_view to = "sip:alice@sip.localhost") {
    const std::string wire = sip::serialize(registerRequest(headers, cseq, callId, to));
    stack_.onDatagram(wire, {sip::Transport::Udp, "192.0.2.10", 5062, 0, 0}, now_);
    EXPECT_FALSE(sink_.sent.empty());
    auto r = sip::Parser{}.parseDatagram(sink_.sent.back().bytes);
    EXPECT_TRUE(r) << sink_.sent.back().bytes;
    return std::move(*r);
  }
  storage::Bindings live(const std::string& aor = "sip:alice@sip.localhost") {
    storage::Bindings out;
    registrar_.lookup(aor, [&](auto r) { out = r ? *r : storage::Bindings{}; });
    return out;
  }

  txn::TimePoint now_ = txn::TimePoint{} + 1000s;
  storage::WallTime wall_ = storage::WallTime{} + std::chrono::hours(24 * 365 * 50);
  Sink sink_;
  simple::SipStack stack_;
  storage::MemoryListStore<storage::Binding> store_;
  Registrar registrar_;
  int branch_ = 0;
};

TEST_F(RegistrarTest, RegisterCreatesABindingAnd200ListsItWithItsExpiry) {
  auto r = send("Contact: <sip:alice@192.0.2.10:5062>\nExpires: 600");
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.header(sip::HeaderId::Contact), "<sip:alice@192.0.2.10:5062>;expires=600");
  EXPECT_TRUE(r.header(sip::HeaderId::Date));
  auto b = live();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].contact, "sip:alice@192.0.2.10:5062");
  EXPECT_EQ(b[0].source, "udp:192.0.2.10:5062");
}

TEST_F(RegistrarTest, ExpiryComesFromContactParamThenHeaderThenDefaultAndIsCapped) {
  auto r = send("Contact: <sip:a@h1>;expires=120, <sip:a@h2>\nContact: <sip:a@h3>;expires=99999\nExpires: 300");
  ASSERT_EQ(r.statusCode(), 200);
  auto contacts = r.list(sip::HeaderId::Contact);
  ASSERT_EQ(contacts.size(), 3u);
  EXPECT_EQ(contacts[0], "<sip:a@h1>;expires=120");
  EXPECT_EQ(contacts[1], "<sip:a@h2>;expires=300");
  EXPECT_EQ(contacts[2], "<sip:a@h3>;expires=3600");
  r = send("Contact: <sip:b@h4>", 1, "reg-b", "sip:bob@sip.localhost");
  EXPECT_EQ(r.header(sip::HeaderId::Contact), "<sip:b@h4>;expires=1800");  // the default
  EXPECT_EQ(live("sip:bob@sip.localhost").at(0).expires, wall_ + 1800s);
}

TEST_F(RegistrarTest, TooShortExpiryGets423WithMinExpires) {
  auto r = send("Contact: <sip:a@h1>\nExpires: 30");
  EXPECT_EQ(r.statusCode(), 423);
  EXPECT_EQ(r.header(sip::HeaderId::MinExpires), "60");
  EXPECT_TRUE(live().empty());
}

TEST_F(RegistrarTest, ExpiresZeroRemovesOnlyThatBinding) {
  send("Contact: <sip:a@h1>, <sip:a@h2>");
  auto r = send("Contact: <sip:a@H1>;expires=0", 2);  // host compares case-insensitively
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.list(sip::HeaderId::Contact).size(), 1u);
  ASSERT_EQ(live().size(), 1u);
  EXPECT_EQ(live()[0].contact, "sip:a@h2");
}

TEST_F(RegistrarTest, WildcardRemovesEverythingButOnlyAloneAndWithExpiresZero) {
  send("Contact: <sip:a@h1>, <sip:a@h2>");
  EXPECT_EQ(send("Contact: *", 2).statusCode(), 400);
  EXPECT_EQ(send("Contact: *, <sip:a@h3>\nExpires: 0", 3).statusCode(), 400);
  auto r = send("Contact: *\nExpires: 0", 4);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_FALSE(r.header(sip::HeaderId::Contact));
  EXPECT_TRUE(live().empty());
}

TEST_F(RegistrarTest, SameCallIdWithoutHigherCSeqIsRefused) {
  send("Contact: <sip:a@h1>", 5);
  EXPECT_EQ(send("Contact: <sip:a@h1>;expires=0", 4).statusCode(), 400);
  // The same CSeq again is a merged request while the first transaction lives
  // (482, §8.2.2.2); once Timer J has ended it, the registrar's rule applies.
  EXPECT_EQ(send("Contact: <sip:a@h1>;expires=0", 5).statusCode(), 482);
  now_ += 33s;
  stack_.advance(now_);
  EXPECT_EQ(send("Contact: <sip:a@h1>;expires=0", 5).statusCode(), 400);
  EXPECT_EQ(live().size(), 1u);
  // Another Call-ID (another UA instance, or a reboot) may replace it at any CSeq.
  EXPECT_EQ(send("Contact: <sip:a@h1>;expires=0", 1, "reg-2").statusCode(), 200);
  EXPECT_TRUE(live().empty());
}

TEST_F(RegistrarTest, LookupOrdersByQValue) {
  auto r = send("Contact: <sip:a@low>;q=0.1, <sip:a@high>;q=1.0, <sip:a@mid>;q=0.5");
  ASSERT_EQ(r.statusCode(), 200);
  auto b = live();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].contact, "sip:a@high");
  EXPECT_EQ(b[1].contact, "sip:a@mid");
  EXPECT_EQ(b[2].contact, "sip:a@low");
  EXPECT_EQ(send("Contact: <sip:a@x>;q=1.5", 2).statusCode(), 400);
}

TEST_F(RegistrarTest, BindingsExpireOnTime) {
  send("Contact: <sip:a@h1>;expires=120, <sip:a@h2>;expires=600");
  wall_ += 119s;
  EXPECT_EQ(live().size(), 2u);
  wall_ += 1s;
  ASSERT_EQ(live().size(), 1u);
  EXPECT_EQ(live()[0].contact, "sip:a@h2");
  auto r = send("", 2);  // a query
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.header(sip::HeaderId::Contact), "<sip:a@h2>;expires=480");
  wall_ += 600s;
  EXPECT_EQ(store_.sweep(wall_), 1u);
  EXPECT_EQ(store_.keys(), 0u);
}

TEST_F(RegistrarTest, AddressOfRecordOutsideOurDomainsGets404) {
  EXPECT_EQ(send("Contact: <sip:a@h1>", 1, "reg-1", "sip:alice@elsewhere.example").statusCode(), 404);
}

TEST_F(RegistrarTest, ContactLimitPerAorGets403) {
  send("Contact: <sip:a@h1>, <sip:a@h2>, <sip:a@h3>");
  EXPECT_EQ(send("Contact: <sip:a@h4>", 2).statusCode(), 403);
  EXPECT_EQ(live().size(), 3u);
}

TEST_F(RegistrarTest, PathIsStoredAndEchoedWhenSupported) {
  auto r = send("Contact: <sip:a@h1>\nPath: <sip:edge.example;lr>\nSupported: path");
  EXPECT_EQ(r.header(sip::HeaderId::Path), "<sip:edge.example;lr>");
  EXPECT_EQ(live()[0].path, std::vector<std::string>{"<sip:edge.example;lr>"});
}

TEST_F(RegistrarTest, TortureContactAddrSpecWithHeadersGets400) {
  const std::string bytes = test::tortureBytes("invalid_contact_addr_spec_with_headers.sip");
  stack_.onDatagram(bytes, {sip::Transport::Udp, "192.0.2.10", 5060, 0, 0}, now_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_EQ(sink_.sent[0].bytes.substr(0, 11), "SIP/2.0 400");
}

TEST(AddressOfRecord, CanonicalFormIgnoresPortParamsCaseOfHostAndEscapes) {
  EXPECT_EQ(sip::addressOfRecord(*sip::parseUri("sip:%61lice@SIP.Localhost:5070;transport=tcp")),
            "sip:alice@sip.localhost");
  EXPECT_EQ(sip::addressOfRecord(*sip::parseUri("sips:bob@b.example")), "sips:bob@b.example");
  EXPECT_EQ(sip::addressOfRecord(*sip::parseUri("sip:sip.localhost")), "");
  EXPECT_EQ(sip::addressOfRecord(*sip::parseUri("tel:+15550100")), "");
}

}  // namespace
}  // namespace parley::registrar
