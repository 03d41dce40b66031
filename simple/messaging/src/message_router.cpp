#include "parley/messaging/message_router.hpp"

#include <arpa/inet.h>

#include <memory>
#include <optional>

#include "parley/sip/header_values.hpp"
#include "parley/sip/parser.hpp"
#include "parley/sip/random.hpp"
#include "parley/sip/serializer.hpp"

namespace parley::messaging {
using sip::HeaderId;

namespace {

// Our own output, parsed back so every view in the Message is consistent.
std::optional<sip::Message> reparse(const std::string& wire) {
  sip::ParseLimits limits;
  limits.maxMessageBytes = wire.size() + 1;
  limits.maxHeaderCount = 1024;
  limits.maxLineBytes = 65535;
  auto m = sip::Parser{limits}.parseFramed(wire);
  if (!m) return std::nullopt;
  return std::move(*m);
}

void appendRow(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

std::string_view nameOf(const sip::Header& h) { return h.id == HeaderId::Other ? h.name : sip::headerName(h.id); }

// "udp:192.0.2.1:5060" / "tcp:[2001:db8::1]:5061" → a Peer, or nullopt.
std::optional<sip::Peer> peerOf(std::string_view source) {
  sip::Peer p;
  if (source.starts_with("udp:")) p.transport = sip::Transport::Udp;
  else if (source.starts_with("tcp:")) p.transport = sip::Transport::Tcp;
  else return std::nullopt;
  std::string_view rest = source.substr(4);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto port = sip::parseUnsigned(rest.substr(colon + 1), 65535);
  if (!port || *port == 0) return std::nullopt;
  p.address = std::string(host);
  p.port = static_cast<std::uint16_t>(*port);
  return p;
}

// The next hop for a binding: its first Path hop when that names an IP literal
// (an edge proxy, RFC 3327), else where the REGISTER came from.
std::optional<sip::Peer> nextHop(const storage::Binding& b) {
  auto source = peerOf(b.source);
  if (!b.path.empty() && source) {
    auto na = sip::parseNameAddr(b.path.front());
    if (na && na->uri.isSip()) {
      std::string host(na->uri.host);
      if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
      unsigned char buf[16];
      if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1) {
        sip::Peer hop = *source;
        hop.address = host;
        hop.port = na->uri.port != 0 ? na->uri.port : 5060;
        auto transport = na->uri.param("transport");
        hop.transport = transport && sip::iequals(*transport, "tcp") ? sip::Transport::Tcp : sip::Transport::Udp;
        return hop;
      }
    }
  }
  return source;
}

// Rank per RFC 3261 §16.7 for choosing among final non-2xx responses.
int rank(int code) {
  if (code >= 600) return 0;     // a 6xx ends the search
  return code / 100 * 1000 + code;  // else the lowest class, then the lowest code
}

// The state of one forked MESSAGE, shared by its branches' callbacks.
struct Fork {
  simple::ServerTransaction txn;
  std::size_t pending = 0;
  bool answered = false;
  int bestCode = 0;  // best final non-2xx so far (0: none)
  std::string bestReason;
  simple::SipStack::TimerId deadline = 0;
  explicit Fork(simple::ServerTransaction t) : txn(std::move(t)) {}
};

// Ends a fork that had no 2xx: the best final seen, else 480.
void finishWithoutSuccess(Fork& fork, const sip::Message& req, MessageRouter::Stats& stats) {
  fork.answered = true;
  if (fork.bestCode != 0) return fork.txn.respond(req, fork.bestCode, fork.bestReason);
  ++stats.unavailable;
  fork.txn.respond(req, 480);
}

// The request for one branch (RFC 3261 §16.6): the contact as Request-URI, our
// Via on top, the binding's Path as Route, Max-Forwards − 1; built as text and
// parsed back, or nullopt when the contact cannot be a Request-URI.
std::optional<sip::Message> branchRequest(const sip::Message& req, const storage::Binding& b,
                                          sip::Transport transport, const std::string& sentBy) {
  std::string wire = "MESSAGE " + b.contact + " SIP/2.0\r\n";
  std::string via = transport == sip::Transport::Udp ? "SIP/2.0/UDP " : "SIP/2.0/TCP ";
  via.append(sentBy).append(";branch=").append(sip::newBranch()).append(";rport");
  appendRow(wire, "Via", via);
  for (const auto& p : b.path) appendRow(wire, "Route", p);
  for (const auto& h : req.headers()) {
    if (h.id == HeaderId::MaxForwards || h.id == HeaderId::ContentLength) continue;
    appendRow(wire, nameOf(h), h.value);
  }
  appendRow(wire, "Max-Forwards", std::to_string(req.maxForwards() < 0 ? 69 : req.maxForwards() - 1));
  appendRow(wire, "Content-Length", std::to_string(req.body().size()));
  wire.append("\r\n").append(req.body());
  return reparse(wire);
}

// A branch's response without our Via element (§16.7 step 9), which may share
// its row with the caller's (as sipp writes them), or nullopt if unusable.
std::optional<sip::Message> withoutOurVia(const sip::Message& resp) {
  std::string out = "SIP/2.0 " + std::to_string(resp.statusCode()) + " ";
  out.append(resp.statusLine().reason).append("\r\n");
  bool skipped = false;
  for (const auto& h : resp.headers()) {
    if (h.id == HeaderId::ContentLength) continue;
    if (h.id != HeaderId::Via || skipped) {
      appendRow(out, nameOf(h), h.value);
      continue;
    }
    skipped = true;
    const std::string_view first = sip::firstListElement(h.value);
    std::string_view rest = h.value.substr(static_cast<std::size_t>(first.data() - h.value.data()) + first.size());
    while (!rest.empty() && (rest.front() == ',' || rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (!rest.empty()) appendRow(out, "Via", rest);
  }
  appendRow(out, "Content-Length", std::to_string(resp.body().size()));
  out.append("\r\n").append(resp.body());
  return reparse(out);
}

}  // namespace

MessageRouter::MessageRouter(Options options, simple::SipStack& stack, registrar::Registrar& registrar)
    : options_(std::move(options)), stack_(stack), registrar_(registrar) {}

simple::MethodRegistration MessageRouter::registration() {
  return {sip::Method::Message, this, {"text/plain", "*/*"}, {}};
}

void MessageRouter::handle(simple::ServerTransaction txn, sip::Message&& request) {
  auto req = std::make_shared<sip::Message>(std::move(request));
  const std::string aor = sip::addressOfRecord(req->requestLine().uri);
  if (aor.empty()) return txn.respond(*req, 404);
  if (req->body().size() > options_.maxBodyBytes) return txn.respond(*req, 413);
  if (req->maxForwards() == 0) return txn.respond(*req, 483);

  registrar_.lookup(aor, [this, txn, req](tl::expected<storage::Bindings, storage::StoreError> found) mutable {
    if (!found) return txn.respondUnavailable(*req);
    auto fork = std::make_shared<Fork>(txn);
    for (const storage::Binding& b : *found) {
      auto hop = nextHop(b);
      if (!hop) continue;
      auto forwarded = branchRequest(*req, b, hop->transport,
                                     options_.sentBy ? options_.sentBy(hop->transport) : "127.0.0.1");
      if (!forwarded) continue;
      ++fork->pending;
      ++stats_.forwarded;
      auto sent = stack_.sendRequest(std::move(*forwarded), *hop, [this, fork, req](const sip::Message* resp) {
        --fork->pending;
        if (fork->answered) return;
        if (resp && resp->statusCode() < 300) {  // the first 2xx wins
          fork->answered = true;
          stack_.cancelTimer(fork->deadline);
          if (auto relayed = withoutOurVia(*resp)) {
            ++stats_.delivered;
            return fork->txn.respond(std::move(*relayed));
          }
          return fork->txn.respond(*req, 502, "Bad Gateway");  // a 2xx we cannot relay
        }
        if (resp && (fork->bestCode == 0 || rank(resp->statusCode()) < rank(fork->bestCode))) {
          fork->bestCode = resp->statusCode();
          fork->bestReason = std::string(resp->statusLine().reason);
        }
        if (fork->pending > 0) return;
        stack_.cancelTimer(fork->deadline);
        finishWithoutSuccess(*fork, *req, stats_);  // the best final, or 480 if all timed out
      });
      if (!sent) {
        --fork->pending;
        --stats_.forwarded;
      }
    }
    if (fork->pending == 0) {
      if (!fork->answered) finishWithoutSuccess(*fork, *req, stats_);  // nobody registered
      return;
    }
    fork->deadline = stack_.setTimer(stack_.now() + options_.branchTimeout, [this, fork, req](auto) {
      if (!fork->answered) finishWithoutSuccess(*fork, *req, stats_);
    });
  });
}

}  // namespace parley::messaging
