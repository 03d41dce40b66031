// One asio::steady_timer driving a pure timer structure (the transaction
// layer's timer heap). The pure side owns every deadline; this class only
// wakes the loop at the earliest one. Typical use:
//
//   LoopTimer timer(io, [&](auto now) { heap.fireDue(now); timer.schedule(heap.next()); });
//   timer.schedule(heap.next());   // after every change to the heap
//
// Single-threaded like Transports: call it on the io_context's thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace boost::asio {
class io_context;
}  // namespace boost::asio
namespace spdlog {
class logger;
}  // namespace spdlog

namespace parley::transport {

class LoopTimer {
 public:
  using Clock = std::chrono::steady_clock;
  /// Called once per armed deadline, when it has passed, with the current time.
  /// It may call schedule(). It must not throw (an exception is caught and
  /// logged to `log` if given).
  using OnDue = std::function<void(Clock::time_point now)>;

  /// `lazy`: a deadline later than the one armed keeps the armed wait, so
  /// onDue may run before anything is due (it then schedules the next
  /// deadline, as always). Re-arming costs a system call (timerfd_settime):
  /// under load the earliest deadline moves later with nearly every answered
  /// transaction, which a lazy timer turns into one early wake per armed
  /// deadline (docs/performance.md, "Timer re-arms").
  ///
  /// `granularity` (0: exact): every deadline is rounded up to a multiple of it, so deadlines
  /// that fall in one slot share one wake. With thousands of transactions a second, each with
  /// its own retransmit and linger deadlines, a lazy timer alone still woke (and re-armed) once
  /// per distinct deadline; slots bound that to 1/granularity wakes a second. onDue then runs
  /// up to `granularity` late, never early.
  LoopTimer(boost::asio::io_context& io, OnDue onDue, std::shared_ptr<spdlog::logger> log = nullptr,
            bool lazy = false, std::chrono::milliseconds granularity = std::chrono::milliseconds{0});
  /// Cancels the wait; onDue is never called after destruction.
  ~LoopTimer();
  LoopTimer(const LoopTimer&) = delete;
  LoopTimer& operator=(const LoopTimer&) = delete;

  /// Arms the timer for `deadline` (earlier or later than the current one;
  /// a deadline in the past fires on the next loop turn), or disarms it with
  /// std::nullopt. Scheduling the deadline already armed (after rounding to the
  /// granularity) is a no-op; so is a later one on a lazy timer.
  void schedule(std::optional<Clock::time_point> deadline);

  /// The deadline currently armed, if any.
  [[nodiscard]] std::optional<Clock::time_point> deadline() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace parley::transport
