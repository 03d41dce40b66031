// What the RedisListStore live tests share: a redis-server per test, clients on
// one io_context the test drives, every wait bounded.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "parley/redis/redis_client.hpp"
#include "redis_server.hpp"

namespace parley::redis::test_support {

class LiveRedis {
 public:
  LiveRedis() = default;
  ~LiveRedis() {
    for (auto& c : clients_) c->stop();
  }
  LiveRedis(const LiveRedis&) = delete;
  LiveRedis& operator=(const LiveRedis&) = delete;

  /// Starts the server: "" or why not.
  std::string startServer() {
    server_ = std::make_unique<RedisServer>(freePort(), std::vector<std::string>{});
    return server_->start();
  }

  [[nodiscard]] RedisOptions options() const {
    RedisOptions o;
    o.endpoint.host = "127.0.0.1";
    o.endpoint.port = server_ ? server_->port() : 1;
    o.connectTimeout = std::chrono::milliseconds(1000);
    o.commandTimeout = std::chrono::milliseconds(2000);
    o.reconnectMin = std::chrono::milliseconds(20);
    o.reconnectMax = std::chrono::milliseconds(200);
    return o;
  }

  /// A started client; nullptr if it did not connect within the limit.
  RedisClient* connect() {
    clients_.push_back(std::make_unique<RedisClient>(io_, options(), nullptr));
    RedisClient& c = *clients_.back();
    c.start();
    return runUntil([&] { return c.connected(); }) ? &c : nullptr;
  }

  /// Runs the loop until done() or the limit; false on the limit.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    for (const auto deadline = Clock::now() + limit; !done();) {
      if (Clock::now() >= deadline) return false;
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  /// One command, waited for; Disconnected if no answer within the limit.
  tl::expected<RedisReply, RedisError> call(RedisClient& c, std::vector<std::string> argv) {
    std::optional<tl::expected<RedisReply, RedisError>> got;
    c.command(std::move(argv), [&](tl::expected<RedisReply, RedisError> r) { got = std::move(r); });
    if (!runUntil([&] { return got.has_value(); })) return tl::unexpected(RedisError::Disconnected);
    return *got;
  }

  boost::asio::io_context& io() { return io_; }
  RedisServer& server() { return *server_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
  std::unique_ptr<RedisServer> server_;
  std::vector<std::unique_ptr<RedisClient>> clients_;  // destroyed before the server stops
};

}  // namespace parley::redis::test_support
