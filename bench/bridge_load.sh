#!/usr/bin/env bash
# Parley's SIP <-> XMPP bridge against Kamailio 5.6's xmpp module (component mode), same load.
#
# For each server in SERVERS (Kamailio first, then parleyd), each on a FRESH Prosody (loopback,
# free ports, the component sip.localhost with the same secret for both servers, XMPP user bob
# registered) and a FRESH server process, the SAME sipp command lines (only the target port
# differs) and the same XMPP clients (bench/xmpp/xmpp_load.py, slixmpp):
#   sip2xmpp  for each RATE: one XMPP receiver logs in as bob@localhost; sipp sends
#             RATE*SECONDS MESSAGEs (bench/sipp/bridge_message.xml, From user<k>@sip.localhost,
#             To sip:bob@localhost) at RATE/s; the gateway turns each into an XMPP <message/>
#             to bob and answers 202 at once (parleyd with xmpp.message_wait_ms = 0; Kamailio's
#             script after xmpp_send_message()). Reports calls ok/failed, server CPU (utime+stime
#             of every server process) and CPU us per MESSAGE, p50/p99/max response time
#             (sipp -trace_rtt), messages bob received (delivery, duplicates), delivered msg/s
#             and how long after the last 202 the last one came, Prosody's CPU for context,
#             and for Kamailio its CPU split between SIP workers, xmpp process and the rest.
#   xmpp2sip  alice@sip.localhost is registered (register_load.xml) from the port of a sipp UAS
#             (message_timed_uas.xml) that answers 200 to every MESSAGE; an XMPP sender logged
#             in as bob sends XMPP_COUNT messages to alice@sip.localhost at XMPP_RATE/s; the
#             gateway turns each into a SIP MESSAGE to alice's registered contact (parleyd:
#             straight to the contact). Reports messages the UAS answered, XMPP errors bounced
#             to the sender, server CPU us per message, delivered msg/s, Prosody's CPU.
#             Kamailio cannot be measured here (KAM_LINK below); kamailio_xmpp.cfg still holds
#             the route it would take: its xmpp process sends the MESSAGE (tm) to OUTBOUND =
#             the same Kamailio, whose script looks alice up and relays it.
# Kamailio 5.6.3's xmpp process crashes (SIGSEGV) on the first element it receives, i.e. on
# the XMPP server's stream header, before the component handshake (bench/xmpp/component_shim.py
# says why). So Kamailio is attached through that shim, which does the handshake for it and
# forwards Kamailio -> Prosody only: its SIP -> XMPP work is measured as on a direct link.
#
# Usage: bench/bridge_load.sh [SECONDS] [RATE...]      (default: 10 500)
# Environment:
#   PARLEYD      parleyd binary (default build/server/parleyd; copied to the work directory;
#                a warning is printed when a source file is newer than it)
#   SERVERS      subset of "kamailio parleyd" (default both, in that order)
#   PHASES       subset of "sip2xmpp xmpp2sip" (default both)
#   XMPP_RATE    messages/s of the XMPP sender (default: the first RATE)
#   XMPP_COUNT   messages it sends (default XMPP_RATE * SECONDS)
#   PARLEY_MESSAGE_WAIT_MS  parleyd's xmpp.message_wait_ms (default 0: 202 at once, like Kamailio;
#                parleyd's own default, 300, holds each 202 that long for a bounce)
#   DRAIN        at most this many s after the load for the last deliveries (default 20); the
#                receiving end is stopped earlier once nothing arrived for 3 s
#   SIPP_LIMIT   most outstanding calls per sipp (-l, default 2000)
#   PIN          1 (default): server on CPU 1; sipp, Prosody and the Python clients on CPU 0
#                (taskset); 0: no pinning
#   KAM_LINK     shim (default): Kamailio reaches Prosody through bench/xmpp/component_shim.py,
#                which does the component handshake for it and forwards only Kamailio -> Prosody,
#                because Kamailio 5.6.3's xmpp process crashes (SIGSEGV) on the first element it
#                receives -- so Kamailio is measured in sip2xmpp only; direct: Kamailio connects
#                to Prosody itself (reproduces the crash; both phases are then reported as not
#                measured for Kamailio)
#   KAM_CHILDREN, KAM_SHM_MB, KAM_PKG_MB  Kamailio UDP workers (4), shared memory MB (512),
#                private memory MB per process (8)
#   KEEP=1       keep the work directory (configs, logs, sipp output, client summaries)
# Needs: sipp, /usr/bin/python3 with slixmpp (python3-slixmpp), prosody + prosodyctl, and for
# Kamailio: kamailio + kamailio-xmpp-modules (apt-get install -y kamailio kamailio-xmpp-modules;
# bench-only, not in scripts/deps.sh), taskset (if PIN=1).
# Loopback only; every process it starts is stopped by PID; every wait is bounded (sipp by
# -timeout, the clients by their own time limits and by DRAIN).
# Default run (both servers, both phases, 10 s at 500/s): about 40 s.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
sippdir="$root/bench/sipp"
xmppdir="$root/bench/xmpp"
kamcfg="$root/bench/kamailio/kamailio_xmpp.cfg"
py=/usr/bin/python3   # Debian's python3-slixmpp is only importable from the system Python

