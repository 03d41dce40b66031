#include "parley/messaging/message_router.hpp"

#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>

#include "parley/sip/header_values.hpp"
#include "parley/sip/random.hpp"
#include "parley/sip/response.hpp"
#include "parley/sip/serializer.hpp"

namespace parley::messaging {
using sip::HeaderId;

namespace {

// Copies one header row as it is (unknown headers keep their name as received).
void copyRow(sip::Message& to, const sip::Header& h) {
  if (h.id == HeaderId::Other) to.addHeader(h.name, h.value);
  else to.addHeader(h.id, h.value);
}

// The cached Call-ID and CSeq of a built message, viewing its own rows (the
// rows are copies of ones the parser already validated).
void cacheCallIdAndCSeq(sip::Message& m) {
  if (auto v = m.header(HeaderId::CallId)) m.setCallId(*v);
  if (auto v = m.header(HeaderId::CSeq))
    if (auto cseq = sip::parseCSeq(*v)) m.setCSeq(*cseq);
}

// The next hop for a binding: its first Path hop when that names an IP literal
// (an edge proxy, RFC 3327), else where the REGISTER came from.
std::optional<sip::Peer> nextHop(const storage::Binding& b) {
  auto source = sip::parsePeer(b.source);
  if (!b.path.empty() && source)
    if (auto hop = sip::routeHop(b.path.front(), sip::Transport::Udp)) return hop;
  return source;
}

// Rank per RFC 3261 §16.7 for choosing among final non-2xx responses.
int rank(int code) {
  if (code >= 600) return 0;     // a 6xx ends the search
  return code / 100 * 1000 + code;  // else the lowest class, then the lowest code
}

}  // namespace

namespace detail {

// The state of one forked MESSAGE, shared by its branches' callbacks (which
// capture only this pointer, so std::function keeps them without allocating).
// It ends in one of two ways: relayed to the caller's server transaction
// (handle()), or reported to the originator's callback (originate()).
struct Fork {
  simple::SipStack& stack;
  MessageRouter::Stats& stats;
  sip::Message req;       // what every branch copies: the caller's request, or the one we built
  int branchMaxForwards;  // the caller's − 1 (§16.6 step 3), or 70 when we are the UAC
  std::optional<simple::ServerTransaction> txn;
  MessageRouter::OriginateDone done;
  std::size_t pending = 0;
  bool answered = false;
  int bestCode = 0;  // best final non-2xx so far (0: none)
  std::string bestReason;
  simple::SipStack::TimerId deadline = 0;

