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

}  // namespace
}  // namespace parley::sip
