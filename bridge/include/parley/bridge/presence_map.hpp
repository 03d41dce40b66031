// Presence translation between PIDF/RPID and XMPP presence stanzas
// [RFC 8048 §6.2 Table 1, §6.3 Table 2] plus the project's <show> <-> RPID
// tables (standards.md §8.3). Values only: addresses are the caller's
// (address.hpp), stanzas and XML are built elsewhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/pidf/presence.hpp"

namespace parley::bridge {

/// One presence stanza's presence-relevant content (no addresses).
struct XmppPresence {
  bool available = false;    ///< false = type='unavailable'
  std::string show;          ///< "", "away", "chat", "dnd", "xa" [RFC 6121 §4.7.2.1]
  std::string status;        ///< <status>
  std::string lang;          ///< xml:lang of the status ("" = none)
  std::int8_t priority = 0;  ///< -128..127
  bool operator==(const XmppPresence&) const = default;
};

/// How available a presence is, for picking the "most available" of several
/// resources [RFC 8048 §6.2]. Higher is more available:
/// chat (5) > available, no show (4) > away (3) > xa (2) > dnd (1) > unavailable (0).
/// An unknown show value counts as no show. Ties are broken by the caller
/// (priority, then order).
[[nodiscard]] int availability(const XmppPresence& p);

/// SIP -> XMPP: the one presence an XMPP subscriber sees for a SIP presentity.
/// - the "most available" tuple: open beats closed, then the highest priority
///   (absent = 0), then document order; no open tuple -> unavailable;
/// - show: the tuple's jabber:client <show> when valid, else the first row of
///   the RPID table matching a person activity (on-the-phone... -> dnd,
///   vacation... -> xa, away... -> away), else none;
/// - status: first note of the person; else "On the phone" (en) for an
///   on-the-phone person; else the tuple's first note; else the document's;
/// - priority: tuple priority p (0..1) -> round(p * 127).
/// An unavailable result still carries the person/document note as status.
[[nodiscard]] XmppPresence toXmpp(const pidf::PresenceDocument& doc);

/// XMPP -> SIP: the PIDF for an XMPP contact from the last presence of each of
/// its resources (resource name, presence), in the caller's order.
/// - one tuple per available resource: id pidf::toXmlId(resource) (made unique
///   with "-2", "-3"... if two resources collide), basic open, Tuple::show =
///   the show, status as a note, contact entityUri;gr=<resource> (sip: entity)
///   carrying the priority: negative -> none, else p/127 truncated to three
///   decimals (RFC 8048 Table 1: 0 -> 0, 1 -> 0.007, 2 -> 0.015, 127 -> 1);
/// - a person "p-xmpp" when the most available resource is away or xa
///   (activity away) or dnd (activity busy), with that resource's status as its
///   note (xa without a status gets "Extended away" so RPID-only watchers can
///   tell xa from away); no person for chat or plain available;
/// - no available resource -> pidf::neutral(entityUri).
[[nodiscard]] pidf::PresenceDocument toPidf(std::string_view entityUri,
                                            const std::vector<std::pair<std::string, XmppPresence>>& resources);

}  // namespace parley::bridge
