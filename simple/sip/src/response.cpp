#include "parley/sip/response.hpp"

#include <charconv>
#include <string>

#include "grammar.hpp"

namespace parley::sip {

std::string_view reasonPhrase(int code) {
  switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 412: return "Conditional Request Failed";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 489: return "Bad Event";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 603: return "Decline";
    default: break;
  }
  if (code < 200) return "Trying";
  if (code < 300) return "OK";
  if (code < 400) return "Redirect";
  if (code < 500) return "Client Error";
  if (code < 600) return "Server Error";
  return "Global Failure";
}

namespace {

// The top Via element with received/rport filled in for `source` (RFC 3261
// §18.2.1, RFC 3581 §4), or empty when nothing needs to change.
std::string stampVia(const Via& via, std::string_view element, const Peer& source) {
  std::string host(via.host);
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  const bool needReceived = (host != source.address || via.hasRport) && !via.received;
  const bool needRport = via.hasRport && !via.rport;
  if (!needReceived && !needRport) return {};
  std::string out;
  out.reserve(element.size() + 48);
  // Rebuild the parameter list in order, giving rport its value.
  const std::size_t firstSemi = element.find(';');
  out.append(grammar::trim(element.substr(0, firstSemi)));
  for (const auto& p : via.params) {
    out.push_back(';');
    out.append(p.name);
    if (iequals(p.name, "rport") && !p.hasValue) {
      char buf[8];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, source.port);
      out.push_back('=');
      out.append(buf, end);
    } else if (p.hasValue) {
      out.push_back('=');
      out.append(p.value);
    }
  }
  if (needReceived) {
    out.append(";received=");
    out.append(source.address);
  }
  return out;
}

}  // namespace

std::string stampTopViaRow(std::string_view row, const Via& topVia, const Peer& source) {
  const std::string_view first = firstListElement(row);
  std::string stamped = stampVia(topVia, first, source);
  if (stamped.empty()) return std::string(row);
  const std::size_t restAt = static_cast<std::size_t>(first.data() - row.data()) + first.size();
  stamped.append(row.substr(restAt));
  return stamped;
}

Message makeResponse(const Message& req, int code, std::string_view reason, std::string_view toTag,
                     const Peer* source) {
  Message resp = Message::response(code, reason.empty() ? reasonPhrase(code) : reason);
  bool firstVia = true;
  for (const auto& h : req.headers()) {
    switch (h.id) {
      case HeaderId::Via:
        if (firstVia && source != nullptr) {
          firstVia = false;
          resp.addHeader(HeaderId::Via, stampTopViaRow(h.value, req.topVia(), *source));
          break;
        }
        firstVia = false;
        resp.addHeader(HeaderId::Via, h.value);
        break;
      case HeaderId::From:
      case HeaderId::CallId:
      case HeaderId::CSeq:
        resp.addHeader(h.id, h.value);
        break;
      case HeaderId::To:
        if (code > 100 && !toTag.empty() && req.to().tag().empty()) {
          std::string to(h.value);
          to.append(";tag=");
          to.append(toTag);
          resp.addHeader(HeaderId::To, to);
        } else {
          resp.addHeader(HeaderId::To, h.value);
        }
        break;
      default:
        break;
    }
  }
  // Typed values must view the response's own storage, not the request's.
  if (auto v = resp.header(HeaderId::Via))
    if (auto via = parseVia(firstListElement(*v))) resp.setTopVia(*via);
  if (auto v = resp.header(HeaderId::From))
    if (auto from = parseNameAddr(*v)) resp.setFrom(*from);
  if (auto v = resp.header(HeaderId::To))
    if (auto to = parseNameAddr(*v)) resp.setTo(*to);
  if (auto v = resp.header(HeaderId::CallId)) resp.setCallId(*v);
  if (auto v = resp.header(HeaderId::CSeq))
    if (auto cseq = parseCSeq(*v)) resp.setCSeq(*cseq);
  return resp;
}

}  // namespace parley::sip
