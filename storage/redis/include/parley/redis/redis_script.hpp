// A Lua script run by EVALSHA (docs/storage.md): the source goes by EVAL until
// SCRIPT LOAD has answered with its SHA1, and again after a NOSCRIPT (a Redis
// restart, SCRIPT FLUSH or failover emptied the script cache).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "parley/redis/redis_client.hpp"

namespace parley::redis {

class RedisScript {
 public:
  /// `source` must outlive the script (a string literal).
  explicit RedisScript(const char* source) : state_(std::make_shared<State>(source)) {}

  /// EVALSHA <sha> <keys.size()> keys... args...; `cb` gets the script's reply.
  void run(RedisClient& client, std::vector<std::string> keys, std::vector<std::string> args,
           RedisClient::Callback cb) const;

 private:
  struct State {
    explicit State(const char* s) : source(s) {}
    const char* source;
    std::string sha;  ///< "" until SCRIPT LOAD answered
    bool loading = false;
  };
  static void load(RedisClient& client, const std::shared_ptr<State>& state);
  std::shared_ptr<State> state_;  // shared with the callbacks in flight
};

}  // namespace parley::redis
