// Serializers for PIDF [RFC 3863 §4.1 order] and dialog-info [RFC 4235 §4].
#include "parley/pidf/serialize.hpp"

#include <algorithm>
#include <charconv>

#include "sax_reader.hpp"
#include "xml_writer.hpp"

namespace parley::pidf {
namespace {

using detail::appendAttr;
using detail::appendText;

constexpr std::string_view kDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

// Priority: decimal 0..1 with at most 3 decimals [RFC 3863 §4.1.5];
// to_chars, unlike printf, ignores the locale.
std::string formatPriority(double v) {
  v = std::clamp(v, 0.0, 1.0);
  char buf[16];
  const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
  std::string s(buf, ec == std::errc{} ? p : buf);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s.empty() ? "0" : s;
}

class Writer {
 public:
  std::string& out() { return out_; }

  // <tag attrs...>text</tag> on its own line.
  void leaf(int indent, std::string_view tag, std::string_view text,
            std::string_view attrs = {}) {
    pad(indent);
    out_ += '<';
    out_ += tag;
    out_ += attrs;
    out_ += '>';
    appendText(out_, text);
    out_ += "</";
    out_ += tag;
    out_ += ">\n";
  }
  void open(int indent, std::string_view tag, std::string_view attrs = {}) {
    pad(indent);
    out_ += '<';
    out_ += tag;
    out_ += attrs;
    out_ += ">\n";
  }
  void close(int indent, std::string_view tag) {
    pad(indent);
    out_ += "</";
    out_ += tag;
    out_ += ">\n";
  }
  void empty(int indent, std::string_view tag) {
    pad(indent);
    out_ += '<';
    out_ += tag;
    out_ += "/>\n";
  }
  void raw(int indent, std::string_view xml) {
    pad(indent);
    out_ += xml;
    out_ += '\n';
  }
  void pad(int indent) { out_.append(static_cast<std::size_t>(indent) * 2, ' '); }

 private:
  std::string out_;
};

// ` name="value"`, escaped.
std::string attr(std::string_view name, std::string_view value) {
  std::string s = " ";
  s += name;
  s += "=\"";
  appendAttr(s, value);
  s += '"';
  return s;
}

void writeNotes(Writer& w, int indent, std::string_view tag, const std::vector<Note>& notes) {
  for (const auto& n : notes) {
    w.leaf(indent, tag, n.text, n.lang.empty() ? std::string() : attr("xml:lang", n.lang));
  }
}

// Splits "a b c" into tokens.
std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = s.find_first_not_of(' ', i);
    if (b == std::string_view::npos) break;
    const auto e = std::min(s.find(' ', b), s.size());
    out.push_back(s.substr(b, e - b));
    i = e;
  }
  return out;
}

void writeTuple(Writer& w, const Tuple& t) {
  w.open(1, "tuple", attr("id", t.id));
  w.open(2, "status");
  if (t.basic) w.leaf(3, "basic", *t.basic == Basic::Open ? "open" : "closed");
  if (t.show) w.leaf(3, "show", *t.show, attr("xmlns", detail::kNsJabber));
  for (const auto& e : t.statusExtensions) w.raw(3, e.xml);
  w.close(2, "status");
  // Extensions (##other) come between status and contact [RFC 3863 §4.1.2].
  if (t.deviceId) w.leaf(2, "dm:deviceID", *t.deviceId);
  for (const auto& e : t.extensions) w.raw(2, e.xml);
  if (t.contact) {
    w.leaf(2, "contact", *t.contact,
           t.priority ? attr("priority", formatPriority(*t.priority)) : std::string());
  }
  writeNotes(w, 2, "note", t.notes);
  if (t.timestamp) w.leaf(2, "timestamp", *t.timestamp);
  w.close(1, "tuple");
}

