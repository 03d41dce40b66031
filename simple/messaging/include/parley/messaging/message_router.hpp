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

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "parley/registrar/registrar.hpp"
#include "parley/simple/sip_stack.hpp"

namespace parley::messaging {

struct Options {
  std::size_t maxBodyBytes = 16384;  ///< larger bodies get 413
  std::chrono::milliseconds branchTimeout{30000};  ///< per fork, like Kamailio's fr_timer
  /// Our sent-by ("127.0.0.1:5060") for a transport, for the Via we add.
  std::function<std::string(sip::Transport)> sentBy;
};

class MessageRouter final : public simple::RequestHandler {
 public:
  MessageRouter(Options options, simple::SipStack& stack, registrar::Registrar& registrar);

  [[nodiscard]] simple::MethodRegistration registration();

  // simple::RequestHandler
  void handle(simple::ServerTransaction txn, sip::Message&& req) override;

  struct Stats {
    std::uint64_t forwarded = 0;   ///< branches sent
    std::uint64_t delivered = 0;   ///< requests answered with a relayed 2xx
    std::uint64_t unavailable = 0; ///< 480: no binding, or every branch failed to answer
  };
  [[nodiscard]] const Stats& stats() const { return stats_; }

 private:
  Options options_;
  simple::SipStack& stack_;
  registrar::Registrar& registrar_;
  Stats stats_;
};

}  // namespace parley::messaging
