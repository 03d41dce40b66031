#!/usr/bin/env bash
# Parley vs Kamailio 5.6 under the same sipp load: SUBSCRIBE/NOTIFY (RFC 6665, Event: presence).
#
# For each server, Kamailio first (kamailio/run_kamailio.sh), then parleyd, each phase on a
# FRESH server process, the SAME sipp command lines (only the target port differs):
#   life      subscribe_load.xml at each RATE for SECONDS: SUBSCRIBE -> 200, NOTIFY <- 200,
#             un-SUBSCRIBE -> 200, NOTIFY <- 200; 4 server transactions per call (2 SUBSCRIBE,
#             2 NOTIFY), a distinct watcher per call (make_users.py)
#   hold P    WATCHERS lasting subscriptions (subscribe_watch.xml, Expires 3600, at HOLD_RATE/s):
#             watcher k -> presentity k mod P (make_watchers.py), sent FROM port X with
#             Contact X; the same sipp answers each first NOTIFY (2 transactions per call).
#             Kamailio sends NOTIFYs to the Contact, parleyd to the SUBSCRIBE's source: both X.
#             Memory growth / WATCHERS = memory per subscription.
#   fanout P  then a notify_timed_uas.xml sipp takes over port X and answers every NOTIFY;
#             publish_fanout.xml gives each of the P presentities 3 state changes (initial
#             PUBLISH, 2 modifications), round robin at NOTIFY_RATE*P/WATCHERS PUBLISH/s, so
#             the offered fan-out is NOTIFY_RATE NOTIFY/s for 3*WATCHERS/NOTIFY_RATE s and
#             3*WATCHERS NOTIFYs are expected. Reports the NOTIFYs the UAS answered, delivered
#             NOTIFY/s (first PUBLISH sent .. last NOTIFY answered), the peak 1-s NOTIFY/s,
#             how long after the last PUBLISH's 200 the last NOTIFY came, server CPU per
#             delivered NOTIFY (INCLUDING the PUBLISHes' own cost) and PUBLISH p50/p99.
#   pres      PUBLISHES initial PUBLISHes of distinct presentities (publish_load.xml at
#             PUBLISH_RATE/s): memory growth / PUBLISHES = memory per presentity.
# Per phase: calls ok/failed, achieved calls/s, server CPU s (utime+stime from /proc/PID/stat:
# every Kamailio process summed; parleyd is one process), CPU us per call / transaction,
# p50/p99/p99.9/max (sipp -trace_rtt), sipp retransmissions, UDP receive-buffer drops (server
# socket and host-wide), server log lines at warn/error level.
# Memory: Kamailio = shared memory real_used (kamcmd core.shmmem), parleyd = RssAnon; read before
# the phase, 6 s after it, and SETTLE s after it (once the phase's transactions have expired:
# Kamailio's tm wait timer is 5 s, parleyd keeps answered UDP transactions 32 s, Timer J).
#
# Usage: bench/notify_load.sh [SECONDS] [RATE...]      (default: 10 1000 2000)
# Environment:
#   PARLEYD        parleyd binary (default build/server/parleyd; copied to the work directory)
#   WATCHERS       held subscriptions per fan-out run (default 10000)
#   PRESENTITIES   presentity counts P for hold/fanout (default "1000 100")
#   NOTIFY_RATE    offered NOTIFY/s in the fan-out (default 2000); WATCHERS/NOTIFY_RATE s
#                  between two PUBLISHes of one presentity must stay well above a NOTIFY round
#                  trip, or parleyd coalesces changes (one NOTIFY outstanding per watcher)
#   HOLD_RATE      SUBSCRIBE/s when creating the held subscriptions (default 2000)
#   PUBLISHES, PUBLISH_RATE  distinct presentities for "pres" and their rate (10000, 2000)
#   PHASES         subset of "life hold pres" to run (default all; hold includes fanout)
#   SERVERS        subset of "kamailio parleyd" (default both, in that order)
#   SETTLE_KAM, SETTLE_PARLEY  seconds after a hold/pres phase before the last memory read
#                  (defaults 6 and 34)
#   SIPP_LIMIT     most outstanding calls per sipp (-l, default 2000)
#   PIN            1 (default): server on CPU 1, every sipp on CPU 0 (taskset); 0: no pinning
#   KAM_CHILDREN, KAM_SHM_MB  passed to kamailio/run_kamailio.sh (defaults 4 and 1024)
#   KEEP=1         keep the work directory (configs, logs, sipp output, stat and rtt files)
# Needs: sipp, python3, kamailio + kamailio-presence-modules, kamcmd, taskset (if PIN=1).
# Loopback only; every process it starts is stopped by PID; each sipp is bounded by -timeout.
# Default run: about 5-6 minutes.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
sippdir="$root/bench/sipp"

