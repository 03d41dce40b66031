// The Redis client of Parley: hiredis 0.14.1 driven by the one Boost.Asio
// loop, never blocking it. docs/storage.md has the design.
//
//   RedisClient      one connection; commands pipelined, replies in order.
//   RedisSubscriber  the dedicated pub/sub connection (only SUBSCRIBE and
//                    UNSUBSCRIBE are ever sent on it).
//
// Both connect asynchronously, send AUTH (and SELECT) first, and reconnect
// forever with capped exponential backoff and jitter. hiredis has no timeouts,
// so ours are asio timers: a connect timeout covering TCP connect and the
// AUTH/SELECT handshake, and a deadline per command. A command that misses its
// deadline means the link is broken: every pending command fails with Timeout,
// the connection is dropped and re-established.
//
// Everything runs on the io_context's thread; no method may be called from
// another thread. Callbacks run later from the loop, never from inside the call
// that issued the command (list_store.hpp's contract allows either).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <tl/expected.hpp>

#include "parley/redis/redis_url.hpp"

namespace spdlog {
class logger;
}

namespace parley::redis {

namespace detail {
class Connection;
}

/// An owned copy of a hiredis reply (hiredis frees its own after the callback).
/// An error reply (-ERR, -WRONGTYPE, ...) is a reply: type Error, text in str.
struct RedisReply {
  enum class Type : std::uint8_t { Nil, Status, Error, Integer, String, Array };
  Type type = Type::Nil;
  std::int64_t integer = 0;           ///< Integer
  std::string str;                    ///< Status, Error, String (binary-safe)
  std::vector<RedisReply> elements;   ///< Array
};

/// Why a command got no reply.
enum class RedisError : std::uint8_t {
  Disconnected,  ///< the link was down when the command was issued, was lost before the reply, or stop() was called
  Timeout,       ///< no reply within commandTimeout; the link was dropped and is being re-established
  Overloaded,    ///< maxPending commands were already waiting for replies; nothing was sent
};
[[nodiscard]] std::string_view toString(RedisError e);

struct RedisOptions {
  RedisEndpoint endpoint;
  std::chrono::milliseconds connectTimeout{2000};  ///< TCP connect + AUTH/SELECT (+ resubscribe)
  std::chrono::milliseconds commandTimeout{1000};  ///< per command, from command() to its reply
  std::chrono::milliseconds reconnectMin{100};     ///< first retry delay; doubles per failed attempt
  std::chrono::milliseconds reconnectMax{5000};    ///< cap of the retry delay (jitter: [delay/2, delay])
  std::size_t maxPending = 100000;                 ///< commands awaiting replies before Overloaded
};

class RedisClient {
 public:
  using Callback = std::function<void(tl::expected<RedisReply, RedisError>)>;

  struct Stats {
    std::uint64_t commands = 0;         ///< commands sent
    std::uint64_t replies = 0;          ///< replies received (error replies included)
    std::uint64_t timeouts = 0;         ///< commands failed with Timeout
    std::uint64_t disconnected = 0;     ///< commands failed with Disconnected
    std::uint64_t overloaded = 0;       ///< commands refused with Overloaded
    std::uint64_t reconnects = 0;       ///< times the link came back up after having been up
    std::uint64_t connectFailures = 0;  ///< attempts that failed: refused, timed out, AUTH/SELECT error
    std::uint64_t messages = 0;         ///< pub/sub messages delivered (RedisSubscriber only)
    double lastLatencyMs = 0;           ///< command() to reply, for the latest reply
  };

  /// `log` may be null (nothing is logged). The password is never logged.
  RedisClient(boost::asio::io_context& io, RedisOptions options, std::shared_ptr<spdlog::logger> log);
  /// Frees the hiredis context. Callbacks of pending commands are dropped, not
  /// called (they may refer to objects being destroyed with the client); call
  /// stop() first to have each of them answered with Disconnected.
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Connects (asynchronously); AUTH and SELECT first when configured; then
  /// reconnects on every loss until stop(). An endpoint that fails
  /// checkEndpoint() is logged and never connected.
  void start();
  /// Drops the connection and stops reconnecting. Pending commands get
  /// Disconnected before stop() returns; onStateChange is not called.
  void stop();

  /// Sends argv (binary-safe: each element may hold any bytes) pipelined
  /// behind the commands already in flight; `cb` gets the reply, in order.
  /// While the link is not up: Disconnected at once (on the next loop turn);
  /// with maxPending commands in flight: Overloaded. Pub/sub and MONITOR
  /// commands would desynchronise the reply order and are answered with an
  /// Error reply without being sent (use RedisSubscriber), as is an empty argv.
  void command(std::vector<std::string> argv, Callback cb);

  /// True after the handshake (AUTH/SELECT) succeeded and until the link is lost.
  [[nodiscard]] bool connected() const;
  /// Called with true when the link comes up (after AUTH/SELECT succeeded) and
  /// with false when it is lost (before the pending commands are failed).
  void onStateChange(std::function<void(bool up)> cb);

  [[nodiscard]] Stats stats() const;
  [[nodiscard]] std::size_t pending() const;  ///< commands awaiting replies

 private:
  std::shared_ptr<detail::Connection> core_;
};

class RedisSubscriber {
 public:
  using MessageHandler = std::function<void(std::string_view channel, std::string_view message)>;

  /// options.endpoint.db is ignored: pub/sub channels are not per database.
  RedisSubscriber(boost::asio::io_context& io, RedisOptions options, std::shared_ptr<spdlog::logger> log);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  void start();
  void stop();

  /// Delivers every message PUBLISHed on `channel` (exact name, binary-safe)
  /// to `handler`, from now on and after every reconnect (everything is
  /// re-subscribed). Subscribing again replaces the handler. Messages
  /// published while the link was down are lost (Redis pub/sub keeps none).
  void subscribe(std::string channel, MessageHandler handler);
  void unsubscribe(const std::string& channel);

  /// True once the handshake succeeded and every channel subscribed at that
  /// time was confirmed by Redis, until the link is lost.
  [[nodiscard]] bool connected() const;
  /// Up as for connected(); down on loss (the messages of the gap are lost).
  void onStateChange(std::function<void(bool up)> cb);

  [[nodiscard]] RedisClient::Stats stats() const;  ///< commands = (UN)SUBSCRIBEs; replies = their confirmations

 private:
  std::shared_ptr<detail::Connection> core_;
};

}  // namespace parley::redis
