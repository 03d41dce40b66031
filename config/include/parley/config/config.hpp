// parley.toml -> typed, validated configuration. Only server/ reads this; every other module
// takes its own Options struct, which server/ fills from these values.
//
// Errors are values: loadFile/loadString return the first problem in file order as a
// ConfigError that names file, line, column and key, e.g.
//   parley.toml:12:9: sip.listen[1]: unknown transport "sctp"
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "parley/config/listen_address.hpp"

namespace parley::config {

enum class LogLevel { Trace, Debug, Info, Warn, Error };
enum class LogFormat { Text, Json };

// A problem in a config file. line/column are 1-based; 0 means "no position" (e.g. the file
// could not be read). key is the dotted path with array indices ("sip.listen[1]"), or empty
// when the problem is not about one key (TOML syntax errors, I/O errors).
struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;
  std::string message;

  // "file:line:column: key: message"; the "key: " part is left out when key is empty and
  // ":line:column" when line is 0.
  [[nodiscard]] std::string format() const;

  friend bool operator==(const ConfigError&, const ConfigError&) = default;
};

// [node]: identity of this process and how it logs.
struct NodeConfig {
  std::string id = "parley-1";  ///< unique per node; [A-Za-z0-9._-]{1,64}
  LogLevel logLevel = LogLevel::Info;
  LogFormat logFormat = LogFormat::Text;
  /// Time to finish in-flight transactions after SIGINT/SIGTERM (0..60 s).
  std::chrono::seconds shutdownTimeout{5};

  friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

// [sip]: the SIP side: served domains, sockets and input caps.
struct SipConfig {
  /// SIP domains whose users Parley serves; lower-case DNS names, non-empty, no duplicates.
  std::vector<std::string> domains{"sip.localhost"};
  /// Listening sockets; non-empty, no duplicates.
  std::vector<ListenAddress> listen{
      {Transport::Udp, "127.0.0.1", 5060, false, "udp:127.0.0.1:5060"},
      {Transport::Tcp, "127.0.0.1", 5060, false, "tcp:127.0.0.1:5060"},
  };
  std::size_t maxMessageBytes = 65535;         ///< whole message cap (1024..1048576)
  std::chrono::seconds tcpIdleTimeout{300};    ///< close idle TCP connections (1..86400 s)
  std::size_t maxTcpConnections = 4096;        ///< accepted TCP connections (1..1000000)
  std::size_t maxHeaders = 128;                ///< header fields per message (8..1024)
  std::size_t maxLineBytes = 8192;             ///< start line / header line cap (256..65535)
  /// Live server (and, separately, client) transactions (1000..10000000). Over UDP a
  /// completed transaction lingers 64·T1 = 32 s (Timer J), so this bounds the
  /// sustained UDP request rate at maxTransactions / 32 s; past it: 503 + Retry-After.
  std::size_t maxTransactions = 1000000;

  friend bool operator==(const SipConfig&, const SipConfig&) = default;
};

// The whole file. A default-constructed Config is what an empty file yields (apart from
// sourcePath).
/// [registrar]: REGISTER handling (RFC 3261 §10.3).
struct RegistrarConfig {
  std::chrono::seconds minExpires{60};        ///< shorter non-zero requests get 423 (1..86400)
  std::chrono::seconds maxExpires{3600};      ///< longer requests are shortened (min..604800)
  std::chrono::seconds defaultExpires{3600};  ///< when the request names none (min..max)
  std::size_t maxContacts = 10;               ///< bindings per address-of-record (1..1000)

