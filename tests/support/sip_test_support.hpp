// Helpers for tests that drive a SipStack without sockets (needs parley_txn).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parley/sip/peer.hpp"
#include "parley/txn/transaction_layer.hpp"

namespace parley::test {

/// What the stack handed to the transport, in order.
struct Sent {
  sip::Peer to;
  std::string bytes;
};

class RecordingSink : public txn::TransportSink {
 public:
  void transmit(const sip::Peer& to, std::string_view bytes) override { sent.push_back({to, std::string(bytes)}); }
  std::vector<Sent> sent;
};

/// Appends header rows written one per line with "\n" as CRLF-terminated rows.
inline void appendRows(std::string& text, std::string_view rows) {
  while (!rows.empty()) {
    const auto nl = rows.find('\n');
    text.append(rows.substr(0, nl)).append("\r\n");
    rows = nl == std::string_view::npos ? std::string_view{} : rows.substr(nl + 1);
  }
}

}  // namespace parley::test
