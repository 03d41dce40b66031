#include "parley/simple/sip_stack.hpp"

#include <algorithm>

#include "parley/sip/header_values.hpp"
#include "parley/sip/random.hpp"
#include "parley/sip/response.hpp"

namespace parley::simple {
using sip::HeaderId;
using sip::Method;

namespace {
constexpr std::size_t idx(Method m) { return static_cast<std::size_t>(m); }

// Methods RFC 3261 defines for sessions: we know them and refuse them (405).
bool isSessionMethod(Method m) {
  switch (m) {
    case Method::Invite: case Method::Bye: case Method::Prack: case Method::Update:
    case Method::Info: case Method::Refer:
      return true;
    default:
      return false;
  }
}

void appendList(std::string& out, std::string_view item) {
  if (std::string_view(out).find(item) != std::string_view::npos) return;
  if (!out.empty()) out.append(", ");
  out.append(item);
}
}  // namespace

// --- ServerTransaction ---------------------------------------------------------

void ServerTransaction::respond(const sip::Message& req, int code, std::string_view reason) const {
  stack_->respond(id_, response(req, code, reason));
}

sip::Message ServerTransaction::response(const sip::Message& req, int code, std::string_view reason) const {
  return sip::makeResponse(req, code, reason, toTag_, &from_);
}

void ServerTransaction::respondUnavailable(const sip::Message& req, int retryAfterSeconds) const {
  sip::Message resp = response(req, 503);
  resp.addHeader(sip::HeaderId::RetryAfter, std::to_string(retryAfterSeconds));
  respond(std::move(resp));
}

void ServerTransaction::respond(sip::Message&& resp) const { stack_->respond(id_, std::move(resp)); }

// --- SipStack --------------------------------------------------------------------

SipStack::SipStack(StackOptions options, txn::TransportSink& sink)
    : options_(std::move(options)), parser_(options_.limits), layer_(options_.transactions, *this, sink) {
  for (auto& d : options_.domains)
    std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
  rebuildCapabilities();
}

SipStack::~SipStack() = default;

void SipStack::registerMethod(MethodRegistration reg) {
  handlers_[idx(reg.method)] = std::move(reg);
  rebuildCapabilities();
}

void SipStack::rebuildCapabilities() {
  allow_.clear();
  accept_.clear();
  allowEvents_.clear();
  supported_.clear();
  for (std::string_view m : {"OPTIONS", "ACK", "CANCEL"}) appendList(allow_, m);
  for (const auto& reg : handlers_) {
    if (reg.handler == nullptr) continue;
    appendList(allow_, sip::methodName(reg.method));
    for (const auto& a : reg.accept) appendList(accept_, a);
    for (const auto& e : reg.eventPackages) appendList(allowEvents_, e);
  }
  for (const auto& s : options_.supported) appendList(supported_, s);
}

void SipStack::onDatagram(std::string_view bytes, const sip::Peer& from, TimePoint now) {
  ingest(parser_.parseDatagram(bytes), from, now);
}

void SipStack::onFramed(std::string_view bytes, const sip::Peer& from, TimePoint now) {
  ingest(parser_.parseFramed(bytes), from, now);
}

void SipStack::onFramingError(sip::ParseError error, std::string_view headerBytes,
                              const sip::Peer& from, TimePoint) {
  stats_.parseErrors[static_cast<std::size_t>(error)]++;
  // Parse what headers we have (as a datagram: no Content-Length needed) so the
  // 400 can name the framing defect; the transport closes the connection.
  auto partial = parser_.parseDatagram(headerBytes);
  if (partial && partial->isRequest() && partial->method() != Method::Ack) {
    answerMalformed(sip::ParseFailure{error, std::move(*partial)}, from);
  } else if (!partial && partial.error().partial) {
    answerMalformed(sip::ParseFailure{error, std::move(partial.error().partial)}, from);
  } else {
    stats_.malformedDropped++;
  }
}

std::optional<TimePoint> SipStack::nextDeadline() const {
  const auto a = layer_.nextDeadline();
  const auto b = moduleHeap_.nextDeadline();
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

void SipStack::advance(TimePoint now) {
  layer_.advance(now);
  while (auto due = moduleHeap_.popDue(now)) {
    auto it = moduleTimers_.find(due->owner);
    if (it == moduleTimers_.end()) continue;
    TimerCallback callback = std::move(it->second);
    moduleTimers_.erase(it);
    callback(now);  // may set or cancel timers
  }
}

SipStack::TimerId SipStack::setTimer(TimePoint deadline, TimerCallback callback) {
  const TimerId id = nextTimerId_++;
  moduleTimers_.emplace(id, std::move(callback));
  moduleHeap_.arm(id, 0, deadline);
  return id;
}

bool SipStack::cancelTimer(TimerId id) {
  if (moduleTimers_.erase(id) == 0) return false;
  moduleHeap_.cancel(id, 0);
  return true;
}

void SipStack::ingest(tl::expected<sip::Message, sip::ParseFailure>&& parsed, const sip::Peer& from,
                      TimePoint now) {
  if (!parsed) {
    stats_.parseErrors[static_cast<std::size_t>(parsed.error().error)]++;
    answerMalformed(std::move(parsed.error()), from);
    return;
  }
  if (parsed->isResponse()) layer_.receiveResponse(std::move(*parsed), from, now);
  else layer_.receiveRequest(std::move(*parsed), from, now);
}

void SipStack::answerMalformed(sip::ParseFailure&& failure, const sip::Peer& from) {
  // Never answer an ACK (§17.1.1.3) nor anything we could not parse enough of.
  if (!failure.partial || !failure.partial->isRequest() || failure.partial->method() == Method::Ack) {
    stats_.malformedDropped++;
    return;
  }
  int code = failure.error == sip::ParseError::BadVersion ? 505 : 400;
  std::string_view reason = sip::describe(failure.error);
  // RFC 4475 §3.1.2.16: an unknown method whose CSeq disagrees is better answered 501.
  if (failure.error == sip::ParseError::CSeqMethodMismatch && failure.partial->method() == Method::Unknown) {
    code = 501;
    reason = {};
  }
  sip::Message resp = sip::makeResponse(*failure.partial, code, reason, sip::newTag(), &from);
  resp.addHeader(HeaderId::Server, options_.serverHeader);
  if (code == 501) resp.addHeader(HeaderId::Allow, allow_);
  countResponse(resp);
  stats_.malformedAnswered++;
  layer_.respondStateless(std::move(resp), from);
}

bool SipStack::isOurs(const sip::Uri& uri) const {
  std::string host(uri.host);
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (std::find(options_.domains.begin(), options_.domains.end(), host) != options_.domains.end())
    return true;
  return std::find(options_.localAddresses.begin(), options_.localAddresses.end(), host) !=
         options_.localAddresses.end();
}

sip::Message SipStack::response(const sip::Message& req, const sip::Peer& from, int code,
                                std::string_view reason) const {
  sip::Message resp = sip::makeResponse(req, code, reason, sip::newTag(), &from);
  resp.addHeader(HeaderId::Server, options_.serverHeader);
  return resp;
}

void SipStack::reply(txn::ServerTxnId id, const sip::Message& req, const sip::Peer& from, int code,
                     std::string_view reason) {
  sip::Message resp = response(req, from, code, reason);
  if (code == 405 || code == 501) resp.addHeader(HeaderId::Allow, allow_);  // §8.2.1, §21.5.2
  respond(id, std::move(resp));
}

void SipStack::respond(txn::ServerTxnId id, sip::Message&& resp) {
  if (resp.statusCode() >= 200) awaitingAnswer_.erase(id);
  countResponse(resp);
  layer_.respond(id, std::move(resp), options_.clock());
}

void SipStack::countResponse(const sip::Message& resp) {
  const int code = resp.statusCode();
  const int cls = code / 100;
  if (cls >= 1 && cls <= 6) stats_.responsesByClass[static_cast<std::size_t>(cls)]++;
  if (code >= 200) stats_.answered[Stats::finalKey(resp.cseq().method, code)]++;
}

void SipStack::onRequest(txn::ServerTxnId id, sip::Message&& req, const sip::Peer& from,
                         const txn::RequestContext& ctx) {
  const Method method = req.method();
  stats_.requestsByMethod[idx(method)]++;
  if (ctx.overloaded) {
    sip::Message resp = response(req, from, 503);
    resp.addHeader(HeaderId::RetryAfter, "5");
    countResponse(resp);
    layer_.respondStateless(std::move(resp), from);
    return;
  }
  // §8.2.1 method inspection.
  const bool handled = handlers_[idx(method)].handler != nullptr;
  if (method == Method::Unknown) return reply(id, req, from, 501);
  if (isSessionMethod(method)) return reply(id, req, from, 405);
  const bool coreMethod = method == Method::Options || method == Method::Cancel;
  if (!coreMethod && !handled) return reply(id, req, from, 501);

  // §8.2.2.1 Request-URI: scheme, then whether we serve it.
  const sip::Uri& ruri = req.requestLine().uri;
  if (!ruri.isSip()) return reply(id, req, from, 416);
  if (!isOurs(ruri)) {
    // We are not a proxy: a request for someone else's domain ends here.
    return reply(id, req, from, req.maxForwards() == 0 ? 483 : 404);
  }
  if (method == Method::Cancel) return answerCancel(id, req, from);
  // §8.2.2.2 merged requests.
  if (ctx.merged) return reply(id, req, from, 482);
  // §8.2.2.3 Require: every option tag must be one we support.
  std::string unsupported;
  for (auto tag : req.list(HeaderId::Require))
    if (std::find(options_.supported.begin(), options_.supported.end(), tag) == options_.supported.end())
      appendList(unsupported, tag);
  if (!unsupported.empty()) {
    sip::Message resp = response(req, from, 420);
    resp.addHeader(HeaderId::Unsupported, unsupported);
    return respond(id, std::move(resp));
  }
  if (method == Method::Options) {
    // An OPTIONS inside a dialog we do not have: §12.2.2.
    if (!req.to().tag().empty()) return reply(id, req, from, 481);
    return answerOptions(id, req, from);
  }
  awaitingAnswer_.insert(id);
  handlers_[idx(method)].handler->handle(ServerTransaction(*this, id, from, sip::newTag()), std::move(req));
}

void SipStack::addCapabilities(sip::Message& resp) const {
  resp.addHeader(HeaderId::Allow, allow_);
  resp.addHeader(HeaderId::Accept, accept_);
  resp.addHeader(HeaderId::Supported, supported_);
  if (!allowEvents_.empty()) resp.addHeader(HeaderId::AllowEvents, allowEvents_);
}

void SipStack::answerOptions(txn::ServerTxnId id, const sip::Message& req, const sip::Peer& from) {
  // RFC 3261 §11.2: 200 with what we can do.
  sip::Message resp = response(req, from, 200);
  addCapabilities(resp);
  respond(id, std::move(resp));
}

void SipStack::answerCancel(txn::ServerTxnId id, const sip::Message& req, const sip::Peer& from) {
  // RFC 3261 §9.2: 200 if a transaction matches (487 to a pending INVITE first), else 481.
  const auto target = layer_.findCancelTarget(req);
  if (!target) return reply(id, req, from, 481);
  if (target->pendingInvite) {
    // We answer INVITEs at once, so this is rare; the INVITE's own To-tag is
    // chosen here since no response was sent in it yet.
    stats_.responsesByClass[4]++;
    sip::Message terminated = response(req, from, 487);
    terminated.removeHeader(HeaderId::CSeq);
    terminated.addHeader(HeaderId::CSeq, std::to_string(req.cseq().number) + " INVITE");
    layer_.respond(target->id, std::move(terminated), options_.clock());
  }
  reply(id, req, from, 200);
}

tl::expected<txn::ClientTxnId, txn::ClientError> SipStack::sendRequest(sip::Message&& req,
                                                                     const sip::Peer& to,
                                                                     ResponseCallback done) {
  const Method method = req.method();
  auto id = layer_.sendRequest(std::move(req), to, options_.clock());
  if (id) pending_.emplace(*id, Pending{method, std::move(done)});
  return id;
}

void SipStack::onResponse(txn::ClientTxnId id, sip::Message&& resp) {
  if (resp.statusCode() < 200) return;  // provisional: the transaction goes on
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  stats_.outcomes[Stats::finalKey(it->second.method, resp.statusCode())]++;
  ResponseCallback done = std::move(it->second.done);
  pending_.erase(it);
  if (done) done(&resp);
}

void SipStack::onClientTimeout(txn::ClientTxnId id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  stats_.outcomes[Stats::finalKey(it->second.method, 0)]++;
  ResponseCallback done = std::move(it->second.done);
  pending_.erase(it);
  if (done) done(nullptr);
}

void SipStack::onStrayResponse(sip::Message&&, const sip::Peer&) { stats_.strayResponses++; }

void SipStack::onStrayAck(sip::Message&&, const sip::Peer&) { stats_.strayAcks++; }

}  // namespace parley::simple
