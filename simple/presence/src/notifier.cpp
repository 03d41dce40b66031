#include "parley/presence/notifier.hpp"

#include <algorithm>

#include "notify_request.hpp"
#include "parley/sip/header_values.hpp"

namespace parley::presence {
using sip::HeaderId;
using storage::StoreError;
using storage::Subscription;

namespace {

constexpr std::string_view kAllowEvents = "presence, dialog";
// How soon an expiry the store could not carry out (it was down) is tried again.
constexpr auto kExpiryRetry = std::chrono::seconds(1);

tl::unexpected<StoreError> refuse(int code, std::string reason = {}) {
  return tl::unexpected(StoreError{StoreError::Code::Refused, code, std::move(reason)});
}

std::string_view eventOf(std::string_view resource) { return resource.substr(0, resource.find(' ')); }
std::string_view aorOf(std::string_view resource) { return resource.substr(resource.find(' ') + 1); }

// RFC 6665 §4.2.1.1 / RFC 3856 §6.7: the body type the package sends must be
// acceptable. An Accept header with no value accepts no body at all.
bool accepts(const sip::Message& req, std::string_view type) {
  const std::string_view subtypeWildcard = type.substr(0, type.find('/') + 1);
  for (auto element : req.list(HeaderId::Accept)) {
    auto range = sip::parseTokenParams(element);
    if (!range) continue;
    const std::string_view t = range->token;
    if (sip::iequals(t, type) || t == "*/*") return true;
    if (t.size() == subtypeWildcard.size() + 1 && t.back() == '*' && sip::iequals(t.substr(0, t.size() - 1), subtypeWildcard))
      return true;
  }
  return false;
}

// The store change that takes the CSeq of the next NOTIFY in a live subscription.
storage::SubscriptionStore::Change nextNotify(storage::WallTime now) {
  return [now](Subscription* cur) -> tl::expected<Subscription, StoreError> {
    if (cur == nullptr || cur->expires <= now) return refuse(481);
    Subscription next = std::move(*cur);  // the store's copy, ours to take
    ++next.localCSeq;
    return next;
  };
}

// RFC 6665 §4.2.2: a NOTIFY answered with one of these (or timing out) ends
// the subscription; any other failure keeps it.
bool endsSubscription(int code) {
  switch (code) {
    case 404: case 405: case 408: case 410: case 416: case 489: case 501: case 604:
      return true;
    default:
      return code >= 480 && code <= 485;
  }
}

}  // namespace

Notifier::Notifier(NotifyOptions options, simple::SipStack& stack, storage::SubscriptionStore& store,
                   Publisher& publisher)
    : options_(std::move(options)), stack_(stack), store_(store), publisher_(publisher) {}

Notifier::~Notifier() {
  if (expiryTimer_ != 0) stack_.cancelTimer(expiryTimer_);
  for (auto& [key, p] : publicationTimers_) stack_.cancelTimer(p.timer);
}

simple::MethodRegistration Notifier::registration() {
  return {sip::Method::Subscribe, this, {}, {"presence", "dialog"}};
}

void Notifier::handle(simple::ServerTransaction txn, sip::Message&& request) {
  auto req = std::make_shared<sip::Message>(std::move(request));
  auto replyWith = [&](int code, HeaderId id, std::string_view value) {
    sip::Message resp = txn.response(*req, code);
    resp.addHeader(id, value);
    txn.respond(std::move(resp));
  };

  // The package (RFC 6665 §4.2.1.2): 489 lists the ones we notify for.
  const auto eventHeader = req->header(HeaderId::Event);
  const auto event = eventHeader ? sip::parseTokenParams(*eventHeader) : tl::unexpected(sip::ValueError::Empty);
  const EventPackage* package = event ? findPackage(event->token) : nullptr;
  if (package == nullptr) return replyWith(489, HeaderId::AllowEvents, kAllowEvents);
  if (req->count(HeaderId::Accept) > 0 && !accepts(*req, package->contentType))
    return replyWith(406, HeaderId::Accept, package->contentType);

  // Expires (RFC 6665 §4.2.1.1): absent → the default, too brief → 423, long → shortened.
  std::optional<std::uint32_t> requested;
  if (auto e = req->header(HeaderId::Expires)) {
    auto v = sip::parseUnsigned(*e, 0xffffffffu);
    if (!v) return txn.respond(*req, 400, "Malformed Expires");
    requested = *v;
  }
  const auto granted = options_.expiry.grant(requested);
  if (!granted) return replyWith(423, HeaderId::MinExpires, std::to_string(options_.expiry.min.count()));

  std::string eventId(event->param("id").value_or(std::string_view{}));
  if (req->to().tag().empty())
    return subscribeNew(std::move(txn), std::move(req), package->name, std::move(eventId), *granted);
  subscribeInDialog(std::move(txn), std::move(req), package->name, std::move(eventId), *granted);
}

void Notifier::subscribeNew(simple::ServerTransaction txn, std::shared_ptr<sip::Message> req, std::string_view event,
                            std::string eventId, std::uint32_t expires) {
  const std::string aor = sip::addressOfRecord(req->requestLine().uri);
  if (aor.empty()) return txn.respond(*req, 404);
  // The other world has presence, not dialog state (RFC 8048 bridges presence only).
  if (external_ != nullptr && event != "presence" && external_->owns(aor)) {
    sip::Message resp = txn.response(*req, 489);
    resp.addHeader(HeaderId::AllowEvents, "presence");
    return txn.respond(std::move(resp));
  }
  // RFC 6665 §4.1.2.1 / RFC 3261 §12.1.1: the Contact is the remote target.
  const auto contacts = req->list(HeaderId::Contact);
  if (contacts.empty()) return txn.respond(*req, 400, "Missing Contact");
  auto contact = sip::parseNameAddr(contacts.front());
  if (!contact || !contact->uri.isSip()) return txn.respond(*req, 400, "Malformed Contact");

  const auto now = options_.wallClock();
  Subscription sub;
  sub.resource = Publisher::key(event, aor);
  sub.watcher = sip::addressOfRecord(req->from().uri);
  sub.eventId = std::move(eventId);
  sub.callId = std::string(req->callId());
  sub.localTag = txn.toTag();
  sub.remoteTag = std::string(req->from().tag());
  sub.localUri = std::string(req->header(HeaderId::To).value_or(std::string_view{}));
  sub.remoteUri = std::string(req->header(HeaderId::From).value_or(std::string_view{}));
  sub.remoteTarget = std::string(contact->uriText);
  for (auto rr : req->list(HeaderId::RecordRoute)) sub.routeSet.emplace_back(rr);
  sub.source = sip::formatPeer(txn.peer());
  sub.remoteCSeq = req->cseq().number;
  sub.expires = now + std::chrono::seconds(expires);
  if (expires == 0) sub.localCSeq = 1;  // a fetch: the one NOTIFY goes out at once

  const std::string id = storage::subscriptionId(sub.callId, sub.localTag, sub.remoteTag);
  const std::string watcher = sub.watcher;
  auto create = [this, txn, req, id, expires, now, sub = std::move(sub)]() mutable {
    store_.update(id, now, [sub](const Subscription*) -> tl::expected<Subscription, StoreError> { return sub; },
                  [this, txn, req, id, expires](tl::expected<Subscription, StoreError> r) {
                    if (!r) return txn.respondUnavailable(*req);
                    ++stats_.created;
                    accepted(txn, *req, id, *r, expires);
                  });
  };
  if (expires == 0) return create();
  store_.countByWatcher(watcher, now, [this, txn, req, create = std::move(create)](auto count) mutable {
    if (!count) return txn.respondUnavailable(*req);
    if (*count >= options_.maxSubscriptionsPerWatcher) return txn.respond(*req, 403, "Too Many Subscriptions");
    create();
  });
}

void Notifier::subscribeInDialog(simple::ServerTransaction txn, std::shared_ptr<sip::Message> req,
                                 std::string_view event, std::string eventId, std::uint32_t expires) {
  const std::string id = storage::subscriptionId(req->callId(), req->to().tag(), req->from().tag());
  // A Contact in a refresh replaces the remote target (RFC 6665 §4.1.2.1, RFC 3261 §12.2.2).
  std::optional<std::string> target;
  if (const auto contacts = req->list(HeaderId::Contact); !contacts.empty()) {
    auto contact = sip::parseNameAddr(contacts.front());
    if (!contact || !contact->uri.isSip()) return txn.respond(*req, 400, "Malformed Contact");
    target = std::string(contact->uriText);
  }
  const auto now = options_.wallClock();
  auto change = [now, expires, target = std::move(target), eventId = std::move(eventId), event = std::string(event),
                 cseq = req->cseq().number,
                 source = sip::formatPeer(txn.peer())](const Subscription* cur) -> tl::expected<Subscription, StoreError> {
    if (cur == nullptr || cur->expires <= now) return refuse(481, "Subscription Does Not Exist");
    // One subscription per dialog: another package or id here is not one we have.
    if (eventOf(cur->resource) != event || cur->eventId != eventId) return refuse(481, "Subscription Does Not Exist");
    if (cseq <= cur->remoteCSeq) return refuse(500, "CSeq Out of Order");  // RFC 3261 §12.2.2
    Subscription next = *cur;
    next.remoteCSeq = cseq;
    next.source = source;
    if (target) next.remoteTarget = *target;
    if (expires == 0) {
      ++next.localCSeq;  // the terminating NOTIFY, sent from what this returns
      next.expires = now;
    } else {
      next.expires = now + std::chrono::seconds(expires);
    }
    return next;
  };
  store_.update(id, now, std::move(change), [this, txn, req, id, expires](tl::expected<Subscription, StoreError> r) {
    if (!r) {
      if (r.error().code == StoreError::Code::Unavailable) return txn.respondUnavailable(*req);
      return txn.respond(*req, r.error().sipCode, r.error().message);
    }
    if (expires > 0) ++stats_.refreshed;
    accepted(txn, *req, id, *r, expires);
  });
}

void Notifier::accepted(const simple::ServerTransaction& txn, const sip::Message& req, const std::string& id,
                        const Subscription& sub, std::uint32_t expires) {
  sip::Message resp = txn.response(req, 200);  // never 202: the policy is "allow" (RFC 6665 §4.2.1.1)
  resp.addHeader(HeaderId::Expires, std::to_string(expires));
  resp.addHeader(HeaderId::Contact, detail::contactFor(options_.sentBy(txn.peer()), txn.peer().transport));
  // RFC 3261 §12.1.1: a dialog-creating 2xx copies the Record-Route rows.
  if (req.to().tag().empty())
    for (const auto& h : req.headers())
      if (h.id == HeaderId::RecordRoute) resp.addHeader(HeaderId::RecordRoute, h.value);
  txn.respond(std::move(resp));

  const bool external = isExternal(sub);
  if (external) {
    using Watch = ExternalPresence::Watch;
    const bool fresh = req.to().tag().empty();
    external_->watching(sub.watcher, aorOf(sub.resource),
                        expires > 0 ? (fresh ? Watch::Subscribe : Watch::Refresh)
                                    : (fresh ? Watch::Fetch : Watch::Unsubscribe));
  }
  if (expires > 0) {
    armExpiry(id, sub.expires);
    return notify(id, nullptr);  // RFC 6665 §4.2.1.2: a NOTIFY right after every 2xx
  }
  // Unsubscribe or fetch: the record is gone; one last NOTIFY with the state.
  watches_.erase(id);
  ++stats_.unsubscribed;
  if (external) return sendExternal(id, sub, true);
  compose(sub.resource, [this, id, sub](std::shared_ptr<const NotifyBody> body) {
    send(id, sub, *body, "terminated;reason=timeout");
  });
}

// --- NOTIFY ---------------------------------------------------------------------------------

void Notifier::notify(const std::string& id, std::shared_ptr<const NotifyBody> body) {
  WatchTable::Watch* w = watches_.find(id);
  if (w == nullptr) return;  // ended meanwhile
  if (w->inFlight) {
    // Newest state wins: one flag, one NOTIFY with the state of its own time.
    if (!w->pending) ++stats_.coalesced;
    w->pending = true;
    return;
  }
  w->inFlight = true;
  const auto now = options_.wallClock();
  store_.update(
      id, now,
      nextNotify(now),
      [this, id, body = std::move(body)](tl::expected<Subscription, StoreError> r) {
        if (!r) {
          if (auto* watch = watches_.find(id)) watch->inFlight = false;
          return;  // gone (its expiry ends the watch) or the store is down (renotifyAll() on its return)
        }
        sendState(id, *r, body);
      });
}

void Notifier::sendState(const std::string& id, const Subscription& sub, std::shared_ptr<const NotifyBody> body) {
  auto state = [this](const Subscription& s) {
    const auto left = std::chrono::ceil<std::chrono::seconds>(s.expires - options_.wallClock());
    return "active;expires=" + std::to_string(std::max<std::int64_t>(left.count(), 0));
  };
  if (body) return send(id, sub, *body, state(sub));
  if (isExternal(sub)) return sendExternal(id, sub, false);
  compose(sub.resource, [this, id, sub, state](std::shared_ptr<const NotifyBody> b) { send(id, sub, *b, state(sub)); });
}

// --- restart and resynchronisation ------------------------------------------------------------

void Notifier::resume(std::function<void(tl::expected<std::size_t, StoreError>)> done) {
  store_.owned(options_.wallClock(), [this, done = std::move(done)](tl::expected<std::vector<std::string>, StoreError> ids) {
    if (!ids) return done(tl::unexpected(std::move(ids.error())));
    std::size_t resumed = 0;
    for (const auto& id : *ids) {
      if (watches_.find(id) != nullptr) continue;  // already served by this run
      ++resumed;
      resumeOne(id);
    }
    done(resumed);
  });
}

void Notifier::resumeOne(const std::string& id) {
  const auto now = options_.wallClock();
  store_.update(
      id, now,
      nextNotify(now),  // the dialog goes on: the watcher sees the next CSeq
      [this, id](tl::expected<Subscription, StoreError> r) {
        if (!r || watches_.find(id) != nullptr) return;  // lapsed meanwhile, or already served
        ++stats_.resumed;
        // The other world learns again who follows whom (the bridge re-probes them on reconnects).
        if (isExternal(*r)) external_->watching(r->watcher, aorOf(r->resource), ExternalPresence::Watch::Refresh);
        armExpiry(id, r->expires);
        watches_.find(id)->inFlight = true;
        sendState(id, *r, nullptr);
      });
}

std::size_t Notifier::renotifyAll() {
  std::vector<std::string> ids;
  ids.reserve(watches_.size());
  watches_.forEach([&ids](const std::string& id) { ids.push_back(id); });
  for (const auto& id : ids) notify(id, nullptr);
  return ids.size();
}

void Notifier::send(const std::string& id, const Subscription& sub, const NotifyBody& body,
                    std::string_view state) {
  const auto hop = detail::nextHop(sub);
  std::optional<sip::Message> msg;
  if (hop) msg = detail::buildNotify(sub, body, state, hop->transport, options_.sentBy(*hop));
  if (!msg) {  // nowhere to send: the subscription cannot work
    ++stats_.notifyFailures;
    return drop(id);
  }
  ++stats_.notifies;
  auto sent = stack_.sendRequest(std::move(*msg), *hop,
                                 [this, id](const sip::Message* resp) { onNotifyResult(id, resp); });
  if (!sent) {  // the transaction table is full: keep the subscription, retry on the next change
    ++stats_.notifyFailures;
    if (auto* w = watches_.find(id)) w->inFlight = false;
  }
}

bool Notifier::isExternal(const Subscription& sub) const {
  return external_ != nullptr && external_->owns(aorOf(sub.resource));
}

void Notifier::sendExternal(const std::string& id, const Subscription& sub, bool terminal) {
  external_->state(sub.watcher, aorOf(sub.resource), [this, id, sub, terminal](ExternalPresence::State s) {
    using Authorization = ExternalPresence::Authorization;
    NotifyBody body;  // pending, rejected, or nothing known yet: no body (RFC 8048 §5.3.1)
    if (s.authorization == Authorization::Active && !s.pidf.empty()) {
      body.contentType = findPackage("presence")->contentType;
      body.text = std::move(s.pidf);
    }
    if (s.authorization == Authorization::Rejected) {
      send(id, sub, body, "terminated;reason=rejected");
      if (terminal) return;
      ++stats_.ended;
      return drop(id);
    }
    if (terminal) return send(id, sub, body, "terminated;reason=timeout");
    const auto left = std::chrono::ceil<std::chrono::seconds>(sub.expires - options_.wallClock());
    std::string state = s.authorization == Authorization::Active ? "active;expires=" : "pending;expires=";
    state.append(std::to_string(std::max<std::int64_t>(left.count(), 0)));
    send(id, sub, body, state);
  });
}

void Notifier::onNotifyResult(const std::string& id, const sip::Message* resp) {
  WatchTable::Watch* w = watches_.find(id);
  if (w == nullptr) return;  // a terminating NOTIFY, or the watch ended meanwhile
  w->inFlight = false;
  const int code = resp != nullptr ? resp->statusCode() : 408;
  if (code >= 300) ++stats_.notifyFailures;
  if (endsSubscription(code)) {
    ++stats_.ended;
    return drop(id);
  }
  if (w->pending) {
    w->pending = false;
    notify(id, nullptr);
  }
}

void Notifier::drop(const std::string& id) {
  watches_.erase(id);
  const auto now = options_.wallClock();
  store_.update(
      id, now,
      [now](const Subscription* cur) -> tl::expected<Subscription, StoreError> {
        if (cur == nullptr) return refuse(481);
        Subscription gone = *cur;
        gone.expires = now;
        return gone;
      },
      [](auto) {});
}

// --- expiry -----------------------------------------------------------------------------------

namespace {
// A steady-clock deadline for a wall-clock instant, rounded up to whole ms so
// the timer never fires before the store considers the instant past.
txn::TimePoint deadlineFor(txn::TimePoint steadyNow, storage::WallTime wallNow, storage::WallTime at) {
  const auto delay = std::chrono::ceil<std::chrono::milliseconds>(std::max(at - wallNow, storage::WallTime::duration{}));
  return steadyNow + delay;
}
}  // namespace

void Notifier::armExpiry(const std::string& id, storage::WallTime expires) {
  watches_.insert(id);
  watches_.arm(id, deadlineFor(stack_.now(), options_.wallClock(), expires));
  scheduleExpiries();
}

void Notifier::scheduleExpiries() {
  const auto next = watches_.nextDeadline();
  if (expiryTimer_ != 0) {
    if (next && *next == expiryTimerAt_) return;
    stack_.cancelTimer(expiryTimer_);
    expiryTimer_ = 0;
  }
  if (!next) return;
  expiryTimerAt_ = *next;
  expiryTimer_ = stack_.setTimer(*next, [this](txn::TimePoint now) {
    expiryTimer_ = 0;
    while (auto id = watches_.popDue(now)) expire(*id);
    scheduleExpiries();
  });
}

void Notifier::expire(const std::string& id) {
  if (watches_.find(id) == nullptr) return;
  const auto now = options_.wallClock();
  store_.update(
      id, now,
      [now](const Subscription* cur) -> tl::expected<Subscription, StoreError> {
        if (cur == nullptr) return refuse(481);
        if (cur->expires > now) return refuse(0, "not due");  // the two clocks disagree by a hair
        Subscription last = *cur;
        ++last.localCSeq;
        last.expires = now;
        return last;
      },
      [this, id](tl::expected<Subscription, StoreError> r) {
        if (!r) {
          if (r.error().sipCode == 0) {
            watches_.arm(id, stack_.now() + std::chrono::milliseconds(100));  // drained by the caller's loop
            return;
          }
          if (r.error().code == StoreError::Code::Unavailable) {
            // The store is down: the subscription still ends, once it can be read.
            watches_.arm(id, stack_.now() + kExpiryRetry);
            return scheduleExpiries();
          }
          watches_.erase(id);
          return;
        }
        watches_.erase(id);
        ++stats_.expired;
        if (isExternal(*r)) {
          external_->watching(r->watcher, aorOf(r->resource), ExternalPresence::Watch::Ended);
          return sendExternal(id, *r, true);
        }
        compose(r->resource, [this, id, sub = *r](std::shared_ptr<const NotifyBody> body) {
          send(id, sub, *body, "terminated;reason=timeout");  // RFC 6665 §4.2.2
        });
      });
}

// --- the watcher list -------------------------------------------------------------------------

void Notifier::watchersOf(const std::string& aor, WatchersDone done) {
  struct Gather {
    std::vector<WatcherInfo> found;
    std::size_t pending = 0;
    std::optional<storage::StoreError> failed;
    WatchersDone done;
    void finishOne() {
      if (--pending > 0) return;
      if (failed) return done(tl::unexpected(std::move(*failed)));
      done(std::move(found));
    }
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  gather->pending = 2;  // one per package
  const auto now = options_.wallClock();
  for (std::string_view event : {std::string_view("presence"), std::string_view("dialog")}) {
    store_.watchers(Publisher::key(event, aor), now, [this, gather, now, event](auto ids) {
      if (!ids) {
        gather->failed = ids.error();
        return gather->finishOne();
      }
      gather->pending += ids->size();
      for (const auto& id : *ids)
        store_.get(id, now, [gather, event](auto sub) {
          if (!sub) gather->failed = sub.error();
          else if (*sub) gather->found.push_back(WatcherInfo{(*sub)->watcher, std::string(event), (*sub)->expires});
          gather->finishOne();
        });
      gather->finishOne();
    });
  }
}

// --- state changes ------------------------------------------------------------------------------

void Notifier::onRemoteChange(std::string_view event, std::string_view aor) {
  if (findPackage(event) == nullptr) return;
  fanOut(event, aor);
}

void Notifier::onPublication(const PublicationChange& change) {
  if (change.stateChanged) return fanOut(change.event, change.aor);  // composing re-arms the expiry
  // A refresh moves only an expiry: re-arm if someone watches (only then is there a timer).
  if (publicationTimers_.contains(Publisher::key(change.event, change.aor)))
    armPublicationExpiry(change.event, change.aor, change.live);
}

void Notifier::fanOut(std::string_view event, std::string_view aor) {
  notifyResource(Publisher::key(event, aor));
  // The PBX's dialog state is also the hook state in the presence document.
  if (event == "dialog") notifyResource(Publisher::key("presence", aor));
  for (const auto& observer : observers_) observer(aor);
}

void Notifier::onExternalChange(std::string_view aor) {
  store_.watchers(Publisher::key("presence", aor), options_.wallClock(), [this](auto ids) {
    if (!ids) return;
    for (const auto& id : *ids) notify(id, nullptr);  // each asks the source for its own watcher's state
  });
}

void Notifier::notifyResource(const std::string& resource) {
  if (watches_.size() == 0) return;  // this node serves no subscription: nobody to ask about
  store_.watchers(resource, options_.wallClock(), [this, resource](auto ids) {
    if (!ids) return;
    // Only the subscriptions this node serves: with a shared store the others
    // are another node's to notify (docs/storage.md, "Several nodes").
    std::erase_if(*ids, [this](const std::string& id) { return watches_.find(id) == nullptr; });
    if (ids->empty()) return;  // nobody watches here: compose nothing
    compose(resource, [this, ids = std::move(*ids)](std::shared_ptr<const NotifyBody> body) {
      for (const auto& id : ids) notify(id, body);
    });
  });
}

void Notifier::armPublicationExpiry(std::string_view event, std::string_view aor,
                                    const storage::Publications& live) {
  std::string key = Publisher::key(event, aor);
  auto it = publicationTimers_.find(key);
  if (live.empty()) {
    if (it != publicationTimers_.end()) {
      stack_.cancelTimer(it->second.timer);
      publicationTimers_.erase(it);
    }
    return;
  }
  const auto due = std::min_element(live.begin(), live.end(), [](const auto& a, const auto& b) {
                     return a.expires < b.expires;
                   })->expires;
  if (it != publicationTimers_.end()) {
    if (it->second.due == due) return;  // already armed for that instant
    stack_.cancelTimer(it->second.timer);
    publicationTimers_.erase(it);
  }
  const auto timer = stack_.setTimer(
      deadlineFor(stack_.now(), options_.wallClock(), due),
      [this, key, due, event = std::string(event), aor = std::string(aor)](txn::TimePoint) {
        publicationTimers_.erase(key);
        if (options_.wallClock() < due) {  // early by a hair: look again shortly
          return armPublicationExpiry(event, aor, {storage::Publication{{}, {}, due, {}}});
        }
        // The store drops what lapsed; watchers hear of it (RFC 3903 §5), and
        // composing for them arms the next expiry.
        fanOut(event, aor);
      });
  publicationTimers_.emplace(std::move(key), PublicationTimer{timer, due});
}

}  // namespace parley::presence
