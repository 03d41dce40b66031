// Private to parley_presence: NOTIFY construction and routing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "parley/presence/notifier.hpp"
#include "parley/sip/message.hpp"
#include "parley/sip/peer.hpp"
#include "parley/storage/subscription_store.hpp"

namespace parley::presence::detail {

/// Our Contact in the dialog (200 to SUBSCRIBE, every NOTIFY): "<sip:host:port>",
/// with ";transport=tcp" over TCP.
[[nodiscard]] std::string contactFor(std::string_view sentBy, sip::Transport transport);

/// Where a NOTIFY of `sub` goes: the first route when it names an IP address,
/// else the source of the SUBSCRIBE; nullopt if neither is usable.
[[nodiscard]] std::optional<sip::Peer> nextHop(const storage::Subscription& sub);

/// The NOTIFY for `sub` (its localCSeq and version as stored), or nullopt when
/// the remote target is not a URI we can write as a Request-URI.
[[nodiscard]] std::optional<sip::Message> buildNotify(const storage::Subscription& sub, const NotifyBody& body,
                                                      std::string_view subscriptionState,
                                                      sip::Transport transport, std::string_view sentBy);

}  // namespace parley::presence::detail