secs="${1:-10}"
shift || true
rates=("$@")
[[ ${#rates[@]} -eq 0 ]] && rates=(1000 2000)
watchers="${WATCHERS:-10000}"
read -r -a pcounts <<<"${PRESENTITIES:-1000 100}"
notify_rate="${NOTIFY_RATE:-2000}"
hold_rate="${HOLD_RATE:-2000}"
publishes="${PUBLISHES:-10000}"
publish_rate="${PUBLISH_RATE:-2000}"
phases=" ${PHASES:-life hold pres} "
read -r -a servers <<<"${SERVERS:-kamailio parleyd}"
settle_kam="${SETTLE_KAM:-6}"
settle_parley="${SETTLE_PARLEY:-34}"
limit="${SIPP_LIMIT:-2000}"
pin="${PIN:-1}"
parleyd_src="${PARLEYD:-$root/build/server/parleyd}"
for v in "$secs" "${rates[@]}" "$watchers" "${pcounts[@]}" "$notify_rate" "$hold_rate" \
    "$publishes" "$publish_rate" "$settle_kam" "$settle_parley" "$limit"; do
  if ! [[ "$v" =~ ^[0-9]+$ && "$v" -gt 0 ]]; then
    echo "usage: $0 [seconds] [rate...]   (positive integers; see the header for the environment)" >&2
    exit 2
  fi
done
for p in "${pcounts[@]}"; do
  if ((notify_rate * p % watchers != 0 || p > watchers)); then
    echo "NOTIFY_RATE*P/WATCHERS must be a whole PUBLISH rate (P=$p)" >&2
    exit 2
  fi
done
for s in "${servers[@]}"; do
  [[ "$s" == kamailio || "$s" == parleyd ]] || { echo "SERVERS: kamailio and/or parleyd" >&2; exit 2; }
done
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
comparison_preflight "$parleyd_src"
bench_setup parley-notify-load

# ---- result analysis (python, written once) --------------------------------------------------
cat >"$work/analyze.py" <<'PY'
import csv, glob, json, sys

def uac(d):
    """sipp UAC results in directory d: stat.csv (last row) and *_rtt.csv response times."""
    r = {"ok": 0, "failed": 0, "retrans": 0, "wall": float("nan")}
    try:
        with open(f"{d}/stat.csv", newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
        col = {h: i for i, h in enumerate(rows[0])}
        last = rows[-1]
        r["ok"] = int(last[col["SuccessfulCall(C)"]])
        r["failed"] = int(last[col["FailedCall(C)"]])
        r["retrans"] = int(last[col["Retransmissions(C)"]])
        r["wall"] = (float(last[col["CurrentTime"]].split()[-1])
                     - float(last[col["StartTime"]].split()[-1]))
    except (OSError, IndexError, KeyError, ValueError):
        pass
    times = []
    for path in glob.glob(f"{d}/*_rtt.csv"):
        with open(path) as f:
            for line in f:
                p = line.strip().split(";")
                if len(p) == 3 and p[1].replace(".", "", 1).isdigit():
                    times.append(float(p[1]))
    times.sort()
    def pct(q):
        return times[min(len(times) - 1, int(q * len(times)))] if times else None
    r.update(p50=pct(0.5), p99=pct(0.99), p999=pct(0.999), max=times[-1] if times else None)
    return r

def start_ms(d):
    """Epoch ms at which the sipp writing d/stat.csv started: rtt files' Date_ms count from it."""
    with open(f"{d}/stat.csv", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    return float(rows[1][0].split()[-1]) * 1000

def stamps_ms(d, started=False):
    """Absolute (epoch ms) completion times of the rtds in d/*_rtt.csv (Date_ms), or with
    started=True the times they started (completion - response time)."""
    base = start_ms(d)
    out = []
    for path in glob.glob(f"{d}/*_rtt.csv"):
        with open(path) as f:
            for line in f:
                p = line.strip().split(";")
                if len(p) == 3 and p[0].replace(".", "", 1).isdigit():
                    out.append(base + float(p[0]) - (float(p[1]) if started else 0))
    return sorted(out)

def uas(d, t0_ms, pub_dir):
    """NOTIFY arrival times from the timed UAS's rtt file (one row per answered NOTIFY)."""
    r = {"delivered": 0}
    try:
        stamps = stamps_ms(d)
    except (OSError, IndexError, ValueError):
        return r
    r["delivered"] = len(stamps)
    if stamps:
        span = (stamps[-1] - t0_ms) / 1000
        r["notify_rate"] = len(stamps) / span if span > 0 else None
        buckets = {}
        for s in stamps:
            b = int((s - t0_ms) // 1000)
            buckets[b] = buckets.get(b, 0) + 1
        r["peak"] = max(buckets.values())
        try:
            pub = stamps_ms(pub_dir, started=True)
            r["drain_ms"] = round(stamps[-1] - pub[-1]) if pub else None
        except (OSError, IndexError, ValueError):
            pass
    return r

def row(args):
    rec = {}
    for a in args:
        k, v = a.split("=", 1)
        rec[k] = v
    if "uac" in rec:
        rec.update(uac(rec.pop("uac")))
    if "uas" in rec:
        rec.update(uas(rec.pop("uas"), float(rec["t0_ms"]), rec["pub_dir"]))
    cpu = (int(rec["cpu1"]) - int(rec["cpu0"])) / int(rec["hz"])
    rec["cpu_s"] = cpu
    for k in ("mem0", "mem6", "mem1"):
        if k in rec:
            rec[k] = int(rec[k])
    print(json.dumps(rec))

def f(v, fmt="{:.0f}"):
    if v is None or v == "" or (isinstance(v, float) and v != v):
        return "-"
    return fmt.format(v) if isinstance(v, (int, float)) else str(v)

def ms(v):
    return f(v, "{:g}")

def table(title, hdr, rows, note=None):
    if not rows:
        return
    print(f"\n### {title}\n")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" for _ in hdr) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if note:
        print("\n" + note)

def per(cpu, n, scale=1e6):
    return cpu * scale / n if n else None

def tables(path):
    recs = [json.loads(l) for l in open(path) if l.strip()]
    life = []
    for r in recs:
        if r["kind"] != "life":
            continue
        ok = r["ok"]
        life.append([r["server"], r["rate"], str(ok), str(r["failed"]),
                     f(ok / r["wall"] if r["wall"] == r["wall"] and r["wall"] > 0 else None),
                     f(r["cpu_s"], "{:.2f}"), f(per(r["cpu_s"], ok)), f(per(r["cpu_s"], 2 * ok)),
                     f(per(r["cpu_s"], 4 * ok)), ms(r["p50"]), ms(r["p99"]), ms(r["p999"]),
                     ms(r["max"]), str(r["retrans"]), f"{r['sdrops']}/{r['drops']}", r["errs"], r["rc"]])
    table("SUBSCRIBE life cycle (subscribe_load.xml: 2 SUBSCRIBE + 2 NOTIFY transactions per call)",
          ["server", "rate", "ok", "failed", "calls/s", "cpu s", "us/call", "us/SUBSCRIBE",
           "us/txn", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "retrans", "drops server/host",
           "log errs", "sipp rc"], life,
          "us/SUBSCRIBE = us/call / 2 (each SUBSCRIBE with the NOTIFY it triggers); "
          "us/txn = us/call / 4; p50..max over both rtds (subscribe, unsubscribe).")
    hold = []
    for r in recs:
        if r["kind"] != "hold":
            continue
        ok = r["ok"]
        d6 = r["mem6"] - r["mem0"]
        d1 = r["mem1"] - r["mem0"]
        hold.append([r["server"], r["P"], str(ok), str(r["failed"]), f(per(r["cpu_s"], ok)),
                     ms(r["p50"]), ms(r["p99"]), ms(r["max"]), str(r["retrans"]),
                     f(d6 / 1024), f(d6 / ok if ok else None), f(d1 / 1024),
                     f(d1 / ok if ok else None), r["settle"], f"{r['mem0'] // 1024}->{r['mem1'] // 1024}",
                     r["errs"], r["rc"]])
    table("Held subscriptions (subscribe_watch.xml: SUBSCRIBE + first NOTIFY per call)",
          ["server", "P", "ok", "failed", "us/subscription", "p50 ms", "p99 ms", "max ms",
           "retrans", "mem +KB @6s", "B/sub @6s", "mem +KB @settle", "B/sub @settle",
           "settle s", "mem KB", "log errs", "sipp rc"], hold,
          "mem: Kamailio shared memory real_used (kamcmd core.shmmem), parleyd RssAnon; growth "
          "from before the phase to 6 s / SETTLE s after it, over the subscriptions created.")
    fan = []
    for r in recs:
        if r["kind"] != "fanout":
            continue
        exp = int(r["expected"])
        dl = r.get("delivered", 0)
        fan.append([r["server"], r["P"], r["wpp"], f"{r['ok']}/{r['failed']}", r["pub_rate"],
                    ms(r["p50"]), ms(r["p99"]), ms(r["max"]), str(exp), str(dl),
                    f"{100 * dl / exp:.1f}" if exp else "-", r["offered"], f(r.get("notify_rate")),
                    f(r.get("peak")), ms(r.get("drain_ms")), f(r["cpu_s"], "{:.2f}"),
                    f(per(r["cpu_s"], dl)), str(r["retrans"]), f"{r['sdrops']}/{r['drops']}", r["uas_rc"], r["errs"]])
    table("NOTIFY fan-out (publish_fanout.xml: 3 PUBLISHes per presentity, round robin)",
          ["server", "P", "watchers/P", "PUBLISH ok/failed", "PUBLISH/s", "PUB p50 ms",
           "PUB p99 ms", "PUB max ms", "NOTIFYs expected", "NOTIFYs delivered", "% delivered",
           "offered NOTIFY/s", "delivered NOTIFY/s", "peak 1-s NOTIFY/s", "last NOTIFY after last PUBLISH ms",
           "cpu s", "us/NOTIFY (incl. PUBLISH)", "PUB retrans", "drops server/host", "UAS rc", "log errs"],
          fan,
          "expected = 3 PUBLISHes x watchers; delivered = NOTIFYs the UAS answered (parleyd keeps one "
          "NOTIFY outstanding per watcher and coalesces changes meanwhile, so fewer can be correct); "
          "delivered NOTIFY/s = delivered / (first PUBLISH sent .. last NOTIFY answered); "
          "last NOTIFY after last PUBLISH = from sending the last PUBLISH (its first transmission) "
          "to the last NOTIFY answered; "
          "us/NOTIFY = server CPU from the first PUBLISH to the last NOTIFY / NOTIFYs delivered, "
          "so it includes the PUBLISHes' own cost (1 PUBLISH per watchers/P NOTIFYs).")
    pres = []
    for r in recs:
        if r["kind"] != "pres":
            continue
        ok = r["ok"]
        d6 = r["mem6"] - r["mem0"]
        d1 = r["mem1"] - r["mem0"]
        pres.append([r["server"], r["rate"], str(ok), str(r["failed"]), f(per(r["cpu_s"], ok)),
                     ms(r["p50"]), ms(r["p99"]), ms(r["max"]), f(d6 / 1024),
                     f(d6 / ok if ok else None), f(d1 / 1024), f(d1 / ok if ok else None),
                     r["settle"], f"{r['mem0'] // 1024}->{r['mem1'] // 1024}", r["errs"], r["rc"]])
    table("Presentities (publish_load.xml: initial PUBLISH of a distinct presentity per call)",
          ["server", "rate", "ok", "failed", "us/PUBLISH", "p50 ms", "p99 ms", "max ms",
           "mem +KB @6s", "B/presentity @6s", "mem +KB @settle", "B/presentity @settle", "settle s",
           "mem KB", "log errs", "sipp rc"], pres)

if __name__ == "__main__":
    if sys.argv[1] == "row":
        row(sys.argv[2:])
    elif sys.argv[1] == "tables":
        tables(sys.argv[2])
PY

now_ms() { date +%s%3N; }

# sock_drops : datagrams dropped on the server's own UDP socket since it opened (last field of
# its /proc/net/udp row: receive buffer full), so drops can be told apart from the sipps'.
sock_drops() {
  local hex
  hex="$(printf '0100007F:%04X' "${target##*:}")"
  awk -v a="$hex" '$2 == a {d += $NF} END {print d + 0}' /proc/net/udp
}

# start_parleyd : parleyd with the same domain, allow-all policy and memory-only storage
# as Kamailio. Every watcher is a distinct user, so max_subscriptions_per_watcher (default
# 1000) is not reached; it is raised anyway so that no cap shapes the load.
start_parleyd() {
  launch_parleyd '[presence]
max_publications_per_presentity = 1000
max_subscriptions_per_watcher = 100000
default_policy = "allow"'
}

# start_server PHASE : fresh server of type $server; run_dir = $work/$server-PHASE.
start_server() {
  run_dir="$work/$server-$1"
  mkdir -p "$run_dir"
  "start_$server"
  echo "[$server $1] ready at $target (pids ${server_pids[*]})"
}

# stop_server : stops it by PID; echoes error-level log lines (count) and a short excerpt.
stop_server() {
  log_errs
  if [[ "$server" == kamailio ]]; then
    stop_pid "$runner_pid"
  else
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "[$server] parleyd $server_pid is gone (crashed?); last log lines:" >&2
      tail -n 20 "$server_log" >&2
    fi
    stop_pid "$server_pid"
  fi
  if ((errs > 0)); then
    echo "[$server] $errs log line(s) at warn/error level; first ones:"
    grep -m 5 -E "$err_re" "$server_log" | cut -c1-300 | sed 's/^/    /'
  fi
}

err_re='\b(warn|warning|error|critical|ERROR|CRITICAL)\b'
# log_errs : sets errs = error-level lines in the current server's log.
log_errs() {
  errs="$(grep -cE "$err_re" "$server_log" 2>/dev/null || true)"
  errs="${errs:-0}"
}

settle_for_server() {
  if [[ "$server" == kamailio ]]; then echo "$settle_kam"; else echo "$settle_parley"; fi
}

# sipp_uac DIR SCENARIO LOCAL_PORT RATE CALLS TIMEOUT_S [sipp args...] : one sipp UAC run
# against the current server, output in DIR; sets rc.
sipp_uac() {
  local dir=$1 scenario=$2 lport=$3 r=$4 n=$5 tmo=$6
  shift 6
  mkdir -p "$dir"
  rc=0
  (cd "$dir" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/$scenario" "$target" -i 127.0.0.1 \
      -p "$lport" -key domain sip.localhost -r "$r" -rp 1000 -l "$limit" -m "$n" \
      -recv_timeout 5000 -timeout "${tmo}s" -nostdin -trace_stat -stf stat.csv -fd 1 \
      -trace_rtt -rtt_freq 1 -trace_err -error_file err.log "$@" >sipp.out 2>&1) || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "[$server] sipp $scenario exited $rc; last lines:"
    tail -n 4 "$dir/sipp.out" | sed 's/^/    /'
  fi
}

row() {
  python3 "$work/analyze.py" row "server=$server" "hz=$hz" "$@" >>"$results"
}

# ---- phases ----------------------------------------------------------------------------------

# phase_life RATE : SUBSCRIBE life cycle, RATE*SECONDS calls, distinct watchers.
phase_life() {
  local rate=$1 calls=$(($1 * secs)) cpu0 cpu1 d0 d1 sd
  start_server "life$rate"
  python3 "$sippdir/make_users.py" "$calls" "$run_dir/users.csv" >/dev/null
  d0="$(udp_rcvbuf_errors)"
  cpu0="$(cpu_ticks "${server_pids[@]}")"
  sipp_uac "$run_dir/uac" subscribe_load.xml "$(free_port)" "$rate" "$calls" "$((secs * 3 + 30))" \
    -inf "$run_dir/users.csv"
  cpu1="$(cpu_ticks "${server_pids[@]}")"
  d1="$(udp_rcvbuf_errors)"
  sd="$(sock_drops)"
  stop_server
  row kind=life "rate=$rate" "cpu0=$cpu0" "cpu1=$cpu1" "drops=$((d1 - d0))" "sdrops=$sd" "errs=$errs" "rc=$rc" \
    "uac=$run_dir/uac"
}

# phase_hold P : WATCHERS subscriptions to P presentities (memory), then the fan-out.
phase_hold() {
  local p=$1 port cpu0 cpu1 d0 d1 sd0 sd1 mem0 mem6 mem1 settle hold_rc t0 uas_pid uas_rc=0
  local pub_rate=$((notify_rate * p / watchers)) period_ms=$((1000 * watchers / notify_rate))
  local expected=$((3 * watchers)) deadline last n stall
  start_server "hold$p"
  settle="$(settle_for_server)"
  python3 "$sippdir/make_watchers.py" "$watchers" "$p" "$run_dir/watchers.csv" \
    "$run_dir/pres.csv" >/dev/null
  port="$(free_port)"
  sleep 1
  mem0="$(mem_bytes)"
  d0="$(udp_rcvbuf_errors)"
  cpu0="$(cpu_ticks "${server_pids[@]}")"
  sipp_uac "$run_dir/hold" subscribe_watch.xml "$port" "$hold_rate" "$watchers" \
    "$((watchers / hold_rate * 3 + 30))" -inf "$run_dir/watchers.csv"
  hold_rc=$rc
  cpu1="$(cpu_ticks "${server_pids[@]}")"
  d1="$(udp_rcvbuf_errors)"
  sleep 6
  mem6="$(mem_bytes)"
  ((settle > 6)) && sleep $((settle - 6))
  mem1="$(mem_bytes)"
  log_errs
  row kind=hold "P=$p" "cpu0=$cpu0" "cpu1=$cpu1" "drops=$((d1 - d0))" "errs=$errs" "rc=$hold_rc" \
    "mem0=$mem0" "mem6=$mem6" "mem1=$mem1" "settle=$settle" "uac=$run_dir/hold"

  # fan-out: the timed UAS takes over port X (the watchers' Contact and SUBSCRIBE source)
  mkdir -p "$run_dir/uas"
  (cd "$run_dir/uas" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/notify_timed_uas.xml" \
      -i 127.0.0.1 -p "$port" -bind_local -deadcall_wait 0 -m "$expected" \
      -timeout "$((3 * period_ms / 1000 + 90))s" -nostdin -trace_stat -stf stat.csv -fd 1 \
      -trace_rtt -rtt_freq 1 -trace_err -error_file err.log >sipp.out 2>&1) &
  uas_pid=$!
  started_pids+=("$uas_pid")
  sleep 1
  d0="$(udp_rcvbuf_errors)"
  sd0="$(sock_drops)"
  t0="$(now_ms)"
  cpu0="$(cpu_ticks "${server_pids[@]}")"
  sipp_uac "$run_dir/pub" publish_fanout.xml "$(free_port)" "$pub_rate" "$p" \
    "$((3 * period_ms / 1000 + 60))" -inf "$run_dir/pres.csv" -d "$period_ms"
  # Wait for the UAS: it exits 0 after `expected` NOTIFYs; if fewer come (coalescing, loss),
  # stop it once no NOTIFY arrived for 3 s (its stat file is written every second), or 60 s.
  deadline=$((SECONDS + 60))
  last=-1
  stall=0
  while kill -0 "$uas_pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 1
    n="$(awk -F';' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") c = i}
                    END {print (c ? $c : 0)}' "$run_dir/uas/stat.csv" 2>/dev/null || echo 0)"
    if [[ "$n" == "$last" ]]; then
      stall=$((stall + 1))
      ((stall >= 3)) && break
    else
      stall=0
      last=$n
    fi
  done
  cpu1="$(cpu_ticks "${server_pids[@]}")"
  d1="$(udp_rcvbuf_errors)"
  sd1="$(sock_drops)"
  finish_sipp "$uas_pid"
  uas_rc=$sipp_rc
  [[ "$uas_rc" != stopped ]] || uas_rc="stopped(${last}/${expected})"
  stop_server
  row kind=fanout "P=$p" "wpp=$((watchers / p))" "pub_rate=$pub_rate" "offered=$notify_rate" \
    "expected=$expected" "cpu0=$cpu0" "cpu1=$cpu1" "drops=$((d1 - d0))" "sdrops=$((sd1 - sd0))" \
    "errs=$errs" "rc=$rc" \
    "uas_rc=$uas_rc" "t0_ms=$t0" "pub_dir=$run_dir/pub" "uac=$run_dir/pub" "uas=$run_dir/uas"
}

# phase_pres : PUBLISHES distinct presentities (memory per presentity).
phase_pres() {
  local cpu0 cpu1 d0 d1 mem0 mem6 mem1 settle
  start_server pres
  settle="$(settle_for_server)"
  python3 "$sippdir/make_users.py" "$publishes" "$run_dir/users.csv" >/dev/null
  sleep 1
  mem0="$(mem_bytes)"
  d0="$(udp_rcvbuf_errors)"
  cpu0="$(cpu_ticks "${server_pids[@]}")"
  sipp_uac "$run_dir/uac" publish_load.xml "$(free_port)" "$publish_rate" "$publishes" \
    "$((publishes / publish_rate * 3 + 30))" -inf "$run_dir/users.csv"
  cpu1="$(cpu_ticks "${server_pids[@]}")"
  d1="$(udp_rcvbuf_errors)"
  sleep 6
  mem6="$(mem_bytes)"
  ((settle > 6)) && sleep $((settle - 6))
  mem1="$(mem_bytes)"
  stop_server
  row kind=pres "rate=$publish_rate" "cpu0=$cpu0" "cpu1=$cpu1" "drops=$((d1 - d0))" "errs=$errs" \
    "rc=$rc" "mem0=$mem0" "mem6=$mem6" "mem1=$mem1" "settle=$settle" "uac=$run_dir/uac"
}

echo "notify load: SUBSCRIBE life cycle ${secs} s at ${rates[*]}/s; $watchers held subscriptions on" \
  "${pcounts[*]} presentities, fan-out at $notify_rate NOTIFY/s offered; $publishes presentities" \
  "at $publish_rate/s (-l $limit)"
echo "cores: $(nproc); pinning: $([[ "$pin" == 1 ]] && echo 'server CPU 1, sipp CPU 0' || echo none);" \
  "load average now: $(cut -d' ' -f1-3 /proc/loadavg) (other builds on the host add wall-clock" \
  "noise; utime+stime per transaction is much less affected)"
echo "$(kamailio -v 2>/dev/null | head -n 1 | sed 's/ (.*//'), $((${KAM_CHILDREN:-4})) UDP workers;" \
  "parleyd $parleyd_src (sha256 $(sha256sum "$parleyd" | cut -c1-12));" \
  "$(sipp -v 2>&1 | grep -oE 'SIPp v[^ ]+' | head -n 1 | sed 's/[.]$//')"

for server in "${servers[@]}"; do
  if [[ "$phases" == *" life "* ]]; then
    for rate in "${rates[@]}"; do phase_life "$rate"; done
  fi
  if [[ "$phases" == *" hold "* ]]; then
    for p in "${pcounts[@]}"; do phase_hold "$p"; done
  fi
  if [[ "$phases" == *" pres "* ]]; then
    phase_pres
  fi
done

python3 "$work/analyze.py" tables "$results"
echo
echo "CPU = utime+stime of every Kamailio process / of parleyd (one process), /proc/PID/stat," \
  "10 ms ticks. p50..max: sipp -trace_rtt, whole ms (sipp's clock moves in ~4 ms steps here;" \
  "500+ ms = a datagram was lost and sipp retransmitted). log errs: server log lines at warn/error level."
echo "drops server/host: datagrams dropped because a receive buffer was full, on the server's" \
  "socket (/proc/net/udp) / host-wide (RcvbufErrors delta: also the sipps' sockets and any other" \
  "loopback traffic on the host)."
