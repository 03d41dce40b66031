#include "parley/redis/redis_script.hpp"

namespace parley::redis {

void RedisScript::load(RedisClient& client, const std::shared_ptr<State>& state) {
  if (state->loading) return;
  state->loading = true;
  client.command({"SCRIPT", "LOAD", state->source}, [state](tl::expected<RedisReply, RedisError> r) {
    state->loading = false;
    if (r && r->type == RedisReply::Type::String) state->sha = std::move(r->str);
  });
}

void RedisScript::run(RedisClient& client, std::vector<std::string> keys, std::vector<std::string> args,
                      RedisClient::Callback cb) const {
  std::vector<std::string> tail;
  tail.reserve(1 + keys.size() + args.size());
  tail.push_back(std::to_string(keys.size()));
  for (auto& k : keys) tail.push_back(std::move(k));
  for (auto& a : args) tail.push_back(std::move(a));
  auto withHead = [](std::string a, std::string b, const std::vector<std::string>& rest) {
    std::vector<std::string> argv;
    argv.reserve(2 + rest.size());
    argv.push_back(std::move(a));
    argv.push_back(std::move(b));
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
  };
  const auto& state = state_;
  if (state->sha.empty()) {
    load(client, state);
    return client.command(withHead("EVAL", state->source, tail), std::move(cb));
  }
  auto argv = withHead("EVALSHA", state->sha, tail);  // before `tail` moves into the callback
  client.command(std::move(argv),
                 [&client, state, tail = std::move(tail), withHead, cb = std::move(cb)](auto r) mutable {
                   // The script cache is gone (restart, SCRIPT FLUSH, failover): send it whole.
                   if (r && r->type == RedisReply::Type::Error && r->str.rfind("NOSCRIPT", 0) == 0) {
                     state->sha.clear();
                     load(client, state);
                     return client.command(withHead("EVAL", state->source, tail), std::move(cb));
                   }
                   cb(std::move(r));
                 });
}

}  // namespace parley::redis
