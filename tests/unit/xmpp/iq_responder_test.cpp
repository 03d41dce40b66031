// The IQs the component answers itself: XEP-0030, XEP-0199, XEP-0092, and
// RFC 6120 §8 rules (exactly one child, service-unavailable for the rest,
// never answer a result or an error).
#include "parley/xmpp/iq_responder.hpp"

#include <gloox/tag.h>
#include <gtest/gtest.h>

#include "parley/xmpp/stanza.hpp"

namespace parley::xmpp {
namespace {

ComponentOptions options() {
  ComponentOptions o;
  o.domain = "sip.localhost";
  o.softwareVersion = "0.1.0";
  o.features = {"http://jabber.org/protocol/chatstates"};
  return o;
}

std::unique_ptr<gloox::Tag> iq(std::string_view type, std::string_view to, const char* child, const char* ns,
                               const char* node = nullptr) {
  auto t = makeStanza("iq", "alice@localhost/phone", to, type);
  t->addAttribute("id", "q1");
  if (child != nullptr) {
    auto* c = new gloox::Tag(t.get(), child);
    c->setXmlns(ns);
    if (node != nullptr) c->addAttribute("node", node);
  }
  return t;
}

std::string errorCondition(const gloox::Tag& t) {
  const gloox::Tag* e = t.findChild("error");
  if (e == nullptr || e->children().empty()) return "";
  return e->children().front()->name();
}

TEST(IqResponder, DiscoInfoOnTheComponentNamesAGatewayAndItsFeatures) {
  detail::IqResponder r(options());
  auto out = r.answer(*iq("get", "sip.localhost", "query", "http://jabber.org/protocol/disco#info"));
  ASSERT_TRUE(out);
  EXPECT_EQ(attr(*out, "type"), "result");
  EXPECT_EQ(attr(*out, "id"), "q1");
  EXPECT_EQ(attr(*out, "from"), "sip.localhost");
  EXPECT_EQ(attr(*out, "to"), "alice@localhost/phone");
  const gloox::Tag* q = out->findChild("query");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->xmlns(), "http://jabber.org/protocol/disco#info");
  const gloox::Tag* id = q->findChild("identity");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(attr(*id, "category"), "gateway");
  EXPECT_EQ(attr(*id, "type"), "simple");
  std::vector<std::string> vars;
  for (const auto* f : q->findChildren("feature")) vars.push_back(attr(*f, "var"));
  for (const char* want : {"http://jabber.org/protocol/disco#info", "urn:xmpp:ping", "jabber:iq:version",
                           "jid\\20escaping", "http://jabber.org/protocol/chatstates"})
    EXPECT_NE(std::find(vars.begin(), vars.end(), want), vars.end()) << want;
}

TEST(IqResponder, DiscoInfoOnAUserIsAnAccountAndOnAFullJidAPhone) {
  detail::IqResponder r(options());
  auto bare = r.answer(*iq("get", "bob@sip.localhost", "query", "http://jabber.org/protocol/disco#info"));
  ASSERT_TRUE(bare);
  EXPECT_EQ(attr(*bare->findChild("query")->findChild("identity"), "category"), "account");
  auto full = r.answer(*iq("get", "bob@sip.localhost/desk", "query", "http://jabber.org/protocol/disco#info"));
  ASSERT_TRUE(full);
  EXPECT_EQ(attr(*full->findChild("query")->findChild("identity"), "type"), "phone");
}

TEST(IqResponder, DiscoWithANodeIsItemNotFound) {
  detail::IqResponder r(options());
  auto out = r.answer(*iq("get", "sip.localhost", "query", "http://jabber.org/protocol/disco#info", "x#y"));
  ASSERT_TRUE(out);
  EXPECT_EQ(attr(*out, "type"), "error");
  EXPECT_EQ(errorCondition(*out), "item-not-found");
}

TEST(IqResponder, DiscoItemsIsEmpty) {
  detail::IqResponder r(options());
  auto out = r.answer(*iq("get", "sip.localhost", "query", "http://jabber.org/protocol/disco#items"));
  ASSERT_TRUE(out);
  EXPECT_EQ(attr(*out, "type"), "result");
  EXPECT_TRUE(out->findChild("query")->children().empty());
}

TEST(IqResponder, PingGetsAnEmptyResult) {
  detail::IqResponder r(options());
  auto out = r.answer(*iq("get", "bob@sip.localhost", "ping", "urn:xmpp:ping"));
  ASSERT_TRUE(out);
  EXPECT_EQ(attr(*out, "type"), "result");
  EXPECT_TRUE(out->children().empty());
}

TEST(IqResponder, VersionNamesParley) {
  detail::IqResponder r(options());
  auto out = r.answer(*iq("get", "sip.localhost", "query", "jabber:iq:version"));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->findChild("query")->findChild("name")->cdata(), "Parley");
  EXPECT_EQ(out->findChild("query")->findChild("version")->cdata(), "0.1.0");
}

