// Matching requests to server transactions (RFC 3261 §17.2.3), merged-request
// detection (§8.2.2.2) and CANCEL targets (§9.2).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "layer_impl.hpp"
#include "parley/sip/header_values.hpp"
#include "parley/sip/uri.hpp"

namespace parley::txn {

namespace detail {

namespace {
constexpr char kSep = '\x1f';  // cannot occur in a token, host or Call-ID

// ASCII only (hosts, tokens), whatever the locale; one resize, no libc call per character.
void appendLower(std::string& out, std::string_view s) {
  const std::size_t at = out.size();
  out.resize(at + s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    out[at + i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
}
}  // namespace

std::string_view methodToken(const sip::Message& req) {
  const auto& line = req.requestLine();
  return line.methodName.empty() ? sip::methodName(line.method) : line.methodName;
}

std::string branchKey(const sip::Via& via) {
  std::string key;
  key.reserve(via.branch.size() + via.host.size() + 8);
  key.append(via.branch);  // branch compares case-sensitively
  key.push_back(kSep);
  appendLower(key, via.host);
  key.push_back(':');
  key.append(std::to_string(via.port));
  return key;
}

std::string dialogKey(const sip::Message& req) {
  std::string key(req.callId());
  key.push_back(kSep);
  key.append(req.from().tag());
  key.push_back(kSep);
  key.append(std::to_string(req.cseq().number));
  return key;
}

std::string viaCanonical(const sip::Via& via) {
  std::string out;
  appendLower(out, via.protocol);
  out.push_back('/');
  appendLower(out, via.transport);
  out.push_back(' ');
  appendLower(out, via.host);
  out.push_back(':');
  out.append(std::to_string(via.port));
  std::vector<std::string> params;
  params.reserve(via.params.size());
  for (const auto& p : via.params) {
    std::string one;
    appendLower(one, p.name);
    if (p.hasValue) {
      one.push_back('=');
      one.append(p.value);
    }
    params.push_back(std::move(one));
  }
  std::sort(params.begin(), params.end());
  for (const auto& p : params) {
    out.push_back(';');
    out.append(p);
  }
  return out;
}

bool sameRequestUri(std::string_view a, std::string_view b) {
  if (a == b) {
    return true;
  }
  auto ua = sip::parseUri(a);
  auto ub = sip::parseUri(b);
  if (ua && ub && ua->isSip() && ub->isSip()) {
    return sip::equivalent(*ua, *ub);
  }
  return false;
}

std::optional<sip::Via> topViaOf(const sip::Message& msg) {
  if (!msg.topVia().host.empty()) {
    return msg.topVia();
  }
  auto rows = msg.list(sip::HeaderId::Via);
  if (rows.empty()) {
    return std::nullopt;
  }
  auto via = sip::parseVia(rows.front());
  if (!via) {
    return std::nullopt;
  }
  return *via;
}

std::string toTagOf(const sip::Message& msg) {
  if (!msg.to().uriText.empty()) {
    return std::string(msg.to().tag());
  }
  auto row = msg.header(sip::HeaderId::To);
  if (!row) {
    return {};
  }
  auto to = sip::parseNameAddr(*row);
  return to ? std::string(to->tag()) : std::string{};
}

std::string cseqMethodOf(const sip::Message& msg) {
  const auto& cseq = msg.cseq();
  if (!cseq.methodName.empty()) {
    return std::string(cseq.methodName);
  }
  if (cseq.method != sip::Method::Unknown) {
    return std::string(sip::methodName(cseq.method));
  }
  auto row = msg.header(sip::HeaderId::CSeq);
  if (!row) {
    return {};
  }
  auto parsed = sip::parseCSeq(*row);
  return parsed ? std::string(parsed->methodName) : std::string{};
}

void clientKeyInto(std::string& key, std::string_view branch, std::string_view method) {
  key.assign(branch);
  key.push_back(kSep);
  key.append(method);
}

std::string clientKey(std::string_view branch, std::string_view method) {
  std::string key;
  clientKeyInto(key, branch, method);
  return key;
}

}  // namespace detail

namespace {

// The legacy fields shared by every RFC 2543 comparison: Request-URI and top Via.
bool legacyUriAndViaMatch(const ServerTxn& txn, const sip::Message& req) {
  return detail::sameRequestUri(txn.old->requestUri, req.requestLine().uriText) &&
         txn.old->viaCanonical == detail::viaCanonical(req.topVia());
}

}  // namespace

// §17.2.3. RFC 3261 requests: branch + sent-by + method. RFC 2543 requests:
// Request-URI, To tag, From tag, Call-ID, CSeq (with method), top Via.
ServerTxn* TransactionLayer::Impl::matchRequest(const sip::Message& req, std::string_view branchKey,
                                                std::string_view dialogKey) {
  const std::string_view method = detail::methodToken(req);
  if (req.topVia().rfc3261Branch()) {
    auto [lo, hi] = byBranch_.equal_range(branchKey);
    for (auto it = lo; it != hi; ++it) {
      if (it->second->method == method) {
        return it->second;
      }
    }
    return nullptr;
  }
  auto [lo, hi] = byDialog_.equal_range(dialogKey);
  for (auto it = lo; it != hi; ++it) {
    ServerTxn& txn = *it->second;
    if (txn.legacy && txn.method == method && txn.old->toTag == req.to().tag() &&
        legacyUriAndViaMatch(txn, req)) {
      return &txn;
    }
  }
  return nullptr;
}

// §17.2.3: an ACK matches the INVITE transaction; for RFC 2543 peers its To tag
// must equal the one in the response we sent.
ServerTxn* TransactionLayer::Impl::matchAck(const sip::Message& ack) {
  if (ack.topVia().rfc3261Branch()) {
    auto [lo, hi] = byBranch_.equal_range(detail::branchKey(ack.topVia()));
    for (auto it = lo; it != hi; ++it) {
      if (it->second->invite) {
        return it->second;
      }
    }
    return nullptr;
  }
  auto [lo, hi] = byDialog_.equal_range(detail::dialogKey(ack));
  for (auto it = lo; it != hi; ++it) {
    ServerTxn& txn = *it->second;
    if (txn.legacy && txn.invite && !txn.old->responseToTag.empty() &&
        txn.old->responseToTag == ack.to().tag() && legacyUriAndViaMatch(txn, ack)) {
      return &txn;
    }
  }
  return nullptr;
}

// §8.2.2.2: only requests without a To tag; same From tag, Call-ID and CSeq
// (number and method) as a live transaction the request did not match.
bool TransactionLayer::Impl::isMerged(const sip::Message& req, std::string_view dialogKey) const {
  if (!req.to().tag().empty()) {
    return false;
  }
  const std::string_view method = detail::methodToken(req);
  auto [lo, hi] = byDialog_.equal_range(dialogKey);
  for (auto it = lo; it != hi; ++it) {
    if (it->second->method == method) {
      return true;
    }
  }
  return false;
}

// §9.2: the §17.2.3 rules with the method taken as "anything but CANCEL or ACK".
std::optional<TransactionLayer::CancelTarget> TransactionLayer::Impl::findCancelTarget(
    const sip::Message& cancel) const {
  auto eligible = [](const ServerTxn& txn) {
    return txn.method != "CANCEL" && txn.method != "ACK";
  };
  const ServerTxn* found = nullptr;
  if (cancel.topVia().rfc3261Branch()) {
    auto [lo, hi] = byBranch_.equal_range(detail::branchKey(cancel.topVia()));
    for (auto it = lo; it != hi && found == nullptr; ++it) {
      const ServerTxn& txn = *it->second;
      if (eligible(txn)) {
        found = &txn;
      }
    }
  } else {
    auto [lo, hi] = byDialog_.equal_range(detail::dialogKey(cancel));
    for (auto it = lo; it != hi && found == nullptr; ++it) {
      const ServerTxn& txn = *it->second;
      if (txn.legacy && eligible(txn) && txn.old->toTag == cancel.to().tag() &&
          legacyUriAndViaMatch(txn, cancel)) {
        found = &txn;
      }
    }
  }
  if (found == nullptr) {
    return std::nullopt;
  }
  CancelTarget target;
  target.id = found->id;
  target.invite = found->invite;
  target.pendingInvite = found->invite && found->state == ServerState::Proceeding;
  return target;
}

void TransactionLayer::Impl::indexServer(ServerTxn& txn) {
  if (!txn.legacy) {
    byBranch_.emplace(txn.branchKey, &txn);
  }
  byDialog_.emplace(txn.dialogKey, &txn);
}

namespace {
template <class Index>
void eraseEntry(Index& index, std::string_view key, const ServerTxn* txn) {
  auto [lo, hi] = index.equal_range(key);
  for (auto it = lo; it != hi; ++it) {
    if (it->second == txn) {
      index.erase(it);
      return;
    }
  }
}
}  // namespace

void TransactionLayer::Impl::unindexServer(const ServerTxn& txn) {
  if (!txn.legacy) {
    eraseEntry(byBranch_, txn.branchKey, &txn);
  }
  eraseEntry(byDialog_, txn.dialogKey, &txn);
}

}  // namespace parley::txn
