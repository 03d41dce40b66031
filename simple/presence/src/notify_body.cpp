// The document a watcher gets (RFC 3903 §3 composition, RFC 4479): all live
// publications of the presentity, newest first, composed by pidf/compose.hpp;
// for presence, the PBX's dialog state adds the hook state (on-the-phone).
#include <vector>

#include "parley/pidf/compose.hpp"
#include "parley/pidf/parse.hpp"
#include "parley/pidf/serialize.hpp"
#include "parley/presence/notifier.hpp"

namespace parley::presence {
namespace {

constexpr std::string_view kPidfType = "application/pidf+xml";
constexpr std::string_view kDialogInfoType = "application/dialog-info+xml";

// Stored bodies were validated when published; one that no longer parses
// (a tightened limit after an upgrade) is left out rather than failing all.
std::vector<pidf::DialogInfo> dialogDocuments(const tl::expected<storage::Publications, storage::StoreError>& pubs) {
  std::vector<pidf::DialogInfo> out;
  if (!pubs) return out;  // the store is down: compose from what we have (nothing)
  out.reserve(pubs->size());
  for (const auto& p : *pubs)
    if (auto d = pidf::parseDialogInfo(p.body)) out.push_back(std::move(*d));
  return out;
}

std::vector<pidf::PresenceDocument> presenceDocuments(
    const tl::expected<storage::Publications, storage::StoreError>& pubs) {
  std::vector<pidf::PresenceDocument> out;
  if (!pubs) return out;
  out.reserve(pubs->size());
  for (const auto& p : *pubs)
    if (auto d = pidf::parsePidf(p.body)) out.push_back(std::move(*d));
  return out;
}

}  // namespace

void Notifier::compose(const std::string& resource, std::function<void(std::shared_ptr<const NotifyBody>)> done) {
  const std::size_t space = resource.find(' ');
  const std::string event = resource.substr(0, space);
  std::string aor = resource.substr(space + 1);

  if (event == "dialog") {
    publisher_.lookup("dialog", aor, [this, aor, done = std::move(done)](auto pubs) {
      if (pubs) armPublicationExpiry("dialog", aor, *pubs);
      const auto info = pidf::composeDialogInfo(aor, dialogDocuments(pubs));
      auto body = std::make_shared<NotifyBody>();
      body->contentType = kDialogInfoType;
      body->text = pidf::serializeDialogInfo(info);  // version 0; each NOTIFY writes its own
      constexpr std::string_view kVersion = "version=\"0\"";
      if (const auto at = body->text.find(kVersion); at != std::string::npos)
        body->versionAt = at + kVersion.size() - 2;
      done(std::move(body));
    });
    return;
  }
  composePresence(aor, [done = std::move(done)](pidf::PresenceDocument doc) {
    auto body = std::make_shared<NotifyBody>();
    body->contentType = kPidfType;
    body->text = pidf::serializePidf(doc);
    done(std::move(body));
  });
}

void Notifier::composePresence(const std::string& aor, std::function<void(pidf::PresenceDocument)> done) {
  composePresenceView(aor, [done = std::move(done)](PresenceView view) { done(std::move(view.document)); });
}

void Notifier::composePresenceView(const std::string& aor, std::function<void(PresenceView)> done) {
  publisher_.lookup("presence", aor, [this, aor, done = std::move(done)](auto presence) mutable {
    publisher_.lookup("dialog", aor, [this, aor, done = std::move(done), presence = std::move(presence)](auto dialogs) {
      if (presence) armPublicationExpiry("presence", aor, *presence);
      if (dialogs) armPublicationExpiry("dialog", aor, *dialogs);
      const auto hook = pidf::hookState(pidf::composeDialogInfo(aor, dialogDocuments(dialogs)));
      PresenceView view;
      view.document = pidf::composePresence(aor, presenceDocuments(presence), hook);
      view.complete = presence && dialogs;
      auto newest = [&view](const auto& pubs) {
        if (!pubs) return;
        for (const auto& p : *pubs)
          if (!view.changed || p.modified > *view.changed) view.changed = p.modified;
      };
      newest(presence);
      newest(dialogs);
      done(std::move(view));
    });
  });
}

}  // namespace parley::presence
