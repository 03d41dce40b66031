#!/usr/bin/env bash
# Smoke test of the Kamailio reference server with the sipp load scenarios of bench/sipp/:
# starts Kamailio (run_kamailio.sh) on a free loopback port, runs every scenario a little
# (default 200 calls at 100/s) and checks each sipp's exit status, then stops everything.
# Proves that kamailio.cfg and the scenarios work together; it is not a benchmark, but it
# prints per scenario the calls done, the achieved rate, Kamailio CPU per call (all its
# processes) and the p50/p99 response time from sipp's -trace_rtt.
#
# Usage: bench/kamailio/smoke.sh [CALLS] [RATE]
# Environment: KEEP=1 keeps the work directory (logs, sipp stats and rtt files).
# Needs kamailio + kamailio-presence-modules (apt-get install -y kamailio
# kamailio-presence-modules), sipp (sip-tester), python3. Loopback only; about 30-40 s;
# every process it starts is stopped by PID.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
sippdir="$(cd "$here/../sipp" && pwd)"

calls="${1:-200}"
rate="${2:-100}"
if ! [[ "$calls" =~ ^[0-9]+$ && "$rate" =~ ^[0-9]+$ && "$calls" -gt 0 && "$rate" -gt 0 ]]; then
  echo "usage: $0 [calls] [rate]" >&2
  exit 2
fi
if ! command -v kamailio >/dev/null && [[ ! -x /usr/sbin/kamailio ]]; then
  echo "kamailio not found: apt-get install -y kamailio kamailio-presence-modules" >&2
  exit 2
fi
for tool in sipp python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install sip-tester python3)" >&2; exit 2; }
done

# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
bench_workdir parley-kam-smoke

# shm_used : bytes of Kamailio shared memory in use (subscriptions, presentities, transactions).
shm_used() {
  kamcmd -s "unix:$work/kamailio/kamailio_ctl" core.shmmem 2>/dev/null |
    awk '$1 == "real_used:" {print $2}'
}

failures=0
results="$work/results"
: >"$results"

# run_uac NAME SCENARIO CALLS RATE [sipp args...] : one sipp UAC run against Kamailio.
run_uac() {
  local name=$1 scenario=$2 n=$3 r=$4
  shift 4
  local before after t0 t1 rc=0
  before="$(cpu_ticks $kam_pids)"
  t0="$(date +%s.%N)"
  (cd "$work" && exec sipp -sf "$sippdir/$scenario" "127.0.0.1:$kam_port" -i 127.0.0.1 \
      -p "$(free_port)" -key domain sip.localhost -r "$r" -m "$n" -l 1000 \
      -recv_timeout 5000 -timeout 30s -nostdin -trace_stat -stf "$name.stat.csv" \
      -trace_rtt -rtt_freq 1 -trace_err -error_file "$name.err" "$@" \
      >"$work/$name.out" 2>&1) || rc=$?
  t1="$(date +%s.%N)"
  after="$(cpu_ticks $kam_pids)"
  record "$name" "$rc" "$t0" "$t1" "$before" "$after" "$work/$name.stat.csv" \
    "$(ls "$work"/"${scenario%.xml}"_*_rtt.csv 2>/dev/null | head -n 1)"
  for f in "$work"/"${scenario%.xml}"_*_rtt.csv; do
    [[ -e "$f" ]] && mv "$f" "$work/$name.rtt.csv"
  done
  if [[ $rc -ne 0 ]]; then
    failures=$((failures + 1))
    echo "FAIL $name: sipp exit status $rc; last lines of its output:" >&2
    tail -n 15 "$work/$name.out" >&2
    [[ -s "$work/$name.err" ]] && head -c 2000 "$work/$name.err" >&2 && echo >&2
  fi
}