  Fork(simple::SipStack& s, MessageRouter::Stats& st, sip::Message&& r, int maxForwards)
      : stack(s), stats(st), req(std::move(r)), branchMaxForwards(maxForwards) {}
};

}  // namespace detail

namespace {
using detail::Fork;

// Ends the fork with `code`: our server transaction answers the caller (a
// branch's best non-2xx goes out as our own response with its status), or the
// originator hears it.
void finish(Fork& fork, int code, std::string_view reason = {}) {
  fork.answered = true;
  if (fork.txn) return fork.txn->respond(fork.req, code, reason);
  // Moved out first: the callback may start another originate() or drop the
  // last other reference to whatever it captured.
  auto done = std::move(fork.done);
  fork.done = nullptr;
  done(code, reason.empty() ? sip::reasonPhrase(code) : reason);
}

// Ends a fork that had no 2xx: the best final seen, else 480.
void finishWithoutSuccess(Fork& fork) {
  if (fork.bestCode != 0) return finish(fork, fork.bestCode, fork.bestReason);
  ++fork.stats.unavailable;
  finish(fork, 480);
}

// `via`, parsed from `from`, with its views moved to `to`: a copy of `from` in
// which the `oldLen` bytes at `at` became `newLen` bytes (none: an exact copy).
// Views outside `from` (the literal protocol) stay as they are.
sip::Via rebased(sip::Via via, std::string_view from, std::string_view to, std::size_t at = 0,
                 std::size_t oldLen = 0, std::size_t newLen = 0) {
  const auto begin = reinterpret_cast<std::uintptr_t>(from.data());
  auto move = [&](std::string_view v) {
    const auto p = reinterpret_cast<std::uintptr_t>(v.data());
    if (v.empty() || p < begin || p >= begin + from.size()) return v;
    const std::size_t o = p - begin;
    if (o >= at + oldLen) return to.substr(o - oldLen + newLen, v.size());
    if (o >= at) return to.substr(at, newLen);  // the replaced bytes (our branch)
    return to.substr(o, v.size());
  };
  via.version = move(via.version);
  via.transport = move(via.transport);
  via.host = move(via.host);
  via.branch = move(via.branch);
  if (via.received) via.received = move(*via.received);
  for (auto& p : via.params) {
    p.name = move(p.name);
    p.value = move(p.value);
  }
  return via;
}

// The request for one branch (RFC 3261 §16.6): the contact as Request-URI, our
// Via on top, the binding's Path as Route, then the caller's rows in order,
// `maxForwards` last; or nullopt when the contact cannot be a Request-URI.
// Built as a Message (no text round trip): the client transaction reads the
// cached top Via and the method, the serializer the rows. From/To stay
// uncached: nothing on the client side reads them.
std::optional<sip::Message> branchRequest(const sip::Message& req, int maxForwards, const storage::Binding& b,
                                          const MessageRouter::OurVia& via) {
  auto uri = sip::parseUri(b.contact);
  // A SIP Request-URI may not carry ?headers (RFC 3261 §19.1.1), as the parser insists.
  if (!uri || (uri->isSip() && !uri->headers.empty())) return std::nullopt;
  sip::Message out = sip::Message::request(sip::Method::Message, {}, *uri);

  const std::string branch = sip::newBranch();
  std::string row = via.head;
  row.append(branch).append(MessageRouter::OurVia::kTail);
  out.addHeader(HeaderId::Via, row);
  out.setTopVia(rebased(*via.parsed, via.probe, out.headers().back().value, via.head.size(),
                        MessageRouter::OurVia::kProbeBranch.size(), branch.size()));

  for (const auto& p : b.path) out.addHeader(HeaderId::Route, p);
  for (const auto& h : req.headers()) {
    if (h.id == HeaderId::MaxForwards || h.id == HeaderId::ContentLength) continue;
    copyRow(out, h);
  }
  char hops[8];
  const auto [hopsEnd, ec] = std::to_chars(hops, hops + sizeof hops, maxForwards);
  out.addHeader(HeaderId::MaxForwards, std::string_view(hops, static_cast<std::size_t>(hopsEnd - hops)));
  out.setBody(req.body());  // the serializer writes Content-Length from it
  cacheCallIdAndCSeq(out);
  return out;
}

// A branch's response without our Via element (§16.7 step 9), which may share
// its row with the caller's (as sipp writes them); the other rows, status line
// and body as received. nullopt when no parseable SIP/2.0 Via would remain
// (the response cannot be relayed). `req` is the caller's request.
std::optional<sip::Message> withoutOurVia(const sip::Message& resp, const sip::Message& req) {
  sip::Message out = sip::Message::response(resp.statusCode(), resp.statusLine().reason);
  bool skipped = false;
  for (const auto& h : resp.headers()) {
    if (h.id == HeaderId::ContentLength) continue;
    if (h.id != HeaderId::Via || skipped) {
      copyRow(out, h);
      continue;
    }
    skipped = true;
    const std::string_view first = sip::firstListElement(h.value);
    std::string_view rest = h.value.substr(static_cast<std::size_t>(first.data() - h.value.data()) + first.size());
    while (!rest.empty() && (rest.front() == ',' || rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (!rest.empty()) out.addHeader(HeaderId::Via, rest);
  }
  auto top = out.header(HeaderId::Via);
  if (!top) return std::nullopt;  // our Via was the only one
  const std::string_view element = sip::firstListElement(*top);
  // Normally the caller's own top Via, which the parser already accepted.
  const std::string_view callers = sip::firstListElement(req.header(HeaderId::Via).value_or(""));
  if (element == callers) {
    out.setTopVia(rebased(req.topVia(), callers, element));
  } else {
    auto via = sip::parseVia(element);
    if (!via || via->version != "2.0") return std::nullopt;
    out.setTopVia(*via);
  }
  out.setBody(resp.body());
  cacheCallIdAndCSeq(out);
  return out;
}

// Ends the fork with the first 2xx: relayed without our Via, or reported.
void succeed(Fork& fork, const sip::Message& resp) {
  fork.answered = true;
  fork.stack.cancelTimer(fork.deadline);
  if (!fork.txn) {
    ++fork.stats.delivered;
    return finish(fork, resp.statusCode(), resp.statusLine().reason);
  }
  if (auto relayed = withoutOurVia(resp, fork.req)) {
    ++fork.stats.delivered;
    return fork.txn->respond(std::move(*relayed));
  }
  fork.txn->respond(fork.req, 502, "Bad Gateway");  // a 2xx we cannot relay
}

bool isIpv4Literal(std::string_view host) {
  return !host.empty() && host.find_first_not_of("0123456789.") == std::string_view::npos;
}

// ASCII only, whatever the locale.
bool isAlnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 3261 §25.1 `word`, the characters of a Call-ID (callid = word ["@" word]).
bool isCallId(std::string_view id) {
  static constexpr std::string_view kWordPunctuation = "-.!%*_+`'~()<>:\\\"/[]?{}";
  if (id.empty() || id.front() == '@' || id.back() == '@') return false;
  bool at = false;
  for (const char c : id) {
    if (c == '@') {
      if (at) return false;
      at = true;
    } else if (!isAlnum(c) && kWordPunctuation.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// `name` as an RFC 3261 quoted-string: DQUOTE and backslash escaped; control
// characters (which qdtext lacks and CR/LF would end the row) become spaces.
void appendQuoted(std::string& out, std::string_view name) {
  out.push_back('"');
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  out.push_back('"');
}

// Rows originate() writes itself, or that have no place in a MESSAGE (no
// Contact: it creates no dialog, RFC 3428 §4); Other has no name to write.
bool isReservedRow(HeaderId id) {
  switch (id) {
    case HeaderId::Other:
    case HeaderId::Via:
    case HeaderId::Route:
    case HeaderId::RecordRoute:
    case HeaderId::From:
    case HeaderId::To:
    case HeaderId::CallId:
    case HeaderId::CSeq:
    case HeaderId::MaxForwards:
    case HeaderId::ContentType:
    case HeaderId::ContentLength:
    case HeaderId::Contact:
      return true;
    default:
      return false;
  }
}

// No CR, LF or NUL: a value that cannot end its row early.
bool isOneRow(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

}  // namespace

MessageRouter::MessageRouter(Options options, simple::SipStack& stack, registrar::Registrar& registrar)
    : options_(std::move(options)), stack_(stack), registrar_(registrar) {}

simple::MethodRegistration MessageRouter::registration() {
  return {sip::Method::Message, this, {"text/plain", "*/*"}, {}};
}

const MessageRouter::OurVia* MessageRouter::ourVia(const sip::Peer& hop) {
  const sip::Transport transport = hop.transport;
  const bool v6 = hop.address.find(':') != std::string::npos;
  OurVia& v = via_[(transport == sip::Transport::Udp ? 0 : 1) + (v6 ? 2 : 0)];
  std::string sentBy = options_.sentBy ? options_.sentBy(hop) : std::string("127.0.0.1");
  if (v.parsed && sentBy == v.sentBy) return &v;
  v.sentBy = std::move(sentBy);
  v.head = transport == sip::Transport::Udp ? "SIP/2.0/UDP " : "SIP/2.0/TCP ";
  v.head.append(v.sentBy).append(";branch=");
  v.probe = v.head;
  v.probe.append(OurVia::kProbeBranch).append(OurVia::kTail);
  v.parsed.reset();
  auto parsed = sip::parseVia(v.probe);
  if (!parsed || parsed->branch != OurVia::kProbeBranch) return nullptr;  // a sent-by we cannot use
  v.parsed = std::move(*parsed);
  return &v;
}

bool MessageRouter::isForeign(const sip::Uri& uri) const {
  // The core lets through only our domains, our own addresses and (for the
  // bridge) the domains it routes elsewhere: a literal is one of ours.
  if (options_.domains.empty() || !uri.isSip() || uri.hostIsIpv6() || isIpv4Literal(uri.host)) return false;
  std::string_view host = uri.host;
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // an absolute FQDN
  for (const auto& domain : options_.domains)
    if (sip::iequals(domain, host)) return false;
  return true;
}

void MessageRouter::handle(simple::ServerTransaction txn, sip::Message&& req) {
  const bool foreign = isForeign(req.requestLine().uri);
  if (foreign && !options_.foreign) return txn.respond(req, req.maxForwards() == 0 ? 483 : 404);
  const std::string aor = foreign ? std::string() : sip::addressOfRecord(req.requestLine().uri);
  if (!foreign && aor.empty()) return txn.respond(req, 404);
  if (req.body().size() > options_.maxBodyBytes) return txn.respond(req, 413);
  if (req.maxForwards() == 0) return txn.respond(req, 483);
  if (foreign) return options_.foreign(std::move(txn), std::move(req));

  const int maxForwards = req.maxForwards() < 0 ? 69 : req.maxForwards() - 1;  // 483 was sent for 0
  auto fork = std::make_shared<Fork>(stack_, stats_, std::move(req), maxForwards);
  fork->txn.emplace(std::move(txn));
  startFork(std::move(fork), aor);
}

std::optional<sip::Message> MessageRouter::buildRequest(const Outgoing& msg) {
  auto to = sip::parseUri(msg.to);
  // A SIP Request-URI may not carry ?headers (RFC 3261 §19.1.1).
  if (!to || !to->isSip() || !to->headers.empty()) return std::nullopt;
  if (!msg.callId.empty() && !isCallId(msg.callId)) return std::nullopt;
  if (msg.cseq >= (std::uint32_t{1} << 31)) return std::nullopt;  // §8.1.1.5
  if (!isOneRow(msg.contentType)) return std::nullopt;
  for (const auto& [id, value] : msg.headers)
    if (isReservedRow(id) || !isOneRow(value)) return std::nullopt;

  sip::Message m = sip::Message::request(sip::Method::Message, {}, *to);
  m.addHeader(HeaderId::MaxForwards, "70");

  // To and From: each parsed back from its own row, which must give the URI
  // we were handed (no '>' or the like that would end the name-addr early).
  std::string row = "<";
  row.append(msg.to).append(">");
  m.addHeader(HeaderId::To, row);
  auto toRow = sip::parseNameAddr(m.headers().back().value);
  if (!toRow || toRow->uriText != msg.to || !toRow->params.empty()) return std::nullopt;
  m.setTo(*toRow);

  row.clear();
  if (!msg.fromDisplay.empty()) {
    appendQuoted(row, msg.fromDisplay);
    row.push_back(' ');
  }
  row.append("<").append(msg.from).append(">;tag=").append(sip::newTag());
  m.addHeader(HeaderId::From, row);
  auto fromRow = sip::parseNameAddr(m.headers().back().value);
  if (!fromRow || fromRow->uriText != msg.from || fromRow->params.size() != 1) return std::nullopt;
  m.setFrom(*fromRow);

  m.addHeader(HeaderId::CallId, msg.callId.empty() ? sip::randomHex(16) : msg.callId);
  char cseq[24];
  const auto [cseqEnd, ec] = std::to_chars(cseq, cseq + sizeof cseq, msg.cseq);
  row.assign(cseq, cseqEnd).append(" MESSAGE");
  m.addHeader(HeaderId::CSeq, row);
  if (!msg.contentType.empty()) m.addHeader(HeaderId::ContentType, msg.contentType);
  for (const auto& [id, value] : msg.headers) m.addHeader(id, value);
  m.setBody(msg.body);
  cacheCallIdAndCSeq(m);
  return m;
}

std::size_t MessageRouter::estimatedSize(const Outgoing& msg) {
  auto built = buildRequest(msg);
  return built ? sip::serialize(*built).size() : 0;
}

void MessageRouter::originate(Outgoing msg, OriginateDone done) {
  auto req = buildRequest(msg);
  if (!req) return done(400, sip::reasonPhrase(400));
  const std::string aor = sip::addressOfRecord(req->requestLine().uri);
  if (aor.empty()) return done(404, sip::reasonPhrase(404));
  if (req->body().size() > options_.maxBodyBytes) return done(413, sip::reasonPhrase(413));

  // We are the UAC: the branches carry our Via alone and a fresh Max-Forwards.
  auto fork = std::make_shared<Fork>(stack_, stats_, std::move(*req), 70);
  fork->done = std::move(done);
  startFork(std::move(fork), aor);
}

void MessageRouter::startFork(std::shared_ptr<Fork> fork, const std::string& aor) {
  registrar_.lookup(aor, [this, fork](tl::expected<storage::Bindings, storage::StoreError> found) {
    if (!found) {
      if (fork->txn) return fork->txn->respondUnavailable(fork->req);
      return finish(*fork, 503);
    }
    for (const storage::Binding& b : *found) {
      auto hop = nextHop(b);
      if (!hop) continue;
      const OurVia* via = ourVia(*hop);
      if (!via) continue;
      auto forwarded = branchRequest(fork->req, fork->branchMaxForwards, b, *via);
      if (!forwarded) continue;
      ++fork->pending;
      ++stats_.forwarded;
      auto sent = stack_.sendRequest(std::move(*forwarded), *hop, [fork](const sip::Message* resp) {
        --fork->pending;
        if (fork->answered) return;
        if (resp && resp->statusCode() < 300) return succeed(*fork, *resp);  // the first 2xx wins
        if (resp && (fork->bestCode == 0 || rank(resp->statusCode()) < rank(fork->bestCode))) {
          fork->bestCode = resp->statusCode();
          fork->bestReason = std::string(resp->statusLine().reason);
        }
        if (fork->pending > 0) return;
        fork->stack.cancelTimer(fork->deadline);
        finishWithoutSuccess(*fork);  // the best final, or 480 if all timed out
      });
      if (!sent) {
        --fork->pending;
        --stats_.forwarded;
      }
    }
    if (fork->pending == 0) {
      if (!fork->answered) finishWithoutSuccess(*fork);  // nobody registered
      return;
    }
    fork->deadline = stack_.setTimer(stack_.now() + options_.branchTimeout, [fork](auto) {
      if (!fork->answered) finishWithoutSuccess(*fork);
    });
  });
}

}  // namespace parley::messaging