void writePerson(Writer& w, const Person& p) {
  w.open(1, "dm:person", p.id.empty() ? std::string() : attr("id", p.id));
  if (!p.activities.empty()) {
    w.open(2, "rpid:activities");
    for (Activity a : p.activities) {
      const std::string tag = "rpid:" + std::string(activityName(a));
      if (a == Activity::Other) {
        w.leaf(3, tag, p.otherText);
      } else {
        w.empty(3, tag);
      }
    }
    w.close(2, "rpid:activities");
  }
  if (p.mood) {
    w.open(2, "rpid:mood");
    for (auto m : tokens(*p.mood)) w.empty(3, "rpid:" + std::string(m));
    w.close(2, "rpid:mood");
  }
  if (p.placeIs) {
    w.open(2, "rpid:place-is");
    for (auto tok : tokens(*p.placeIs)) {
      const auto colon = tok.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string axis = "rpid:" + std::string(tok.substr(0, colon));
      w.open(3, axis);
      w.empty(4, "rpid:" + std::string(tok.substr(colon + 1)));
      w.close(3, axis);
    }
    w.close(2, "rpid:place-is");
  }
  writeNotes(w, 2, "dm:note", p.notes);
  if (p.timestamp) w.leaf(2, "dm:timestamp", *p.timestamp);
  w.close(1, "dm:person");
}

void writeDevice(Writer& w, const Device& d) {
  w.open(1, "dm:device", attr("id", d.id));
  if (d.deviceId) w.leaf(2, "dm:deviceID", *d.deviceId);
  writeNotes(w, 2, "dm:note", d.notes);
  if (d.timestamp) w.leaf(2, "dm:timestamp", *d.timestamp);
  w.close(1, "dm:device");
}

}  // namespace

std::string serializePidf(const PresenceDocument& doc) {
  const bool person = doc.person.has_value();
  const bool useDm = person || !doc.devices.empty() ||
                     std::any_of(doc.tuples.begin(), doc.tuples.end(),
                                 [](const Tuple& t) { return t.deviceId.has_value(); });
  const bool useRpid = person && (!doc.person->activities.empty() || doc.person->mood ||
                                  doc.person->placeIs);
  Writer w;
  w.out() += kDecl;
  std::string rootAttrs = attr("xmlns", detail::kNsPidf);
  if (useDm) rootAttrs += attr("xmlns:dm", detail::kNsDataModel);
  if (useRpid) rootAttrs += attr("xmlns:rpid", detail::kNsRpid);
  rootAttrs += attr("entity", doc.entity);
  w.open(0, "presence", rootAttrs);
  // Order: tuples, notes, then extensions (person, devices) [RFC 3863 §4.1.1].
  for (const auto& t : doc.tuples) writeTuple(w, t);
  writeNotes(w, 1, "note", doc.notes);
  if (person) writePerson(w, *doc.person);
  for (const auto& d : doc.devices) writeDevice(w, d);
  w.close(0, "presence");
  return std::move(w.out());
}

std::string serializeDialogInfo(const DialogInfo& info) {
  Writer w;
  w.out() += kDecl;
  std::string rootAttrs = attr("xmlns", detail::kNsDialogInfo);
  rootAttrs += attr("version", std::to_string(info.version));
  rootAttrs += attr("state", info.state == DialogInfo::State::Full ? "full" : "partial");
  rootAttrs += attr("entity", info.entity);
  w.open(0, "dialog-info", rootAttrs);
  for (const auto& d : info.dialogs) {
    std::string a = attr("id", d.id);
    if (d.callId) a += attr("call-id", *d.callId);
    if (d.localTag) a += attr("local-tag", *d.localTag);
    if (d.remoteTag) a += attr("remote-tag", *d.remoteTag);
    if (d.direction != Dialog::Direction::None) {
      a += attr("direction",
                d.direction == Dialog::Direction::Initiator ? "initiator" : "recipient");
    }
    w.open(1, "dialog", a);
    // Schema order: state, duration, ..., local, remote [RFC 4235 §4.1].
    w.leaf(2, "state", dialogStateName(d.state), d.event ? attr("event", *d.event) : "");
    if (d.duration) w.leaf(2, "duration", std::to_string(*d.duration));
    if (d.localIdentity) {
      w.open(2, "local");
      w.leaf(3, "identity", *d.localIdentity);
      w.close(2, "local");
    }
    if (d.remoteIdentity || d.remoteDisplay) {
      w.open(2, "remote");
      w.leaf(3, "identity", d.remoteIdentity.value_or(""),
             d.remoteDisplay ? attr("display", *d.remoteDisplay) : "");
      w.close(2, "remote");
    }
    w.close(1, "dialog");
  }
  w.close(0, "dialog-info");
  return std::move(w.out());
}

}  // namespace parley::pidf
