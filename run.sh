#!/usr/bin/env bash
# Builds parleyd (Release, in build/) and runs it in the foreground; Ctrl-C stops it cleanly.
# Usage: ./run.sh [CONFIG]      ./run.sh --help
#
#   no CONFIG  the SIP + XMPP demo on loopback: also installs prosody and python3-slixmpp,
#              writes build/demo/ afresh (a Prosody config with a random component secret,
#              accounts bob/bob and carol/carol, and parley.toml = config/parley.example.toml
#              with [xmpp] enabled), starts that Prosody (c2s 127.0.0.1:5222, component
#              127.0.0.1:5347), prints how to connect an XMPP client and a SIP phone, runs
#              parleyd attached to it and stops Prosody when parleyd exits.
#   CONFIG     runs parleyd with that file and nothing else; with [xmpp] enabled, parleyd
#              connects to the XMPP server the file names, which you run yourself.
#
# Environment: PARLEY_JOBS build jobs (default: nproc); PARLEY_DEMO_C2S_PORT and
# PARLEY_DEMO_COMPONENT_PORT move the demo Prosody's ports (defaults 5222 and 5347).
# A port that is taken stops the demo with a message naming it. Missing Debian packages are
# installed first (scripts/deps.sh): root or sudo is needed only for that.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; }

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac
if (($# > 1)); then
  echo "run.sh: at most one argument (a config file)" >&2
  usage >&2
  exit 2
fi

demo=1
config=config/parley.example.toml
if (($# == 1)); then
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
  sipp -sf tests/integration/sipp/register_only.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 -p 5070 \\
       -key domain sip.localhost -key user bob -m 1
      # bob registers from 127.0.0.1:5070; a phone listening there now gets bob's MESSAGEs:
  sipp -sf tests/integration/sipp/message_uac.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key user bob -m 1
      # MESSAGE to bob (run a UAS on 5070 first: sipp -sf tests/integration/sipp/message_uas.xml -p 5070 -i 127.0.0.1)
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
c2s_port=${PARLEY_DEMO_C2S_PORT:-5222}
component_port=${PARLEY_DEMO_COMPONENT_PORT:-5347}

# tcp_accepts PORT : true when something accepts TCP on 127.0.0.1:PORT.
tcp_accepts() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_taken_error PORT WHAT ENV : says who holds the port and how to get around it.
port_taken_error() {
  local port=$1 what=$2 env=$3 holder=""
  if command -v ss >/dev/null 2>&1; then
    holder=$(timeout 2 ss -Hltnp "sport = :$port" 2>/dev/null | head -n 3 || true)
  fi
  {
    echo "run.sh: 127.0.0.1:$port ($what of the demo Prosody) is already in use${holder:+:}"
    [[ -z "$holder" ]] || printf '  %s\n' "$holder"
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prosody 2>/dev/null; then
      echo "  The system Prosody (prosody.service, started when the package was installed) is"
      echo "  running; stop it for the demo: sudo systemctl stop prosody"
      echo "  (sudo systemctl disable prosody keeps it off after a reboot)."
    fi
    echo "  Or give the demo another port: $env=<port> ./run.sh"
  } >&2
}

if ((demo)); then
  for var in PARLEY_DEMO_C2S_PORT PARLEY_DEMO_COMPONENT_PORT; do
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
  # Servers left over from an earlier run (run.sh was killed with SIGKILL) hold the ports and
  # live in the directory this run would delete. Each is recognised by its pid file and by
  # the demo config on its command line (a recycled PID is someone else's process).
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
  if ((${#leftovers[@]} > 0)); then
    echo "run.sh: the demo of an earlier ./run.sh still runs (PID ${leftovers[*]}); stop it: kill ${leftovers[*]}" >&2
    exit 1
  fi
  # A default port that is taken (on a fresh Debian, installing prosody starts the system
  # prosody.service on 5222 and 5347) moves the demo to the next free port from 15222 / 15347;
  # a port the user chose must be free.
  for which in c2s component; do
    if [[ $which == c2s ]]; then var=PARLEY_DEMO_C2S_PORT what="the XMPP client port" base=15222
    else var=PARLEY_DEMO_COMPONENT_PORT what="the component port" base=15347; fi
    port_var=${which}_port
    port=${!port_var}
    tcp_accepts "$port" || continue
    if [[ -n "${!var:-}" ]]; then
      port_taken_error "$port" "$what" "$var"
      exit 1
    fi
    for ((candidate = base; candidate < base + 50; candidate++)); do
      [[ $candidate != "$c2s_port" && $candidate != "$component_port" ]] || continue
      tcp_accepts "$candidate" || break
    done
    echo "run.sh: 127.0.0.1:$port ($what) is taken (a system Prosody?); the demo uses $candidate instead" >&2
    printf -v "$port_var" '%s' "$candidate"
  done
fi

# ---- build ------------------------------------------------------------------------------------

# shellcheck source=scripts/deps.sh
. scripts/deps.sh
if ((demo)); then
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
  printf 'Press Ctrl-C to stop.\n\n'
  exec build/server/parleyd --config "$config"
fi

# ---- demo: files ------------------------------------------------------------------------------

rm -rf "$demo_dir"
mkdir -p build
mkdir -m 700 "$demo_dir"  # the secret is in there
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

# parley.toml: the example with the [xmpp] keys the demo needs replaced where they are set and
# added right under [xmpp] where they are not (a new [xmpp] table if the example has none).
# The file is read twice: first to learn which keys [xmpp] sets, then to write.
awk -v secret="$secret" -v server="127.0.0.1:$component_port" '
  function is_xmpp_header(line) {
    return line ~ /^[[:space:]]*\[[[:space:]]*xmpp[[:space:]]*\][[:space:]]*(#.*)?$/
  }
  function key_of(line,    k) {
    if (line !~ /^[[:space:]]*(enabled|secret|server)[[:space:]]*=/) return ""
    k = line
    sub(/^[[:space:]]*/, "", k)
    sub(/[[:space:]]*=.*$/, "", k)
    return k
  }
  function setting(k) {
    if (k == "enabled") return "enabled = true"
    if (k == "secret") return "secret = \"" secret "\""
    return "server = \"" server "\""
  }
  function add_missing(    i, k) {
    for (i = 1; i <= 3; i++) {
      k = (i == 1 ? "enabled" : i == 2 ? "secret" : "server")
      if (!(k in present)) print setting(k) "  # set by run.sh"
    }
  }
  /^[[:space:]]*\[/ {
    in_xmpp = is_xmpp_header($0)
    if (FNR == NR) { if (in_xmpp) has_table = 1; next }
    print
    if (in_xmpp) add_missing()
    next
  }
  FNR == NR { if (in_xmpp && (k = key_of($0)) != "") present[k] = 1; next }
  in_xmpp && (k = key_of($0)) != "" { print setting(k) "  # set by run.sh"; next }
  { print }
  END {
    if (!has_table) { print ""; print "[xmpp]  # added by run.sh"; add_missing() }
  }' "$config" "$config" >"$parley_cfg"
build/server/parleyd --check-config "$parley_cfg"

for account in bob carol; do
  if ! out=$(timeout 10 prosodyctl --config "$prosody_cfg" register "$account" localhost "$account" </dev/null 2>&1); then
    printf 'run.sh: prosodyctl register %s localhost failed:\n%s\n' "$account" "$out" >&2
    exit 1
  fi
done

# ---- demo: processes --------------------------------------------------------------------------

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
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Prosody and parleyd each get a session of their own (setsid), so Ctrl-C on the terminal
# reaches only this script, which then stops them in order: parleyd first (it drains, and
# closes its component stream), Prosody after it. setsid execs in place (a background job of
# a non-interactive shell is no process-group leader), so $! is the server's own PID.
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
      port_taken_error "$component_port" "the component port" PARLEY_DEMO_COMPONENT_PORT
    else
      port_taken_error "$c2s_port" "the XMPP client port" PARLEY_DEMO_C2S_PORT
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
Press Ctrl-C to stop (parleyd, then Prosody).

INFO

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