TEST(IqResponder, UnknownPayloadIsServiceUnavailable) {
  detail::IqResponder r(options());
  for (const char* type : {"get", "set"}) {
    auto out = r.answer(*iq(type, "bob@sip.localhost", "vCard", "vcard-temp"));
    ASSERT_TRUE(out) << type;
    EXPECT_EQ(attr(*out, "type"), "error");
    EXPECT_EQ(attr(*out->findChild("error"), "type"), "cancel");
    EXPECT_EQ(errorCondition(*out), "service-unavailable");
    EXPECT_EQ(out->findChild("error")->children().front()->xmlns(), "urn:ietf:params:xml:ns:xmpp-stanzas");
  }
  // Version is the component's, not a user's.
  auto out = r.answer(*iq("get", "bob@sip.localhost", "query", "jabber:iq:version"));
  EXPECT_EQ(errorCondition(*out), "service-unavailable");
}

TEST(IqResponder, GetWithoutExactlyOneChildIsBadRequest) {
  detail::IqResponder r(options());
  auto none = r.answer(*iq("get", "sip.localhost", nullptr, nullptr));
  ASSERT_TRUE(none);
  EXPECT_EQ(errorCondition(*none), "bad-request");
  auto two = iq("get", "sip.localhost", "ping", "urn:xmpp:ping");
  new gloox::Tag(two.get(), "extra");
  EXPECT_EQ(errorCondition(*r.answer(*two)), "bad-request");
}

TEST(IqResponder, ResultsAndErrorsAreNeverAnswered) {
  detail::IqResponder r(options());
  EXPECT_FALSE(r.answer(*iq("result", "sip.localhost", nullptr, nullptr)));
  EXPECT_FALSE(r.answer(*iq("error", "sip.localhost", "ping", "urn:xmpp:ping")));
  EXPECT_FALSE(r.answer(*iq("", "sip.localhost", "ping", "urn:xmpp:ping")));
}

TEST(Stanza, ErrorReplySwapsAddressesKeepsIdAndNeverAnswersAnError) {
  auto msg = makeStanza("message", "alice@localhost/pc", "bob@sip.localhost", "chat");
  msg->addAttribute("id", "m7");
  auto err = errorReply(*msg, "recipient-unavailable", "wait", "bob is offline");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->name(), "message");
  EXPECT_EQ(attr(*err, "from"), "bob@sip.localhost");
  EXPECT_EQ(attr(*err, "to"), "alice@localhost/pc");
  EXPECT_EQ(attr(*err, "id"), "m7");
  EXPECT_EQ(attr(*err, "type"), "error");
  EXPECT_EQ(attr(*err->findChild("error"), "type"), "wait");
  EXPECT_EQ(err->findChild("error")->findChild("text")->cdata(), "bob is offline");
  EXPECT_FALSE(errorReply(*err, "bad-request", "modify"));
}

}  // namespace
}  // namespace parley::xmpp

// gloox's parser keeps xml:lang as prefix "xml" + name "lang": xmlLang() finds
// it on parsed stanzas as on built ones.
#include <gloox/parser.h>
#include <gloox/taghandler.h>

namespace parley::xmpp {
namespace {
struct Keep final : gloox::TagHandler {
  void handleTag(gloox::Tag* tag) override { kept.reset(tag ? tag->clone() : nullptr); }
  std::unique_ptr<gloox::Tag> kept;
};

TEST(Stanza, XmlLangIsFoundOnParsedAndBuiltStanzas) {
  Keep keep;
  gloox::Parser parser(&keep);
  std::string xml = "<message xml:lang='de' from='a@b' to='c@d'><body>hallo</body></message>";
  EXPECT_LT(parser.feed(xml), 0);
  ASSERT_TRUE(keep.kept);
  EXPECT_EQ(xmlLang(*keep.kept), "de");
  auto built = makeStanza("presence", "a@b", "c@d");
  built->addAttribute("xml:lang", "fr");
  EXPECT_EQ(xmlLang(*built), "fr");
  EXPECT_EQ(xmlLang(*makeStanza("presence", "a@b", "c@d")), "");
}
}  // namespace
}  // namespace parley::xmpp
