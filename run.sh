#!/usr/bin/env bash
# Builds parleyd (Release, in build/) and runs it in the foreground; Ctrl-C stops it cleanly.
# Usage: ./run.sh [--redis | CONFIG]      ./run.sh --help
#
#   no CONFIG  the SIP + XMPP demo on loopback: also installs prosody and python3-slixmpp,
#              writes build/demo/ afresh (a Prosody config with a random component secret,
#              accounts bob/bob and carol/carol, and parley.toml = config/parley.example.toml
#              with [xmpp] enabled), starts that Prosody (c2s 127.0.0.1:5222, component
#              127.0.0.1:5347), prints how to connect an XMPP client and a SIP phone, runs
#              parleyd attached to it (and its HTTP API and live dashboard on
#              http://127.0.0.1:8080/, anonymous reads allowed on loopback) and stops Prosody
#              when parleyd exits.
#   --redis    the same demo with parleyd's state in Redis ([storage] backend = "redis", key
#              prefix parley-demo:): also installs redis-server and starts one of its own on
#              127.0.0.1:6379 with its data in build/demo/redis/, which is kept across runs
#              (a restarted demo keeps its registrations and subscriptions; delete the folder
#              to start empty). Writes build/demo/parley-node2.toml too, a second node on the
#              same Redis (SIP on 127.0.0.1:5070, no XMPP): ./run.sh build/demo/parley-node2.toml
#   CONFIG     runs parleyd with that file and nothing else; with [xmpp] enabled, parleyd
#              connects to the XMPP server the file names, and with [storage] backend = "redis"
#              to the Redis it names: you run those yourself.
#
# Environment: PARLEY_JOBS build jobs (default: nproc); PARLEY_DEMO_C2S_PORT,
# PARLEY_DEMO_COMPONENT_PORT, PARLEY_DEMO_REDIS_PORT and PARLEY_DEMO_HTTP_PORT move the demo's
# ports (defaults 5222, 5347, 6379, 8080). A default port that is taken (a system Prosody or
# Redis, which the demo leaves alone) moves to the next free one from 15222 / 15347 / 16379 /
# 18080; a port you chose must be free.
# Missing Debian packages are installed first (scripts/deps.sh): root or sudo is needed only
# for that.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

