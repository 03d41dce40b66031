// dialog-info [RFC 4235 §4] SAX sink: the PBX hook-state document.
#include <charconv>
#include <utility>

#include "parley/pidf/parse.hpp"
#include "parse_memo.hpp"
#include "sax_reader.hpp"

namespace parley::pidf {
namespace {

using detail::findAttr;
using detail::kNsDialogInfo;
using detail::makeError;
using detail::Position;
using detail::trimXml;
using detail::XmlAttr;
using detail::XmlName;
using Code = DocumentError::Code;

enum class Ctx { Root, Dialog, State, Duration, Local, Remote, LocalIdentity, RemoteIdentity, Ignore };

std::optional<std::uint32_t> parseU32(std::string_view s) {
  s = trimXml(s);
  std::uint32_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<DialogState> parseState(std::string_view s) {
  s = trimXml(s);
  if (s == "trying") return DialogState::Trying;
  if (s == "proceeding") return DialogState::Proceeding;
  if (s == "early") return DialogState::Early;
  if (s == "confirmed") return DialogState::Confirmed;
  if (s == "terminated") return DialogState::Terminated;
  return std::nullopt;
}

std::optional<std::string> optAttr(const std::vector<XmlAttr>& attrs, std::string_view local) {
  if (const std::string* v = findAttr(attrs, local)) return *v;
  return std::nullopt;
}

class DialogSink final : public detail::SaxSink {
 public:
  explicit DialogSink(const Limits& limits) : limits_(limits) {}

  DialogInfo take() { return std::move(info_); }

  std::optional<DocumentError> start(const XmlName& name, const std::vector<XmlAttr>& attrs,
                                     Position at) override {
    if (stack_.empty()) return startRoot(name, attrs, at);
    Ctx next = Ctx::Ignore;
    const bool ours = name.uri == kNsDialogInfo;
    switch (stack_.back()) {
      case Ctx::Root:
        if (ours && name.local == "dialog") {
          if (auto err = startDialog(attrs, at)) return err;
          next = Ctx::Dialog;
        }
        break;
      case Ctx::Dialog:
        if (!ours) break;
        if (name.local == "state") {
          next = Ctx::State;
          dialog().event = optAttr(attrs, "event");
        } else if (name.local == "duration") {
          next = Ctx::Duration;
        } else if (name.local == "local") {
          next = Ctx::Local;
        } else if (name.local == "remote") {
          next = Ctx::Remote;
        }
        break;
      case Ctx::Local:
        if (ours && name.local == "identity") next = Ctx::LocalIdentity;
        break;
      case Ctx::Remote:
        if (ours && name.local == "identity") {
          next = Ctx::RemoteIdentity;
          dialog().remoteDisplay = optAttr(attrs, "display");
        }
        break;
      default: break;
    }
    if (isTextCtx(next)) text_.clear();
    stack_.push_back(next);
    return std::nullopt;
  }

  std::optional<DocumentError> end(const XmlName&, Position at) override {
    const Ctx ctx = stack_.back();
    stack_.pop_back();
    switch (ctx) {
      case Ctx::Dialog:
        if (!stateSeen_) return makeError(Code::BadDialogState, "dialog without state", at);
        break;
      case Ctx::State: {
        const auto s = parseState(text_);
        if (!s) return makeError(Code::BadDialogState, "unknown dialog state", at);
        dialog().state = *s;
        stateSeen_ = true;
        break;
      }
      case Ctx::Duration: {
        const auto d = parseU32(text_);
        if (!d) return makeError(Code::BadDuration, "bad dialog duration", at);
        dialog().duration = *d;
        break;
      }
      case Ctx::LocalIdentity: dialog().localIdentity = std::string(trimXml(text_)); break;
      case Ctx::RemoteIdentity: dialog().remoteIdentity = std::string(trimXml(text_)); break;
      default: break;
    }
    if (isTextCtx(ctx)) text_.clear();
    return std::nullopt;
  }

  void text(std::string_view utf8) override {
    if (!stack_.empty() && isTextCtx(stack_.back())) text_ += utf8;
  }

 private:
  std::optional<DocumentError> startRoot(const XmlName& name, const std::vector<XmlAttr>& attrs,
                                         Position at) {
    if (!name.is(kNsDialogInfo, "dialog-info")) {
      return makeError(Code::WrongRoot, "root is not dialog-info", at);
    }
    const std::string* version = findAttr(attrs, "version");
    const auto v = version != nullptr ? parseU32(*version) : std::nullopt;
    if (!v) return makeError(Code::BadVersion, "dialog-info version missing or bad", at);
    info_.version = *v;
    const std::string* state = findAttr(attrs, "state");
    const auto st = state != nullptr ? trimXml(*state) : std::string_view{};
    if (st == "full") {
      info_.state = DialogInfo::State::Full;
    } else if (st == "partial") {
      info_.state = DialogInfo::State::Partial;
    } else {
      return makeError(Code::BadDocumentState, "dialog-info state not full or partial", at);
    }
    const std::string* entity = findAttr(attrs, "entity");
    if (entity == nullptr || trimXml(*entity).empty()) {
      return makeError(Code::MissingEntity, "dialog-info without entity", at);
    }
    info_.entity = std::string(trimXml(*entity));
    stack_.push_back(Ctx::Root);
    return std::nullopt;
  }

  std::optional<DocumentError> startDialog(const std::vector<XmlAttr>& attrs, Position at) {
    const std::string* id = findAttr(attrs, "id");
    if (id == nullptr || trimXml(*id).empty()) {
      return makeError(Code::DialogWithoutId, "dialog without id", at);
    }
    if (info_.dialogs.size() >= limits_.maxTuples) {
      return makeError(Code::TooManyTuples, "too many dialogs", at);
    }
    Dialog d;
    d.id = std::string(trimXml(*id));
    d.callId = optAttr(attrs, "call-id");
    d.localTag = optAttr(attrs, "local-tag");
    d.remoteTag = optAttr(attrs, "remote-tag");
    if (const std::string* dir = findAttr(attrs, "direction")) {
      const auto v = trimXml(*dir);
      if (v == "initiator") {
        d.direction = Dialog::Direction::Initiator;
      } else if (v == "recipient") {
        d.direction = Dialog::Direction::Recipient;
      } else {
        return makeError(Code::BadDirection, "dialog direction not initiator or recipient", at);
      }
    }
    info_.dialogs.push_back(std::move(d));
    stateSeen_ = false;
    return std::nullopt;
  }

  static bool isTextCtx(Ctx c) {
    return c == Ctx::State || c == Ctx::Duration || c == Ctx::LocalIdentity ||
           c == Ctx::RemoteIdentity;
  }

  Dialog& dialog() { return info_.dialogs.back(); }

  const Limits& limits_;
  DialogInfo info_;
  std::vector<Ctx> stack_;
  std::string text_;
  bool stateSeen_ = false;
};

}  // namespace

namespace {

detail::ParseMemo<DialogInfo>& dialogMemo() {
  thread_local detail::ParseMemo<DialogInfo> memo;
  return memo;
}

}  // namespace

std::optional<DocumentError> validateDialogInfo(std::string_view xml, const Limits& limits) {
  auto& memo = dialogMemo();
  if (memo.find(xml, limits) != nullptr) return std::nullopt;
  DialogSink sink(limits);
  if (auto err = detail::runSax(xml, limits, sink)) return err;
  memo.remember(xml, limits, sink.take());
  return std::nullopt;
}

tl::expected<DialogInfo, DocumentError> parseDialogInfo(std::string_view xml,
                                                        const Limits& limits) {
  auto& memo = dialogMemo();
  if (const DialogInfo* known = memo.find(xml, limits)) return *known;
  DialogSink sink(limits);
  if (auto err = detail::runSax(xml, limits, sink)) return tl::unexpected(std::move(*err));
  DialogInfo parsed = sink.take();
  memo.remember(xml, limits, parsed);
  return parsed;
}

}  // namespace parley::pidf
