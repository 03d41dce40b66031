#include "parley/txn/response_destination.hpp"

#include <string>
#include <string_view>

namespace parley::txn {

namespace {

// `received` normally holds a bare IP; tolerate an IPv6 reference in brackets,
// since Peer::address is always without them.
std::string bareAddress(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

std::uint16_t sentByPort(const sip::Via& via) {
  return via.port != 0 ? via.port : kDefaultSipPort;
}

}  // namespace

sip::Peer responseDestination(const sip::Via& via, const sip::Peer& source) {
  sip::Peer to;
  to.transport = source.transport;
  to.listenerIndex = source.listenerIndex;
  to.address = via.received ? bareAddress(*via.received) : source.address;

  if (sip::isReliable(source.transport)) {
    // §18.2.2: same connection; the address/port are the fallback target.
    to.connectionId = source.connectionId;
    to.port = via.hasRport ? via.rport.value_or(source.port) : sentByPort(via);
    return to;
  }
  if (via.hasRport) {
    // RFC 3581 §4: back to the packet's source address and port.
    to.address = source.address;
    to.port = source.port;
    return to;
  }
  to.port = sentByPort(via);
  return to;
}

}  // namespace parley::txn
