#include "parley/sip/uri.hpp"

#include <gtest/gtest.h>

#include "parley/sip/header_values.hpp"

namespace parley::sip {
namespace {

TEST(Uri, ParsesFullSipUri) {
  auto u = parseUri("sips:alice:secret@Example.COM:5061;transport=tcp;lr?subject=hi&x=y");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, Scheme::Sips);
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "secret");
  EXPECT_EQ(u->host, "Example.COM");
  EXPECT_EQ(u->port, 5061);
  EXPECT_EQ(u->param("TRANSPORT"), "tcp");
  EXPECT_TRUE(u->hasParam("lr"));
  EXPECT_EQ(u->headers, "subject=hi&x=y");
}

TEST(Uri, ParsesIpv6Reference) {
  auto u = parseUri("sip:[2001:db8::10]:5070;maddr=[2001:db8::11]");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "[2001:db8::10]");
  EXPECT_TRUE(u->hostIsIpv6());
  EXPECT_EQ(u->port, 5070);
}

TEST(Uri, UserMayContainEscapesAndUserUnreservedCharacters) {
  auto u = parseUri("sip:%61lice;x=1?y@sip.localhost");
  ASSERT_TRUE(u);
  EXPECT_EQ(unescape(u->user), "alice;x=1?y");
}

TEST(Uri, NonSipSchemesAreOpaque) {
  auto tel = parseUri("tel:+1-555-0100");
  ASSERT_TRUE(tel);
  EXPECT_EQ(tel->scheme, Scheme::Tel);
  auto pres = parseUri("pres:alice@example.com");
  ASSERT_TRUE(pres);
  EXPECT_EQ(pres->scheme, Scheme::Other);
  EXPECT_EQ(pres->opaque, "alice@example.com");
}

TEST(Uri, RejectsMalformed) {
  EXPECT_EQ(parseUri("").error(), UriError::Empty);
  EXPECT_EQ(parseUri("alice@example.com").error(), UriError::NoScheme);
  EXPECT_EQ(parseUri("sip:alice@exa mple.com").error(), UriError::BadHost);
  EXPECT_EQ(parseUri("sip:alice@example.com:99999").error(), UriError::BadPort);
  EXPECT_EQ(parseUri("sip:al%ZZice@example.com").error(), UriError::BadEscape);
  EXPECT_EQ(parseUri("sip:[::1").error(), UriError::BadHost);
  EXPECT_EQ(parseUri("sip:a@[::g]").error(), UriError::BadHost);
  EXPECT_EQ(parseUri("sip:a@b;=x").error(), UriError::BadParam);
  EXPECT_EQ(parseUri("1sip:a@b").error(), UriError::BadScheme);
}

TEST(Uri, EquivalenceFollowsRfc3261Section19_1_4) {
  auto eq = [](std::string_view a, std::string_view b) { return equivalent(*parseUri(a), *parseUri(b)); };
  EXPECT_TRUE(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  EXPECT_FALSE(eq("sip:ALICE@AtLanTa.CoM", "sip:alice@AtLanTa.CoM"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  EXPECT_FALSE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
}

TEST(Uri, SerializesCanonically) {
  EXPECT_EQ(toString(*parseUri("SIP:bob@host:5062;lr;maddr=1.2.3.4")), "sip:bob@host:5062;lr;maddr=1.2.3.4");
}

TEST(NameAddr, ParsesQuotedDisplayNameAndParams) {
  auto na = parseNameAddr(R"("Bob \"the\" Builder" <sip:bob@b.example;lr>;tag=abc ; expires=60)");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->displayName, R"(Bob \"the\" Builder)");
  EXPECT_TRUE(na->uri.hasParam("lr"));
  EXPECT_EQ(na->tag(), "abc");
  EXPECT_EQ(na->param("expires"), "60");
}

TEST(NameAddr, AddrSpecParamsBelongToTheHeader) {
  auto na = parseNameAddr("sip:bob@b.example;tag=xyz");
  ASSERT_TRUE(na);
  EXPECT_FALSE(na->uri.hasParam("tag"));
  EXPECT_EQ(na->tag(), "xyz");
}

TEST(NameAddr, TokenDisplayName) {
  auto na = parseNameAddr("Bob Smith <sip:bob@b.example>");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->displayName, "Bob Smith");
}

TEST(NameAddr, RejectsUnterminated) {
  EXPECT_FALSE(parseNameAddr("<sip:bob@b.example"));
  EXPECT_FALSE(parseNameAddr("\"Bob <sip:bob@b.example>"));
}

TEST(HeaderValues, SplitListRespectsQuotesAndAngles) {
  auto v = splitList(R"(<sip:a@b;x=",">;q=1, "c,d" <sip:c@d> ,sip:e@f)");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[2], "sip:e@f");
  EXPECT_EQ(firstListElement(" , a, b"), "a");
}

TEST(HeaderValues, CSeqAndUnsigned) {
  EXPECT_EQ(parseCSeq("4294967295 NOTIFY")->number, 4294967295u);
  EXPECT_FALSE(parseCSeq("4294967296 NOTIFY"));
  EXPECT_FALSE(parseCSeq("12NOTIFY"));
  EXPECT_EQ(parseUnsigned(" 3600 ", 0xffffffffu), 3600u);
  EXPECT_FALSE(parseUnsigned("-1", 100));
  EXPECT_FALSE(parseUnsigned("101", 100));
}

TEST(HeaderValues, TokenParamsParsesMediaTypeAndEvent) {
  auto ct = parseTokenParams("application/pidf+xml ; charset=\"UTF-8\"");
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->token, "application/pidf+xml");
  EXPECT_EQ(ct->param("charset"), "\"UTF-8\"");
  auto ev = parseTokenParams("presence;id=42");
  EXPECT_EQ(ev->token, "presence");
  EXPECT_EQ(ev->param("id"), "42");
}

}  // namespace
}  // namespace parley::sip
