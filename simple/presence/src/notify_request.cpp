// Building a NOTIFY inside a subscription dialog (RFC 3261 §12.2.1.1, RFC 6665
// §4.2.2) and choosing where it goes.
#include "notify_request.hpp"

#include <charconv>

#include "parley/sip/header_values.hpp"
#include "parley/sip/random.hpp"

namespace parley::presence::detail {
using sip::HeaderId;

namespace {

std::string_view eventName(std::string_view resource) { return resource.substr(0, resource.find(' ')); }

}  // namespace

std::string contactFor(std::string_view sentBy, sip::Transport transport) {
  std::string c = "<sip:";
  c.append(sentBy).append(transport == sip::Transport::Tcp ? ";transport=tcp>" : ">");
  return c;
}

std::optional<sip::Peer> nextHop(const storage::Subscription& sub) {
  auto source = sip::parsePeer(sub.source);
  // RFC 3261 §12.2.1.1 with a loose-routing route set: the first Route is the
  // next hop. We resolve no names, so a route naming a host goes back where
  // the SUBSCRIBE came from; so does a dialog without routes (symmetric
  // routing, as RFC 3581/5626 expect of NATed phones).
  if (!sub.routeSet.empty() && source)
    if (auto hop = sip::routeHop(sub.routeSet.front(), source->transport)) return hop;
  return source;
}

std::optional<sip::Message> buildNotify(const storage::Subscription& sub, const NotifyBody& body,
                                        std::string_view subscriptionState, sip::Transport transport,
                                        std::string_view sentBy) {
  auto target = sip::parseUri(sub.remoteTarget);
  if (!target) return std::nullopt;
  sip::Message m = sip::Message::request(sip::Method::Notify, "NOTIFY", *target);

  std::string row;
  row.reserve(160);
  row.append(transport == sip::Transport::Tcp ? "SIP/2.0/TCP " : "SIP/2.0/UDP ")
      .append(sentBy)
      .append(";branch=")
      .append(sip::newBranch())
      .append(";rport");
  m.addHeader(HeaderId::Via, row);
  m.addHeader(HeaderId::MaxForwards, "70");
  row.assign(sub.localUri).append(";tag=").append(sub.localTag);
  m.addHeader(HeaderId::From, row);
  m.addHeader(HeaderId::To, sub.remoteUri);
  m.addHeader(HeaderId::CallId, sub.callId);
  char cseq[16];
  auto [end, ec] = std::to_chars(cseq, cseq + sizeof cseq, sub.localCSeq);
  row.assign(cseq, end).append(" NOTIFY");
  m.addHeader(HeaderId::CSeq, row);
  for (const auto& route : sub.routeSet) m.addHeader(HeaderId::Route, route);
  m.addHeader(HeaderId::Contact, contactFor(sentBy, transport));
  row.assign(eventName(sub.resource));
  if (!sub.eventId.empty()) row.append(";id=").append(sub.eventId);
  m.addHeader(HeaderId::Event, row);
  m.addHeader(HeaderId::SubscriptionState, subscriptionState);
  if (body.contentType.empty()) return m;  // pending / rejected: no body (RFC 6665 §4.2.1.2)
  m.addHeader(HeaderId::ContentType, body.contentType);
  if (body.versionAt == std::string::npos) {
    m.setBody(body.text);
  } else {  // dialog-info: this subscription's own version (RFC 4235 §4.1)
    std::string text;
    text.reserve(body.text.size() + 10);
    auto [vend, vec] = std::to_chars(cseq, cseq + sizeof cseq, sub.localCSeq - 1);
    text.append(body.text, 0, body.versionAt).append(cseq, vend).append(body.text, body.versionAt + 1);
    m.setBody(text);
  }
  return m;
}

}  // namespace parley::presence::detail
