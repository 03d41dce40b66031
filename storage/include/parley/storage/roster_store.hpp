// What the bridge keeps about XMPP contacts (RFC 6121, RFC 8048 §5):
//   - per SIP user: its relation to each XMPP contact (the RFC 6121 Appendix A
//     subscription state seen from the SIP user's side). XMPP subscriptions
//     are long-lived authorizations, unlike SIP subscription dialogs, so these
//     records do not expire.
//   - per XMPP contact: the last presence of each of its resources, as the
//     contact's server pushed it to one of our users.
// Both are ListStores (list_store.hpp), keyed by the SIP AOR
// ("sip:alice@sip.example") and by the contact's bare JID ("bob@example.org").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parley/storage/list_store.hpp"

namespace parley::storage {

struct RosterItem {
  std::string jid;          ///< the XMPP contact's bare JID
  bool from = false;        ///< the contact may see the SIP user's presence (it subscribed)
  bool to = false;          ///< the SIP user may see the contact's presence (the contact approved)
  bool pendingOut = false;  ///< the SIP user asked (we sent subscribe): no answer yet
  WallTime expires = WallTime::max();
  bool operator==(const RosterItem&) const = default;
};
using Roster = std::vector<RosterItem>;
using RosterStore = ListStore<RosterItem>;

struct ContactResource {
  std::string resource;     ///< the contact's resource ("" for a bare-JID presence)
  bool available = false;
  std::string show;         ///< "", away, chat, dnd, xa
  std::string status;
  std::string lang;
  std::int8_t priority = 0;
  WallTime expires = WallTime::max();
  bool operator==(const ContactResource&) const = default;
};
using ContactPresenceStore = ListStore<ContactResource>;

}  // namespace parley::storage
