#include "parley/sip/peer.hpp"

#include "parley/sip/header_values.hpp"

namespace parley::sip {

std::string formatPeer(const Peer& p) {
  std::string s = p.transport == Transport::Udp ? "udp:" : "tcp:";
  if (p.address.find(':') != std::string::npos) s.append("[").append(p.address).append("]");
  else s.append(p.address);
  s.append(":").append(std::to_string(p.port));
  return s;
}

std::optional<Peer> parsePeer(std::string_view text) {
  Peer p;
  if (text.starts_with("udp:")) p.transport = Transport::Udp;
  else if (text.starts_with("tcp:")) p.transport = Transport::Tcp;
  else return std::nullopt;
  const std::string_view rest = text.substr(4);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = rest.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  const auto port = parseUnsigned(rest.substr(colon + 1), 65535);
  if (!port || *port == 0) return std::nullopt;
  p.address = std::string(host);
  p.port = static_cast<std::uint16_t>(*port);
  return p;
}

}  // namespace parley::sip