# record NAME RC T0 T1 CPU_BEFORE CPU_AFTER STATFILE RTTFILE : appends a result row.
record() {
  python3 - "$@" "$(getconf CLK_TCK)" >>"$results" <<'PY'
import csv, sys
name, rc, t0, t1, before, after, stat, rtt, hz = sys.argv[1:]
ok = failed = 0
wall = float(t1) - float(t0)
try:
    with open(stat, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    col = {h: i for i, h in enumerate(rows[0])}
    last = rows[-1]
    ok = int(last[col["SuccessfulCall(C)"]])
    failed = int(last[col["FailedCall(C)"]])
    w = float(last[col["CurrentTime"]].split()[-1]) - float(last[col["StartTime"]].split()[-1])
    if w > 0:
        wall = w
except (OSError, IndexError, KeyError, ValueError):
    pass
cpu_s = (int(after) - int(before)) / int(hz)
times = []
try:
    with open(rtt) as f:
        for line in f:
            parts = line.strip().split(";")
            if len(parts) == 3 and parts[1].isdigit():
                times.append(int(parts[1]))
except OSError:
    pass
times.sort()
def pct(p):
    return times[min(len(times) - 1, int(p * len(times)))] if times else float("nan")
per = cpu_s * 1e6 / ok if ok else float("nan")
print(f"{name};{rc};{ok};{failed};{ok / wall if wall > 0 else 0:.0f};{cpu_s:.2f};{per:.0f};"
      f"{pct(0.50)};{pct(0.99)}")
PY
}

# start_uas NAME SCENARIO PORT CALLS [sipp args...] : a sipp UAS in the background; sets uas_pid.
start_uas() {
  local name=$1 scenario=$2 port=$3 n=$4
  shift 4
  (cd "$work" && exec sipp -sf "$sippdir/$scenario" -i 127.0.0.1 -p "$port" -bind_local \
      -m "$n" -timeout 60s -nostdin -trace_err -error_file "$name.err" "$@" \
      >"$work/$name.out" 2>&1) &
  uas_pid=$!
  started_pids+=("$uas_pid")
}

# wait_uas NAME PID SECONDS : waits for a UAS that must exit 0 once it handled its -m calls.
wait_uas() {
  local name=$1 pid=$2 deadline=$((SECONDS + $3)) rc=0
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL $name: still running after $3 s (did not get all its requests); its output:" >&2
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    tail -n 15 "$work/$name.out" >&2
    failures=$((failures + 1))
    return
  fi
  wait "$pid" || rc=$?
  local handled
  handled="$(grep -E 'Successful call' "$work/$name.out" | tail -n 1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')"
  echo "$name;$rc;${handled:-?};-;-;-;-;-;-" >>"$results"
  if [[ $rc -ne 0 ]]; then
    echo "FAIL $name: sipp UAS exit status $rc" >&2
    tail -n 15 "$work/$name.out" >&2
    failures=$((failures + 1))
  fi
}

# ---- Kamailio ----
kam_port="$(free_port)"
run_kamailio "$kam_port" "$work/kamailio"
kam_pids="$(cat "$work/kamailio/kamailio.pids")"
echo "$(grep '^kamailio ready' "$work/kamailio.out")"
echo "$(kamailio -v 2>/dev/null | head -n 1); $(sipp -v 2>&1 | grep -oE 'SIPp v[^ ]+' | head -n 1 | sed 's/[.]$//'); $calls calls per scenario at $rate/s"

python3 "$sippdir/make_users.py" "$calls" "$work/users.csv" >/dev/null
users=(-inf "$work/users.csv")

# 1. PUBLISH: every user publishes (these presentities are then watched in step 2)
run_uac publish publish_load.xml "$calls" "$rate" "${users[@]}"
# 2. SUBSCRIBE / NOTIFY / un-SUBSCRIBE / NOTIFY, watcher user<k> -> presentity user<k+1>
run_uac subscribe subscribe_load.xml "$calls" "$rate" "${users[@]}"

# 3. REGISTER every user with the address of a MESSAGE UAS, then MESSAGE each of them
msg_port="$(free_port)"
start_uas message_uas message_uas.xml "$msg_port" "$calls"
msg_uas_pid=$uas_pid
run_uac register register_load.xml "$calls" "$rate" "${users[@]}" \
  -key contact_host "127.0.0.1:$msg_port"
run_uac message message_load.xml "$calls" "$rate" "${users[@]}"
wait_uas message_uas "$msg_uas_pid" 15

# 4. NOTIFY fan-out: W watchers (Contact = fan-out UAS) of one presentity, then P PUBLISHes
#    of it; the UAS must answer W initial NOTIFYs + W*P NOTIFYs triggered by the PUBLISHes.
watchers=$(( calls < 100 ? calls : 100 ))
publishes=3
fan_port="$(free_port)"
start_uas notify_fanout_uas notify_fanout_uas.xml "$fan_port" $((watchers * (1 + publishes))) \
  -deadcall_wait 0
fan_uas_pid=$uas_pid
# Shared memory used by Kamailio (kamcmd core.shmmem real_used) before and after creating the
# watchers, each time once finished transactions have left tm's wait timer (5 s).
sleep 6
shm_before="$(shm_used)"
run_uac fanout_subscribe subscribe_hold.xml "$watchers" "$rate" "${users[@]}" \
  -key presentity fanout0 -key contact_host "127.0.0.1:$fan_port"
sleep 6
shm_after="$(shm_used)"
printf 'SEQUENTIAL\nfanout0;fanout0;\n' >"$work/fanout.csv"
run_uac fanout_publish publish_load.xml "$publishes" 2 -inf "$work/fanout.csv"
wait_uas notify_fanout_uas "$fan_uas_pid" 20

# ---- report ----
echo
python3 - "$results" <<'PY'
import sys
print(f"{'run':<18} {'sipp rc':>7} {'ok':>6} {'failed':>6} {'calls/s':>7} {'kam cpu s':>9} "
      f"{'cpu us/call':>11} {'p50 ms':>6} {'p99 ms':>6}")
for line in open(sys.argv[1]):
    f = line.strip().split(";")
    if len(f) == 9:
        print(f"{f[0]:<18} {f[1]:>7} {f[2]:>6} {f[3]:>6} {f[4]:>7} {f[5]:>9} {f[6]:>11} "
              f"{f[7]:>6} {f[8]:>6}")
PY
rss_kb=0
for pid in $kam_pids; do
  v="$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)"
  rss_kb=$((rss_kb + ${v:-0}))
done
echo "Kamailio PSS summed over its $(wc -w <<<"$kam_pids") processes: ${rss_kb} kB" \
  "(includes the touched part of its ${KAM_SHM_MB:-1024} MB shared memory pool)"
# Only meaningful when nothing else changes meanwhile: at overload, failed calls leave NOTIFY
# transactions retransmitting for 32 s (fr_timer), and their release makes the delta negative.
if [[ -n "$shm_before" && -n "$shm_after" ]] && ((shm_after > shm_before)); then
  echo "Kamailio shared memory per held subscription (presence event, 1 presentity):" \
    "$(( (shm_after - shm_before) / watchers )) bytes ($watchers watchers)"
else
  echo "Kamailio shared memory per held subscription: n/a (before ${shm_before:-?}," \
    "after ${shm_after:-?} bytes; other transactions were still draining)"
fi
if grep -qE 'ERROR|CRITICAL' "$work/kamailio/kamailio.log"; then
  echo "Kamailio logged errors:" >&2
  grep -m 20 -E 'ERROR|CRITICAL' "$work/kamailio/kamailio.log" >&2 || true
  failures=$((failures + 1))
fi
if [[ $failures -ne 0 ]]; then
  echo "smoke: $failures failure(s)" >&2
  exit 1
fi
echo "smoke: all scenarios passed against Kamailio"
