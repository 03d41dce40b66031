// Address mapping SIP <-> XMPP [RFC 7247 §6] and JID escaping [XEP-0106].
#include <string>

#include <gtest/gtest.h>

#include "parley/bridge/address.hpp"

namespace parley::bridge {
namespace {

constexpr std::string_view kXmppDomain = "x";

// Parses `text` (kept alive by the caller: Uri holds views) and decodes it.
tl::expected<SipAddress, AddressError> decode(const std::string& text) {
  auto uri = sip::parseUri(text);
  EXPECT_TRUE(uri) << text;
  if (!uri) return tl::unexpected(AddressError::NotSip);
  return fromSipUri(*uri);
}

// SIP URI text -> JID text, the whole S2X path.
std::string sipToJid(const std::string& text, std::string_view domain = kXmppDomain) {
  auto sip = decode(text);
  EXPECT_TRUE(sip) << text << ": " << describe(sip.error());
  if (!sip) return {};
  auto jid = toJid(*sip, domain);
  EXPECT_TRUE(jid) << text << ": " << describe(jid.error());
  return jid ? jid->full() : std::string();
}

// JID text -> SIP URI text, the whole X2S path.
std::string jidToSip(std::string_view text, std::string_view host = "x") {
  auto jid = parseJid(text);
  EXPECT_TRUE(jid) << text << ": " << describe(jid.error());
  if (!jid) return {};
  auto sip = toSip(*jid, host);
  EXPECT_TRUE(sip) << text << ": " << describe(sip.error());
  return sip ? sip->uri() : std::string();
}

// --- RFC 7247 §6.4 / §6.5 examples, both directions ---------------------------

TEST(AddressRfc7247, Apostrophe) {
  EXPECT_EQ(sipToJid("sip:o'malley@x"), "o\\27malley@x");
  EXPECT_EQ(jidToSip("o\\27malley@x"), "sip:o'malley@x");
}

TEST(AddressRfc7247, NonAsciiUser) {
  EXPECT_EQ(sipToJid("sip:f%C3%BC@x"), "f\xC3\xBC@x");
  EXPECT_EQ(jidToSip("f\xC3\xBC@x"), "sip:f%C3%BC@x");
}

TEST(AddressRfc7247, GruuIsResource) {
  EXPECT_EQ(sipToJid("sip:foo@x;gr=bar"), "foo@x/bar");
  EXPECT_EQ(jidToSip("foo@x/bar"), "sip:foo@x;gr=bar");
}

TEST(AddressRfc7247, Ampersand) {
  EXPECT_EQ(jidToSip("m\\26m@x"), "sip:m&m@x");
  EXPECT_EQ(sipToJid("sip:m&m@x"), "m\\26m@x");
}

TEST(AddressRfc7247, EscapedAtSignUsesFullXep0106Table) {
  EXPECT_EQ(sipToJid("sip:user%40x@d", "d"), "user\\40x@d");
  EXPECT_EQ(jidToSip("user\\40x@d", "d"), "sip:user%40x@d");
}

TEST(AddressRfc7247, SlashInUser) {
  EXPECT_EQ(sipToJid("sip:a/b@x"), "a\\2fb@x");
  EXPECT_EQ(jidToSip("a\\2fb@x"), "sip:a/b@x");
}

// --- decoding ------------------------------------------------------------------

TEST(FromSipUri, DecodesUserLowersHostKeepsGruu) {
  auto a = decode("sip:Alice%20B@Example.COM:5070;transport=tcp;gr=urn:uuid:f81d4fae");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->user, "Alice B");
  EXPECT_EQ(a->host, "example.com");
  EXPECT_EQ(a->gruu, "urn:uuid:f81d4fae");
}

TEST(FromSipUri, TemporaryGruuWithoutValueIsNoGruu) {
  auto a = decode("sip:alice@example.com;gr");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->gruu, "");
}

TEST(FromSipUri, PercentEncodedGruuIsDecoded) {
  auto a = decode("sip:alice@example.com;gr=ph%C3%B6ne");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->gruu, "ph\xC3\xB6ne");
}

// --- encoding ------------------------------------------------------------------

