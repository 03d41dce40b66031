// Composition of several publications into one document [RFC 3903 §3;
// RFC 4479 §2 "Composition"; RFC 4235 §4.1]. See compose.hpp for the rules.
#include "parley/pidf/compose.hpp"

#include <algorithm>
#include <string>
#include <unordered_set>

namespace parley::pidf {
namespace {

// Appends to `out` every element of every publication whose id is not taken
// yet, walking publications newest first and each in document order. The
// first (newest) occurrence of an id wins, which keeps ids unique in the
// result [RFC 3863 §4.1.2 (tuple id is xs:ID); RFC 4479 §3.3 (device id)].
// The output order depends only on the input order: deterministic.
template <typename Doc, typename Elem>
void unionById(std::span<const Doc> newestFirst, std::vector<Elem> Doc::*member,
               std::vector<Elem>& out) {
  std::unordered_set<std::string> seen;
  for (const Doc& doc : newestFirst) {
    for (const Elem& e : doc.*member) {
      if (seen.insert(e.id).second) out.push_back(e);
    }
  }
}

// True when `id` is used by a tuple or device of `doc` (all ids of a PIDF
// document are xs:ID, unique across the document).
bool idTaken(const PresenceDocument& doc, std::string_view id) {
  auto same = [&](const auto& x) { return x.id == id; };
  return std::any_of(doc.tuples.begin(), doc.tuples.end(), same) ||
         std::any_of(doc.devices.begin(), doc.devices.end(), same);
}

// Hook state from the PBX's dialog-info onto the person [standards.md §4:
// confirmed dialog -> RPID on-the-phone, status "On the phone"; RFC 4480 §3.2].
//
// Only OnThePhone changes the document: Ringing and Calling are not "on the
// phone" (docs/presence-documents.md, "Dialog-info -> hook state"), and Idle
// has nothing to add: on-the-phone published by a device itself is that
// device's claim and is left alone.
//
// Tuple <basic> is never changed: a busy line says the user is engaged, not
// that the service cannot be reached [RFC 3863 §4.1.4: basic is about the
// ability to receive communication; RFC 4479 §3.1: activities describe the
// person]. Flipping basic to closed would make XMPP watchers see the user
// go offline for every call.
void applyHookState(PresenceDocument& doc, HookState hook) {
  if (hook != HookState::OnThePhone) return;
  if (!doc.person) {
    Person p;
    p.id = std::string(kHookPersonId);
    // Keep ids unique if a publisher happened to use "p-hook" for a tuple or
    // device (bounded: there are at most as many ids as tuples + devices).
    for (std::size_t n = 1; idTaken(doc, p.id); ++n) {
      p.id = std::string(kHookPersonId) + "-" + std::to_string(n);
    }
    doc.person = std::move(p);
  }
  Person& p = *doc.person;
  // <rpid:unknown/> is exclusive of any other activity in the RFC 4480
  // schema (§3.2, choice of unknown or a list): now the activity is known.
  std::erase(p.activities, Activity::Unknown);
  if (std::find(p.activities.begin(), p.activities.end(), Activity::OnThePhone) ==
      p.activities.end()) {
    p.activities.push_back(Activity::OnThePhone);
  }
  const Note note{std::string(kOnThePhoneNote), std::string(kOnThePhoneNoteLang)};
  if (std::find(p.notes.begin(), p.notes.end(), note) == p.notes.end()) {
    p.notes.push_back(note);
  }
}

}  // namespace

PresenceDocument composePresence(std::string_view entity,
                                 std::span<const PresenceDocument> newestFirst,
                                 HookState hook) {
  // Nobody published: the neutral document [RFC 3856 §6.6.1; RFC 8048 §5.2.1].
  // Hook state still applies: a PBX may report a call for a user whose
  // phones do not PUBLISH (most Asterisk set-ups).
  if (newestFirst.empty()) {
    PresenceDocument doc = neutral(std::string(entity));
    applyHookState(doc, hook);
    return doc;
  }

  PresenceDocument doc;
  // Watchers subscribed to the AOR; a device may publish with its own
  // contact or a GRUU as entity [RFC 3863 §4.1.1; RFC 3903 §3].
  doc.entity = std::string(entity);

  // Tuples are services: each publisher contributes its own [RFC 4479 §3.2];
  // newest publication first so its services lead the document.
  unionById(newestFirst, &PresenceDocument::tuples, doc.tuples);

  // Presence-level notes describe the whole presentity; merging several
  // publishers' notes would show stale text, so the newest one that set any wins.
  for (const auto& pub : newestFirst) {
    if (!pub.notes.empty()) {
      doc.notes = pub.notes;
      break;
    }
  }

  // One person per presentity; the newest person data wins [RFC 4479 §3.1;
  // RFC 3903 §3]. A newer publication without a person (e.g. a phone that
  // only sends tuples) does not erase an older publisher's person.
  for (const auto& pub : newestFirst) {
    if (pub.person) {
      doc.person = pub.person;
      break;
    }
  }

  // Devices: union by id, newest wins [RFC 4479 §3.3].
  unionById(newestFirst, &PresenceDocument::devices, doc.devices);

  applyHookState(doc, hook);
  return doc;
}

DialogInfo composeDialogInfo(std::string_view entity, std::span<const DialogInfo> newestFirst) {
  DialogInfo out;
  out.entity = std::string(entity);
  // The composed document is always full state; its version belongs to each
  // subscription (increase by one per NOTIFY), so the notifier sets it
  // [RFC 4235 §4.1]. An empty full document (no dialogs) is valid.
  out.state = DialogInfo::State::Full;
  out.version = 0;
  // The agent keeps each publisher's latest body as that publisher's whole
  // state (a PUBLISH replaces the previous one, RFC 3903 §4.1), so a body
  // marked state="partial" is still taken as complete here: folding partial
  // bodies needs per-publisher versions, which belong to mergeDialogInfo().
  unionById(newestFirst, &DialogInfo::dialogs, out.dialogs);
  return out;
}

}  // namespace parley::pidf
