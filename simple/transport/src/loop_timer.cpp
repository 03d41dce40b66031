// LoopTimer: one steady_timer, re-armed to whatever deadline the pure timer
// structure reports next.
#include "parley/transport/loop_timer.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/logger.h>

namespace parley::transport {

// Shared with the pending wait's handler, so a completion that arrives after
// the LoopTimer is gone still finds live memory (and a null onDue).
struct LoopTimer::State {
  State(boost::asio::io_context& io, OnDue cb, std::shared_ptr<spdlog::logger> lg, bool l,
        Clock::duration g)
      : timer(io), onDue(std::move(cb)), log(std::move(lg)), lazy(l), granularity(g) {}
  boost::asio::steady_timer timer;
  OnDue onDue;
  std::shared_ptr<spdlog::logger> log;
  bool lazy;
  Clock::duration granularity;  // 0: exact
  std::optional<Clock::time_point> armed;
  // Bumped on every (re)schedule: a wait that already completed but whose
  // handler has not run yet cannot be cancelled, so its handler checks this.
  std::uint64_t generation = 0;
};

LoopTimer::LoopTimer(boost::asio::io_context& io, OnDue onDue, std::shared_ptr<spdlog::logger> log, bool lazy,
                     std::chrono::milliseconds granularity)
    : state_(std::make_shared<State>(io, std::move(onDue), std::move(log), lazy,
                                     std::max(granularity, std::chrono::milliseconds{0}))) {}

LoopTimer::~LoopTimer() {
  state_->onDue = nullptr;
  ++state_->generation;
  state_->timer.cancel();
}

void LoopTimer::schedule(std::optional<Clock::time_point> deadline) {
  State& s = *state_;
  if (deadline && s.granularity.count() > 0) {  // up to the end of its slot: never early
    const auto g = s.granularity.count();
    const auto t = deadline->time_since_epoch().count();
    const auto slotEnd = t >= 0 ? (t + g - 1) / g * g : t / g * g;
    deadline = Clock::time_point(Clock::duration(slotEnd));
  }
  if (deadline == s.armed) return;
  if (s.lazy && deadline && s.armed && *deadline > *s.armed) return;  // the earlier wake stays
  ++s.generation;
  s.armed = deadline;
  if (!deadline) {
    s.timer.cancel();
    return;
  }
  s.timer.expires_at(*deadline);  // cancels the previous wait
  s.timer.async_wait([st = state_, gen = s.generation](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted || gen != st->generation || !st->onDue) return;
    st->armed.reset();  // before the call: onDue usually schedules the next deadline
    try {
      st->onDue(Clock::now());
    } catch (const std::exception& e) {
      if (st->log) st->log->error("timer.callback_threw what={}", e.what());
    } catch (...) {
      if (st->log) st->log->error("timer.callback_threw what=unknown");
    }
  });
}

std::optional<LoopTimer::Clock::time_point> LoopTimer::deadline() const { return state_->armed; }

}  // namespace parley::transport
