#include "parley/redis/redis_subscription_store.hpp"

#include <vector>

namespace parley::redis {
using storage::StoreError;
using storage::Subscription;
using storage::WallTime;

namespace {

// KEYS[1] an index; ARGV: member, score in ms ("" removes it), now in ms,
// grace in ms. Trims the lapsed members and lets the key expire with its
// last one, kGrace later.
const char* const kIndexScript = R"lua(
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]) + tonumber(ARGV[4]))
end
return 1
)lua";

std::int64_t millis(WallTime t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string tagged(std::string_view prefix, std::string_view tag, std::string_view kind) {
  std::string k;
  k.reserve(prefix.size() + tag.size() + kind.size() + 3);
  k.append(prefix).append("{").append(tag).append("}:").append(kind);
  return k;
}

/// What one update saw and made, across the closure's runs: the last run is the one stored.
struct Seen {
  std::optional<WallTime> before;  ///< the stored record's expiry (nullopt: none)
  std::optional<Subscription> after;
};

}  // namespace

RedisSubscriptionStore::Core::Core(RedisClient& c, std::string p, std::string n)
    : client(c), prefix(std::move(p)), node(std::move(n)), indexScript(kIndexScript) {}

RedisSubscriptionStore::RedisSubscriptionStore(RedisClient& client, std::string keyPrefix, std::string nodeId)
    : records_(client, keyPrefix, "sub", RedisListOptions{kGrace, true}),
      core_(std::make_shared<Core>(client, std::move(keyPrefix), std::move(nodeId))) {}

std::string RedisSubscriptionStore::resourceKey(std::string_view resource) const {
  return tagged(core_->prefix, resource, "watchers");
}
std::string RedisSubscriptionStore::watcherKey(std::string_view aor) const {
  return tagged(core_->prefix, aor, "watching");
}
std::string RedisSubscriptionStore::nodeKey() const {
  return tagged(core_->prefix, "node:" + core_->node, "subs");
}

namespace {
/// Equal but for localCSeq.
bool sameButCSeq(const Subscription& a, Subscription b) {
  b.localCSeq = a.localCSeq;
  return a == b;
}
constexpr std::size_t kMaxLeases = std::size_t{1} << 20;  // past this, forget them all (each write makes one again)
}  // namespace

bool RedisSubscriptionStore::updateWithinLease(const std::string& id, WallTime now, const Change& change, Found& done) {
  auto lease = core_->leases.find(id);
  if (lease == core_->leases.end() || records_.busy(id)) return false;
  auto known = records_.rememberedList(id);
  if (!known || known->size() != 1 || known->front().localCSeq != lease->second.ceiling ||
      known->front().expires <= now)
    return false;
  Subscription view = std::move(known->front());
  view.localCSeq = lease->second.used;
  Subscription given = view;  // the closure may move from its copy; `view` is compared below
  auto next = change(&given);
  if (!next || !sameButCSeq(*next, view) || next->localCSeq <= view.localCSeq ||
      next->localCSeq > lease->second.ceiling)
    return false;  // more than a CSeq moved: a real write (the closure runs again then)
  lease->second.used = next->localCSeq;
  done(std::move(*next));
  return true;
}

void RedisSubscriptionStore::update(const std::string& id, WallTime now, Change change, Found done) {
  if (updateWithinLease(id, now, change, done)) return;
  auto seen = std::make_shared<Seen>();
  std::weak_ptr<Core> weak = core_;
  auto closure = [change = std::move(change), seen, now, weak, id](const std::vector<Subscription>& live)
      -> tl::expected<std::vector<Subscription>, StoreError> {
    const Subscription* current = live.empty() ? nullptr : &live.front();
    seen->before = current != nullptr ? std::optional(current->expires) : std::nullopt;
    // The record as this store left it: its CSeq is the one in use, not the stored ceiling.
    std::optional<Subscription> view;
    if (auto core = weak.lock(); core && current != nullptr) {
      if (const auto used = core->cseqInUse(id, current->localCSeq)) {
        view = *current;
        view->localCSeq = *used;
        current = &*view;
      }
    }
    std::optional<Subscription> given;  // the closure's own copy (it may move from it)
    if (current != nullptr) given = view ? std::move(*view) : *current;
    auto next = change(given ? &*given : nullptr);
    if (!next) return tl::unexpected(std::move(next.error()));
    seen->after = *next;
    if (next->expires <= now) return std::vector<Subscription>{};  // removed; `done` still gets it
    Subscription stored = std::move(*next);
    stored.localCSeq += kCSeqLease;
    return std::vector<Subscription>{std::move(stored)};
  };
  records_.update(id, now, std::move(closure),
                  [weak, id, now, seen, done = std::move(done)](tl::expected<std::vector<Subscription>, StoreError> r) {
                    auto core = weak.lock();
                    if (!core) return;
                    if (!r) {
                      // Unavailable: written or not, unknown; Redis's CSeq is safe to go on from.
                      if (r.error().code == StoreError::Code::Unavailable) core->leases.erase(id);
                      return done(tl::unexpected(std::move(r.error())));
                    }
                    const Subscription& sub = *seen->after;
                    if (r->empty()) {
                      core->leases.erase(id);
                    } else {
                      if (core->leases.size() >= kMaxLeases && !core->leases.contains(id)) core->leases.clear();
                      auto& lease = core->leases[id];
                      lease.used = std::max(lease.used, sub.localCSeq);
                      lease.ceiling = r->front().localCSeq;
                    }
                    // Only the expiry is indexed: a NOTIFY's CSeq needs no index write,
                    // and a fetch (never stored) none at all.
                    if (seen->before == sub.expires || (!seen->before && sub.expires <= now))
                      return done(std::move(*seen->after));
                    reindex(core, id, sub, now, [seen, done](std::optional<StoreError> e) {
                      if (e) return done(tl::unexpected(std::move(*e)));
                      done(std::move(*seen->after));
                    });
                  });
}

