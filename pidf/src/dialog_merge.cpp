// Subscriber-side version handling for the dialog package [RFC 4235 §4.1].
#include <algorithm>

#include "parley/pidf/dialog_info.hpp"

namespace parley::pidf {

MergeResult mergeDialogInfo(DialogInfo& current, bool haveState, const DialogInfo& update,
                            std::size_t maxDialogs) {
  auto dropTerminated = [](std::vector<Dialog>& ds) {
    std::erase_if(ds, [](const Dialog& d) { return d.state == DialogState::Terminated; });
  };
  if (update.state == DialogInfo::State::Full) {
    if (haveState && update.version <= current.version) return MergeResult::Stale;
    if (update.dialogs.size() > maxDialogs) return MergeResult::NeedFullState;
    current = update;
    dropTerminated(current.dialogs);
    current.state = DialogInfo::State::Full;
    return MergeResult::Applied;
  }
  // Partial: only meaningful on top of the state it was computed from.
  if (!haveState) return MergeResult::NeedFullState;
  if (update.version <= current.version) return MergeResult::Stale;
  if (update.version != current.version + 1) return MergeResult::NeedFullState;
  std::vector<Dialog> merged = current.dialogs;
  for (const auto& d : update.dialogs) {
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const Dialog& m) { return m.id == d.id; });
    if (it != merged.end()) {
      *it = d;
    } else {
      merged.push_back(d);
    }
  }
  dropTerminated(merged);
  if (merged.size() > maxDialogs) return MergeResult::NeedFullState;
  current.dialogs = std::move(merged);
  current.version = update.version;
  return MergeResult::Applied;
}

}  // namespace parley::pidf