secs="${1:-10}"
shift || true
rates=("$@")
[[ ${#rates[@]} -eq 0 ]] && rates=(500)
read -r -a servers <<<"${SERVERS:-kamailio parleyd}"
phases=" ${PHASES:-sip2xmpp xmpp2sip} "
xmpp_rate="${XMPP_RATE:-${rates[0]}}"
xmpp_count="${XMPP_COUNT:-$((xmpp_rate * secs))}"
drain="${DRAIN:-20}"
parley_wait_ms="${PARLEY_MESSAGE_WAIT_MS:-0}"
limit="${SIPP_LIMIT:-2000}"
pin="${PIN:-1}"
kam_children="${KAM_CHILDREN:-4}"
kam_shm_mb="${KAM_SHM_MB:-512}"
kam_pkg_mb="${KAM_PKG_MB:-8}"
parleyd_src="${PARLEYD:-$root/build/server/parleyd}"
[[ "$parley_wait_ms" =~ ^[0-9]+$ && "$parley_wait_ms" -le 450 ]] ||
  { echo "PARLEY_MESSAGE_WAIT_MS: 0..450" >&2; exit 2; }
for v in "$secs" "${rates[@]}" "$xmpp_rate" "$xmpp_count" "$drain" "$limit" "$kam_children" \
    "$kam_shm_mb" "$kam_pkg_mb"; do
  if ! [[ "$v" =~ ^[0-9]+$ && "$v" -gt 0 ]]; then
    echo "usage: $0 [seconds] [rate...]   (positive integers; see the header for the environment)" >&2
    exit 2
  fi
done
kam_link="${KAM_LINK:-shim}"
[[ "$kam_link" == shim || "$kam_link" == direct ]] || { echo "KAM_LINK: shim or direct" >&2; exit 2; }
for s in "${servers[@]}"; do
  [[ "$s" == kamailio || "$s" == parleyd ]] || { echo "SERVERS: kamailio and/or parleyd" >&2; exit 2; }
done
for p in $phases; do
  [[ "$p" == sip2xmpp || "$p" == xmpp2sip ]] || { echo "PHASES: sip2xmpp and/or xmpp2sip" >&2; exit 2; }
done

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"

# ---- preflight ----------------------------------------------------------------------------------
for tool in sipp prosody prosodyctl; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install -y ${tool%ctl})" >&2; exit 2; }
done
"$py" -c 'import slixmpp' 2>/dev/null ||
  { echo "slixmpp not importable from $py: apt-get install -y python3-slixmpp" >&2; exit 2; }
kamailio_bin=""
if [[ " ${servers[*]} " == *" kamailio "* ]]; then
  kamailio_bin="$(command -v kamailio || true)"
  [[ -z "$kamailio_bin" && -x /usr/sbin/kamailio ]] && kamailio_bin=/usr/sbin/kamailio
  [[ -n "$kamailio_bin" ]] || { echo "kamailio not found: apt-get install -y kamailio kamailio-xmpp-modules" >&2; exit 2; }
  if [[ -z "$(find /usr/lib -name xmpp.so -path '*kamailio*' -print -quit 2>/dev/null)" ]]; then
    echo "Kamailio's xmpp module not found: apt-get install -y kamailio-xmpp-modules" >&2
    exit 2
  fi
fi
if [[ " ${servers[*]} " == *" parleyd "* ]]; then
  [[ -x "$parleyd_src" ]] || { echo "no parleyd at $parleyd_src: build it or set PARLEYD" >&2; exit 2; }
  newer="$(find "$root" -path "$root/build*" -prune -o \( -name '*.cpp' -o -name '*.hpp' \) \
    -newer "$parleyd_src" -print -quit 2>/dev/null || true)"
  [[ -n "$newer" ]] && echo "warning: $newer is newer than $parleyd_src (stale build?)" >&2
fi
pin_cpus
aux_cpu=("${sipp_cpu[@]}")   # Prosody and the Python clients share the load generator's core

bench_setup parley-bridge-load
secret="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"   # one component secret for both servers
printf 'SEQUENTIAL\nalice;alice;\n' >"$work/alice.csv"

now_ms() { date +%s%3N; }

# free_tcp_port : a TCP port on 127.0.0.1 that was free a moment ago.
free_tcp_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_file FILE SECONDS PID : waits until FILE exists; fails early when PID exits.
wait_for_file() {
  local file=$1 limit_s=$2 pid=$3 deadline
  deadline=$((SECONDS + limit_s))
  while [[ ! -e "$file" ]] && ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  [[ -e "$file" ]]
}

# ---- Prosody ------------------------------------------------------------------------------------
# start_prosody DIR : a fresh Prosody (scripts/prosody_config.py, log at info)
# on free loopback ports with the component sip.localhost and the user bob; sets prosody_pid,
# c2s_port, comp_port, prosody_log.
start_prosody() {
  local dir=$1 attempt
  mkdir -p "$dir/data" "$dir/certs"
  prosody_log="$dir/prosody.log"
  for attempt in 1 2 3; do
    c2s_port="$(free_tcp_port)"
    comp_port="$(free_tcp_port)"
    [[ "$c2s_port" == "$comp_port" ]] && continue
    python3 "$root/scripts/prosody_config.py" --out "$dir/prosody.cfg.lua" --dir "$dir" \
      --c2s-port "$c2s_port" --component-port "$comp_port" --secret "$secret" --log-level info \
      --generator bench/bridge_load.sh
    if [[ $attempt == 1 ]]; then
      (cd "$dir" && timeout 20 prosodyctl --config "$dir/prosody.cfg.lua" register bob localhost bob-pw \
        </dev/null >"$dir/register.out" 2>&1) ||
        { echo "prosodyctl register bob failed:" >&2; cat "$dir/register.out" >&2; exit 1; }
    fi
    : >"$prosody_log"
    (cd "$dir" && exec "${aux_cpu[@]}" prosody -F --config "$dir/prosody.cfg.lua" </dev/null \
      >"$dir/prosody.out" 2>&1) &
    prosody_pid=$!
    started_pids+=("$prosody_pid")
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)) && kill -0 "$prosody_pid" 2>/dev/null; do
      if grep -q "Activated service 'c2s' on \[127.0.0.1\]:$c2s_port" "$prosody_log" &&
         grep -q "Activated service 'component' on \[127.0.0.1\]:$comp_port" "$prosody_log"; then
        return 0
      fi
      grep -qiE 'Failed to open server port|Address already in use' "$prosody_log" && break
      sleep 0.1
    done
    stop_pid "$prosody_pid"
  done
  echo "Prosody did not start; its output:" >&2
  tail -n 20 "$dir/prosody.out" "$prosody_log" >&2
  exit 1
}