  friend bool operator==(const RegistrarConfig&, const RegistrarConfig&) = default;
};

/// [presence]: PUBLISH (RFC 3903) bounds; SUBSCRIBE/NOTIFY keys join with them.
struct PresenceConfig {
  std::chrono::seconds minExpires{60};        ///< shorter non-zero requests get 423 (1..86400)
  std::chrono::seconds maxExpires{3600};      ///< longer requests are shortened (min..604800)
  std::chrono::seconds defaultExpires{3600};  ///< when the request names none (min..max)
  std::size_t maxBodyBytes = 65536;           ///< larger documents get 413 (256..1048576)
  std::size_t maxPublicationsPerPresentity = 16;  ///< per event; more get 403 (1..1000)
  std::size_t maxSubscriptionsPerWatcher = 1000;  ///< per subscriber AOR; more get 403 (1..100000)
  std::string defaultPolicy = "allow";            ///< subscription authorization: only "allow" yet

  friend bool operator==(const PresenceConfig&, const PresenceConfig&) = default;
};

/// [xmpp]: the XEP-0114 external component and the SIP<->XMPP bridge.
struct XmppConfig {
  bool enabled = false;
  std::string componentDomain = "sip.localhost"; ///< JID domain SIP users appear under; lower-case DNS name
  /// The SIP domain those users belong to: default = componentDomain when it is one of
  /// sip.domains, else sip.domains[0]; when given must be one of sip.domains. The loader
  /// always fills it in; the initializer is what the defaults resolve to, so an empty file
  /// still yields a default-constructed Config.
  std::string sipDomain = "sip.localhost";
  std::string serverHost = "127.0.0.1";  ///< from `server = "127.0.0.1:5347"`: IP literal only (no DNS on the event loop);
  std::uint16_t serverPort = 5347;       ///< "[::1]:5347" for IPv6; port 1..65535 required
  std::string secret;             ///< required (non-empty) when enabled; never logged
  std::vector<std::string> domains{"localhost"};  ///< XMPP domains reached through the server: lower-case DNS names,
                                  ///< non-empty, no duplicates, none equal to componentDomain or any sip.domains entry
  std::chrono::milliseconds reconnectMin{500};    ///< `reconnect_min_ms` 10..60000
  std::chrono::milliseconds reconnectMax{30000};  ///< `reconnect_max_ms` reconnectMin..600000
  std::size_t maxQueuedStanzas = 10000;           ///< while the link is down (0..1000000)
  std::size_t maxMessageBytes = 1300;             ///< a SIP MESSAGE built from XMPP larger than this -> policy-violation (RFC 7572 §6; 200..65535)
  std::string messageType = "chat";               ///< `message_type`: "chat" | "normal" — the XMPP type of messages from SIP (RFC 7572 says normal; most clients show chat better)
  std::chrono::seconds keepalive{60};             ///< `keepalive_s` whitespace keepalive interval 5..3600
  /// `message_wait_ms` 0..450: how long a SIP MESSAGE into XMPP waits for the XMPP server to bounce
  /// it (unknown user → a SIP error) before it is answered 202; 0 answers 202 at once.
  std::chrono::milliseconds messageWait{300};
  friend bool operator==(const XmppConfig&, const XmppConfig&) = default;
};

/// [storage]: where state lives. "memory" (default, one node) or "redis" (several nodes, survives restarts).
struct StorageConfig {
  enum class Backend : std::uint8_t { Memory, Redis };
  Backend backend = Backend::Memory;
  std::string redisHost = "127.0.0.1";   ///< from redis_url = "redis://[:password@]host[:port][/db]"
  std::uint16_t redisPort = 6379;        ///<   host: IPv4 literal or [IPv6] literal only (no DNS on the event loop)
  std::string redisPassword;             ///<   may be %-encoded in the URL; NEVER appears in any error message
  int redisDb = 0;                       ///<   0..15
  std::string keyPrefix = "parley:";     ///< key_prefix: 1..64 chars of [A-Za-z0-9:_.-]
  std::chrono::milliseconds connectTimeout{2000};  ///< connect_timeout_ms 50..60000
  std::chrono::milliseconds commandTimeout{1000};  ///< command_timeout_ms 10..60000
  std::chrono::milliseconds reconnectMin{100};     ///< reconnect_min_ms 10..60000
  std::chrono::milliseconds reconnectMax{5000};    ///< reconnect_max_ms reconnectMin..600000
  friend bool operator==(const StorageConfig&, const StorageConfig&) = default;
};

/// One `http.listen` entry: "<IPv4>:<port>" or "[<IPv6>]:<port>".
struct HttpListenAddress {
  std::string host;        ///< IP literal without brackets, canonical form (inet_ntop)
  std::uint16_t port = 0;  ///< 0 means "let the kernel pick a free port"
  bool ipv6 = false;
  std::string text;        ///< the entry exactly as written in the file

