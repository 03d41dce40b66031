#include "parley/presence/publisher.hpp"

#include <gtest/gtest.h>

#include "parley/sip/parser.hpp"
#include "parley/storage/memory_list_store.hpp"
#include "sip_test_support.hpp"

namespace parley::presence {
namespace {
using namespace std::chrono_literals;

using Sink = test::RecordingSink;

constexpr std::string_view kPidf =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@sip.localhost\">"
    "<tuple id=\"t1\"><status><basic>open</basic></status></tuple></presence>";
constexpr std::string_view kDialog =
    "<?xml version=\"1.0\"?>\n"
    "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" state=\"full\" "
    "entity=\"sip:alice@sip.localhost\"><dialog id=\"d1\" direction=\"initiator\">"
    "<state>confirmed</state></dialog></dialog-info>";

class PublisherTest : public ::testing::Test {
 protected:
  PublisherTest() : stack_(stackOptions(), sink_), publisher_(publishOptions(), store_) {
    stack_.registerMethod(publisher_.registration());
  }
  simple::StackOptions stackOptions() {
    simple::StackOptions o;
    o.domains = {"sip.localhost"};
    o.clock = [this] { return now_; };
    return o;
  }
  PublishOptions publishOptions() {
    PublishOptions o;
    o.expiry = {60s, 3600s, 1800s};
    o.maxBodyBytes = 4096;
    o.maxPublicationsPerPresentity = 2;
    o.wallClock = [this] { return wall_; };
    return o;
  }
  // Sends a PUBLISH with `headers` (rows separated by \n) and `body`; returns the response.
  sip::Message publish(std::string_view headers, std::string_view body = {},
                       std::string_view ruri = "sip:alice@sip.localhost") {
    const std::string n = std::to_string(++n_);
    std::string text = "PUBLISH " + std::string(ruri) + " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK-p" +
                       n + "\r\nMax-Forwards: 70\r\nTo: <" + std::string(ruri) + ">\r\nFrom: <" +
                       std::string(ruri) + ">;tag=f" + n + "\r\nCall-ID: pub-" + n + "\r\nCSeq: 1 PUBLISH\r\n";
    test::appendRows(text, headers);
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    stack_.onDatagram(text, {sip::Transport::Udp, "192.0.2.5", 5060, 0, 0}, now_);
    auto r = sip::Parser{}.parseDatagram(sink_.sent.back().bytes);
    EXPECT_TRUE(r) << sink_.sent.back().bytes;
    return std::move(*r);
  }
  std::string etagOf(const sip::Message& r) { return std::string(r.header(sip::HeaderId::SipEtag).value_or("")); }
  storage::Publications live(std::string_view event = "presence") {
    storage::Publications out;
    publisher_.lookup(event, "sip:alice@sip.localhost", [&](auto r) { out = r ? *r : storage::Publications{}; });
    return out;
  }
  static constexpr std::string_view kPresence = "Event: presence\nContent-Type: application/pidf+xml";

