// Typed model of the dialog event package body, application/dialog-info+xml
// [RFC 4235 §4]: what PBXes (Asterisk hints, BLF) send for hook state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::pidf {

// <state> of a dialog [RFC 4235 §3.7.1, §4.1.2].
enum class DialogState { Trying, Proceeding, Early, Confirmed, Terminated };

struct Dialog {
  enum class Direction { None, Initiator, Recipient };  // [§4.1.1]

  std::string id;
  std::optional<std::string> callId, localTag, remoteTag;
  Direction direction = Direction::None;
  DialogState state = DialogState::Trying;
  std::optional<std::string> event;  // <state event="rejected"> when terminated
  std::optional<std::string> remoteIdentity, remoteDisplay, localIdentity;
  std::optional<std::uint32_t> duration;  // seconds [§4.1.5]
  bool operator==(const Dialog&) const = default;
};

struct DialogInfo {
  enum class State { Full, Partial };  // [§4.1]

  std::string entity;
  std::uint32_t version = 0;
  State state = State::Full;
  std::vector<Dialog> dialogs;
  bool operator==(const DialogInfo&) const = default;
};

// Hook state of a line, derived from its dialogs (see docs/presence-documents.md):
// any confirmed dialog -> OnThePhone; else any non-terminated recipient dialog
// -> Ringing; else any non-terminated dialog -> Calling; else Idle.
enum class HookState { Idle, Calling, Ringing, OnThePhone };

[[nodiscard]] HookState hookState(const DialogInfo& info);

// True when some dialog is confirmed (the project maps this to the RPID
// activity on-the-phone and XMPP show dnd; standards.md §4).
[[nodiscard]] bool isOnThePhone(const DialogInfo& info);

[[nodiscard]] std::string_view dialogStateName(DialogState s);

// Outcome of folding a received document into the subscriber's state.
enum class MergeResult {
  Applied,       // state updated
  Stale,         // version not newer than what we hold: ignored [RFC 4235 §4.1]
  NeedFullState  // version gap, or too many dialogs: keep old state, re-SUBSCRIBE
};

// Folds `update` into `current` as a dialog-package subscriber must
// [RFC 4235 §4.1]: a full document replaces the state; a partial one must
// carry version current.version + 1 and replaces/adds dialogs by id.
// Terminated dialogs are dropped after merging (they were reported once and
// would otherwise pile up). `haveState` false means nothing was received yet
// (only a full document is accepted then). At most maxDialogs are kept.
[[nodiscard]] MergeResult mergeDialogInfo(DialogInfo& current, bool haveState,
                                          const DialogInfo& update,
                                          std::size_t maxDialogs = 64);

}  // namespace parley::pidf
