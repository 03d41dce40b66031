// parseListenAddress on its own: "<transport>:<host>:<port>" with IP-literal hosts only.
#include "parley/config/listen_address.hpp"

#include <gtest/gtest.h>

namespace parley::config {
namespace {

std::string errorOf(std::string_view text) {
  auto result = parseListenAddress(text);
  return result ? std::string("<parsed>") : result.error();
}

TEST(ListenAddress, ParsesIpv4WithTransportCaseInsensitive) {
  auto address = parseListenAddress("Tcp:192.0.2.10:5061");
  ASSERT_TRUE(address.has_value()) << address.error();
  EXPECT_EQ(address->transport, Transport::Tcp);
  EXPECT_EQ(address->host, "192.0.2.10");
  EXPECT_EQ(address->port, 5061);
  EXPECT_FALSE(address->ipv6);
  EXPECT_EQ(address->text, "Tcp:192.0.2.10:5061");
}

TEST(ListenAddress, ParsesBracketedIpv6AndCanonicalisesTheHost) {
  auto address = parseListenAddress("udp:[2001:DB8:0::1]:65535");
  ASSERT_TRUE(address.has_value()) << address.error();
  EXPECT_EQ(address->transport, Transport::Udp);
  EXPECT_EQ(address->host, "2001:db8::1");
  EXPECT_EQ(address->port, 65535);
  EXPECT_TRUE(address->ipv6);
  EXPECT_EQ(address->text, "udp:[2001:DB8:0::1]:65535");
}

TEST(ListenAddress, AcceptsPortZeroAndWildcardHosts) {
  auto v4 = parseListenAddress("udp:0.0.0.0:0");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->port, 0);
  auto v6 = parseListenAddress("tcp:[::]:0");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::");
}

TEST(ListenAddress, RejectsUnknownTransport) {
  EXPECT_EQ(errorOf("sctp:127.0.0.1:5060"), R"(unknown transport "sctp")");
  EXPECT_EQ(errorOf("tls:127.0.0.1:5061"), R"(unknown transport "tls")");
  EXPECT_EQ(errorOf(":127.0.0.1:5061"), R"(unknown transport "")");
}

TEST(ListenAddress, RejectsHostNamesBecauseLookupsBlock) {
  EXPECT_EQ(errorOf("udp:sip.example.com:5060"),
            R"(host "sip.example.com" is not an IP literal; only IP literals are accepted because name lookups would block)");
}

TEST(ListenAddress, RejectsMalformedIpLiterals) {
  EXPECT_EQ(errorOf("udp:1.2.3:5060"), R"(invalid IPv4 address "1.2.3")");
  EXPECT_EQ(errorOf("udp:01.2.3.4:5060"), R"(invalid IPv4 address "01.2.3.4")");
  EXPECT_EQ(errorOf("udp:[127.0.0.1]:5060"), R"(invalid IPv6 address "127.0.0.1")");
  EXPECT_EQ(errorOf("udp:[fe80::1%eth0]:5060"), R"(invalid IPv6 address "fe80::1%eth0")");
  EXPECT_EQ(errorOf("udp:[::1:5060"), "missing ']' after IPv6 address");
  EXPECT_EQ(errorOf("udp:[]:5060"), "missing host");
  EXPECT_EQ(errorOf("udp::5060"), "missing host");
}

TEST(ListenAddress, RejectsBadPorts) {
  EXPECT_EQ(errorOf("udp:127.0.0.1:"), R"(invalid port "" (expected 0..65535))");
  EXPECT_EQ(errorOf("udp:127.0.0.1:-1"), R"(invalid port "-1" (expected 0..65535))");
  EXPECT_EQ(errorOf("udp:127.0.0.1:5060x"), R"(invalid port "5060x" (expected 0..65535))");
  EXPECT_EQ(errorOf("udp:127.0.0.1:999999"), R"(invalid port "999999" (expected 0..65535))");
  EXPECT_EQ(errorOf("udp:[::1]5060"),
            R"(expected "<transport>:<host>:<port>", e.g. "udp:127.0.0.1:5060")");
  EXPECT_EQ(errorOf("udp"), R"(expected "<transport>:<host>:<port>", e.g. "udp:127.0.0.1:5060")");
}

}  // namespace
}  // namespace parley::config