TEST(SipAddress, AorAndUriEncodeWhatSipUserForbids) {
  SipAddress a{"a b\"#%:<>@[\\]^`{|}\xC3\xBC!$&'()*+,-./;=?_~", "example.com", ""};
  EXPECT_EQ(a.aor(), "a%20b%22%23%25%3A%3C%3E%40%5B%5C%5D%5E%60%7B%7C%7D%C3%BC!$&'()*+,-./;=?_~@example.com");
  EXPECT_EQ(a.uri(), "sip:" + a.aor());
}

TEST(SipAddress, UriEncodesGruu) {
  SipAddress a{"bob", "example.com", "my phone;\xC3\xBC"};
  EXPECT_EQ(a.uri(), "sip:bob@example.com;gr=my%20phone%3B%C3%BC");
}

TEST(SipAddress, UriRoundTripsThroughParser) {
  for (const SipAddress& a : {SipAddress{"o'malley", "x", ""}, SipAddress{"user@x", "d", "res/1"},
                              SipAddress{"a b;c?d", "h.example", "urn:uuid:1"},
                              SipAddress{"f\xC3\xBC", "x", "\xC3\xBC"}, SipAddress{"100%", "x", "50% off"}}) {
    const std::string text = a.uri();
    auto back = decode(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, a) << text;
  }
}

// --- XEP-0106 ------------------------------------------------------------------

TEST(Xep0106, EscapesEveryTableCharacter) {
  EXPECT_EQ(escapeLocal("a b\"c&d'e/f:g<h>i@j"), "a\\20b\\22c\\26d\\27e\\2ff\\3ag\\3ch\\3ei\\40j");
  EXPECT_EQ(unescapeLocal("a\\20b\\22c\\26d\\27e\\2ff\\3ag\\3ch\\3ei\\40j"), "a b\"c&d'e/f:g<h>i@j");
}

TEST(Xep0106, XepExamples) {
  // XEP-0106 §5 examples.
  EXPECT_EQ(escapeLocal("space cadet"), "space\\20cadet");
  EXPECT_EQ(escapeLocal("call me \"ishmael\""), "call\\20me\\20\\22ishmael\\22");
  EXPECT_EQ(escapeLocal("at&t guy"), "at\\26t\\20guy");
  EXPECT_EQ(escapeLocal("d'artagnan"), "d\\27artagnan");
  EXPECT_EQ(escapeLocal("/.fanboy"), "\\2f.fanboy");
  EXPECT_EQ(escapeLocal("::foo::"), "\\3a\\3afoo\\3a\\3a");
  EXPECT_EQ(escapeLocal("<foo>"), "\\3cfoo\\3e");
  EXPECT_EQ(escapeLocal("user@host"), "user\\40host");
  EXPECT_EQ(escapeLocal("c:\\net"), "c\\3a\\net");
  EXPECT_EQ(escapeLocal("c:\\\\net"), "c\\3a\\\\net");
  EXPECT_EQ(escapeLocal("c:\\cool stuff"), "c\\3a\\cool\\20stuff");
  EXPECT_EQ(escapeLocal("c:\\5commas"), "c\\3a\\5c5commas");
}

TEST(Xep0106, BackslashEscapedOnlyBeforeAnEscapeCode) {
  EXPECT_EQ(escapeLocal("a\\b"), "a\\b");
  EXPECT_EQ(escapeLocal("a\\20b"), "a\\5c20b");
  EXPECT_EQ(escapeLocal("a\\5c"), "a\\5c5c");
  EXPECT_EQ(escapeLocal("a\\2F"), "a\\2F");  // upper-case hex is no escape code
  EXPECT_EQ(escapeLocal("trail\\"), "trail\\");
}

TEST(Xep0106, UnescapesOnlyTheTenLowerCaseSequences) {
  EXPECT_EQ(unescapeLocal("a\\5c20b"), "a\\20b");
  EXPECT_EQ(unescapeLocal("a\\2Fb"), "a\\2Fb");
  EXPECT_EQ(unescapeLocal("a\\41b"), "a\\41b");
  EXPECT_EQ(unescapeLocal("a\\"), "a\\");
  EXPECT_EQ(unescapeLocal("a\\2"), "a\\2");
}

TEST(Xep0106, NeverStartsOrEndsWithEscapedSpace) {
  EXPECT_EQ(escapeLocal("  bob smith "), "bob\\20smith");
  EXPECT_EQ(escapeLocal("   "), "");
}

