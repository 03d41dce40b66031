#!/usr/bin/env bash
# Parley vs Kamailio 5.6 under the same sipp load: PUBLISH, REGISTER and MESSAGE.
#
# For each offered RATE, first against a fresh Kamailio (kamailio/run_kamailio.sh), then against
# a fresh parleyd, runs the SAME sipp UAC command lines (only the target port differs):
#   publish   publish_load.xml   RATE*SECONDS initial PUBLISHes, one distinct user per call
#   register  register_load.xml  RATE*SECONDS REGISTERs (distinct users), sent FROM the port of
#                                the MESSAGE UAS with Contact = that port: Kamailio relays to
#                                the Contact, parleyd to the REGISTER's source address, and
#                                both are the UAS this way
#   message   message_load.xml   RATE*SECONDS MESSAGEs to those users, relayed to a sipp
#                                message_uas.xml (started on that port after the REGISTER run)
#                                that answers 200; the UAS must get every MESSAGE
# and prints per server and scenario: calls ok/failed, achieved calls/s (sipp's own clock),
# server CPU seconds (utime+stime from /proc/PID/stat; all Kamailio processes summed, parleyd
# is one process), CPU us per call and per server transaction (publish 1, register 1,
# message 2), p50/p99 response time (sipp -trace_rtt, whole ms), and memory growth over the
# scenario measured SETTLE seconds after it (Kamailio: shared memory real_used from
# kamcmd core.shmmem; parleyd: RssAnon).
#
# Usage: bench/presence_load.sh [SECONDS] [RATE...]     (default: 10 2000 5000)
# Environment:
#   PARLEYD     parleyd binary (default build/server/parleyd; copied to the work directory
#               first so a rebuild during the run cannot change it)
#   SIPP_LIMIT  most outstanding calls per sipp (-l, default 2000)
#   PIN         1 (default): server on CPU 1, every sipp on CPU 0 (taskset), so both servers
#               get the same single core; 0: no pinning (everything shares all cores)
#   SETTLE      seconds to wait after a scenario before reading memory (default 6: Kamailio
#               keeps finished transactions 5 s on its wait timer)
#   KAM_CHILDREN, KAM_SHM_MB  passed to kamailio/run_kamailio.sh (defaults 4 and 1024)
#   SERVERS     subset of "kamailio parleyd" (default both, in that order)
#   KEEP=1      keep the work directory (configs, logs, sipp output, stat and rtt files)
# Needs: sipp, python3, kamailio + kamailio-presence-modules, kamcmd, taskset (if PIN=1).
# Loopback only; every process it starts is stopped by PID; each sipp is bounded by -timeout.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
sippdir="$root/bench/sipp"

