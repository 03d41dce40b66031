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
// MESSAGE to a domain Parley does not serve never gets here: the core answers
// 404 (the XMPP bridge routes those later).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

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
};

class MessageRouter final : public simple::RequestHandler {
 public:
  MessageRouter(Options options, simple::SipStack& stack, registrar::Registrar& registrar);
  MessageRouter(const MessageRouter&) = delete;  // registered by address; OurVia views its own strings
  MessageRouter& operator=(const MessageRouter&) = delete;

  [[nodiscard]] simple::MethodRegistration registration();

  // simple::RequestHandler
  void handle(simple::ServerTransaction txn, sip::Message&& req) override;

  struct Stats {
    std::uint64_t forwarded = 0;   ///< branches sent
    std::uint64_t delivered = 0;   ///< requests answered with a relayed 2xx
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

  Options options_;
  simple::SipStack& stack_;
  registrar::Registrar& registrar_;
  Stats stats_;
  std::array<OurVia, 4> via_;  ///< UDP, TCP; then the same for IPv6 hops
};

}  // namespace parley::messaging
