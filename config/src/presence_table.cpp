// [presence]: the presence agent's bounds (PUBLISH today, RFC 3903).
#include "tables.hpp"

namespace parley::config::detail {

void readPresenceTable(const toml::table* table, ErrorList& errors, PresenceConfig& out) {
  TableReader reader(table, "presence",
                     {"min_expires", "max_expires", "default_expires", "max_body_bytes",
                      "max_publications_per_presentity"},
                     errors);
  // Each range starts where the value it depends on ended up.
  reader.read("min_expires", 1, 86400, out.minExpires);
  reader.read("max_expires", out.minExpires.count(), 604800, out.maxExpires);
  reader.read("default_expires", out.minExpires.count(), out.maxExpires.count(), out.defaultExpires);
  reader.read("max_body_bytes", 256, 1048576, out.maxBodyBytes);
  reader.read("max_publications_per_presentity", 1, 1000, out.maxPublicationsPerPresentity);
}

}  // namespace parley::config::detail