secs="${1:-10}"
shift || true
rates=("$@")
[[ ${#rates[@]} -eq 0 ]] && rates=(2000 5000)
limit="${SIPP_LIMIT:-2000}"
pin="${PIN:-1}"
settle="${SETTLE:-6}"
parleyd_src="${PARLEYD:-$root/build/server/parleyd}"
read -r -a servers <<<"${SERVERS:-kamailio parleyd}"
for s in "${servers[@]}"; do
  [[ "$s" == kamailio || "$s" == parleyd ]] || { echo "SERVERS: kamailio and/or parleyd" >&2; exit 2; }
done
for v in "$secs" "${rates[@]}" "$limit" "$settle"; do
  if ! [[ "$v" =~ ^[0-9]+$ && "$v" -gt 0 ]]; then
    echo "usage: $0 [seconds] [rate...]   (positive integers)" >&2
    exit 2
  fi
done
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
comparison_preflight "$parleyd_src"
bench_setup parley-presence-load

# start_parleyd : limits sized so that no scenario is refused by a per-user cap;
# transactions: a UDP transaction is kept 32 s (Timer J), so the default 1 000 000 covers 31 000/s.
start_parleyd() {
  launch_parleyd '[registrar]
max_contacts = 1000
[presence]
max_publications_per_presentity = 1000'
}

stop_server() {
  if [[ "$server" == kamailio ]]; then
    stop_pid "$runner_pid"
  else
    stop_pid "$server_pid"
  fi
}

# run_uac NAME SCENARIO TXN_PER_CALL LOCAL_PORT [sipp args...] : one sipp UAC run against
# the current server; appends a result row to $results.
run_uac() {
  local name=$1 scenario=$2 txn=$3 lport=$4
  shift 4
  local calls=$((rate * secs)) before after mem0 mem1 drops0 drops1 rc=0 dir="$run_dir/$name"
  mkdir -p "$dir"
  mem0="$(mem_bytes)"
  drops0="$(udp_rcvbuf_errors)"
  before="$(cpu_ticks "${server_pids[@]}")"
  (cd "$dir" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/$scenario" "$target" -i 127.0.0.1 \
      -p "$lport" -key domain sip.localhost -inf "$run_dir/users.csv" \
      -r "$rate" -rp 1000 -l "$limit" -m "$calls" -recv_timeout 5000 \
      -timeout "$((secs * 3 + 30))s" -nostdin -trace_stat -stf stat.csv -fd 1 \
      -trace_rtt -rtt_freq 1 -trace_err -error_file err.log "$@" >sipp.out 2>&1) || rc=$?
  after="$(cpu_ticks "${server_pids[@]}")"
  drops1="$(udp_rcvbuf_errors)"
  if [[ -n "${uas_pid:-}" ]]; then
    wait_uas
  fi
  sleep "$settle"
  mem1="$(mem_bytes)"
  python3 - "$server" "$name" "$rc" "$rate" "$txn" "$before" "$after" "$hz" \
      "$mem0" "$mem1" "$dir/stat.csv" "$dir" "${uas_result:-}" "$((drops1 - drops0))" >>"$results" <<'PY'
import csv, glob, sys
(server, name, rc, rate, txn, before, after, hz, mem0, mem1, stat, d, uas, drops) = sys.argv[1:]
ok = failed = retrans = 0
wall = float("nan")
try:
    with open(stat, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    col = {h: i for i, h in enumerate(rows[0])}
    last = rows[-1]
    ok = int(last[col["SuccessfulCall(C)"]])
    failed = int(last[col["FailedCall(C)"]])
    retrans = int(last[col["Retransmissions(C)"]])
    # sipp's own clock from its start to its last statistics dump
    wall = float(last[col["CurrentTime"]].split()[-1]) - float(last[col["StartTime"]].split()[-1])
except (OSError, IndexError, KeyError, ValueError):
    pass
cpu_s = (int(after) - int(before)) / int(hz)
times = []
for path in glob.glob(f"{d}/*_rtt.csv"):
    with open(path) as f:
        for line in f:
            parts = line.strip().split(";")
            if len(parts) == 3 and parts[1].replace(".", "", 1).isdigit():
                times.append(float(parts[1]))
times.sort()
def pct(p):
    return f"{times[min(len(times) - 1, int(p * len(times)))]:g}" if times else "nan"
per_call = cpu_s * 1e6 / ok if ok else float("nan")
achieved = ok / wall if wall == wall and wall > 0 else float("nan")
dmem = (int(mem1) - int(mem0)) / 1024
print(";".join([server, name, rc, str(ok), str(failed), rate, f"{achieved:.0f}", f"{cpu_s:.2f}",
                f"{per_call:.0f}", f"{per_call / int(txn):.0f}", pct(0.50), pct(0.99),
                pct(0.999), f"{times[-1]:g}" if times else "nan", str(retrans), drops,
                f"{dmem:.0f}", f"{(int(mem1) - int(mem0)) / ok if ok else float('nan'):.0f}",
                f"{int(mem0) // 1024}->{int(mem1) // 1024}", uas or "-"]))
PY
}

# wait_uas : waits (bounded) for the MESSAGE UAS, which exits 0 after answering -m MESSAGEs;
# sets uas_result to "rc/answered".
wait_uas() {
  local deadline=$((SECONDS + 20)) rc=0 handled
  while kill -0 "$uas_pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if kill -0 "$uas_pid" 2>/dev/null; then
    stop_pid "$uas_pid"
    rc=timeout
  else
    wait "$uas_pid" || rc=$?
  fi
  handled="$(grep -E 'Successful call' "$run_dir/uas/sipp.out" 2>/dev/null | tail -n 1 |
    awk -F'|' '{gsub(/ /,"",$3); print $3}')"
  uas_result="uas rc=$rc answered=${handled:-?}"
  uas_pid=""
}

echo "presence load: PUBLISH, REGISTER, MESSAGE; $secs s per scenario at ${rates[*]}/s (-l $limit)"
echo "cores: $(nproc); pinning: $([[ "$pin" == 1 ]] && echo 'server CPU 1, sipp CPU 0' || echo none)"
echo "$(kamailio -v 2>/dev/null | head -n 1 | sed 's/ (.*//'), $((${KAM_CHILDREN:-4})) UDP workers;" \
  "parleyd $parleyd_src (sha256 $(sha256sum "$parleyd" | cut -c1-12));" \
  "$(sipp -v 2>&1 | grep -oE 'SIPp v[^ ]+' | head -n 1 | sed 's/[.]$//')"

for rate in "${rates[@]}"; do
  calls=$((rate * secs))
  for server in "${servers[@]}"; do
    run_dir="$work/$server-$rate"
    mkdir -p "$run_dir" "$run_dir/uas"
    # one distinct user per call: every PUBLISH is an initial publication of a new presentity,
    # every REGISTER a new address-of-record, every MESSAGE goes to one registered user
    python3 "$sippdir/make_users.py" "$calls" "$run_dir/users.csv" >/dev/null
    uas_pid=""
    uas_result=""
    "start_$server"
    echo "[$server $rate/s] ready at $target (pids ${server_pids[*]})"
    run_uac publish publish_load.xml 1 "$(free_port)"
    uas_port="$(free_port)"
    uas_result=""
    run_uac register register_load.xml 1 "$uas_port" -key contact_host "127.0.0.1:$uas_port"
    (cd "$run_dir/uas" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/message_uas.xml" \
        -i 127.0.0.1 -p "$uas_port" -bind_local -m "$calls" -timeout "$((secs * 3 + 40))s" \
        -nostdin -trace_err -error_file err.log >sipp.out 2>&1) &
    uas_pid=$!
    started_pids+=("$uas_pid")
    sleep 1
    run_uac message message_load.xml 2 "$(free_port)"
    uas_result=""
    if [[ "$server" == kamailio ]]; then
      errs="$(grep -cE 'ERROR|CRITICAL' "$run_dir/kamailio/kamailio.log" || true)"
    else
      errs="$(grep -cE '\b(warn|warning|error|critical)\b' "$run_dir/parleyd.log" || true)"
    fi
    echo "[$server $rate/s] done; server log lines at warn/error level: $errs"
    stop_server
  done
done

echo
python3 - "$results" <<'PY'
import sys
rows = [l.rstrip("\n").split(";") for l in open(sys.argv[1]) if l.strip()]
hdr = ["server", "scenario", "rate", "ok", "failed", "calls/s", "cpu s", "us/call", "us/txn",
       "p50 ms", "p99 ms", "p99.9 ms", "max ms", "retrans", "rcvbuf drops", "mem +KB", "B/call",
       "mem KB", "sipp rc", "notes"]
print("| " + " | ".join(hdr) + " |")
print("|" + "|".join("---" for _ in hdr) + "|")
for (server, name, rc, ok, failed, rate, ach, cpu, per, pert, p50, p99, p999, mx, retrans, drops,
     dmem, bpc, mem, uas) in rows:
    print("| " + " | ".join([server, name, rate, ok, failed, ach, cpu, per, pert, p50, p99, p999,
                             mx, retrans, drops, dmem, bpc, mem, rc,
                             uas if uas != "-" else ""]) + " |")
PY
echo
echo "mem: Kamailio = shared memory real_used (kamcmd core.shmmem), parleyd = RssAnon; both read" \
  "before the scenario and $settle s after it; B/call = growth / successful calls."
echo "us/txn: server CPU per server transaction (publish 1, register 1, message 2 per call)."
echo "p50..max: sipp -trace_rtt response times (sipp's clock ticks in ~4 ms steps here; 500+ ms" \
  "= a request or response was lost and sipp retransmitted after T1); retrans: sipp's" \
  "Retransmissions(C); rcvbuf drops: host-wide UDP RcvbufErrors delta during the run."