# wait_component SECONDS : until Prosody logs the component's accepted handshake.
wait_component() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    grep -q 'External component successfully authenticated' "$prosody_log" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "[$server] the component did not authenticate to Prosody (waited up to $1 s); Prosody log tail:" >&2
  tail -n 15 "$prosody_log" >&2
  echo "server log tail ($server_log):" >&2
  tail -n 15 "$server_log" >&2
  return 1
}

# ---- servers ------------------------------------------------------------------------------------
# start_kamailio_xmpp : Kamailio with kamailio_xmpp.cfg on a free port, attached to Prosody
# through component_shim.py (KAM_LINK=shim) or directly (KAM_LINK=direct: its xmpp process
# crashes on Prosody's first byte, see component_shim.py). Returns 1 if it does not come up.
start_kamailio_xmpp() {
  local port dir="$run_dir/kamailio" child xport="$comp_port"
  port="$(free_port)"
  mkdir -p "$dir"
  server_log="$dir/kamailio.log"
  shim_pid=""
  if [[ "$kam_link" == shim ]]; then
    xport="$(free_tcp_port)"
    rm -f "$dir/shim.ready"
    (exec "${aux_cpu[@]}" "$py" "$xmppdir/component_shim.py" --listen "$xport" --server "$comp_port" \
      --domain sip.localhost --secret "$secret" --ready "$dir/shim.ready" >"$dir/shim.out" 2>&1) &
    shim_pid=$!
    started_pids+=("$shim_pid")
    if ! wait_for_file "$dir/shim.ready" 10 "$shim_pid"; then
      echo "component_shim.py did not start:" >&2
      cat "$dir/shim.out" >&2
      exit 1
    fi
  fi
  "${server_cpu[@]}" "$kamailio_bin" -f "$kamcfg" -w "$dir" -DD -E -m "$kam_shm_mb" -M "$kam_pkg_mb" \
    -A "SIP_PORT=$port" -A "CHILDREN=$kam_children" -A "XMPP_PORT=$xport" \
    -A "XMPP_SECRET=\"$secret\"" -A "OUTBOUND=\"sip:127.0.0.1:$port\"" \
    -A "CTL_SOCKET=\"unix:$dir/kamailio_ctl\"" >"$server_log" 2>&1 &
  server_pid=$!
  started_pids+=("$server_pid")
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    options_ok "$port" && { target="127.0.0.1:$port"; break; }
    sleep 0.1
  done
  server_pids=("$server_pid")
  if [[ "${target:-}" != "127.0.0.1:$port" ]]; then
    echo "Kamailio did not answer OPTIONS on 127.0.0.1:$port; its log:" >&2
    tail -n 20 "$server_log" >&2
    return 1
  fi
  for child in $(pgrep -P "$server_pid" || true); do
    server_pids+=("$child")
  done
}

