#include "parley/bridge/presence_map.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "parley/bridge/address.hpp"
#include "parley/pidf/compose.hpp"
#include "parley/sip/uri.hpp"

namespace parley::bridge {
using pidf::Activity;

namespace {

constexpr std::string_view kPersonId = "p-xmpp";
constexpr std::string_view kExtendedAwayNote = "Extended away";
constexpr std::string_view kExtendedAwayNoteLang = "en";

// RPID activities -> <show>, first row that matches wins (standards.md §8.3).
// RFC 8048 defines no such mapping; this is the project's.
struct ShowRow {
  std::string_view show;
  std::array<Activity, 9> activities;
  std::size_t count;
};
constexpr std::array<ShowRow, 3> kShowFromActivity{{
    {"dnd",
     {Activity::OnThePhone, Activity::Busy, Activity::Meeting, Activity::Presentation, Activity::Performance},
     5},
    {"xa", {Activity::Vacation, Activity::Holiday, Activity::Sleeping, Activity::PermanentAbsence}, 4},
    {"away",
     {Activity::Away, Activity::Appointment, Activity::Meal, Activity::Breakfast, Activity::Lunch, Activity::Dinner,
      Activity::Travel, Activity::InTransit, Activity::Steering},
     9},
}};

// RFC 6121 §4.7.2.1: the only <show> values.
bool validShow(std::string_view s) { return s == "away" || s == "chat" || s == "dnd" || s == "xa"; }

std::string_view showFromActivities(const std::vector<Activity>& acts) {
  for (const auto& row : kShowFromActivity)
    for (std::size_t i = 0; i < row.count; ++i)
      if (std::find(acts.begin(), acts.end(), row.activities[i]) != acts.end()) return row.show;
  return {};
}

bool hasActivity(const std::optional<pidf::Person>& p, Activity a) {
  return p && std::find(p->activities.begin(), p->activities.end(), a) != p->activities.end();
}

// RFC 8048 §6.3: <contact priority> 0..1 -> <priority> 0..127.
std::int8_t priorityFromPidf(const std::optional<double>& p) {
  if (!p || !std::isfinite(*p)) return 0;
  return static_cast<std::int8_t>(std::lround(std::clamp(*p, 0.0, 1.0) * 127.0));
}

// RFC 8048 §6.2 Table 1: 0..127 -> 0..1 in unique steps of three decimals,
// truncated (1 -> 0.007, 2 -> 0.015) so toXmpp's rounding gives the same value back.
double priorityToPidf(std::int8_t p) { return static_cast<double>(p * 1000 / 127) / 1000.0; }

const pidf::Note* firstNote(const std::vector<pidf::Note>& notes) { return notes.empty() ? nullptr : &notes.front(); }

void setStatus(XmppPresence& out, const pidf::Note* note) {
  if (note == nullptr) return;
  out.status = note->text;
  out.lang = note->lang;
}

// The contact URI of one resource: the entity's GRUU for that resource
// [RFC 7247 §6.3; RFC 8048 §6.2 "resourcepart"]. An entity that is not a
// plain sip: URI (pres:, sips:) is used as it is.
std::string contactFor(std::string_view entityUri, std::string_view resource) {
  const auto uri = sip::parseUri(entityUri);
  if (!uri || uri->hasParam("gr")) return std::string(entityUri);
  auto address = fromSipUri(*uri);
  if (!address) return std::string(entityUri);
  address->gruu = resource;
  return address->uri();
}

// xs:IDs must be unique in a document [RFC 3863 §4.1.2]; toXmlId maps several
// resources ("a/b", "a_b") to one id.
std::string uniqueId(const pidf::PresenceDocument& doc, std::string_view resource) {
  const std::string base = pidf::toXmlId(resource);
  auto taken = [&](const std::string& id) {
    return std::any_of(doc.tuples.begin(), doc.tuples.end(), [&](const pidf::Tuple& t) { return t.id == id; });
  };
  std::string id = base;
  for (int n = 2; taken(id); ++n) id = base + "-" + std::to_string(n);
  return id;
}

}  // namespace

int availability(const XmppPresence& p) {
  if (!p.available) return 0;
  if (p.show == "chat") return 5;
  if (p.show == "away") return 3;
  if (p.show == "xa") return 2;
  if (p.show == "dnd") return 1;
  return 4;  // no show, or a value RFC 6121 does not define
}

XmppPresence toXmpp(const pidf::PresenceDocument& doc) {
  XmppPresence out;
  const pidf::Tuple* best = nullptr;
  for (const auto& t : doc.tuples) {
    if (t.basic != pidf::Basic::Open) continue;
    if (best == nullptr || t.priority.value_or(0.0) > best->priority.value_or(0.0)) best = &t;
  }
  const std::optional<pidf::Person>& person = doc.person;
  const pidf::Note* personNote = person ? firstNote(person->notes) : nullptr;

  if (best == nullptr) {  // RFC 8048 §6.3: nothing open -> type='unavailable'
    setStatus(out, personNote != nullptr ? personNote : firstNote(doc.notes));
    return out;
  }
  out.available = true;
  out.priority = priorityFromPidf(best->priority);
  if (best->show && validShow(*best->show))
    out.show = *best->show;
  else if (person)
    out.show = showFromActivities(person->activities);

  if (personNote != nullptr) {
    setStatus(out, personNote);
  } else if (hasActivity(person, Activity::OnThePhone)) {
    out.status = pidf::kOnThePhoneNote;
    out.lang = pidf::kOnThePhoneNoteLang;
  } else if (const pidf::Note* n = firstNote(best->notes); n != nullptr) {
    setStatus(out, n);
  } else {
    setStatus(out, firstNote(doc.notes));
  }
  return out;
}

pidf::PresenceDocument toPidf(std::string_view entityUri,
                              const std::vector<std::pair<std::string, XmppPresence>>& resources) {
  pidf::PresenceDocument doc;
  doc.entity = entityUri;
  const XmppPresence* best = nullptr;
  for (const auto& [resource, p] : resources) {
    if (!p.available) continue;
    pidf::Tuple t;
    t.id = uniqueId(doc, resource);
    t.basic = pidf::Basic::Open;
    if (validShow(p.show)) t.show = p.show;
    t.contact = contactFor(entityUri, resource);
    if (p.priority >= 0) t.priority = priorityToPidf(p.priority);
    if (!p.status.empty()) t.notes.push_back(pidf::Note{p.status, p.lang});
    doc.tuples.push_back(std::move(t));
    // Most available: show rank, then priority, then the earlier resource.
    const auto rank = [](const XmppPresence& x) { return std::pair(availability(x), x.priority); };
    if (best == nullptr || rank(p) > rank(*best)) best = &p;
  }
  if (best == nullptr) return pidf::neutral(std::string(entityUri));

  // <show> -> RPID (standards.md §8.3): away/xa -> away, dnd -> busy.
  std::optional<Activity> activity;
  if (best->show == "away" || best->show == "xa") activity = Activity::Away;
  if (best->show == "dnd") activity = Activity::Busy;
  if (activity) {
    pidf::Person person;
    person.id = kPersonId;
    person.activities.push_back(*activity);
    if (!best->status.empty())
      person.notes.push_back(pidf::Note{best->status, best->lang});
    else if (best->show == "xa")
      person.notes.push_back(pidf::Note{std::string(kExtendedAwayNote), std::string(kExtendedAwayNoteLang)});
    doc.person = std::move(person);
  }
  return doc;
}

}  // namespace parley::bridge