void RedisSubscriptionStore::reindex(const std::shared_ptr<Core>& core, const std::string& id, const Subscription& sub,
                                     WallTime now, std::function<void(std::optional<StoreError>)> done) {
  const std::string score = sub.expires > now ? std::to_string(millis(sub.expires)) : std::string();
  const std::string keys[] = {tagged(core->prefix, sub.resource, "watchers"),
                              tagged(core->prefix, sub.watcher, "watching"),
                              tagged(core->prefix, "node:" + core->node, "subs")};
  // Pipelined: the three replies arrive in order, so the last one answers.
  auto firstError = std::make_shared<std::optional<StoreError>>();
  for (std::size_t i = 0; i < std::size(keys); ++i) {
    const bool last = i + 1 == std::size(keys);
    core->indexScript.run(
        core->client, {keys[i]},
        {id, score, std::to_string(millis(now)), std::to_string(kGrace.count())},
        [firstError, last, done = last ? std::move(done) : nullptr](tl::expected<RedisReply, RedisError> r) {
          if (!*firstError) {
            if (!r) *firstError = detail::unavailable(r.error());
            else if (r->type == RedisReply::Type::Error) *firstError = detail::unexpectedReply(*r);
          }
          if (last) done(*firstError);
        });
  }
}

void RedisSubscriptionStore::members(const std::string& key, WallTime now, Ids done) {
  std::weak_ptr<Core> weak = core_;
  core_->client.command(
      {"ZRANGEBYSCORE", key, "(" + std::to_string(millis(now)), "+inf"},
      [weak, done = std::move(done)](tl::expected<RedisReply, RedisError> r) {
        if (!weak.lock()) return;
        if (!r) return done(tl::unexpected(detail::unavailable(r.error())));
        if (r->type != RedisReply::Type::Array) return done(tl::unexpected(detail::unexpectedReply(*r)));
        std::vector<std::string> ids;
        ids.reserve(r->elements.size());
        for (auto& e : r->elements) {
          if (e.type != RedisReply::Type::String) return done(tl::unexpected(detail::unexpectedReply(e)));
          ids.push_back(std::move(e.str));
        }
        done(std::move(ids));
      });
}

void RedisSubscriptionStore::get(const std::string& id, WallTime now, Maybe done) {
  // The list store keeps a lapsed record for its grace period; the interface hides it.
  std::weak_ptr<Core> weak = core_;
  records_.lookup(id, now, [weak, id, now, done = std::move(done)](tl::expected<std::vector<Subscription>, StoreError> r) {
    if (!r) return done(tl::unexpected(std::move(r.error())));
    if (r->empty() || r->front().expires <= now) return done(std::optional<Subscription>());
    // Our own record: the CSeq in use rather than the leased ceiling.
    if (auto core = weak.lock())
      if (const auto used = core->cseqInUse(id, r->front().localCSeq)) r->front().localCSeq = *used;
    done(std::optional<Subscription>(std::move(r->front())));
  });
}

void RedisSubscriptionStore::watchers(const std::string& resource, WallTime now, Ids done) {
  members(resourceKey(resource), now, std::move(done));
}

void RedisSubscriptionStore::owned(WallTime now, Ids done) { members(nodeKey(), now, std::move(done)); }

void RedisSubscriptionStore::countByWatcher(const std::string& aor, WallTime now, Count done) {
  std::weak_ptr<Core> weak = core_;
  core_->client.command({"ZCOUNT", watcherKey(aor), "(" + std::to_string(millis(now)), "+inf"},
                        [weak, done = std::move(done)](tl::expected<RedisReply, RedisError> r) {
                          if (!weak.lock()) return;
                          if (!r) return done(tl::unexpected(detail::unavailable(r.error())));
                          if (r->type != RedisReply::Type::Integer || r->integer < 0)
                            return done(tl::unexpected(detail::unexpectedReply(*r)));
                          done(static_cast<std::size_t>(r->integer));
                        });
}

}  // namespace parley::redis
