#!/usr/bin/env bash
# OPTIONS load test: the same sipp UAC, at the same fixed rate for the same time, first against
# a bare sipp UAS (`sipp -sn uas -aa`, the baseline), then against parleyd. Prints requests/s
# achieved, failed calls, server CPU time per request, and the ratio parley/sipp.
#
# Usage: bench/sipp_options_load.sh [SECONDS] [RATE]
#   SECONDS  how long each run offers load (default 10)
#   RATE     offered OPTIONS per second (default 5000)
# Environment:
#   PARLEYD       parleyd binary (default build/server/parleyd; build it with ./run.sh or
#                 cmake --build build --target parleyd)
#   SIPP_LIMIT    most outstanding requests sipp keeps (-l, default 2000)
#   KEEP=1        keep the work directory (configs, logs, sipp stats)
# Loopback only; every process it starts is stopped by PID. Not part of ./test.sh.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"

secs="${1:-10}"
rate="${2:-5000}"
limit="${SIPP_LIMIT:-2000}"
parleyd="${PARLEYD:-$root/build/server/parleyd}"
if ! [[ "$secs" =~ ^[0-9]+$ && "$rate" =~ ^[0-9]+$ && "$secs" -gt 0 && "$rate" -gt 0 ]]; then
  echo "usage: $0 [seconds] [rate]" >&2
  exit 2
fi
for tool in sipp python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install sip-tester python3)" >&2; exit 2; }
done
if [[ ! -x "$parleyd" ]]; then
  echo "no parleyd at $parleyd: build it first (cmake --build build --target parleyd)" >&2
  exit 2
fi

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
bench_workdir parley-bench

# wait_for_line FILE REGEX SECONDS PID : waits until FILE has a line matching REGEX.
wait_for_line() {
  local deadline=$((SECONDS + $3))
  until grep -qE "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$4" 2>/dev/null; then
      echo "process $4 exited early; its output:" >&2
      cat "$1" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "timed out waiting for /$2/ in $1" >&2
      cat "$1" >&2
      exit 1
    fi
    sleep 0.1
  done
}

cat >"$work/options_load.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="OPTIONS load">
  <send retrans="500">
    <![CDATA[

      OPTIONS sip:sip.localhost SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:load@sip.localhost>;tag=[pid]SIPpTag00[call_number]
      To: <sip:sip.localhost>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Content-Length: 0

    ]]>
  </send>
  <recv response="200">
  </recv>
</scenario>
XML

# load NAME TARGET_HOSTPORT SERVER_PID : one UAC run; appends a result row to $work/results.
load() {
  local name=$1 target=$2 server_pid=$3
  local calls=$((rate * secs)) before after t0 t1 rc=0
  before="$(cpu_ticks "$server_pid")"
  t0="$(date +%s.%N)"
  (cd "$work" && sipp -sf options_load.xml "$target" -i 127.0.0.1 -p "$(free_port)" \
      -ci 127.0.0.1 -r "$rate" -rp 1000 -l "$limit" -m "$calls" -recv_timeout 5000 \
      -timeout "$((secs * 3 + 30))s" -nostdin -trace_stat -stf "$name.csv" -fd 1 \
      >"$work/$name.sipp.out" 2>&1) || rc=$?
  t1="$(date +%s.%N)"
  after="$(cpu_ticks "$server_pid")"
  python3 - "$work/$name.csv" "$name" "$t0" "$t1" "$before" "$after" "$(getconf CLK_TCK)" \
      "$rc" >>"$work/results" <<'PY'
import csv, sys
path, name, t0, t1, before, after, hz, rc = sys.argv[1:]
with open(path, newline="") as f:
    rows = list(csv.reader(f, delimiter=";"))
head, last = rows[0], rows[-1]
col = {h: i for i, h in enumerate(head)}
ok = int(last[col["SuccessfulCall(C)"]])
failed = int(last[col["FailedCall(C)"]])
# sipp's own clock, from its start to its final statistics dump (excludes process start-up);
# the fields look like "2026-01-01<TAB>12:00:00.000000<TAB>1767268800.000000".
wall = float(last[col["CurrentTime"]].split()[-1]) - float(last[col["StartTime"]].split()[-1])
if wall <= 0:
    wall = float(t1) - float(t0)
cpu_s = (int(after) - int(before)) / int(hz)
print(f"{name};{ok};{failed};{wall:.2f};{ok / wall:.0f};"
      f"{cpu_s:.2f};{(cpu_s * 1e6 / ok) if ok else float('nan'):.1f};{rc}")
PY
}

echo "OPTIONS load: $rate/s offered for $secs s (-l $limit), UDP on loopback"
echo "cores: $(nproc); $(sipp -v 2>&1 | grep -oE 'SIPp v[^ ]+' | head -n 1 | sed 's/[.]$//')"

# ---- baseline: bare sipp UAS answering OPTIONS itself (-aa) ----
uas_port="$(free_port)"
(cd "$work" && exec sipp -sn uas -aa -i 127.0.0.1 -p "$uas_port" -bind_local -ci 127.0.0.1 \
    -nostdin >"$work/uas.out" 2>&1) &
uas_pid=$!
started_pids+=("$uas_pid")
sleep 1
kill -0 "$uas_pid" 2>/dev/null || { echo "sipp UAS failed to start:" >&2; cat "$work/uas.out" >&2; exit 1; }
load sipp_uas "127.0.0.1:$uas_port" "$uas_pid"
kill -TERM "$uas_pid" 2>/dev/null || true
wait "$uas_pid" 2>/dev/null || true

# ---- parleyd ----
cat >"$work/parley.toml" <<'TOML'
[node]
id = "parley-bench"
log_level = "info"
log_format = "text"
[sip]
domains = ["sip.localhost"]
listen = ["udp:127.0.0.1:0"]
max_message_bytes = 65535
TOML
"$parleyd" --config "$work/parley.toml" >"$work/parleyd.log" 2>&1 &
parley_pid=$!
started_pids+=("$parley_pid")
wait_for_line "$work/parleyd.log" 'node\.ready' 10 "$parley_pid"
parley_target="$(grep -oE 'sip\.listening transport=udp local=[0-9.]+:[0-9]+' "$work/parleyd.log" |
  head -n 1 | sed 's/.*local=//')"
load parleyd "$parley_target" "$parley_pid"

kill -TERM "$parley_pid"
stop_rc=0
for _ in $(seq 100); do
  kill -0 "$parley_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$parley_pid" 2>/dev/null; then
  echo "parleyd did not exit within 10 s of SIGTERM; killing it" >&2
  kill -KILL "$parley_pid" 2>/dev/null || true
  stop_rc=1
fi
wait "$parley_pid" 2>/dev/null || stop_rc=$?

# ---- report ----
echo
python3 - "$work/results" "$stop_rc" <<'PY'
import sys
rows = [line.strip().split(";") for line in open(sys.argv[1]) if line.strip()]
print(f"{'server':<10} {'ok':>8} {'failed':>7} {'wall s':>7} {'req/s':>8} {'cpu s':>6} "
      f"{'cpu us/req':>10} {'sipp rc':>7}")
res = {}
for name, ok, failed, wall, rps, cpu, per, rc in rows:
    res[name] = float(rps)
    print(f"{name:<10} {ok:>8} {failed:>7} {wall:>7} {rps:>8} {cpu:>6} {per:>10} {rc:>7}")
if res.get("sipp_uas"):
    print(f"ratio parley/sipp (req/s): {res.get('parleyd', 0) / res['sipp_uas']:.2f}")
print(f"parleyd exit status after SIGTERM: {sys.argv[2]}")
PY
