#include "parley/redis/redis_list_store.hpp"

#include <chrono>

namespace parley::redis::detail {

// GET returns false for an absent key, so "absent" and "" never compare equal;
// an encoded list is never "" (it starts with the format version). On a
// conflict the current value goes back ({false} arrives as [nil]).
const char* const kCompareAndSetScript = R"lua(
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return {cur} end
elseif cur ~= ARGV[2] then
  return {cur}
end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
elseif ARGV[4] == '0' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1
)lua";

std::string listKey(std::string_view prefix, std::string_view key, std::string_view kind) {
  std::string k;
  k.reserve(prefix.size() + key.size() + kind.size() + 3);
  k.append(prefix).append("{").append(key).append("}:").append(kind);
  return k;
}

std::int64_t ttlMillis(storage::WallTime latest, storage::WallTime now) {
  if (latest == storage::WallTime::max()) return 0;
  if (latest <= now) return 1;
  return std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(latest - now).count());
}

storage::StoreError unavailable(std::string message) {
  return storage::StoreError{storage::StoreError::Code::Unavailable, 503, std::move(message)};
}

storage::StoreError unavailable(RedisError e) { return unavailable("redis: " + std::string(toString(e))); }

storage::StoreError unexpectedReply(const RedisReply& r) {
  return unavailable("redis: " + (r.type == RedisReply::Type::Error ? r.str : std::string("unexpected reply")));
}

namespace {

void answer(tl::expected<RedisReply, RedisError> r, const CasDone& done) {
  if (!r) return done(tl::unexpected(unavailable(r.error())));
  if (r->type == RedisReply::Type::Integer && r->integer == 1) return done(CasOutcome{true, std::nullopt});
  if (r->type == RedisReply::Type::Array && r->elements.size() <= 1) {
    CasOutcome conflict;
    if (!r->elements.empty() && r->elements[0].type == RedisReply::Type::String)
      conflict.current = std::move(r->elements[0].str);
    else if (!r->elements.empty() && r->elements[0].type != RedisReply::Type::Nil)
      return done(tl::unexpected(unexpectedReply(r->elements[0])));
    return done(std::move(conflict));
  }
  done(tl::unexpected(unexpectedReply(*r)));
}

}  // namespace

void compareAndSet(RedisClient& client, const RedisScript& script, const std::string& key,
                   const std::optional<std::string>& old, std::string next, std::int64_t pxMillis, CasDone done) {
  script.run(client, {key}, {old ? "1" : "0", old.value_or(""), std::move(next), std::to_string(pxMillis)},
             [done = std::move(done)](auto r) { answer(std::move(r), done); });
}

}  // namespace parley::redis::detail