TEST(Xep0106, RoundTrips) {
  for (std::string_view raw : {"o'malley", "a b", "x\\y", "a\\20b", "\\5c", "c:\\5commas", "user@host/res",
                               "f\xC3\xBC", "&'/:<>@\"", "plain"}) {
    EXPECT_EQ(unescapeLocal(escapeLocal(raw)), raw) << raw;
  }
}

// --- JIDs ----------------------------------------------------------------------

TEST(Jid, BareAndFull) {
  EXPECT_EQ((Jid{"a", "b", ""}).bare(), "a@b");
  EXPECT_EQ((Jid{"a", "b", "r"}).full(), "a@b/r");
  EXPECT_EQ((Jid{"", "b", ""}).bare(), "b");
  EXPECT_EQ((Jid{"", "b", "r"}).full(), "b/r");
}

TEST(ParseJid, SplitsAtFirstSlashThenFirstAt) {
  auto j = parseJid("juliet@Example.COM/balcony/with@sign");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->local, "juliet");
  EXPECT_EQ(j->domain, "example.com");
  EXPECT_EQ(j->resource, "balcony/with@sign");
}

TEST(ParseJid, DomainOnlyAndTrailingDotAndIpv6) {
  auto d = parseJid("example.com.");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (Jid{"", "example.com", ""}));
  auto v6 = parseJid("a@[2001:DB8::1]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->domain, "[2001:db8::1]");
  auto idn = parseJid("a@\xC3\xBC.example");
  ASSERT_TRUE(idn);
}

TEST(ParseJid, Errors) {
  EXPECT_EQ(parseJid("@example.com").error(), AddressError::EmptyLocal);
  EXPECT_EQ(parseJid("").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("a@").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("a@b/").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("a@b@c").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("a b@c").error(), AddressError::BadJid);
  for (char c : std::string_view("\"&':<>"))
    EXPECT_EQ(parseJid(std::string("a") + c + "b@c").error(), AddressError::BadJid) << c;
  EXPECT_EQ(parseJid("a@b..c").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("a@b_c").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("a@[zz]").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("a@b/r\x01").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("a\x7f@b").error(), AddressError::BadJid);
  EXPECT_EQ(parseJid("\xC3@b").error(), AddressError::BadUtf8);
  EXPECT_EQ(parseJid("a@b/\xED\xA0\x80").error(), AddressError::BadUtf8);  // surrogate
  EXPECT_EQ(parseJid("a@\xC0\xAF").error(), AddressError::BadUtf8);        // overlong
  const std::string big(1024, 'a');
  EXPECT_EQ(parseJid(big + "@b").error(), AddressError::TooLong);
  EXPECT_EQ(parseJid("a@" + big).error(), AddressError::TooLong);
  EXPECT_EQ(parseJid("a@b/" + big).error(), AddressError::TooLong);
  EXPECT_TRUE(parseJid(std::string(1023, 'a') + "@b/" + std::string(1023, 'r')));
}

// --- conversion errors ----------------------------------------------------------

TEST(FromSipUri, Errors) {
  EXPECT_EQ(decode("sips:alice@example.com").error(), AddressError::Sips);
  EXPECT_EQ(decode("tel:+15551234").error(), AddressError::NotSip);
  EXPECT_EQ(decode("pres:alice@example.com").error(), AddressError::NotSip);
  EXPECT_EQ(decode("sip:example.com").error(), AddressError::NoUser);
  EXPECT_EQ(decode("sip:%C3@example.com").error(), AddressError::BadUtf8);
  EXPECT_EQ(decode("sip:a@example.com;gr=%FF").error(), AddressError::BadUtf8);
  // The parser already refuses bad escapes in the user; a hand-built Uri can still carry one.
  sip::Uri uri;
  uri.scheme = sip::Scheme::Sip;
  uri.user = "a%2";
  uri.host = "example.com";
  EXPECT_EQ(fromSipUri(uri).error(), AddressError::BadEscape);
  uri.user = "a";
  uri.params.push_back(sip::Param{"gr", "%zz", true});
  EXPECT_EQ(fromSipUri(uri).error(), AddressError::BadEscape);
}

