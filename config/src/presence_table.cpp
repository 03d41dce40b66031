// [presence]: the presence agent's bounds (PUBLISH, RFC 3903; SUBSCRIBE, RFC 6665)
// and its authorization policy.
#include "tables.hpp"
#include "text_util.hpp"

namespace parley::config::detail {

void readPresenceTable(const toml::table* table, ErrorList& errors, PresenceConfig& out) {
  TableReader reader(table, "presence",
                     {"min_expires", "max_expires", "default_expires", "max_body_bytes",
                      "max_publications_per_presentity", "max_subscriptions_per_watcher", "default_policy"},
                     errors);
  // Each range starts where the value it depends on ended up.
  reader.read("min_expires", 1, 86400, out.minExpires);
  reader.read("max_expires", out.minExpires.count(), 604800, out.maxExpires);
  reader.read("default_expires", out.minExpires.count(), out.maxExpires.count(), out.defaultExpires);
  reader.read("max_body_bytes", 256, 1048576, out.maxBodyBytes);
  reader.read("max_publications_per_presentity", 1, 1000, out.maxPublicationsPerPresentity);
  reader.read("max_subscriptions_per_watcher", 1, 100000, out.maxSubscriptionsPerWatcher);
  // Until watcher authorization exists (a later issue), "allow" is the only
  // policy: every subscription to a served domain is active. Naming it makes
  // the choice visible, and a config written for a later policy fails loudly.
  if (auto policy = reader.string("default_policy")) {
    if (policy->value == "allow") out.defaultPolicy = policy->value;
    else reader.fail(*policy, "unknown policy " + quote(policy->value) + " (expected allow)");
  }
}

}  // namespace parley::config::detail
