#include "parley/redis/redis_client.hpp"

#include "connection.hpp"

namespace parley::redis {
using detail::Connection;

std::string_view toString(RedisError e) {
  switch (e) {
    case RedisError::Disconnected:
      return "disconnected";
    case RedisError::Timeout:
      return "timeout";
    case RedisError::Overloaded:
      return "overloaded";
  }
  return "unknown";
}

RedisClient::RedisClient(boost::asio::io_context& io, RedisOptions options, std::shared_ptr<spdlog::logger> log)
    : core_(std::make_shared<Connection>(io, std::move(options), std::move(log), Connection::Role::Commands)) {}

RedisClient::~RedisClient() { core_->close(); }

void RedisClient::start() { core_->start(); }
void RedisClient::stop() { core_->stop(); }
void RedisClient::command(std::vector<std::string> argv, Callback cb) { core_->command(std::move(argv), std::move(cb)); }
bool RedisClient::connected() const { return core_->up(); }
void RedisClient::onStateChange(std::function<void(bool up)> cb) { core_->onStateChange(std::move(cb)); }
RedisClient::Stats RedisClient::stats() const { return core_->stats(); }
std::size_t RedisClient::pending() const { return core_->pending(); }

RedisSubscriber::RedisSubscriber(boost::asio::io_context& io, RedisOptions options,
                                 std::shared_ptr<spdlog::logger> log)
    : core_(std::make_shared<Connection>(io, std::move(options), std::move(log), Connection::Role::PubSub)) {}

RedisSubscriber::~RedisSubscriber() { core_->close(); }

void RedisSubscriber::start() { core_->start(); }
void RedisSubscriber::stop() { core_->stop(); }
void RedisSubscriber::subscribe(std::string channel, MessageHandler handler) {
  core_->subscribe(std::move(channel), std::move(handler));
}
void RedisSubscriber::unsubscribe(const std::string& channel) { core_->unsubscribe(channel); }
bool RedisSubscriber::connected() const { return core_->up(); }
void RedisSubscriber::onStateChange(std::function<void(bool up)> cb) { core_->onStateChange(std::move(cb)); }
RedisClient::Stats RedisSubscriber::stats() const { return core_->stats(); }

}  // namespace parley::redis