usage() { sed -n '2,29s/^# \{0,1\}//p' "$0"; }

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac
if (($# > 1)); then
  echo "run.sh: at most one argument (--redis or a config file)" >&2
  usage >&2
  exit 2
fi

demo=1
redis=0
config=config/parley.example.toml
if [[ "${1:-}" == --redis ]]; then
  redis=1
elif (($# == 1)); then
  demo=0
  config=$1
fi
if [[ ! -f "$config" ]]; then
  echo "run.sh: no such config file: $config" >&2
  exit 2
fi

# toml_value TABLE KEY FILE : the value of KEY in [TABLE] as written (quotes kept, a trailing
# comment dropped), or nothing. Enough for the one-line scalars of our own config files.
toml_value() {
  awk -v table="$1" -v key="$2" '
    /^[[:space:]]*\[/ {
      name = $0
      gsub(/^[[:space:]]*\[+[[:space:]]*|[[:space:]]*\]+[[:space:]]*(#.*)?$/, "", name)
      in_table = (name == table)
      next
    }
    in_table && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
      value = $0
      sub(/^[^=]*=[[:space:]]*/, "", value)
      sub(/[[:space:]]*#[^"]*$/, "", value)
      print value
      exit
    }' "$3"
}

# toml_set FILE TABLE.KEY=VALUE... : FILE with each KEY of [TABLE] set to VALUE, a TOML value
# as written ('"text"', true, '["a", "b"]'): replaced where the table sets the key, added right
# under the table's header where it does not, in a new table at the end when FILE has none.
# One-line values only, as in our own config files. FILE is read twice: first to learn which
# keys are set. The settings travel in the environment, where awk leaves backslashes alone.
toml_set() {
  local file=$1
  shift
  PARLEY_TOML_SET=$(printf '%s\n' "$@") awk '
    BEGIN {
      n = split(ENVIRON["PARLEY_TOML_SET"], lines, "\n")
      for (i = 1; i <= n; i++) {
        eq = index(lines[i], "=")
        path = substr(lines[i], 1, eq - 1)
        dot = index(path, ".")
        tbl[i] = substr(path, 1, dot - 1)
        key[i] = substr(path, dot + 1)
        val[i] = substr(lines[i], eq + 1)
      }
    }
    # The table a header line opens ("[[x]]", an array of tables, is none of ours).
    function table_of(line,    name) {
      if (line ~ /^[[:space:]]*\[\[/) return "[["
      name = line
      sub(/^[[:space:]]*\[[[:space:]]*/, "", name)
      sub(/[[:space:]]*\][[:space:]]*(#.*)?$/, "", name)
      return name
    }
    # The setting that a line of the current table assigns, or 0.
    function setting_of(line,    j) {
      for (j = 1; j <= n; j++)
        if (tbl[j] == current && line ~ ("^[[:space:]]*" key[j] "[[:space:]]*=")) return j
      return 0
    }
    function print_setting(j) { print key[j] " = " val[j] "  # set by run.sh" }
    function add_missing(t,    j) {
      for (j = 1; j <= n; j++) if (tbl[j] == t && !(j in present)) print_setting(j)
    }
    /^[[:space:]]*\[/ {
      current = table_of($0)
      if (FNR == NR) { seen[current] = 1; next }
      print
      add_missing(current)
      next
    }
    FNR == NR { if ((j = setting_of($0)) > 0) present[j] = 1; next }
    (j = setting_of($0)) > 0 { print_setting(j); next }
    { print }
    END {
      for (i = 1; i <= n; i++) {
        if (tbl[i] in seen) continue
        seen[tbl[i]] = 1
        print ""
        print "[" tbl[i] "]  # added by run.sh"
        add_missing(tbl[i])
      }
    }' "$file" "$file"
}

# redis_host_port URL : "HOST PORT" of a [storage] redis_url,
# "redis://[:password@]host[:port][/db]" (an IPv6 host in brackets; printed without them).
# The password is %-encoded, so the first "/" ends the authority and the last "@" the password.
redis_host_port() {
  local rest=${1#redis://} host port=6379
  rest=${rest%%/*}
  rest=${rest##*@}
  if [[ $rest == \[* ]]; then
    host=${rest%%]*}
    host=${host#\[}
    rest=${rest#*]}
    [[ $rest != :* ]] || port=${rest#:}
  else
    host=${rest%%:*}
    [[ $rest != *:* ]] || port=${rest#*:}
  fi
  printf '%s %s\n' "$host" "$port"
}

# print_sipp_hints CONFIG : the sipp commands that exercise the SIP side of CONFIG.
print_sipp_hints() {
  local file=$1 entry
  local -a listen
  # The listen entries, e.g. udp:127.0.0.1:5060.
  mapfile -t listen < <(grep -E '^[[:space:]]*listen[[:space:]]*=' "$file" | grep -oE '"(udp|tcp):[^"]+"' | tr -d '"')
  udp_target=""
  tcp_target=""
  for entry in "${listen[@]}"; do
    case "$entry" in
      udp:*) [[ -n "$udp_target" ]] || udp_target="${entry#udp:}" ;;
      tcp:*) [[ -n "$tcp_target" ]] || tcp_target="${entry#tcp:}" ;;
    esac
  done
  cat <<INFO
parleyd is starting with $file
  listening on: ${listen[*]:-(see the sip.listening lines below)}
  domain: $(toml_value sip domains "$file")

Try it from another terminal (sipp is in the Debian package sip-tester):
  sipp -sf tests/integration/sipp/options.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key ruri sip:sip.localhost -m 1
      # OPTIONS over UDP -> 200 OK with Allow/Accept/Supported
  sipp -sf tests/integration/sipp/options.xml ${tcp_target:-127.0.0.1:5060} -t t1 -i 127.0.0.1 \\
       -key domain sip.localhost -key ruri sip:sip.localhost -m 1
      # the same over TCP
  sipp -sf tests/integration/sipp/invite_405_then_ack.xml ${udp_target:-127.0.0.1:5060} -nr \\
       -i 127.0.0.1 -key domain sip.localhost -key ruri sip:alice@sip.localhost -m 1
      # INVITE -> 405 Method Not Allowed, then ACK
  sipp -sf tests/integration/sipp/register_only.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 -p 5080 \\
       -key domain sip.localhost -key user bob -m 1
      # bob registers from 127.0.0.1:5080; a phone listening there now gets bob's MESSAGEs:
  sipp -sf tests/integration/sipp/message_uac.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key user bob -m 1
      # MESSAGE to bob (run a UAS on 5080 first: sipp -sf tests/integration/sipp/message_uas.xml -p 5080 -i 127.0.0.1)
  sipp -sf tests/integration/sipp/publish.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key user alice -m 1
      # PUBLISH alice's presence: 200 + SIP-ETag, refresh, stale ETag -> 412, remove
  sipp -sf tests/integration/sipp/hook_state.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key user carol -key ctp "" -m 1
      # a phone publishes carol open, a watcher SUBSCRIBEs and gets NOTIFYs, a PBX publishes a
      # confirmed call (dialog-info) -> the watcher's NOTIFY shows on-the-phone, then clears
INFO
}

# ---- demo: checks that need no build ----------------------------------------------------------

demo_dir=build/demo
prosody_dir=$demo_dir/prosody
# The demo Redis's data: kept when the rest of build/demo/ is written afresh, so that a
# restarted demo resumes its state (that is what the Redis backend is for).
redis_dir=$demo_dir/redis
redis_pidfile=$redis_dir/redis.pid
c2s_port=${PARLEY_DEMO_C2S_PORT:-5222}
component_port=${PARLEY_DEMO_COMPONENT_PORT:-5347}
redis_port=${PARLEY_DEMO_REDIS_PORT:-6379}
http_port=${PARLEY_DEMO_HTTP_PORT:-8080}
demo_command="./run.sh"
((!redis)) || demo_command="./run.sh --redis"

# tcp_accepts PORT [HOST] : true when something accepts TCP on HOST (default 127.0.0.1):PORT.
tcp_accepts() {
  (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# port_taken_error PORT WHAT ENV SERVER : says who holds the port (WHAT of the demo's SERVER,
# Prosody or Redis) and how to get around it.
port_taken_error() {
  local port=$1 what=$2 env=$3 server=$4 holder="" unit
  if command -v ss >/dev/null 2>&1; then
    holder=$(timeout 2 ss -Hltnp "sport = :$port" 2>/dev/null | head -n 3 || true)
  fi
  unit=prosody
  [[ $server == Prosody ]] || unit="redis-server"
  {
    echo "run.sh: 127.0.0.1:$port ($what of the demo $server) is already in use${holder:+:}"
    [[ -z "$holder" ]] || printf '  %s\n' "$holder"
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$unit" 2>/dev/null; then
      echo "  The system $server ($unit.service, started when the package was installed) is"
      echo "  running; stop it for the demo: sudo systemctl stop $unit"
      echo "  (sudo systemctl disable $unit keeps it off after a reboot)."
    fi
    echo "  Or give the demo another port: $env=<port> $demo_command"
  } >&2
}

if ((demo)); then
  port_vars=(PARLEY_DEMO_C2S_PORT PARLEY_DEMO_COMPONENT_PORT PARLEY_DEMO_HTTP_PORT)
  ((!redis)) || port_vars+=(PARLEY_DEMO_REDIS_PORT)
  for var in "${port_vars[@]}"; do
    port=${!var:-}
    if [[ -n "$port" ]] && ! [[ "$port" =~ ^[1-9][0-9]{0,4}$ && "$port" -le 65535 ]]; then
      echo "run.sh: $var must be a TCP port (1..65535), not \"$port\"" >&2
      exit 2
    fi
  done
  if [[ "$c2s_port" == "$component_port" ]]; then
    echo "run.sh: the demo Prosody needs two ports; both are $c2s_port" >&2
    exit 2
  fi
  if ((redis)) && [[ "$redis_port" == "$c2s_port" || "$redis_port" == "$component_port" ]]; then
    echo "run.sh: the demo Redis and Prosody need ports of their own; $redis_port is both" >&2
    exit 2
  fi
  if [[ "$http_port" == "$c2s_port" || "$http_port" == "$component_port" ]] ||
     { ((redis)) && [[ "$http_port" == "$redis_port" ]]; }; then
    echo "run.sh: the demo's HTTP port $http_port is already one of its other ports" >&2
    exit 2
  fi
  # Servers left over from an earlier run (run.sh was killed with SIGKILL) hold the ports and
  # live in the directory this run would delete. Each is recognised by its pid file and by
  # the demo config on its command line (a recycled PID is someone else's process); Redis,
  # which rewrites its command line, by its working directory, the demo's Redis folder.
  leftovers=()
  for pidfile_config in "$prosody_dir/prosody.pid:$demo_dir/prosody.cfg.lua" \
                        "$demo_dir/parleyd.pid:$demo_dir/parley.toml"; do
    pidfile=${pidfile_config%%:*}
    old_pid=$(tr -dc '0-9' 2>/dev/null <"$pidfile" || true)
    if [[ -n "$old_pid" ]] && kill -0 "$old_pid" 2>/dev/null &&
       tr '\0' ' ' <"/proc/$old_pid/cmdline" 2>/dev/null | grep -qF -- "--config ${pidfile_config#*:}"; then
      leftovers+=("$old_pid")
    fi
  done
  old_pid=$(tr -dc '0-9' 2>/dev/null <"$redis_pidfile" || true)
  if [[ -n "$old_pid" ]] && kill -0 "$old_pid" 2>/dev/null &&
     [[ "$(cat "/proc/$old_pid/comm" 2>/dev/null)" == redis-server* &&
        "$(readlink "/proc/$old_pid/cwd" 2>/dev/null)" == "$(readlink -m "$redis_dir")" ]]; then
    leftovers+=("$old_pid")
  fi
  if ((${#leftovers[@]} > 0)); then
    echo "run.sh: the demo of an earlier ./run.sh still runs (PID ${leftovers[*]}); stop it: kill ${leftovers[*]}" >&2
    exit 1
  fi
  # A default port that is taken (on a fresh Debian, installing prosody starts the system
  # prosody.service on 5222 and 5347, installing redis-server redis-server.service on 6379)
  # moves the demo to the next free port from 15222 / 15347 / 16379; a port the user chose
  # must be free. The system servers are left alone.
  servers=(c2s component http)
  ((!redis)) || servers+=(redis)
  for which in "${servers[@]}"; do
    case $which in
      c2s) var=PARLEY_DEMO_C2S_PORT what="the XMPP client port" server=Prosody base=15222 ;;
      component) var=PARLEY_DEMO_COMPONENT_PORT what="the component port" server=Prosody base=15347 ;;
      redis) var=PARLEY_DEMO_REDIS_PORT what="the port" server=Redis base=16379 ;;
      http) var=PARLEY_DEMO_HTTP_PORT what="the HTTP port" server=parleyd base=18080 ;;
    esac
    port_var=${which}_port
    port=${!port_var}
    tcp_accepts "$port" || continue
    if [[ -n "${!var:-}" ]]; then
      port_taken_error "$port" "$what" "$var" "$server"
      exit 1
    fi
    for ((candidate = base; candidate < base + 50; candidate++)); do
      [[ $candidate != "$c2s_port" && $candidate != "$component_port" && $candidate != "$http_port" ]] || continue
      ((!redis)) || [[ $candidate != "$redis_port" ]] || continue
      tcp_accepts "$candidate" || break
    done
    echo "run.sh: 127.0.0.1:$port ($what of the demo $server) is taken (a system $server?); the demo uses $candidate instead" >&2
    printf -v "$port_var" '%s' "$candidate"
  done
fi

# ---- build ------------------------------------------------------------------------------------

# shellcheck source=scripts/deps.sh
. scripts/deps.sh
if ((redis)); then
  parley_ensure_packages "${PARLEY_BUILD_DEPS[@]}" "${PARLEY_DEMO_DEPS[@]}" "${PARLEY_DEMO_REDIS_DEPS[@]}"
elif ((demo)); then
  parley_ensure_packages "${PARLEY_BUILD_DEPS[@]}" "${PARLEY_DEMO_DEPS[@]}"
else
  parley_ensure_packages "${PARLEY_BUILD_DEPS[@]}"
fi
parley_configure build -DCMAKE_BUILD_TYPE=Release
cmake --build build --target parleyd -j"${PARLEY_JOBS:-$(nproc)}"

if ((!demo)); then
  build/server/parleyd --check-config "$config"
  echo
  print_sipp_hints "$config"
  if [[ "$(toml_value xmpp enabled "$config")" == true ]]; then
    echo "[xmpp] is enabled: parleyd connects to the XMPP server at $(toml_value xmpp server "$config")"
    echo "(a component; run.sh starts no XMPP server when given a CONFIG)."
  fi
  if [[ "$(toml_value storage backend "$config")" == '"redis"' ]]; then
    redis_url=$(toml_value storage redis_url "$config" | tr -d "\"'")
    read -r redis_host redis_url_port < <(redis_host_port "$redis_url")
    redis_at=$redis_host:$redis_url_port
    [[ $redis_host != *:* ]] || redis_at="[$redis_host]:$redis_url_port"
    echo "[storage] is redis: parleyd keeps its state in the Redis at $redis_at."
    # A Redis on this machine that is not running is most likely one the user forgot to start;
    # parleyd starts anyway and answers 503 where it needs state, so say how to start one.
    if [[ "$redis_host" =~ ^(127\.|::1$) ]] && ! tcp_accepts "$redis_url_port" "$redis_host"; then
      echo "run.sh: nothing listens on $redis_at yet (parleyd answers 503 until it does); start a Redis: redis-server --port $redis_url_port --bind $redis_host"
    fi
  fi
  printf 'Press Ctrl-C to stop.\n\n'
  exec build/server/parleyd --config "$config"
fi

# ---- demo: files ------------------------------------------------------------------------------

# build/demo/ afresh, all but the Redis data (see redis_dir).
if [[ -d "$demo_dir" ]]; then
  find "$demo_dir" -mindepth 1 -maxdepth 1 ! -name redis -exec rm -rf {} +
  chmod 700 "$demo_dir"  # the secret is in there
else
  mkdir -p build
  mkdir -m 700 "$demo_dir"
fi
mkdir -p "$prosody_dir/data" "$prosody_dir/certs"  # an empty certs dir: no cert-indexing error
# A new component secret every run: it is the only thing between a local process and the
# power to speak for every SIP user, so it is neither fixed nor committed.
secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
abs_prosody_dir=$(readlink -f "$prosody_dir")
prosody_cfg=$demo_dir/prosody.cfg.lua
parley_cfg=$demo_dir/parley.toml

# The one Prosody configuration of the tests, the demo and the benchmark, on the demo's ports.
python3 scripts/prosody_config.py --out "$prosody_cfg" --dir "$abs_prosody_dir" \
  --c2s-port "$c2s_port" --component-port "$component_port" --secret "$secret" --generator run.sh

# parley.toml: the example with [xmpp] on and pointed at the demo Prosody; with --redis, its
# state in the demo Redis too.
# The HTTP API and dashboard on loopback, readable without a token (nothing else can reach it).
demo_settings=(xmpp.enabled=true "xmpp.secret=\"$secret\"" "xmpp.server=\"127.0.0.1:$component_port\""
               http.enabled=true "http.listen=[\"127.0.0.1:$http_port\"]" http.allow_anonymous_read=true)
if ((redis)); then
  storage_settings=(storage.backend='"redis"' "storage.redis_url=\"redis://127.0.0.1:$redis_port/0\""
                    storage.key_prefix='"parley-demo:"')
  demo_settings+=("${storage_settings[@]}")
fi
toml_set "$config" "${demo_settings[@]}" >"$parley_cfg"
build/server/parleyd --check-config "$parley_cfg"

node2_cfg=$demo_dir/parley-node2.toml
if ((redis)); then
  mkdir -p "$redis_dir"
  abs_redis_dir=$(readlink -f "$redis_dir")
  # A second node of the same deployment: same Redis and key prefix, an id and a SIP address
  # of its own. XEP-0114 allows one component connection per domain, which the first node
  # holds, so this one has no [xmpp] (docs/storage.md, "XMPP with several nodes") and no
  # secret in its file.
  {
    echo "# Written by ./run.sh --redis: a second node on the demo's Redis. Run it with"
    echo "#   ./run.sh $node2_cfg"
    toml_set "$config" node.id='"parley-2"' 'sip.listen=["udp:127.0.0.1:5070", "tcp:127.0.0.1:5070"]' \
      xmpp.enabled=false "${storage_settings[@]}"
  } >"$node2_cfg"
  build/server/parleyd --check-config "$node2_cfg"
fi

for account in bob carol; do
  if ! out=$(timeout 10 prosodyctl --config "$prosody_cfg" register "$account" localhost "$account" </dev/null 2>&1); then
    printf 'run.sh: prosodyctl register %s localhost failed:\n%s\n' "$account" "$out" >&2
    exit 1
  fi
done

# ---- demo: processes --------------------------------------------------------------------------

redis_pid=""
prosody_pid=""
parley_pid=""
parley_signalled=0

# shellcheck disable=SC2317  # stop_pid, cleanup and forward run from traps
# stop_pid PID NAME SECONDS : SIGTERM, then SIGKILL when PID outlives SECONDS.
stop_pid() {
  local pid=$1 name=$2 tenths=$(($3 * 10))
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && ((tenths-- > 0)); do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: $name (PID $pid) ignored SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317
cleanup() {
  trap - EXIT INT TERM HUP
  if [[ -n "$parley_pid" ]]; then
    stop_pid "$parley_pid" parleyd 10
  fi
  if [[ -n "$prosody_pid" ]]; then
    stop_pid "$prosody_pid" Prosody 5
    echo "run.sh: stopped the demo Prosody (PID $prosody_pid); its log: $prosody_dir/prosody.log" >&2
  fi
  if [[ -n "$redis_pid" ]]; then
    stop_pid "$redis_pid" Redis 10
    rm -f "$redis_pidfile"
    echo "run.sh: stopped the demo Redis (PID $redis_pid); its data: $redis_dir/, its log: $demo_dir/redis.log" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Redis, Prosody and parleyd each get a session of their own (setsid), so Ctrl-C on the
# terminal reaches only this script, which then stops them in order: parleyd first (it drains,
# and closes its component stream), Prosody after it, Redis last (parleyd writes to it until
# it exits). setsid execs in place (a background job of a non-interactive shell is no
# process-group leader), so $! is the server's own PID.
if ((redis)); then
  # No config file (a system /etc/redis/redis.conf is not ours): loopback only, the data in
  # the demo's folder, every write in the append-only file and no RDB snapshots, so the
  # state survives a restart of the demo.
  setsid redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$abs_redis_dir" \
    --appendonly yes --save "" --daemonize no </dev/null >"$demo_dir/redis.log" 2>&1 &
  redis_pid=$!
  echo "$redis_pid" >"$redis_pidfile"  # for the leftover check of the next run
  redis_tail() {
    echo "---- $demo_dir/redis.log (last lines) ----"
    tail -n 25 "$demo_dir/redis.log" 2>/dev/null || true
  }
  # Ready once the log says so (after the append-only file is loaded) and it accepts TCP;
  # at most 10 s.
  ready=0
  for ((tenths = 0; tenths < 100; tenths++)); do
    if ! kill -0 "$redis_pid" 2>/dev/null; then
      if grep -qF 'Address already in use' "$demo_dir/redis.log" 2>/dev/null; then
        port_taken_error "$redis_port" "the port" PARLEY_DEMO_REDIS_PORT Redis
      else
        echo "run.sh: Redis exited during startup" >&2
        redis_tail >&2
      fi
      exit 1
    fi
    if grep -qF 'Ready to accept connections' "$demo_dir/redis.log" 2>/dev/null &&
       tcp_accepts "$redis_port"; then
      ready=1
      break
    fi
    sleep 0.1
  done
  if ((!ready)); then
    echo "run.sh: Redis did not accept TCP on 127.0.0.1:$redis_port within 10 s" >&2
    redis_tail >&2
    exit 1
  fi
fi

setsid prosody -F --config "$prosody_cfg" </dev/null >"$prosody_dir/prosody.out" 2>&1 &
prosody_pid=$!

prosody_log() { cat "$prosody_dir/prosody.log" 2>/dev/null || true; }
prosody_tail() {
  echo "---- $prosody_dir/prosody.out and prosody.log (last lines) ----"
  tail -n 15 "$prosody_dir/prosody.out" 2>/dev/null || true
  tail -n 25 "$prosody_dir/prosody.log" 2>/dev/null || true
}

# Ready when the log says both listeners are active and both accept TCP; at most 10 s.
ready=0
for ((tenths = 0; tenths < 100; tenths++)); do
  if ! kill -0 "$prosody_pid" 2>/dev/null; then
    echo "run.sh: Prosody exited during startup" >&2
    prosody_tail >&2
    exit 1
  fi
  log=$(prosody_log)
  if grep -qiE 'Failed to open server port|could not bind|Address already in use' <<<"$log"; then
    if grep -qE "port $component_port\b" <<<"$log"; then
      port_taken_error "$component_port" "the component port" PARLEY_DEMO_COMPONENT_PORT Prosody
    else
      port_taken_error "$c2s_port" "the XMPP client port" PARLEY_DEMO_C2S_PORT Prosody
    fi
    exit 1
  fi
  if grep -qF "Activated service 'c2s' on [127.0.0.1]:$c2s_port" <<<"$log" &&
     grep -qF "Activated service 'component' on [127.0.0.1]:$component_port" <<<"$log" &&
     tcp_accepts "$c2s_port" && tcp_accepts "$component_port"; then
    ready=1
    break
  fi
  sleep 0.1
done
if ((!ready)); then
  echo "run.sh: Prosody did not accept TCP on 127.0.0.1:$c2s_port and :$component_port within 10 s" >&2
  prosody_tail >&2
  exit 1
fi

port_flag=""
[[ "$c2s_port" == 5222 ]] || port_flag=" --port $c2s_port"
echo
print_sipp_hints "$parley_cfg"
cat <<INFO

The SIP + XMPP demo (files in $demo_dir/):
  Prosody (PID $prosody_pid) serves XMPP clients on 127.0.0.1:$c2s_port, domain localhost, accounts
  bob@localhost (password bob) and carol@localhost (password carol); parleyd joins it as the
  component sip.localhost on 127.0.0.1:$component_port, so SIP user alice is alice@sip.localhost.

  XMPP client (Gajim, Dino, Profanity, ... or scripts/xmpp_demo.py below): server 127.0.0.1,
      port $c2s_port, user bob@localhost, password bob, no TLS (allow plain-text login);
      add the contact alice@sip.localhost.
  SIP phone (Linphone, Zoiper, ...): user alice, domain sip.localhost, proxy ${udp_target:-127.0.0.1:5060}
      over UDP, no password; add the contact sip:bob@localhost to see bob's XMPP presence.

See both worlds talk, from another terminal in this folder:
  python3 scripts/xmpp_demo.py$port_flag
      # bob logs in, subscribes to alice@sip.localhost, says hello to her and prints for 60 s
      # what he gets, e.g. "alice@sip.localhost is dnd: On the phone"
  sipp -sf tests/integration/sipp/hook_state.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key user alice -key ctp "" -m 1
      # alice's phone comes online, a PBX puts her on a call and hangs up: bob sees her
      # available, then dnd "On the phone", available again, and offline when it is over

The live dashboard and the HTTP API (docs/api.md), readable without a token on loopback:
  http://127.0.0.1:$http_port/?addresses=alice@sip.localhost,xmpp:bob@localhost
      # tiles turn green, red "on the phone" and grey as the sipp call above runs
  curl -s http://127.0.0.1:$http_port/api/v1/presence/alice@sip.localhost
  curl -sN "http://127.0.0.1:$http_port/api/v1/stream?addresses=alice@sip.localhost"   # live
INFO
if ((redis)); then
  cat <<INFO

State in Redis (PID $redis_pid, 127.0.0.1:$redis_port, data in $redis_dir/, kept across runs):
  redis-cli -p $redis_port --scan --pattern 'parley-demo:*'      # the keys parleyd writes
  ./run.sh $node2_cfg      # a second node, parley-2: SIP on 127.0.0.1:5070, same Redis, no XMPP
Press Ctrl-C to stop (parleyd, then Prosody, then Redis).

INFO
else
  printf 'Press Ctrl-C to stop (parleyd, then Prosody).\n\n'
fi

# parleyd runs as a background job that this script waits for, not in the foreground: bash
# runs a trap only once the foreground command has finished, so a SIGINT sent to this script
# (kill -INT, or Ctrl-C now that parleyd has its own session) would never reach parleyd.
# `wait` returns as soon as a trapped signal arrives; the trap forwards it, and a second one
# makes parleyd stop at once, as it would on the terminal.
# shellcheck disable=SC2317
forward() {
  parley_signalled=1
  kill "-$1" "$parley_pid" 2>/dev/null || true
}
setsid build/server/parleyd --config "$parley_cfg" </dev/null &
parley_pid=$!
echo "$parley_pid" >"$demo_dir/parleyd.pid"  # for the leftover check of the next run
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward TERM' HUP
while :; do
  parley_signalled=0
  status=0
  wait "$parley_pid" || status=$?
  # A forwarded signal interrupted the wait: wait again for parleyd's own exit status (bash
  # keeps it if parleyd has already exited).
  ((parley_signalled)) || break
done
parley_pid=""
exit "$status"
