// Where the responses to a request go (RFC 3261 §18.2.2, RFC 3581 §4). Pure.
#pragma once

#include "parley/sip/header_values.hpp"
#include "parley/sip/peer.hpp"

namespace parley::txn {

/// Port used when a Via sent-by carries none (RFC 3261 §18.2.2, §19.1.2).
inline constexpr std::uint16_t kDefaultSipPort = 5060;

/// The destination for responses to a request that arrived from `source` with
/// top Via `via`:
///  * reliable (TCP): the connection it came on (`source.connectionId`). The
///    address and port are still filled for the transport's fallback when that
///    connection is gone (§18.2.2): the `received` address (else the source
///    address) and the `rport` value (valueless rport: the source port), else
///    the sent-by port, else 5060.
///  * UDP with `rport` in the Via: the source address and source port
///    (RFC 3581 §4), so responses cross NATs.
///  * UDP without `rport`: the `received` address (else the source address,
///    which is what `received` would say) and the sent-by port, else 5060.
/// `maddr` (multicast) is not supported and is ignored. The listener index and
/// the transport are always those of `source`, so the response leaves from the
/// socket the request arrived on.
[[nodiscard]] sip::Peer responseDestination(const sip::Via& via, const sip::Peer& source);

}  // namespace parley::txn
