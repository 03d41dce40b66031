// One hiredis async context at a time on the Asio loop, with everything
// hiredis 0.14.1 lacks: connect and command timeouts, the AUTH/SELECT
// handshake, reconnects with backoff. RedisClient and RedisSubscriber are thin
// faces of it (Role). Internal to parley_redis; hiredis stays in the .cpp.
//
// Lifetime: the faces own a shared_ptr; every asio handler holds one too, so
// the Connection outlives whatever is in flight. Each hiredis context has its
// own Io (connection.cpp) whose back-pointer to the Connection is cleared when
// the Connection lets go of it: hiredis callbacks that come later (the NULL
// replies of redisAsyncFree, a deferred free) find no owner and do nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/common.h>

#include "parley/redis/redis_client.hpp"

struct redisReply;

namespace parley::redis::detail {

struct Io;
struct Hooks;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class Role : std::uint8_t { Commands, PubSub };
  using Level = spdlog::level::level_enum;
  using Callback = RedisClient::Callback;
  using MessageHandler = RedisSubscriber::MessageHandler;

  Connection(boost::asio::io_context& ctx, RedisOptions options, std::shared_ptr<spdlog::logger> log, Role role);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  /// Drops the link, stops reconnecting; pending callbacks get Disconnected.
  void stop();
  /// The face is being destroyed: like stop(), but pending callbacks are
  /// dropped and no callback of any kind runs afterwards.
  void close();

  [[nodiscard]] bool up() const { return phase_ == Phase::Up; }
  void onStateChange(std::function<void(bool)> cb) { stateCb_ = std::move(cb); }
  [[nodiscard]] const RedisClient::Stats& stats() const { return stats_; }
  [[nodiscard]] std::size_t pending() const { return pending_.size(); }

  // Role::Commands
  void command(std::vector<std::string> argv, Callback cb);
  // Role::PubSub
  void subscribe(std::string channel, MessageHandler handler);
  void unsubscribe(const std::string& channel);

 private:
  friend struct Hooks;

  enum class Phase : std::uint8_t {
    Stopped,     ///< not started, or stop()/close() called
    Waiting,     ///< down; the retry timer will start the next attempt
    Connecting,  ///< TCP connect and handshake under way (connect timer running)
    Up,          ///< handshake done (and, for PubSub, the resubscription confirmed)
  };
  /// How hiredis routes the reply of a command we send.
  enum class Route : std::uint8_t { Regular, PubSub };

  /// A command awaiting its reply (for PubSub: a (UN)SUBSCRIBE awaiting its
  /// confirmation). Replies come in order, so the front is the oldest.
  struct Pending {
    Callback cb;
    std::chrono::steady_clock::time_point sent;
    std::chrono::steady_clock::time_point deadline;
    bool internal = false;  ///< ours (handshake, subscriptions): not in the user stats
  };

  void connect();
  void sendHandshake();
  void handshakeFailed(const std::string& step, std::string message);
  void handshakeDone();
  void becomeUp();
  /// The one teardown path of a live or connecting link: release the hiredis
  /// context, schedule a retry, announce the loss, fail what was pending.
  /// `event` names the log line; `level` is used when the failure is news.
  void lose(RedisError error, std::string_view event, const std::string& reason, Level level);
  void releaseIo();
  void scheduleRetry();
  /// Hands argv to hiredis and queues cb; false (cb untouched) if hiredis refused.
  bool issue(const std::vector<std::string>& argv, Route route, bool internal, Callback&& cb);
  void subscribeOnWire(const std::string& channel, Callback onConfirmed);
  void armCommandTimer();
  void checkDeadline();
  void refuseLater(Callback cb, RedisError error);
  void failAll(std::deque<Pending>& failed, RedisError error);

  // From the hiredis callbacks (Hooks, connection.cpp).
  void onReply(const redisReply& reply);
  void onPush(const redisReply& reply);
  void onLost(const std::string& reason);

  [[nodiscard]] const char* roleName() const { return role_ == Role::Commands ? "commands" : "pubsub"; }

  boost::asio::io_context& ctx_;
  const RedisOptions options_;
  const std::string url_;  ///< redacted: the only form of the endpoint that is logged
  std::shared_ptr<spdlog::logger> log_;
  const Role role_;

  Phase phase_ = Phase::Stopped;
  bool closed_ = false;
  bool handshaken_ = false;  ///< the current context passed AUTH/SELECT: subscriptions may go out
  bool everUp_ = false;
  std::uint64_t epoch_ = 0;  ///< bumped by stop(): stale retry timers do nothing
  unsigned failures_ = 0;    ///< failed attempts since the link was last up (backoff exponent)
  std::string lastFailure_;  ///< reason of the previous failed attempt: repeats are logged at debug
  std::shared_ptr<Io> io_;
  std::deque<Pending> pending_;
  std::function<void(bool)> stateCb_;
  std::map<std::string, std::shared_ptr<MessageHandler>, std::less<>> channels_;
  RedisClient::Stats stats_;

  boost::asio::steady_timer connectTimer_;
  boost::asio::steady_timer commandTimer_;  ///< one timer: the deadline of the oldest pending command
  bool commandTimerArmed_ = false;
  boost::asio::steady_timer retryTimer_;
  std::minstd_rand rng_;

  std::vector<const char*> argvScratch_;  ///< reused by issue(): no allocation per command
  std::vector<std::size_t> lenScratch_;
};

}  // namespace parley::redis::detail
