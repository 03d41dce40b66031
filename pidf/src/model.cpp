// Model helpers: RPID activity names, the neutral document, xs:ID repair,
// hook state from dialog-info, error code names.
#include <array>
#include <utility>

#include "parley/pidf/dialog_info.hpp"
#include "parley/pidf/document_error.hpp"
#include "parley/pidf/presence.hpp"

namespace parley::pidf {
namespace {

// RFC 4480 §3.2 element names, indexed by Activity.
constexpr std::array<std::string_view, 27> kActivityNames = {
    "appointment", "away", "breakfast", "busy", "dinner", "holiday", "in-transit",
    "looking-for-work", "lunch", "meal", "meeting", "on-the-phone", "other", "performance",
    "permanent-absence", "playing", "presentation", "shopping", "sleeping", "spectator",
    "steering", "travel", "tv", "vacation", "working", "worship", "unknown"};
static_assert(static_cast<std::size_t>(Activity::Unknown) + 1 == kActivityNames.size());

bool isAsciiNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.';
}

}  // namespace

std::string_view activityName(Activity a) {
  return kActivityNames[static_cast<std::size_t>(a)];
}

std::optional<Activity> activityFromName(std::string_view name) {
  for (std::size_t i = 0; i < kActivityNames.size(); ++i) {
    if (kActivityNames[i] == name) return static_cast<Activity>(i);
  }
  return std::nullopt;
}

PresenceDocument neutral(std::string entity) {
  PresenceDocument doc;
  doc.entity = std::move(entity);
  Tuple t;
  t.id = "ID-neutral";
  t.basic = Basic::Closed;
  doc.tuples.push_back(std::move(t));
  return doc;
}

std::string toXmlId(std::string_view raw) {
  // "ID-" makes the first character a letter whatever raw starts with.
  std::string id = "ID-";
  id.reserve(3 + raw.size());
  for (char c : raw) {
    // Bytes >= 0x80 are UTF-8 sequences; almost all non-ASCII letters are
    // NameChars, so they are kept rather than mangled.
    const bool keep = isAsciiNameChar(c) || static_cast<unsigned char>(c) >= 0x80;
    id.push_back(keep ? c : '_');
  }
  return id;
}

HookState hookState(const DialogInfo& info) {
  HookState best = HookState::Idle;
  for (const auto& d : info.dialogs) {
    if (d.state == DialogState::Confirmed) return HookState::OnThePhone;
    if (d.state == DialogState::Terminated) continue;
    if (d.direction == Dialog::Direction::Recipient) {
      best = HookState::Ringing;
    } else if (best == HookState::Idle) {
      best = HookState::Calling;
    }
  }
  return best;
}

bool isOnThePhone(const DialogInfo& info) { return hookState(info) == HookState::OnThePhone; }

std::string_view dialogStateName(DialogState s) {
  switch (s) {
    case DialogState::Trying: return "trying";
    case DialogState::Proceeding: return "proceeding";
    case DialogState::Early: return "early";
    case DialogState::Confirmed: return "confirmed";
    case DialogState::Terminated: return "terminated";
  }
  return "trying";
}

const char* codeName(DocumentError::Code code) {
  using C = DocumentError::Code;
  switch (code) {
    case C::TooLarge: return "TooLarge";
    case C::NotWellFormed: return "NotWellFormed";
    case C::DoctypeForbidden: return "DoctypeForbidden";
    case C::EntityForbidden: return "EntityForbidden";
    case C::WrongRoot: return "WrongRoot";
    case C::MissingEntity: return "MissingEntity";
    case C::TupleWithoutId: return "TupleWithoutId";
    case C::TupleWithoutStatus: return "TupleWithoutStatus";
    case C::BadBasic: return "BadBasic";
    case C::BadPriority: return "BadPriority";
    case C::DuplicateTupleId: return "DuplicateTupleId";
    case C::TooDeep: return "TooDeep";
    case C::TooManyElements: return "TooManyElements";
    case C::TooManyTuples: return "TooManyTuples";
    case C::BadDialogState: return "BadDialogState";
    case C::BadVersion: return "BadVersion";
    case C::BadDocumentState: return "BadDocumentState";
    case C::DialogWithoutId: return "DialogWithoutId";
    case C::BadDirection: return "BadDirection";
    case C::BadDuration: return "BadDuration";
    case C::Internal: return "Internal";
  }
  return "Unknown";
}

}  // namespace parley::pidf