start_parleyd_xmpp() {
  launch_parleyd "[registrar]
max_contacts = 1000
[xmpp]
enabled = true
component_domain = \"sip.localhost\"
server = \"127.0.0.1:$comp_port\"
secret = \"$secret\"
domains = [\"localhost\"]
message_wait_ms = $parley_wait_ms
max_queued_stanzas = 100000"
}

# stop_server : SIGTERM to the server (Kamailio's main process stops its children); any
# Kamailio child still there after that is killed by PID; then the shim, if any.
stop_server() {
  local pid
  stop_pid "$server_pid"
  if [[ "$server" == kamailio ]]; then
    for pid in "${server_pids[@]:1}"; do
      if kill -0 "$pid" 2>/dev/null && grep -q kamailio "/proc/$pid/cmdline" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done
    [[ -n "${shim_pid:-}" ]] && stop_pid "$shim_pid"
  fi
  target=""
}

# start_gateway PROSODY_DIR : a fresh Prosody and a fresh server attached to it. Returns 1 (after
# saying why and stopping both) when the server does not come up or its component never
# authenticates, or a Kamailio process died meanwhile.
start_gateway() {
  local pid
  start_prosody "$1"
  target=""
  if "start_${server}_xmpp" && wait_component 15; then
    for pid in "${server_pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && continue
      echo "[$server] process $pid exited after the component link came up" >&2
      tail -n 10 "$server_log" >&2
      stop_server
      stop_pid "$prosody_pid"
      return 1
    done
    echo "[$server] ready at $target (pids ${server_pids[*]}); Prosody c2s $c2s_port component $comp_port"
    return 0
  fi
  if [[ "$server" == kamailio ]] && grep -q 'exited by a signal' "$server_log" 2>/dev/null; then
    echo "[$server] Kamailio crashed: $(grep -m 1 'exited by a signal' "$server_log" | sed 's/^ *//')" >&2
  fi
  stop_server
  stop_pid "$prosody_pid"
  return 1
}

log_errs() {
  if [[ "$server" == kamailio ]]; then
    errs="$(grep -cE 'ERROR|CRITICAL' "$server_log" 2>/dev/null || true)"
  else
    errs="$(grep -cE '\b(warn|warning|error|critical)\b' "$server_log" 2>/dev/null || true)"
  fi
  errs="${errs:-0}"
}

# sock_drops : datagrams dropped on the server's own UDP socket since it opened.
sock_drops() {
  local hex
  hex="$(printf '0100007F:%04X' "${target##*:}")"
  awk -v a="$hex" '$2 == a {d += $NF} END {print d + 0}' /proc/net/udp
}

# stop_client PID : the Python client writes its summary on SIGTERM; stop_pid waits for it.
stop_client() {
  stop_pid "$1"
}

# wait_quiet PID COUNTER_CMD : waits while PID runs and the count printed by COUNTER_CMD keeps
# growing: returns when PID exited, nothing new came for 3 s, or DRAIN s passed.
wait_quiet() {
  local pid=$1 counter=$2 deadline=$((SECONDS + drain)) last=-1 stall=0 n
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 1
    n="$($counter)"
    if [[ "$n" == "$last" ]]; then
      stall=$((stall + 1))
      ((stall >= 3)) && break
    else
      stall=0
      last=$n
    fi
  done
}

# per_pid_ticks : "PID:TICKS ..." for every server process.
per_pid_ticks() {
  local pid out=""
  for pid in "${server_pids[@]}"; do
    out+="$pid:$(cpu_ticks "$pid") "
  done
  echo "$out"
}

# kam_split BEFORE AFTER : Kamailio's CPU s by kind of process (kamcmd core.psx names them).
kam_split() {
  kamcmd -s "unix:$run_dir/kamailio/kamailio_ctl" core.psx 2>/dev/null |
    "$py" -c '
import sys
hz = float(sys.argv[3])
before = dict(x.split(":") for x in sys.argv[1].split())
after = dict(x.split(":") for x in sys.argv[2].split())
kind, pid = {}, None
for line in sys.stdin:
    line = line.strip()
    if line.startswith("PID:"):
        pid = line.split()[1]
    elif line.startswith("DSC:") and pid:
        d = line[4:].strip()
        kind[pid] = "sip workers" if d.startswith("udp receiver") else "xmpp process" if "XMPP" in d else "timers+main"
sums = {}
for pid, t in after.items():
    k = kind.get(pid, "timers+main")
    sums[k] = sums.get(k, 0) + (int(t) - int(before.get(pid, t))) / hz
print(" / ".join(f"{k} {v:.2f}" for k, v in sorted(sums.items())))' "$1" "$2" "$hz"
}

rx_count() { cat "$rxdir/rx.count" 2>/dev/null || echo 0; }
uas_count() {
  awk -F';' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") c = i}
             END {print (c ? $c : 0)}' "$run_dir/uas/stat.csv" 2>/dev/null || echo 0
}

row() {
  "$py" - "$@" >>"$results" <<'PY'
import json, sys
rec = {}
for a in sys.argv[1:]:
    k, v = a.split("=", 1)
    rec[k] = v
print(json.dumps(rec))
PY
}

# ---- phases -------------------------------------------------------------------------------------
# phase_sip2xmpp RATE
phase_sip2xmpp() {
  local rate=$1 calls=$(($1 * secs)) dir="$run_dir/sip2xmpp-$1" rx_pid rc=0 cpu0 cpu1 p0 p1 d0 d1 t_end pp0 pp1 split
  rxdir="$dir/rx"
  mkdir -p "$rxdir"
  (exec "${aux_cpu[@]}" "$py" "$xmppdir/xmpp_load.py" receive --jid bob@localhost/bench \
    --password bob-pw --port "$c2s_port" --expect "$calls" --timeout $((secs * 3 + drain + 120)) \
    --summary "$rxdir/rx.json" --ready "$rxdir/rx.ready" --progress "$rxdir/rx.count" \
    >"$rxdir/rx.out" 2>&1) &
  rx_pid=$!
  started_pids+=("$rx_pid")
  if ! wait_for_file "$rxdir/rx.ready" 20 "$rx_pid"; then
    echo "[$server] the XMPP receiver did not log in:" >&2
    cat "$rxdir/rx.out" >&2
    exit 1
  fi
  sleep 0.5
  d0="$(sock_drops)"
  cpu0="$(cpu_ticks "${server_pids[@]}")"
  pp0="$(per_pid_ticks)"
  p0="$(cpu_ticks "$prosody_pid")"
  (cd "$dir" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/bridge_message.xml" "$target" -i 127.0.0.1 \
      -p "$(free_port)" -key domain sip.localhost -key xmpp_user bob -key xmpp_domain localhost \
      -inf "$sippdir/users.csv" -r "$rate" -rp 1000 -l "$limit" -m "$calls" -recv_timeout 5000 \
      -timeout "$((secs * 3 + 30))s" -nostdin -trace_stat -stf stat.csv -fd 1 \
      -trace_rtt -rtt_freq 1 -trace_err -error_file err.log >sipp.out 2>&1) || rc=$?
  t_end="$(now_ms)"
  if [[ $rc -ne 0 ]]; then
    echo "[$server $rate/s] sipp bridge_message.xml exited $rc; last lines:"
    tail -n 4 "$dir/sipp.out" | sed 's/^/    /'
  fi
  wait_quiet "$rx_pid" rx_count
  cpu1="$(cpu_ticks "${server_pids[@]}")"
  pp1="$(per_pid_ticks)"
  p1="$(cpu_ticks "$prosody_pid")"
  d1="$(sock_drops)"
  split="-"
  [[ "$server" == kamailio ]] && split="$(kam_split "$pp0" "$pp1")"
  stop_client "$rx_pid"
  log_errs
  row kind=sip2xmpp "split=$split" "server=$server" "rate=$rate" "calls=$calls" "rc=$rc" "cpu0=$cpu0" "cpu1=$cpu1" \
    "p0=$p0" "p1=$p1" "hz=$hz" "sdrops=$((d1 - d0))" "errs=$errs" "t_end=$t_end" "uac=$dir" \
    "rx=$rxdir/rx.json"
  echo "[$server $rate/s] sip2xmpp: sipp rc=$rc, XMPP receiver got $(rx_count) of $calls"
}

phase_xmpp2sip() {
  local dir="$run_dir/xmpp2sip" uas_port uas_pid tx_pid rc=0 cpu0 cpu1 p0 p1 d0 d1 uas_rc=0 tx_rc=0
  mkdir -p "$dir" "$run_dir/uas" "$run_dir/tx"
  uas_port="$(free_port)"
  # alice's binding: REGISTER sent FROM the UAS port with Contact = that port (Kamailio relays
  # to the Contact, parleyd to the REGISTER's source address: both reach the UAS)
  (cd "$dir" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/register_load.xml" "$target" -i 127.0.0.1 \
      -p "$uas_port" -key domain sip.localhost -key contact_host "127.0.0.1:$uas_port" \
      -inf "$work/alice.csv" -m 1 -recv_timeout 5000 -timeout 20s -nostdin >register.out 2>&1) || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "[$server] REGISTER of alice failed (sipp rc=$rc):" >&2
    tail -n 5 "$dir/register.out" >&2
    exit 1
  fi
  (cd "$run_dir/uas" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/message_timed_uas.xml" \
      -i 127.0.0.1 -p "$uas_port" -bind_local -m "$xmpp_count" \
      -timeout "$((xmpp_count * 3 / xmpp_rate + drain + 60))s" -nostdin -trace_stat -stf stat.csv -fd 1 \
      -trace_rtt -rtt_freq 1 -trace_err -error_file err.log >sipp.out 2>&1) &
  uas_pid=$!
  started_pids+=("$uas_pid")
  sleep 1
  (exec "${aux_cpu[@]}" "$py" "$xmppdir/xmpp_load.py" send --jid bob@localhost/sender \
    --password bob-pw --port "$c2s_port" --to alice@sip.localhost --count "$xmpp_count" \
    --rate "$xmpp_rate" --linger 2 --summary "$run_dir/tx/tx.json" --ready "$run_dir/tx/tx.ready" \
    >"$run_dir/tx/tx.out" 2>&1) &
  tx_pid=$!
  started_pids+=("$tx_pid")
  if ! wait_for_file "$run_dir/tx/tx.ready" 20 "$tx_pid"; then
    echo "[$server] the XMPP sender did not log in:" >&2
    cat "$run_dir/tx/tx.out" >&2
    exit 1
  fi
  d0="$(sock_drops)"
  cpu0="$(cpu_ticks "${server_pids[@]}")"
  p0="$(cpu_ticks "$prosody_pid")"
  # the sender ends by itself (count/rate s + 2 s linger); bounded anyway
  local deadline=$((SECONDS + xmpp_count * 3 / xmpp_rate + 60))
  while kill -0 "$tx_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$tx_pid" 2>/dev/null; then
    echo "[$server] the XMPP sender did not finish in time; stopping it" >&2
    stop_pid "$tx_pid"
    tx_rc=timeout
  else
    wait "$tx_pid" || tx_rc=$?
  fi
  wait_quiet "$uas_pid" uas_count
  cpu1="$(cpu_ticks "${server_pids[@]}")"
  p1="$(cpu_ticks "$prosody_pid")"
  d1="$(sock_drops)"
  finish_sipp "$uas_pid"
  uas_rc=$sipp_rc
  log_errs
  row kind=xmpp2sip "server=$server" "rate=$xmpp_rate" "count=$xmpp_count" "tx_rc=$tx_rc" \
    "uas_rc=$uas_rc" "cpu0=$cpu0" "cpu1=$cpu1" "p0=$p0" "p1=$p1" "hz=$hz" "sdrops=$((d1 - d0))" \
    "errs=$errs" "tx=$run_dir/tx/tx.json" "uas=$run_dir/uas"
  echo "[$server] xmpp2sip: sender rc=$tx_rc, UAS answered $(uas_count) of $xmpp_count (rc=$uas_rc)"
}

# ---- run ----------------------------------------------------------------------------------------
echo "SIP <-> XMPP bridge load: phases${phases% }; sip2xmpp $secs s at ${rates[*]}/s;" \
  "xmpp2sip $xmpp_count messages at $xmpp_rate/s (-l $limit)"
echo "cores: $(nproc); pinning: $([[ "$pin" == 1 ]] && echo 'server CPU 1; sipp, Prosody, clients CPU 0' || echo none)"
versions="$(dpkg-query -W -f='prosody ${Version}' prosody 2>/dev/null || echo prosody)"
if [[ -n "$kamailio_bin" ]]; then
  versions+="; $("$kamailio_bin" -v 2>/dev/null | head -n 1 | sed 's/ (.*//; s/^version: //'), $kam_children UDP workers, link $kam_link"
fi
if [[ -e "$parleyd" ]]; then
  versions+="; parleyd $parleyd_src (sha256 $(sha256sum "$parleyd" | cut -c1-12), message_wait_ms $parley_wait_ms)"
fi
echo "$versions; $(sipp -v 2>&1 | grep -oE 'SIPp v[^ ]+' | head -n 1 | sed 's/[.]$//')"

failures=()
for server in "${servers[@]}"; do
  run_dir="$work/run-$server"
  mkdir -p "$run_dir"
  if [[ "$phases" == *" sip2xmpp "* ]]; then
    for rate in "${rates[@]}"; do
      if ! start_gateway "$run_dir/prosody-$rate"; then
        failures+=("$server sip2xmpp $rate/s: did not come up or could not attach to Prosody (log: $server_log)")
        continue
      fi
      phase_sip2xmpp "$rate"
      stop_server
      stop_pid "$prosody_pid"
    done
  fi
  if [[ "$phases" == *" xmpp2sip "* ]]; then
    if [[ "$server" == kamailio && "$kam_link" == shim ]]; then
      failures+=("kamailio xmpp2sip: its xmpp process crashes on the first element it receives (see bench/xmpp/component_shim.py); the shim never forwards anything to it")
      continue
    fi
    if ! start_gateway "$run_dir/prosody-x"; then
      failures+=("$server xmpp2sip: did not come up or could not attach to Prosody (log: $server_log)")
      continue
    fi
    phase_xmpp2sip
    stop_server
    stop_pid "$prosody_pid"
  fi
done

echo
"$py" - "$results" <<'PY'
import csv, glob, json, sys

def uac(d):
    r = {"ok": 0, "failed": 0, "retrans": 0, "wall": None, "times": [], "start_ms": None, "last_ms": None}
    try:
        with open(f"{d}/stat.csv", newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
        col = {h: i for i, h in enumerate(rows[0])}
        last = rows[-1]
        r["ok"] = int(last[col["SuccessfulCall(C)"]])
        r["failed"] = int(last[col["FailedCall(C)"]])
        r["retrans"] = int(last[col["Retransmissions(C)"]])
        r["start_ms"] = float(rows[1][col["StartTime"]].split()[-1]) * 1000
        r["wall"] = float(last[col["CurrentTime"]].split()[-1]) - r["start_ms"] / 1000
    except (OSError, IndexError, KeyError, ValueError):
        pass
    done = []
    for path in glob.glob(f"{d}/*_rtt.csv"):
        with open(path) as f:
            for line in f:
                p = line.strip().split(";")
                if len(p) == 3 and p[1].replace(".", "", 1).isdigit():
                    r["times"].append(float(p[1]))
                    done.append(float(p[0]))
    r["times"].sort()
    if done and r["start_ms"] is not None:
        r["first_ms"] = r["start_ms"] + min(done)
        r["last_ms"] = r["start_ms"] + max(done)
    return r

def pct(times, q):
    return times[min(len(times) - 1, int(q * len(times)))] if times else None

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

def f(v, fmt="{:.0f}"):
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return fmt.format(v)

def table(title, hdr, rows, note):
    if not rows:
        return
    print(f"### {title}\n")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" for _ in hdr) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("\n" + note + "\n")

recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = []
for r in recs:
    if r["kind"] != "sip2xmpp":
        continue
    u = uac(r["uac"])
    rx = load(r["rx"])
    hz = int(r["hz"])
    cpu = (int(r["cpu1"]) - int(r["cpu0"])) / hz
    pcpu = (int(r["p1"]) - int(r["p0"])) / hz
    ok = u["ok"]
    got = rx.get("received")
    span = (rx["last"] - rx["first"]) if rx.get("first") and rx.get("last") else None
    tail = (rx["last"] * 1000 - u["last_ms"]) if rx.get("last") and u.get("last_ms") else None
    rows.append([r["server"], r["rate"], f"{ok} / {u['failed']}",
                 f(ok / u["wall"]) if u["wall"] else "-", f(cpu, "{:.2f}"),
                 f(cpu * 1e6 / ok if ok else None), f(pct(u["times"], 0.5), "{:g}"),
                 f(pct(u["times"], 0.99), "{:g}"), f(u["times"][-1] if u["times"] else None, "{:g}"),
                 str(u["retrans"]), f"{got if got is not None else '-'} ({rx.get('unique', '-')} unique)",
                 f(got / span if got and span else None), f(tail), f(pcpu, "{:.2f}"),
                 f(pcpu * 1e6 / got if got else None), f(rx.get("cpu_s"), "{:.1f}"),
                 r["sdrops"], r["errs"], r["rc"], r.get("split", "-")])
table("SIP -> XMPP (bridge_message.xml: MESSAGE to sip:bob@localhost, answered 202 by the gateway)",
      ["server", "rate", "ok / failed", "calls/s", "server cpu s", "us/MESSAGE", "p50 ms", "p99 ms",
       "max ms", "retrans", "XMPP received", "recv msg/s", "last msg after last 202 ms",
       "Prosody cpu s", "Prosody us/msg", "receiver cpu s", "drops", "log errs", "sipp rc",
       "server cpu s by process"], rows,
      "us/MESSAGE = server CPU (all processes) / MESSAGEs answered; XMPP received = <message/>s the "
      "slixmpp receiver (bob) got (unique bodies: duplicates would show here); recv msg/s = received / "
      "(last - first arrival); last msg after last 202 = last arrival at bob - last 202 at sipp "
      "(clocks of two processes, +-4 ms); drops = datagrams dropped on the server's UDP socket; "
      "by process: Kamailio's SIP workers, its xmpp process and the rest (kamcmd core.psx).")
rows = []
for r in recs:
    if r["kind"] != "xmpp2sip":
        continue
    tx = load(r["tx"])
    u = uac(r["uas"])
    hz = int(r["hz"])
    cpu = (int(r["cpu1"]) - int(r["cpu0"])) / hz
    pcpu = (int(r["p1"]) - int(r["p0"])) / hz
    got = len(u["times"]) or u["ok"]
    span = ((u["last_ms"] - u["first_ms"]) / 1000) if u.get("last_ms") and u.get("first_ms") else None
    tail = (u["last_ms"] - tx["last_sent"] * 1000) if u.get("last_ms") and tx.get("last_sent") else None
    errs = tx.get("errors") or {}
    rows.append([r["server"], r["rate"], str(tx.get("sent", "-")), f(tx.get("send_s"), "{:.1f}"),
                 str(got), ", ".join(f"{k} {v}" for k, v in errs.items()) or "0",
                 f(cpu, "{:.2f}"), f(cpu * 1e6 / got if got else None),
                 f(got / span if got and span else None), f(tail), f(pcpu, "{:.2f}"),
                 f(pcpu * 1e6 / got if got else None), f(tx.get("cpu_s"), "{:.1f}"),
                 r["sdrops"], r["errs"], f"{r['tx_rc']}/{r['uas_rc']}"])
table("XMPP -> SIP (XMPP <message/>s from bob to alice@sip.localhost, registered to a sipp UAS)",
      ["server", "rate", "sent", "send s", "SIP delivered", "XMPP errors", "server cpu s", "us/message",
       "delivered msg/s", "last after last sent ms", "Prosody cpu s", "Prosody us/msg", "sender cpu s",
       "drops", "log errs", "sender/UAS rc"], rows,
      "us/message = server CPU (all processes) / MESSAGEs the UAS answered (1 client transaction "
      "each for parleyd; Kamailio's configured path would be 3: its xmpp process -> itself -> alice); "
      "last after last sent = last MESSAGE at the UAS - last stanza written by the sender.")
PY
if ((${#failures[@]})); then
  echo "Not measured:"
  printf -- '- %s\n' "${failures[@]}"
fi
