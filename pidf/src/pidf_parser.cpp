// PIDF [RFC 3863] + data model [RFC 4479] + RPID [RFC 4480] SAX sink.
// Lenient about order (real phones vary), strict about mandatory parts.
#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

#include "parley/pidf/parse.hpp"
#include "parse_memo.hpp"
#include "sax_reader.hpp"
#include "xml_writer.hpp"

namespace parley::pidf {
namespace {

using detail::findAttr;
using detail::kNsDataModel;
using detail::kNsJabber;
using detail::kNsPidf;
using detail::kNsRpid;
using detail::kNsXml;
using detail::makeError;
using detail::Position;
using detail::trimXml;
using detail::XmlAttr;
using detail::XmlName;
using Code = DocumentError::Code;

// What the element being read is; decides where its text and children go.
enum class Ctx {
  Presence, PresenceNote, Tuple, Status, Basic, Show, Contact, TupleNote, TupleTimestamp,
  TupleDeviceId, Person, PersonNote, PersonTimestamp, Activities, ActivityOther, Mood,
  PlaceIs, PlaceIsAxis, Device, DeviceId, DeviceNote, DeviceTimestamp, Extension, Ignore
};

// <contact priority>: decimal 0..1 [RFC 3863 §4.1.5]. from_chars is
// locale-independent; more than 3 decimals is tolerated.
std::optional<double> parsePriority(std::string_view s) {
  s = trimXml(s);
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.')) return std::nullopt;  // no sign, no exponent
  }
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < 0.0 || v > 1.0) {
    return std::nullopt;
  }
  return v;
}

std::string langOf(const std::vector<XmlAttr>& attrs) {
  for (const auto& a : attrs) {
    if (a.uri == kNsXml && a.local == "lang") return a.value;
  }
  return {};
}

void appendToken(std::optional<std::string>& list, std::string_view token) {
  if (!list) list.emplace();
  if (!list->empty()) list->push_back(' ');
  *list += token;
}

class PidfSink final : public detail::SaxSink {
 public:
  explicit PidfSink(const Limits& limits) : limits_(limits) {}

  PresenceDocument take() { return std::move(doc_); }

  std::optional<DocumentError> start(const XmlName& name, const std::vector<XmlAttr>& attrs,
                                     Position at) override {
    if (stack_.empty()) return startRoot(name, attrs, at);
    const Ctx parent = stack_.back();
    if (parent == Ctx::Extension) {
      capture_.start(name, attrs);
      stack_.push_back(Ctx::Extension);
      return std::nullopt;
    }
    Ctx next = Ctx::Ignore;
    switch (parent) {
      case Ctx::Presence: {
        auto r = childOfPresence(name, attrs, at);
        if (!r) return std::move(r.error());
        next = *r;
        break;
      }
      case Ctx::Tuple:
        if (name.is(kNsPidf, "contact")) {
          if (const std::string* p = findAttr(attrs, "priority")) {
            tuple().priority = parsePriority(*p);
            if (!tuple().priority) {
              return makeError(Code::BadPriority, "contact priority not in 0..1", at);
            }
          }
        }
        next = childOfTuple(name, attrs);
        break;
      case Ctx::Status: next = childOfStatus(name, attrs); break;
      case Ctx::Contact: break;
      case Ctx::Person:
        if (isPersonRpid(name)) {
          next = rpidCtx(name);
        } else if (name.is(kNsDataModel, "note")) {
          next = Ctx::PersonNote;
          person().notes.push_back(Note{{}, langOf(attrs)});
        } else if (name.is(kNsDataModel, "timestamp")) {
          next = Ctx::PersonTimestamp;
        }
        break;
      case Ctx::Activities:
        if (name.uri == kNsRpid) {
          if (auto a = activityFromName(name.local)) {
            auto& acts = person().activities;
            if (std::find(acts.begin(), acts.end(), *a) == acts.end()) acts.push_back(*a);
            if (*a == Activity::Other) next = Ctx::ActivityOther;
          }
        }
        break;
      case Ctx::Mood:
        if (name.uri == kNsRpid && name.local != "other" && name.local != "note") {
          appendToken(person().mood, name.local);
        }
        break;
      case Ctx::PlaceIs:
        if (name.uri == kNsRpid &&
            (name.local == "audio" || name.local == "video" || name.local == "text")) {
          axis_ = name.local;
          next = Ctx::PlaceIsAxis;
        }
        break;
      case Ctx::PlaceIsAxis:
        if (name.uri == kNsRpid && name.local != "note") {
          appendToken(person().placeIs, axis_ + ":" + name.local);
        }
        break;
      case Ctx::Device:
        if (name.is(kNsDataModel, "deviceID")) {
          next = Ctx::DeviceId;
        } else if (name.is(kNsDataModel, "note")) {
          next = Ctx::DeviceNote;
          doc_.devices.back().notes.push_back(Note{{}, langOf(attrs)});
        } else if (name.is(kNsDataModel, "timestamp")) {
          next = Ctx::DeviceTimestamp;
        }
        break;
      default: break;  // text-only elements and ignored subtrees
    }
    if (isTextCtx(next)) text_.clear();
    stack_.push_back(next);
    return std::nullopt;
  }

