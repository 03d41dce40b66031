// [sip]: served domains, listening sockets and input caps.
#include <algorithm>
#include <limits>
#include <optional>

#include "tables.hpp"
#include "host_util.hpp"
#include "listen_list.hpp"
#include "text_util.hpp"

namespace parley::config::detail {
namespace {


void readDomains(TableReader& reader, std::vector<std::string>& out) {
  auto list = reader.stringArray("domains");
  if (!list) return;
  if (list->value.empty()) {
    reader.fail(*list, "must list at least one domain");
    return;
  }
  std::vector<std::string> domains;
  bool ok = true;
  for (const StringField& item : list->value) {
    if (auto problem = domainProblem(item.value)) {
      reader.fail(item, std::move(*problem));
      ok = false;
      continue;
    }
    // DNS names compare case-insensitively (RFC 4343); keep one spelling.
    std::string lower = asciiLower(item.value);
    if (std::find(domains.begin(), domains.end(), lower) != domains.end()) {
      reader.fail(item, "duplicate domain " + quote(lower));
      ok = false;
      continue;
    }
    domains.push_back(std::move(lower));
  }
  if (ok) out = std::move(domains);
}


}  // namespace

void readSipTable(const toml::table* table, ErrorList& errors, SipConfig& out) {
  TableReader reader(table, "sip",
                     {"domains", "listen", "max_message_bytes", "tcp_idle_timeout",
                      "max_tcp_connections", "max_headers", "max_line_bytes", "max_transactions"},
                     errors);
  readDomains(reader, out.domains);
  readListenList(reader, std::numeric_limits<std::size_t>::max(), parseListenAddress,
                 [](const ListenAddress& a, const ListenAddress& b) {
                   return a.transport == b.transport && a.host == b.host && a.port == b.port;
                 },
                 out.listen);
  reader.read("max_message_bytes", 1024, 1048576, out.maxMessageBytes);
  reader.read("tcp_idle_timeout", 1, 86400, out.tcpIdleTimeout);
  reader.read("max_tcp_connections", 1, 1000000, out.maxTcpConnections);
  reader.read("max_headers", 8, 1024, out.maxHeaders);
  reader.read("max_line_bytes", 256, 65535, out.maxLineBytes);
  reader.read("max_transactions", 1000, 10000000, out.maxTransactions);
}

}  // namespace parley::config::detail