  friend bool operator==(const HttpListenAddress&, const HttpListenAddress&) = default;
};

/// What an [http] token may do. Scopes are independent: none implies another.
struct HttpScopes {
  bool read = false;     ///< "read"
  bool publish = false;  ///< "publish"
  bool admin = false;    ///< "admin"

  friend bool operator==(const HttpScopes&, const HttpScopes&) = default;
};

/// One `[[http.tokens]]` entry: a bearer token for the HTTP API.
struct HttpToken {
  std::string name;   ///< 1..64 of [A-Za-z0-9._-], unique; what logs show instead of the token
  std::string token;  ///< 16..256 printable ASCII without spaces, unique; NEVER logged
  HttpScopes scopes;  ///< at least one

  friend bool operator==(const HttpToken&, const HttpToken&) = default;
};

/// [http]: the HTTP API and live dashboard. Off by default. Enabled with no token and
/// allowAnonymousRead = false is valid: the API then answers 401 to everything but the
/// dashboard's static files.
struct HttpConfig {
  bool enabled = false;
  /// Listening sockets; 1..8, no duplicates.
  std::vector<HttpListenAddress> listen{{"127.0.0.1", 8080, false, "127.0.0.1:8080"}};
  std::vector<HttpToken> tokens;   ///< none by default
  bool allowAnonymousRead = false; ///< `allow_anonymous_read`: reads need no token with scope read
  std::size_t maxBodyBytes = 65536;      ///< larger request bodies are refused (256..1048576)
  /// Origins allowed by CORS, as browsers send them (RFC 6454 §6.2): lower-case scheme and
  /// host, default port left out, no path; or the single entry "*". None by default.
  std::vector<std::string> corsOrigins;
  std::size_t maxClients = 1000;         ///< live-stream (WebSocket/SSE) clients (1..100000)
  std::size_t clientQueue = 256;         ///< events queued per live client before it is dropped (1..100000)
  std::size_t requestsPerSecond = 0;     ///< per token or client address, 429 above; 0 = unlimited (0..1000000)

  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

struct Config {
  NodeConfig node;
  SipConfig sip;
  RegistrarConfig registrar;
  PresenceConfig presence;
  XmppConfig xmpp;
  StorageConfig storage;
  HttpConfig http;
  std::string sourcePath;  ///< path or source name the config was loaded from

  friend bool operator==(const Config&, const Config&) = default;
};

// Reads and validates a TOML file. Start-up only: this does blocking file I/O.
[[nodiscard]] tl::expected<Config, ConfigError> loadFile(const std::string& path);

// Validates TOML text; sourceName is used as ConfigError::file and Config::sourcePath.
[[nodiscard]] tl::expected<Config, ConfigError> loadString(std::string_view text,
                                                           std::string_view sourceName);

// "trace" | "debug" | "info" | "warn" | "error"
[[nodiscard]] std::string_view toString(LogLevel level);
// "text" | "json"
[[nodiscard]] std::string_view toString(LogFormat format);
// Case-insensitive inverse of toString (e.g. for a --log-level command-line override).
[[nodiscard]] std::optional<LogLevel> parseLogLevel(std::string_view text);
[[nodiscard]] std::optional<LogFormat> parseLogFormat(std::string_view text);

}  // namespace parley::config