  std::optional<DocumentError> end(const XmlName& name, Position at) override {
    const Ctx ctx = stack_.back();
    stack_.pop_back();
    switch (ctx) {
      case Ctx::Extension:
        if (capture_.end(name)) {
          auto& list = extensionInStatus_ ? tuple().statusExtensions : tuple().extensions;
          list.push_back(Extension{capture_.take()});
        }
        break;
      case Ctx::Tuple:
        if (!statusSeen_) {
          return makeError(Code::TupleWithoutStatus, "tuple without status", at);
        }
        break;
      case Ctx::Basic: {
        const auto v = trimXml(text_);
        if (v == "open") {
          tuple().basic = Basic::Open;
        } else if (v == "closed") {
          tuple().basic = Basic::Closed;
        } else {
          return makeError(Code::BadBasic, "basic is neither open nor closed", at);
        }
        break;
      }
      case Ctx::Show: tuple().show = std::string(trimXml(text_)); break;
      case Ctx::Contact: tuple().contact = std::string(trimXml(text_)); break;
      case Ctx::TupleNote: tuple().notes.back().text = text_; break;
      case Ctx::TupleTimestamp: tuple().timestamp = std::string(trimXml(text_)); break;
      case Ctx::TupleDeviceId: tuple().deviceId = std::string(trimXml(text_)); break;
      case Ctx::PresenceNote: doc_.notes.back().text = text_; break;
      case Ctx::PersonNote: person().notes.back().text = text_; break;
      case Ctx::PersonTimestamp: person().timestamp = std::string(trimXml(text_)); break;
      case Ctx::ActivityOther: person().otherText = text_; break;
      case Ctx::DeviceId: doc_.devices.back().deviceId = std::string(trimXml(text_)); break;
      case Ctx::DeviceNote: doc_.devices.back().notes.back().text = text_; break;
      case Ctx::DeviceTimestamp:
        doc_.devices.back().timestamp = std::string(trimXml(text_));
        break;
      default: break;
    }
    if (isTextCtx(ctx)) text_.clear();
    return std::nullopt;
  }

  // Text is collected only for text-bearing elements, so the text of a note
  // survives a stray child element (whose own text is dropped).
  void text(std::string_view utf8) override {
    if (stack_.empty()) return;
    if (stack_.back() == Ctx::Extension) {
      capture_.text(utf8);
    } else if (isTextCtx(stack_.back())) {
      text_ += utf8;
    }
  }

 private:
  std::optional<DocumentError> startRoot(const XmlName& name, const std::vector<XmlAttr>& attrs,
                                         Position at) {
    if (!name.is(kNsPidf, "presence")) {
      return makeError(Code::WrongRoot, "root is not pidf presence", at);
    }
    const std::string* entity = findAttr(attrs, "entity");
    if (entity == nullptr || trimXml(*entity).empty()) {
      return makeError(Code::MissingEntity, "presence without entity", at);
    }
    doc_.entity = std::string(trimXml(*entity));
    stack_.push_back(Ctx::Presence);
    return std::nullopt;
  }

  tl::expected<Ctx, DocumentError> childOfPresence(const XmlName& name,
                                                   const std::vector<XmlAttr>& attrs,
                                                   Position at) {
    if (name.is(kNsPidf, "tuple")) {
      const std::string* id = findAttr(attrs, "id");
      if (id == nullptr || trimXml(*id).empty()) {
        return tl::unexpected(makeError(Code::TupleWithoutId, "tuple without id", at));
      }
      if (doc_.tuples.size() >= limits_.maxTuples) {
        return tl::unexpected(makeError(Code::TooManyTuples, "too many tuples", at));
      }
      std::string tid(trimXml(*id));
      if (!tupleIds_.insert(tid).second) {
        return tl::unexpected(makeError(Code::DuplicateTupleId, "duplicate tuple id", at));
      }
      doc_.tuples.push_back(Tuple{});
      doc_.tuples.back().id = std::move(tid);
      statusSeen_ = false;
      return Ctx::Tuple;
    }
    if (name.is(kNsPidf, "note")) {
      doc_.notes.push_back(Note{{}, langOf(attrs)});
      return Ctx::PresenceNote;
    }
    if (name.is(kNsDataModel, "person")) {
      // One person per presentity [RFC 4479 §3.1]: later ones are ignored,
      // but a person created for activities found in a tuple takes its id.
      if (doc_.person && !personFromTuple_) return Ctx::Ignore;
      personFromTuple_ = false;
      const std::string* id = findAttr(attrs, "id");
      person().id = id != nullptr ? std::string(trimXml(*id)) : std::string();
      return Ctx::Person;
    }
    if (name.is(kNsDataModel, "device")) {
      doc_.devices.push_back(Device{});
      const std::string* id = findAttr(attrs, "id");
      if (id != nullptr) doc_.devices.back().id = std::string(trimXml(*id));
      return Ctx::Device;
    }
    return Ctx::Ignore;  // unknown presence-level extensions are not kept
  }

