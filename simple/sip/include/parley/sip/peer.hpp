// Where a message came from or goes to, as the transport layer sees it.
#pragma once

#include <cstdint>
#include <string>

namespace parley::sip {

enum class Transport : std::uint8_t { Udp, Tcp };

/// A remote party on one of our transports.
struct Peer {
  Transport transport = Transport::Udp;
  std::string address;              ///< IP literal without brackets ("127.0.0.1", "::1")
  std::uint16_t port = 0;
  std::uint64_t connectionId = 0;   ///< TCP: the connection it arrived on (0 = none / open a new one)
  std::uint16_t listenerIndex = 0;  ///< UDP: the listening socket it arrived on (send replies from it)

  friend bool operator==(const Peer&, const Peer&) = default;
};

[[nodiscard]] inline bool isReliable(Transport t) { return t == Transport::Tcp; }

}  // namespace parley::sip
