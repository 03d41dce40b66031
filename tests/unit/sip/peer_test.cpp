#include "parley/sip/peer.hpp"

#include <gtest/gtest.h>

namespace parley::sip {
namespace {

TEST(Peer, FormatsAndParsesBackIpv4AndIpv6) {
  const Peer udp{Transport::Udp, "192.0.2.1", 5060, 7, 1};
  EXPECT_EQ(formatPeer(udp), "udp:192.0.2.1:5060");
  const Peer tcp{Transport::Tcp, "2001:db8::1", 5061, 0, 0};
  EXPECT_EQ(formatPeer(tcp), "tcp:[2001:db8::1]:5061");
  auto back = parsePeer("tcp:[2001:db8::1]:5061");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, tcp);
  auto v4 = parsePeer("udp:192.0.2.1:5060");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->address, "192.0.2.1");
  EXPECT_EQ(v4->connectionId, 0u) << "connections are not part of the stored form";
}

TEST(Peer, RejectsAnythingElse) {
  for (const char* bad : {"", "sctp:1.2.3.4:5", "udp:1.2.3.4", "udp:1.2.3.4:0", "udp:1.2.3.4:65536", "udp::5060",
                          "tcp:[::1:5060", "udp:1.2.3.4:x"})
    EXPECT_FALSE(parsePeer(bad)) << bad;
}

TEST(Peer, RouteHopTakesIpLiteralsWithPortAndTransport) {
  auto v4 = routeHop("<sip:192.0.2.50:5080;lr>", Transport::Tcp);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->address, "192.0.2.50");
  EXPECT_EQ(v4->port, 5080);
  EXPECT_EQ(v4->transport, Transport::Tcp) << "no transport parameter: the default";
  auto v6 = routeHop("<sip:[2001:db8::5];transport=TCP;lr>", Transport::Udp);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->address, "2001:db8::5");
  EXPECT_EQ(v6->port, 5060);
  EXPECT_EQ(v6->transport, Transport::Tcp);
  auto udp = routeHop("<sip:192.0.2.50;transport=udp;lr>", Transport::Tcp);
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->transport, Transport::Udp);
}

TEST(Peer, RouteHopRefusesNamesAndNonSipUris) {
  EXPECT_FALSE(routeHop("<sip:proxy.example.com;lr>", Transport::Udp)) << "we resolve no names";
  EXPECT_FALSE(routeHop("<tel:+15551234>", Transport::Udp));
  EXPECT_FALSE(routeHop("not a route", Transport::Udp));
}

}  // namespace
}  // namespace parley::sip