  Ctx childOfTuple(const XmlName& name, const std::vector<XmlAttr>& attrs) {
    if (name.uri == kNsPidf) {
      if (name.local == "status") {
        if (statusSeen_) return Ctx::Ignore;
        statusSeen_ = true;
        return Ctx::Status;
      }
      if (name.local == "contact") return Ctx::Contact;  // priority read in start()
      if (name.local == "note") {
        tuple().notes.push_back(Note{{}, langOf(attrs)});
        return Ctx::TupleNote;
      }
      if (name.local == "timestamp") return Ctx::TupleTimestamp;
      return Ctx::Ignore;
    }
    if (name.is(kNsDataModel, "deviceID")) return Ctx::TupleDeviceId;
    return childOfTupleOrStatus(name, attrs, false);
  }

  Ctx childOfStatus(const XmlName& name, const std::vector<XmlAttr>& attrs) {
    if (name.is(kNsPidf, "basic")) return Ctx::Basic;
    if (name.is(kNsJabber, "show")) return Ctx::Show;
    if (name.uri == kNsPidf) return Ctx::Ignore;
    return childOfTupleOrStatus(name, attrs, true);
  }

  // Many phones put RPID person elements in the tuple or its status:
  // accept them there and move them to the person (standards.md §4).
  Ctx childOfTupleOrStatus(const XmlName& name, const std::vector<XmlAttr>& attrs,
                           bool inStatus) {
    if (isPersonRpid(name)) {
      if (!doc_.person) {
        doc_.person.emplace();
        doc_.person->id = "p-" + tuple().id;
        personFromTuple_ = true;
      }
      return rpidCtx(name);
    }
    if (name.uri.empty() || name.uri == kNsDataModel) return Ctx::Ignore;
    // Unknown namespace (or RPID elements we do not model): keep verbatim.
    extensionInStatus_ = inStatus;
    capture_.start(name, attrs);
    return Ctx::Extension;
  }

  static bool isTextCtx(Ctx c) {
    switch (c) {
      case Ctx::PresenceNote: case Ctx::Basic: case Ctx::Show: case Ctx::Contact:
      case Ctx::TupleNote: case Ctx::TupleTimestamp: case Ctx::TupleDeviceId:
      case Ctx::PersonNote: case Ctx::PersonTimestamp: case Ctx::ActivityOther:
      case Ctx::DeviceId: case Ctx::DeviceNote: case Ctx::DeviceTimestamp:
        return true;
      default:
        return false;
    }
  }
  static bool isPersonRpid(const XmlName& name) {
    return name.uri == kNsRpid &&
           (name.local == "activities" || name.local == "mood" || name.local == "place-is");
  }
  static Ctx rpidCtx(const XmlName& name) {
    if (name.local == "activities") return Ctx::Activities;
    if (name.local == "mood") return Ctx::Mood;
    return Ctx::PlaceIs;
  }

  Tuple& tuple() { return doc_.tuples.back(); }
  Person& person() {
    if (!doc_.person) doc_.person.emplace();
    return *doc_.person;
  }

 private:
  const Limits& limits_;
  PresenceDocument doc_;
  std::vector<Ctx> stack_;
  std::string text_;
  std::string axis_;
  std::set<std::string> tupleIds_;
  detail::ExtensionCapture capture_;
  bool statusSeen_ = false;
  bool extensionInStatus_ = false;
  bool personFromTuple_ = false;
};

}  // namespace

namespace {

detail::ParseMemo<PresenceDocument>& pidfMemo() {
  thread_local detail::ParseMemo<PresenceDocument> memo;
  return memo;
}

}  // namespace

tl::expected<PresenceDocument, DocumentError> parsePidf(std::string_view xml,
                                                        const Limits& limits) {
  auto& memo = pidfMemo();
  if (const PresenceDocument* known = memo.find(xml, limits)) return *known;
  PidfSink sink(limits);
  if (auto err = detail::runSax(xml, limits, sink)) return tl::unexpected(std::move(*err));
  PresenceDocument parsed = sink.take();
  memo.remember(xml, limits, parsed);
  return parsed;
}

std::optional<DocumentError> validatePidf(std::string_view xml, const Limits& limits) {
  auto& memo = pidfMemo();
  if (memo.find(xml, limits) != nullptr) return std::nullopt;
  PidfSink sink(limits);
  if (auto err = detail::runSax(xml, limits, sink)) return err;
  memo.remember(xml, limits, sink.take());
  return std::nullopt;
}

}  // namespace parley::pidf
