// MESSAGE (RFC 3428) to users of the served domains: forked in parallel to every
// live binding of the Request-URI's address-of-record, acting as a stateful
// forking proxy (RFC 3261 §16) for this one method:
//   no user part → 404; body over the limit → 413; Max-Forwards 0 → 483;
//   no live binding → 480;
//   each branch: Request-URI = the contact, our Via on top (fresh branch),
//   Max-Forwards − 1, the binding's Path as Route, sent where the REGISTER came
//   from (the phone's NAT binding / TCP connection);
//   the first 2xx is relayed at once; otherwise, when every branch has ended,
//   the best final response (§16.7: a 6xx, else the lowest class) is relayed;
//   branches still unanswered after `branchTimeout` (< 64·T1, so the caller hears
//   from us before its own Timer F) end the fork with the best final so far, or
//   480 (never 408 to a non-INVITE, RFC 4320).
// A MESSAGE for a domain we do not serve (the XMPP domains the core lets
// through) goes to Options::foreign untouched, after the 413 / 483 checks.
//
// originate() sends a MESSAGE of our own (the XMPP bridge as UAC) to a served
// user through the same fork: every live binding, first 2xx wins, else the
// best final or 480; its outcome goes to a callback instead of a transaction.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/registrar/registrar.hpp"
#include "parley/sip/header_values.hpp"
#include "parley/simple/sip_stack.hpp"

namespace parley::messaging {

struct Options {
  std::size_t maxBodyBytes = 16384;  ///< larger bodies get 413
  std::chrono::milliseconds branchTimeout{30000};  ///< per fork, like Kamailio's fr_timer
  /// Our sent-by ("127.0.0.1:5060") as the next hop must see it (its transport
  /// and address family), for the Via we add.
  std::function<std::string(const sip::Peer& hop)> sentBy;
  /// Served SIP domains (lower-case). A MESSAGE whose Request-URI host is a DNS
  /// name not among them (case-insensitive) is foreign: it goes to `foreign`
  /// untouched, after the 413 / 483 checks; with no `foreign` handler it is
  /// answered 404 (483 at Max-Forwards 0), as the core did. An IP literal host
  /// is never foreign (the core lets only our own addresses through, and they
  /// serve users too), nor is any host while `domains` is empty.
  std::vector<std::string> domains{};
  std::function<void(simple::ServerTransaction, sip::Message&&)> foreign{};
};

namespace detail {
struct Fork;
}

class MessageRouter final : public simple::RequestHandler {
 public:
  MessageRouter(Options options, simple::SipStack& stack, registrar::Registrar& registrar);
  MessageRouter(const MessageRouter&) = delete;  // registered by address; OurVia views its own strings
  MessageRouter& operator=(const MessageRouter&) = delete;

  [[nodiscard]] simple::MethodRegistration registration();

  // simple::RequestHandler
  void handle(simple::ServerTransaction txn, sip::Message&& req) override;

  /// A MESSAGE we originate (RFC 3261 §8.1.1) to a served user.
  struct Outgoing {
    std::string from;          ///< From URI (e.g. "sip:bob@localhost;gr=phone"), written as <from>;tag=<fresh>
    std::string fromDisplay;   ///< optional display name (quoted when written)
    std::string to;            ///< the served user's AOR URI "sip:alice@sip.localhost" (To and the AOR looked up)
    std::string callId;        ///< empty → a fresh one
    std::uint32_t cseq = 1;
    std::string contentType = "text/plain;charset=UTF-8";  ///< empty → no Content-Type row
    std::string body;
    std::vector<std::pair<sip::HeaderId, std::string>> headers;  ///< extra rows (Subject, Content-Language ...)
  };
  /// Final outcome of an originated MESSAGE: the status code and reason of the
  /// first 2xx, or of the best final response (§16.7, as handle()), or 480 when
  /// the user has no live binding / every branch timed out, 503 when the
  /// registration store is down; 400 when `msg` cannot make a request (a From,
  /// To or Call-ID that does not parse, a row with CR/LF, a header the router
  /// writes itself), 404 when `to` has no user part, 413 when the body is over
  /// maxBodyBytes. Runs exactly once, later or before originate() returns.
  using OriginateDone = std::function<void(int code, std::string_view reason)>;
  void originate(Outgoing msg, OriginateDone done);

  /// The request originate() sends, before our Via (and the binding's Route)
  /// go on top for each branch: with a fresh From-tag, and a fresh Call-ID when
  /// msg.callId is empty. nullopt where originate() answers 400.
  [[nodiscard]] static std::optional<sip::Message> buildRequest(const Outgoing& msg);
  /// Its size on the wire without Via/Route (exact: the fresh tag and Call-ID
  /// have fixed lengths), for the RFC 3428 §8 1300-byte check; 0 when
  /// buildRequest() would fail.
  [[nodiscard]] static std::size_t estimatedSize(const Outgoing& msg);

  struct Stats {
    std::uint64_t forwarded = 0;   ///< branches sent
    std::uint64_t delivered = 0;   ///< requests answered with a relayed 2xx (or originated ones that got a 2xx)
    std::uint64_t unavailable = 0; ///< 480: no binding, or every branch failed to answer
  };
  [[nodiscard]] const Stats& stats() const { return stats_; }

  /// Our Via row for one transport around its branch value (head + branch +
  /// kTail), parsed once per sent-by value (which changes only with the
  /// listeners) from `probe`, the row with kProbeBranch, so that each branch
  /// request gets its typed top Via without parsing its own row.
  struct OurVia {
    static constexpr std::string_view kProbeBranch = "z9hG4bKprobe";
    static constexpr std::string_view kTail = ";rport";
    std::string sentBy;
    std::string head;                 ///< "SIP/2.0/UDP <sent-by>;branch="
    std::string probe;                ///< head + kProbeBranch + kTail
    std::optional<sip::Via> parsed;   ///< views into `probe`
  };

 private:
  /// nullptr when the configured sent-by does not make a valid Via.
  const OurVia* ourVia(const sip::Peer& hop);
  /// A Request-URI host we hand to Options::foreign.
  [[nodiscard]] bool isForeign(const sip::Uri& uri) const;
  /// Looks up `aor`'s bindings and sends one branch to each; the fork ends
  /// through its own completion (relay or callback).
  void startFork(std::shared_ptr<detail::Fork> fork, const std::string& aor);

  Options options_;
  simple::SipStack& stack_;
  registrar::Registrar& registrar_;
  Stats stats_;
  std::array<OurVia, 4> via_;  ///< UDP, TCP; then the same for IPv6 hops
};

}  // namespace parley::messaging
