// Composition: the presence agent holds several live publications per
// presentity (one per PUBLISH ETag: a softphone, a desk phone, a PBX) and must
// send each watcher ONE full-state document [RFC 3903 §3 "composition";
// RFC 3856 §6.11; RFC 4479 §2]. These functions are that step, kept pure
// (values in, value out; no clock, no I/O) so the agent's policy is testable.
#pragma once

#include <span>
#include <string_view>

#include "parley/pidf/dialog_info.hpp"
#include "parley/pidf/presence.hpp"

namespace parley::pidf {

// The person-level note added while the line is on the phone.
inline constexpr std::string_view kOnThePhoneNote = "On the phone";
inline constexpr std::string_view kOnThePhoneNoteLang = "en";
// Id of the person created when hook state needs one and nobody published one.
inline constexpr std::string_view kHookPersonId = "p-hook";

// Composes the presentity's PIDF publications into one document.
// newestFirst: the live publications, newest modification first.
// - entity = `entity` (the AOR watchers subscribed to), whatever was published;
// - no publications -> neutral(entity) [RFC 3856 §6.6.1];
// - tuples: union in newest-first order; an id already used by a newer
//   publication is dropped from older ones (ids unique, RFC 3863 §4.1.2);
// - presence notes: from the newest publication that has any;
// - person: from the newest publication that has one [RFC 4479 §3.1];
// - devices: union by id, newest wins [RFC 4479 §3.3];
// - hook == OnThePhone: person gets activity on-the-phone and the note
//   "On the phone" (a person "p-hook" is created if none); other hook states
//   change nothing. Tuple <basic> is never touched by hook state.
// Deterministic; the result round-trips through serializePidf/parsePidf.
[[nodiscard]] PresenceDocument composePresence(std::string_view entity,
                                               std::span<const PresenceDocument> newestFirst,
                                               HookState hook = HookState::Idle);

// Composes dialog-info publications into one full document [RFC 4235 §4.1]:
// entity = `entity`, state Full, version 0 (the notifier numbers per
// subscription), dialogs = union by id in newest-first order (newest wins).
// Each publication counts as its publisher's full state, even if marked partial.
[[nodiscard]] DialogInfo composeDialogInfo(std::string_view entity,
                                           std::span<const DialogInfo> newestFirst);

}  // namespace parley::pidf