  txn::TimePoint now_ = txn::TimePoint{} + 1000s;
  storage::WallTime wall_ = storage::WallTime{} + std::chrono::hours(24 * 365 * 50);
  Sink sink_;
  simple::SipStack stack_;
  storage::MemoryListStore<storage::Publication> store_;
  Publisher publisher_;
  int n_ = 0;
};

TEST_F(PublisherTest, InitialPublishGets200WithExpiresAndAnETag) {
  auto r = publish(std::string(kPresence) + "\nExpires: 600", kPidf);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.header(sip::HeaderId::Expires), "600");
  EXPECT_FALSE(etagOf(r).empty());
  ASSERT_EQ(live().size(), 1u);
  EXPECT_EQ(live()[0].body, kPidf);
}

TEST_F(PublisherTest, RefreshWithETagAndNoBodyGetsAFreshETagAndKeepsTheDocument) {
  const std::string first = etagOf(publish(kPresence, kPidf));
  auto r = publish("Event: presence\nSIP-If-Match: " + first + "\nExpires: 900");
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_NE(etagOf(r), first);
  EXPECT_EQ(live()[0].body, kPidf);
  EXPECT_EQ(live()[0].expires, wall_ + 900s);
  // The old tag is dead: using it again is a conditional failure.
  EXPECT_EQ(publish("Event: presence\nSIP-If-Match: " + first).statusCode(), 412);
}

TEST_F(PublisherTest, ModifyWithETagAndBodyReplacesTheDocument) {
  const std::string tag = etagOf(publish(kPresence, kPidf));
  std::string closed(kPidf);
  closed.replace(closed.find("open"), 4, "closed");
  wall_ += 10s;
  auto r = publish(std::string(kPresence) + "\nSIP-If-Match: " + tag, closed);
  EXPECT_EQ(r.statusCode(), 200);
  ASSERT_EQ(live().size(), 1u);
  EXPECT_EQ(live()[0].body, closed);
  EXPECT_EQ(live()[0].modified, wall_);
}

TEST_F(PublisherTest, RemoveWithExpiresZeroDeletesAndEchoesTheTag) {
  const std::string tag = etagOf(publish(kPresence, kPidf));
  auto r = publish("Event: presence\nExpires: 0\nSIP-If-Match: " + tag);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(r.header(sip::HeaderId::Expires), "0");
  EXPECT_EQ(etagOf(r), tag);
  EXPECT_TRUE(live().empty());
}

TEST_F(PublisherTest, UnknownETagGets412) {
  EXPECT_EQ(publish("Event: presence\nSIP-If-Match: nope").statusCode(), 412);
}

TEST_F(PublisherTest, ExpiredPublicationCannotBeRefreshed) {
  const std::string tag = etagOf(publish(std::string(kPresence) + "\nExpires: 60", kPidf));
  wall_ += 60s;
  EXPECT_TRUE(live().empty());
  EXPECT_EQ(publish("Event: presence\nSIP-If-Match: " + tag).statusCode(), 412);
}

TEST_F(PublisherTest, TooShortExpiresGets423WithMinExpiresAndLongOnesAreShortened) {
  auto r = publish(std::string(kPresence) + "\nExpires: 30", kPidf);
  EXPECT_EQ(r.statusCode(), 423);
  EXPECT_EQ(r.header(sip::HeaderId::MinExpires), "60");
  EXPECT_EQ(publish(std::string(kPresence) + "\nExpires: 99999", kPidf).header(sip::HeaderId::Expires), "3600");
  EXPECT_EQ(publish(kPresence, kPidf).header(sip::HeaderId::Expires), "1800");  // the default
}

TEST_F(PublisherTest, MissingOrUnknownEventGets489WithAllowEvents) {
  auto r = publish("Content-Type: application/pidf+xml", kPidf);
  EXPECT_EQ(r.statusCode(), 489);
  EXPECT_EQ(r.header(sip::HeaderId::AllowEvents), "presence, dialog");
  EXPECT_EQ(publish("Event: message-summary\nContent-Type: application/pidf+xml", kPidf).statusCode(), 489);
  EXPECT_EQ(publish("Event: Presence\nContent-Type: application/pidf+xml", kPidf).statusCode(), 489)
      << "event types compare byte-wise";
}

TEST_F(PublisherTest, WrongContentTypeGets415WithAccept) {
  auto r = publish("Event: presence\nContent-Type: application/xpidf+xml", kPidf);
  EXPECT_EQ(r.statusCode(), 415);
  EXPECT_EQ(r.header(sip::HeaderId::Accept), "application/pidf+xml");
  EXPECT_EQ(publish("Event: dialog\nContent-Type: application/pidf+xml", kPidf).header(sip::HeaderId::Accept),
            "application/dialog-info+xml");
}

TEST_F(PublisherTest, MalformedDocumentGets400NamingTheDefect) {
  auto r = publish(kPresence, "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple>");
  EXPECT_EQ(r.statusCode(), 400);
  EXPECT_EQ(r.statusLine().reason.substr(0, 19), "Malformed Document:");
  EXPECT_TRUE(live().empty());
}

TEST_F(PublisherTest, XmlBombAndExternalEntityGet400) {
  const std::string bomb =
      "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>"
      "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\">&b;</presence>";
  EXPECT_EQ(publish(kPresence, bomb).statusCode(), 400);
  const std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>"
      "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\">&x;</presence>";
  EXPECT_EQ(publish(kPresence, xxe).statusCode(), 400);
}

TEST_F(PublisherTest, OversizedBodyGets413) {
  EXPECT_EQ(publish(kPresence, std::string(5000, ' ')).statusCode(), 413);
}

TEST_F(PublisherTest, NoBodyAndNoETagGets400) {
  EXPECT_EQ(publish("Event: presence").statusCode(), 400);
  EXPECT_EQ(publish("Event: presence\nSIP-If-Match: a\nSIP-If-Match: b").statusCode(), 400);
}

TEST_F(PublisherTest, SeveralDevicesPublishSideBySideUpToTheLimit) {
  EXPECT_EQ(publish(kPresence, kPidf).statusCode(), 200);
  EXPECT_EQ(publish(kPresence, kPidf).statusCode(), 200);
  EXPECT_EQ(publish(kPresence, kPidf).statusCode(), 403);
  EXPECT_EQ(live().size(), 2u);
}

TEST_F(PublisherTest, DialogInfoFromAPbxIsStoredUnderTheDialogEvent) {
  auto r = publish("Event: dialog\nContent-Type: application/dialog-info+xml", kDialog);
  EXPECT_EQ(r.statusCode(), 200);
  EXPECT_EQ(live("dialog").size(), 1u);
  EXPECT_TRUE(live("presence").empty());
}

TEST_F(PublisherTest, OptionsDoesNotClaimNotifierPackagesBeforeSubscribeExists) {
  const std::string options =
      "OPTIONS sip:sip.localhost SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK-o1\r\n"
      "Max-Forwards: 70\r\nTo: <sip:sip.localhost>\r\nFrom: <sip:a@sip.localhost>;tag=o\r\n"
      "Call-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  stack_.onDatagram(options, {sip::Transport::Udp, "192.0.2.5", 5060, 0, 0}, now_);
  auto r = sip::Parser{}.parseDatagram(sink_.sent.back().bytes);
  ASSERT_TRUE(r);
  EXPECT_NE(std::string(*r->header(sip::HeaderId::Allow)).find("PUBLISH"), std::string::npos);
  EXPECT_NE(std::string(*r->header(sip::HeaderId::Accept)).find("application/pidf+xml"), std::string::npos);
  EXPECT_FALSE(r->header(sip::HeaderId::AllowEvents));
}

TEST_F(PublisherTest, RequestUriWithoutUserGets404) {
  EXPECT_EQ(publish(kPresence, kPidf, "sip:sip.localhost").statusCode(), 404);
}

// A source that is not a SIP UA (the HTTP API) publishes one device under a
// tag of its own: replaced by its next publication, removed by expires 0,
// counted against the per-presentity limit, heard by the listener.
TEST_F(PublisherTest, PublishAsKeepsOneDevicePerSource) {
  std::vector<bool> heard;
  publisher_.setListener([&](const PublicationChange& c) { heard.push_back(c.stateChanged); });
  auto publishAs = [&](std::string tag, std::string body, std::chrono::seconds expires) {
    std::optional<tl::expected<storage::Publications, storage::StoreError>> got;
    publisher_.publishAs("presence", "sip:alice@sip.localhost", std::move(tag), std::move(body), expires,
                         [&](auto r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    return got.value_or(tl::unexpected(storage::StoreError{}));
  };
  ASSERT_TRUE(publishAs("api-pbx", "<one/>", 600s));
  wall_ += 1s;
  auto r = publishAs("api-pbx", "<two/>", 900s);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().etag, "api-pbx");
  EXPECT_EQ(r->front().body, "<two/>");
  EXPECT_EQ(r->front().expires, wall_ + 900s);
  EXPECT_EQ(r->front().modified, wall_);

  ASSERT_TRUE(publishAs("api-board", "<three/>", 600s));
  auto full = publishAs("api-third", "<four/>", 600s);  // max_publications_per_presentity = 2
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().sipCode, 403);

  r = publishAs("api-pbx", {}, 0s);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().etag, "api-board");
  EXPECT_EQ(live().size(), 1u);
  EXPECT_EQ(heard, (std::vector<bool>{true, true, true, true}));
}

}  // namespace
}  // namespace parley::presence
