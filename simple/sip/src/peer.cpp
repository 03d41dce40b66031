#include "parley/sip/peer.hpp"

#include <arpa/inet.h>

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

std::optional<Peer> routeHop(std::string_view route, Transport defaultTransport) {
  auto na = parseNameAddr(route);
  if (!na || !na->uri.isSip()) return std::nullopt;
  std::string host(na->uri.host);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1) return std::nullopt;
  Peer hop;
  hop.address = std::move(host);
  hop.port = na->uri.port != 0 ? na->uri.port : 5060;
  const auto transport = na->uri.param("transport");
  hop.transport = !transport ? defaultTransport : iequals(*transport, "tcp") ? Transport::Tcp : Transport::Udp;
  return hop;
}

}  // namespace parley::sip