TEST(ToJid, Errors) {
  EXPECT_EQ(toJid(SipAddress{"", "h", ""}, "x").error(), AddressError::EmptyLocal);
  EXPECT_EQ(toJid(SipAddress{"\xFF", "h", ""}, "x").error(), AddressError::BadUtf8);
  EXPECT_EQ(toJid(SipAddress{" bob", "h", ""}, "x").error(), AddressError::BadJid);
  EXPECT_EQ(toJid(SipAddress{"bob ", "h", ""}, "x").error(), AddressError::BadJid);
  EXPECT_EQ(toJid(SipAddress{"b\nob", "h", ""}, "x").error(), AddressError::BadJid);
  EXPECT_EQ(toJid(SipAddress{"bob", "h", ""}, "").error(), AddressError::BadJid);
  EXPECT_EQ(toJid(SipAddress{"bob", "h", ""}, "a b").error(), AddressError::BadJid);
  EXPECT_EQ(toJid(SipAddress{"bob", "h", "r\x01"}, "x").error(), AddressError::BadJid);
  // Escaping can push a localpart over the limit: 400 '@' become 1200 bytes.
  EXPECT_EQ(toJid(SipAddress{std::string(400, '@'), "h", ""}, "x").error(), AddressError::TooLong);
  EXPECT_EQ(toJid(SipAddress{"bob", "h", std::string(1024, 'r')}, "x").error(), AddressError::TooLong);
}

TEST(ToJid, LowerCasesConfiguredDomain) {
  auto j = toJid(SipAddress{"Bob", "h", ""}, "SIP.Example.com");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->bare(), "Bob@sip.example.com");  // localparts keep their case: SIP users are case-sensitive
}

TEST(ToSip, Errors) {
  EXPECT_EQ(toSip(Jid{"", "example.com", ""}, "h").error(), AddressError::EmptyLocal);
  EXPECT_EQ(toSip(Jid{"\xC3", "example.com", ""}, "h").error(), AddressError::BadUtf8);
  EXPECT_EQ(toSip(Jid{"a", "example.com", "\xC3"}, "h").error(), AddressError::BadUtf8);
}

TEST(ToSip, LowerCasesHost) {
  auto s = toSip(Jid{"a", "example.com", ""}, "SIP.Example.COM");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->aor(), "a@sip.example.com");
}

TEST(AddressErrors, AllDescribed) {
  for (auto e : {AddressError::NotSip, AddressError::Sips, AddressError::NoUser, AddressError::BadEscape,
                 AddressError::BadUtf8, AddressError::TooLong, AddressError::BadJid, AddressError::EmptyLocal})
    EXPECT_FALSE(describe(e).empty());
}

// --- round trips ----------------------------------------------------------------

TEST(AddressRoundTrip, SipToXmppToSip) {
  for (const std::string text : {"sip:o'malley@x", "sip:f%C3%BC@x", "sip:foo@x;gr=bar", "sip:m&m@x",
                                 "sip:user%40x@x", "sip:a%20b@x", "sip:back%5Cslash%5C20@x", "sip:q%22%3A%3C%3E@x",
                                 "sip:bob@x;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}) {
    auto sip = decode(text);
    ASSERT_TRUE(sip) << text;
    auto jid = toJid(*sip, "x");
    ASSERT_TRUE(jid) << text;
    // The JID must survive the wire: its text form parses back to the same parts.
    auto reparsed = parseJid(jid->full());
    ASSERT_TRUE(reparsed) << jid->full();
    EXPECT_EQ(*reparsed, *jid);
    auto back = toSip(*reparsed, "x");
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, *sip) << text;
  }
}

TEST(AddressRoundTrip, XmppToSipToXmpp) {
  for (std::string_view text : {"o\\27malley@x", "m\\26m@x", "user\\40x@x/phone", "f\xC3\xBC@x/\xC3\xBC",
                                "a\\5c20b@x", "plain@x/res with space"}) {
    auto jid = parseJid(text);
    ASSERT_TRUE(jid) << text;
    auto sip = toSip(*jid, "x");
    ASSERT_TRUE(sip) << text;
    const std::string uriText = sip->uri();
    auto decoded = decode(uriText);
    ASSERT_TRUE(decoded) << uriText;
    auto back = toJid(*decoded, "x");
    ASSERT_TRUE(back) << uriText;
    EXPECT_EQ(back->full(), text);
  }
}

}  // namespace
}  // namespace parley::bridge
