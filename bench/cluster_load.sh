#!/usr/bin/env bash
# parleyd on the memory backend vs the Redis backend ([storage] backend = "redis"), one node and
# two nodes sharing one Redis: PUBLISH/s and NOTIFY/s under sipp load.
#
# Every run below gets fresh processes: a fresh parleyd per node and, for Redis, a fresh
# redis-server on a free 127.0.0.1 port (--save "" --appendonly no). A node counts as up once it
# answers OPTIONS (lib.sh launch_parleyd) and has logged `storage.ready`.
#   publish   for each backend (memory, redis) and each offered RATE: publish_load.xml, RATE*SECONDS
#             initial PUBLISHes of distinct presentities (make_users.py). Reports ok/failed, sipp
#             retransmissions, achieved PUBLISH/s, p50/p99, parleyd CPU us per PUBLISH,
#             redis-server CPU us per PUBLISH, Redis commands per PUBLISH (INFO commandstats).
#             The summary: the highest offered rate with 0 failed calls and 0 retransmissions,
#             the same allowing retransmissions, and the server core's CPU us per PUBLISH at the
#             highest rate both backends passed (CPU per PUBLISH falls as the rate rises).
#   notify    for each configuration:
#               memory   one node, memory backend
#               redis1   one node, Redis backend
#               redis2   nodes A and B on one Redis: watchers 0..W/2-1 SUBSCRIBE to A, the others
#                        to B, every PUBLISH goes to A, so half of the NOTIFYs are sent by B on
#                        hearing A's change on Redis pub/sub (a two-node form of "PUBLISHes to
#                        A, watchers on B and C" that keeps one process fewer on the server core)
#             WATCHERS held subscriptions (subscribe_watch.xml, watcher k -> presentity k mod P,
#             make_watchers.py), then one notify_timed_uas.xml sipp per watcher port answers and
#             time-stamps the NOTIFYs while publish_fanout.xml gives each of the P presentities 3
#             state changes (initial PUBLISH + 2 modifications), round robin, offering
#             NOTIFY_RATE NOTIFY/s. Reports NOTIFYs expected (3*W) / delivered, delivered
#             NOTIFY/s (first PUBLISH sent .. last NOTIFY answered), CPU us per NOTIFY of the
#             parleyd(s) and of redis-server (PUBLISH cost included), Redis commands per NOTIFY.
#             Changes closer than a NOTIFY round trip are coalesced (one NOTIFY in flight per
#             watcher), so at saturation fewer than 3*W is correct; fewer than 2*W is a failure.
# Summary: max PUBLISH/s per backend, delivered NOTIFY/s per configuration, server-core CPU us
# per operation and 1e6 / that (what one core could carry: on 2 cores the sipps, not the server,
# cap the delivered rates), the ratios redis1/memory (target >= 0.60) and redis2/redis1.
# Exit status 1 if any run had a failure
# (a failed or timed-out sipp call, a crashed node, a hold with failed SUBSCRIBEs, a fan-out
# below 2*W NOTIFYs); 2 on bad usage or a missing tool.
#
# Usage: bench/cluster_load.sh [SECONDS] [RATE...]      (defaults: 10 2000 5000 10000)
#        QUICK=1 bench/cluster_load.sh                  (3 s, 2000 5000/s, 1000 watchers: ~30 s)
# Environment:
#   PARLEYD       parleyd binary (default build/server/parleyd; copied to the work directory)
#   WATCHERS      held subscriptions in the notify phase (default 5000; QUICK 1000); W/2 must be
#                 a multiple of P so that both nodes of redis2 hold watchers of every presentity
#   PRESENTITIES  P (default 100)
#   NOTIFY_RATE   offered NOTIFY/s in the fan-out (default 10000; QUICK 5000): PUBLISH rate
#                 NOTIFY_RATE*P/W, each presentity changes every W/NOTIFY_RATE s
#   HOLD_RATE     SUBSCRIBE/s creating the held subscriptions (default 2000)
#   PHASES        subset of "publish notify" (default both)
#   CONFIGS       subset of "memory redis1 redis2" for the notify phase (default all; the
#                 publish phase runs memory and redis, one node)
#   SIPP_LIMIT    most outstanding calls per sipp (-l, default 2000)
#   PIN           1 (default): parleyd on CPU 1, every sipp on CPU 0 (lib.sh pin_cpus); 0: none
#   REDIS_CPU     server (default): redis-server shares CPU 1 with parleyd, so both backends get
#                 the same one core for the server side; load: redis-server on CPU 0 with sipp
#   KEEP=1        keep the work directory (configs, logs, sipp output, commandstats)
# Needs: sipp, python3, redis-server, redis-cli, taskset (if PIN=1). Loopback only; every process
# it starts is stopped by PID; every sipp is bounded by -timeout, every other wait by a deadline.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
sippdir="$root/bench/sipp"

quick="${QUICK:-0}"
if [[ "$quick" == 1 ]]; then
  secs="${1:-3}"
  default_rates=(2000 5000)
else
  secs="${1:-10}"
  default_rates=(2000 5000 10000)
fi
shift || true
rates=("$@")
[[ ${#rates[@]} -eq 0 ]] && rates=("${default_rates[@]}")
watchers="${WATCHERS:-$([[ "$quick" == 1 ]] && echo 1000 || echo 5000)}"
presentities="${PRESENTITIES:-100}"
notify_rate="${NOTIFY_RATE:-$([[ "$quick" == 1 ]] && echo 5000 || echo 10000)}"
hold_rate="${HOLD_RATE:-2000}"
limit="${SIPP_LIMIT:-2000}"
redis_on="${REDIS_CPU:-server}"
parleyd_src="${PARLEYD:-$root/build/server/parleyd}"

usage() {
  echo "usage: $0 [seconds] [rate...]   (positive integers; QUICK=1 for a short run;" \
    "the header lists the environment)" >&2
  exit 2
}
for v in "$secs" "${rates[@]}" "$watchers" "$presentities" "$notify_rate" "$hold_rate" "$limit"; do
  [[ "$v" =~ ^[0-9]+$ && "$v" -gt 0 ]] || usage
done
if ((watchers % (2 * presentities) != 0 || notify_rate * presentities % watchers != 0)); then
  echo "WATCHERS must be a multiple of 2*PRESENTITIES, and NOTIFY_RATE*PRESENTITIES/WATCHERS" \
    "a whole PUBLISH rate" >&2
  exit 2
fi
phases=" ${PHASES:-publish notify} "
read -r -a configs <<<"${CONFIGS:-memory redis1 redis2}"
for c in "${configs[@]}"; do
  [[ " memory redis1 redis2 " == *" $c "* ]] || { echo "CONFIGS: memory, redis1, redis2" >&2; exit 2; }
done
[[ "$redis_on" == server || "$redis_on" == load ]] || { echo "REDIS_CPU: server or load" >&2; exit 2; }
for tool in sipp python3 redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done
[[ -x "$parleyd_src" ]] || { echo "no parleyd at $parleyd_src: build it first" >&2; exit 2; }

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
pin_cpus
if [[ "$redis_on" == server ]]; then redis_cpu=("${server_cpu[@]}"); else redis_cpu=("${sipp_cpu[@]}"); fi
bench_setup parley-cluster-load
failed_runs=()


# ---- result analysis (python) ------------------------------------------------------------------
cat >"$work/analyze.py" <<'PY'
import csv, glob, json, os, sys

def sipp_stats(d):
    """Last statistics row of sipp's stat.csv in d, and its start time (epoch s)."""
    out = {"ok": 0, "failed": 0, "retrans": 0, "wall": None, "start": None}
    try:
        with open(os.path.join(d, "stat.csv"), newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter=";"))
    except OSError:
        return out
    if not rows:
        return out
    first, last = rows[0], rows[-1]
    epoch = lambda v: float(v.split()[-1])
    out["start"] = epoch(first["StartTime"])
    out["ok"] = int(last["SuccessfulCall(C)"])
    out["failed"] = int(last["FailedCall(C)"])
    out["retrans"] = int(last["Retransmissions(C)"])
    out["wall"] = epoch(last["CurrentTime"]) - epoch(last["StartTime"])
    return out

def rtt_rows(d):
    """(completion epoch ms, response time ms) per rtd row of sipp's -trace_rtt files in d;
    Date_ms counts from sipp's start."""
    start = sipp_stats(d)["start"]
    rows = []
    for path in glob.glob(os.path.join(d, "*_rtt.csv")):
        with open(path) as fh:
            for line in fh:
                f = line.strip().split(";")
                try:
                    rows.append((start * 1000 + float(f[0]), float(f[1])))
                except (ValueError, IndexError, TypeError):
                    continue  # the header row
    return rows

def quantile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]

def commandstats(path):
    """{command: calls} from a saved `INFO commandstats` (absent for the memory backend)."""
    calls = {}
    if not os.path.exists(path):
        return calls
    for line in open(path):
        if line.startswith("cmdstat_"):
            name, fields = line.strip()[len("cmdstat_"):].split(":", 1)
            kv = dict(p.split("=", 1) for p in fields.split(","))
            calls[name] = int(kv["calls"])
    return calls

def record(argv):
    r = dict(a.split("=", 1) for a in argv)
    for k in ("cpu_node", "cpu_redis"):
        r[k] = int(r[k]) / int(r["hz"])
    r["cmds"] = commandstats(r.pop("cmdstats"))
    uac = r.pop("uac")
    r.update({k: v for k, v in sipp_stats(uac).items() if k != "start"})
    rtt = rtt_rows(uac)
    r["p50"] = quantile([t for _, t in rtt], 0.50)
    r["p99"] = quantile([t for _, t in rtt], 0.99)
    if "uas" in r:
        stamps = sorted(s for d in r.pop("uas").split(",") for s, _ in rtt_rows(d))
        sent = [s - t for s, t in rtt]  # when each PUBLISH was first sent
        r["delivered"] = len(stamps)
        if stamps and sent:
            r["notify_rate"] = len(stamps) / ((stamps[-1] - min(sent)) / 1000)
            r["drain_ms"] = stamps[-1] - max(sent)
    print(json.dumps(r))

def fmt(v, spec="{:.0f}"):
    return "-" if v is None else spec.format(v)

def per(total, n, scale=1e6):
    return total * scale / n if n else None

def core_us(r, n):
    """CPU us per op of what runs on the server core: the parleyd(s), plus redis-server when it
    shares that core (REDIS_CPU=server)."""
    return per(r["cpu_node"] + (r["cpu_redis"] if r["redis_on"] == "server" else 0), n)

def cmds_per(cmds, n):
    if not cmds or not n:
        return "-"
    top = [(k, v / n) for k, v in sorted(cmds.items(), key=lambda kv: -kv[1])[:5] if v / n >= 0.005]
    return " ".join(f"{k} {v:.2f}" for k, v in top)

def table(title, hdr, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for row in rows:
        print("| " + " | ".join(row) + " |")

def summary(path):
    recs = [json.loads(l) for l in open(path) if l.strip()]
    pub = [r for r in recs if r["kind"] == "publish"]
    if pub:
        table("PUBLISH (publish_load.xml: initial PUBLISH of a distinct presentity per call)",
              ["backend", "offered/s", "ok", "failed", "retrans", "PUBLISH/s", "p50 ms", "p99 ms",
               "parleyd us/PUBLISH", "redis us/PUBLISH", "Redis commands per PUBLISH", "drops srv/host",
               "log warn+", "sipp rc"],
              [[r["backend"], r["rate"], str(r["ok"]), str(r["failed"]), str(r["retrans"]),
                fmt(per(r["ok"], r["wall"], 1) if r["wall"] else None), fmt(r["p50"], "{:g}"),
                fmt(r["p99"], "{:g}"), fmt(per(r["cpu_node"], r["ok"])),
                fmt(per(r["cpu_redis"], r["ok"])) if r["backend"] != "memory" else "-",
                cmds_per(r["cmds"], r["ok"]), f"{r['sdrops']}/{r['drops']}", r["errs"], r["rc"]]
               for r in pub])
    fan = [r for r in recs if r["kind"] == "notify"]
    if fan:
        table("NOTIFY fan-out (publish_fanout.xml: 3 state changes per presentity, round robin)",
              ["config", "nodes", "W/P", "offered NOTIFY/s", "PUBLISH ok/failed", "PUB p99 ms",
               "expected", "delivered", "NOTIFY/s", "last NOTIFY after last PUBLISH ms",
               "parleyd us/NOTIFY", "redis us/NOTIFY", "server core us/NOTIFY",
               "Redis commands per NOTIFY", "hold ok/failed", "drops srv/host", "log warn+", "UAS"],
              [[r["config"], r["nodes"], f"{r['watchers']}/{r['P']}", r["offered"],
                f"{r['ok']}/{r['failed']}", fmt(r["p99"], "{:g}"), r["expected"], str(r["delivered"]),
                fmt(r.get("notify_rate")), fmt(r.get("drain_ms")), fmt(per(r["cpu_node"], r["delivered"])),
                fmt(per(r["cpu_redis"], r["delivered"])) if r["config"] != "memory" else "-",
                fmt(core_us(r, r["delivered"])),
                cmds_per(r["cmds"], r["delivered"]), r["hold"], f"{r['sdrops']}/{r['drops']}",
                r["errs"], r["uas_rc"]] for r in fan])

    print("\n### Summary\n")
    print("| measure | memory | redis, 1 node | redis, 2 nodes | redis/memory | 2 nodes/1 node |")
    print("|---|---|---|---|---|---|")
    def best(backend, strict):
        """The run at the highest offered rate with 0 failed calls (strict: and 0 retransmissions)."""
        ok = [r for r in pub if r["backend"] == backend and r["failed"] == 0 and r["rc"] == "0"
              and r["ok"] > 0 and (r["retrans"] == 0 or not strict)]
        return max(ok, key=lambda x: int(x["rate"])) if ok else None
    def achieved(r):
        return (r["ok"] / r["wall"], f"{r['ok'] / r['wall']:.0f} (offered {r['rate']})") if r else (None, "none")
    def ratio(a, b):
        return f"{a / b:.2f}" if a and b else "-"
    if pub:
        for strict, what in ((True, "0 failed, 0 retransmitted"), (False, "0 failed, retransmissions allowed")):
            (m, ms), (d, ds) = achieved(best("memory", strict)), achieved(best("redis", strict))
            print(f"| max PUBLISH/s ({what}) | {ms} | {ds} | - | {ratio(d, m)} | - |")
        # CPU per PUBLISH falls as the rate rises (fuller batches per wake-up), so compare both
        # backends at one rate: the highest at which neither had a failed call
        at = {b: {r["rate"]: r for r in pub if r["backend"] == b and r["failed"] == 0 and r["rc"] == "0"
                  and r["ok"] > 0} for b in ("memory", "redis")}
        common = sorted(set(at["memory"]) & set(at["redis"]), key=int)
        m = d = None
        if common:
            m, d = (core_us(at[b][common[-1]], at[b][common[-1]]["ok"]) for b in ("memory", "redis"))
        print(f"| server-core CPU us per PUBLISH at {common[-1] if common else '-'}/s (parleyd + redis) |"
              f" {fmt(m)} | {fmt(d)} | - | {ratio(d, m)} | - |")
        print(f"| PUBLISH/s one server core could carry (1e6 / that) | {fmt(per(1, m))} | {fmt(per(1, d))} | - |"
              f" {ratio(m, d)} | - |")
    if fan:
        rate = {r["config"]: r.get("notify_rate") for r in fan}
        m, d, d2 = rate.get("memory"), rate.get("redis1"), rate.get("redis2")
        print(f"| delivered NOTIFY/s | {fmt(m)} | {fmt(d)} | {fmt(d2)} | {ratio(d, m)} | {ratio(d2, d)} |")
        core = {r["config"]: core_us(r, r["delivered"]) for r in fan}
        m, d, d2 = core.get("memory"), core.get("redis1"), core.get("redis2")
        print(f"| server-core CPU us per NOTIFY (parleyd + redis) | {fmt(m)} | {fmt(d)} | {fmt(d2)} |"
              f" {ratio(d, m)} | {ratio(d2, d)} |")
        print(f"| NOTIFY/s one server core could carry (1e6 / that) | {fmt(per(1, m))} | {fmt(per(1, d))} |"
              f" {fmt(per(1, d2))} | {ratio(m, d)} | {ratio(d, d2)} |")

if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(sys.argv[2:])
    else:
        summary(sys.argv[2])
PY

# ---- processes -----------------------------------------------------------------------------------

# forget_pid PID : drops a stopped process from started_pids, so the exit trap never signals a
# PID that the system may have handed to someone else since.
forget_pid() {
  local keep=() p
  for p in "${started_pids[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  started_pids=("${keep[@]}")
}

# tcp_port : a TCP port on 127.0.0.1 that was free a moment ago (lib.sh free_port checks UDP).
tcp_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rcli() { timeout 5 redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }

# start_redis DIR : a fresh redis-server without persistence on a free port, under redis_cpu;
# waits up to 5 s for PONG. Sets redis_pid and redis_port.
start_redis() {
  local dir=$1
  mkdir -p "$dir"
  redis_port="$(tcp_port)"
  "${redis_cpu[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --dir "$dir" --daemonize no --logfile "$dir/redis.log" >"$dir/redis.out" 2>&1 &
  redis_pid=$!
  started_pids+=("$redis_pid")
  for _ in $(seq 50); do
    [[ "$(rcli ping 2>/dev/null)" == PONG ]] && return 0
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "redis-server did not answer PING on 127.0.0.1:$redis_port:" >&2
  cat "$dir/redis.out" "$dir/redis.log" >&2 2>/dev/null || true
  exit 1
}

# start_node NAME : a fresh parleyd (node id NAME) in $run_base/NAME on backend $backend, waits up
# to 10 s for storage.ready. Appends to node_pids, node_ports and node_logs.
start_node() {
  local storage=""
  run_dir="$run_base/$1"
  mkdir -p "$run_dir"
  if [[ "$backend" == redis ]]; then
    storage="[storage]
backend = \"redis\"
redis_url = \"redis://127.0.0.1:$redis_port/0\"
key_prefix = \"bench:\""
  fi
  # the caps are raised so that no per-user limit shapes the load (every user is distinct anyway)
  # distinct ids (a node ignores changes announced under its own), info for storage.ready
  node_id="$1" node_log_level=info launch_parleyd "[presence]
max_publications_per_presentity = 1000
max_subscriptions_per_watcher = 100000
default_policy = \"allow\"
$storage"
  for _ in $(seq 100); do
    grep -q 'storage\.ready' "$server_log" && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q 'storage\.ready' "$server_log"; then
    echo "node $1 did not log storage.ready within 10 s; its log:" >&2
    cat "$server_log" >&2
    exit 1
  fi
  node_pids+=("$server_pid")
  node_ports+=("${target##*:}")
  node_logs+=("$server_log")
  echo "  node $1 ($backend) at $target pid $server_pid$([[ "$backend" == redis ]] &&
    echo ", redis-server 127.0.0.1:$redis_port pid $redis_pid")"
}

# start_servers BACKEND NODES DIR : fresh redis-server (BACKEND redis) and NODES nodes A, B...
start_servers() {
  backend=$1
  run_base=$3
  node_pids=()
  node_ports=()
  node_logs=()
  redis_pid=""
  [[ "$backend" == redis ]] && start_redis "$run_base/redis"
  local names=(A B C D)
  for ((i = 0; i < $2; i++)); do start_node "${names[$i]}"; done
}

# server_cpu_now : "parleyd_ticks redis_ticks" (utime+stime, all nodes summed).
server_cpu_now() {
  echo "$(cpu_ticks "${node_pids[@]}") $([[ -n "$redis_pid" ]] && cpu_ticks "$redis_pid" || echo 0)"
}

# node_sock_drops : datagrams dropped on the nodes' UDP sockets (last /proc/net/udp field).
node_sock_drops() {
  local want=" " p
  for p in "${node_ports[@]}"; do want+="$(printf '0100007F:%04X' "$p") "; done
  awk -v want="$want" 'index(want, " " $2 " ") {d += $NF} END {print d + 0}' /proc/net/udp
}

# level field of the text log format (server/src/logging.cpp: "%Y-%m-%dT%H:%M:%S.%e %-5l %-9n %v")
warn_re='^[^ ]+ +(warning|error|critical) '

# stop_servers : stops the nodes and redis-server by PID; sets errs (log lines at warn level or
# above) and crashed (nodes that were gone before the stop).
stop_servers() {
  local i
  errs=0
  crashed=0
  for i in "${!node_pids[@]}"; do
    if ! kill -0 "${node_pids[$i]}" 2>/dev/null; then
      crashed=$((crashed + 1))
      echo "  node pid ${node_pids[$i]} is gone (crashed?); its last lines:" >&2
      tail -n 20 "${node_logs[$i]}" >&2
    fi
    stop_pid "${node_pids[$i]}"
    forget_pid "${node_pids[$i]}"
    errs=$((errs + $(grep -cE "$warn_re" "${node_logs[$i]}" || true)))
  done
  if [[ -n "$redis_pid" ]]; then
    stop_pid "$redis_pid"
    forget_pid "$redis_pid"
  fi
  if ((errs > 0)); then
    echo "  $errs log line(s) at warning level or above; first ones:"
    grep -h -m 3 -E "$warn_re" "${node_logs[@]}" | cut -c1-240 | sed 's/^/    /'
  fi
}

# save_cmdstats FILE : redis-server's INFO commandstats (nothing for the memory backend).
save_cmdstats() {
  [[ -z "$redis_pid" ]] || rcli info commandstats >"$1"
}

# sipp_client DIR TARGET PORT SCENARIO RATE CALLS TIMEOUT_S [args] : one bounded sipp UAC run
# under sipp_cpu with statistics and response times in DIR; sets rc.
sipp_client() {
  local dir=$1 to=$2 port=$3 sf=$4 r=$5 n=$6 tmo=$7
  shift 7
  local opts=(-sf "$sippdir/$sf" "$to" -i 127.0.0.1 -p "$port" -key domain sip.localhost
    -r "$r" -rp 1000 -l "$limit" -m "$n" -recv_timeout 5000 -timeout "${tmo}s" -nostdin
    -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1 -trace_err -error_file err.log "$@")
  mkdir -p "$dir"
  rc=0
  (cd "$dir" && exec "${sipp_cpu[@]}" sipp "${opts[@]}" >sipp.out 2>&1) || rc=$?
  ((rc == 0)) || { echo "  sipp $sf exited $rc:"; tail -n 3 "$dir/sipp.out" | sed 's/^/    /'; }
}

record() {
  python3 "$work/analyze.py" record "hz=$hz" "redis_on=$redis_on" "$@" >>"$results"
}

note_failure() {
  failed_runs+=("$1")
  echo "  FAILED: $1"
}

# ---- phases --------------------------------------------------------------------------------------

# run_publish BACKEND RATE : RATE*SECONDS initial PUBLISHes against one fresh node.
run_publish() {
  local b=$1 r=$2 calls=$(($2 * secs)) dir="$work/publish-$1-$2" c0 c1 h0 h1
  echo "[publish $b $r/s]"
  start_servers "$b" 1 "$dir"
  python3 "$sippdir/make_users.py" "$calls" "$dir/users.csv" >/dev/null
  [[ -z "$redis_pid" ]] || rcli config resetstat >/dev/null
  h0="$(udp_rcvbuf_errors)"
  read -r -a c0 <<<"$(server_cpu_now)"
  sipp_client "$dir/uac" "127.0.0.1:${node_ports[0]}" "$(free_port)" publish_load.xml "$r" "$calls" \
    "$((secs * 3 + 30))" -inf "$dir/users.csv"
  read -r -a c1 <<<"$(server_cpu_now)"
  h1="$(udp_rcvbuf_errors)"
  save_cmdstats "$dir/cmdstats"
  local sd
  sd="$(node_sock_drops)"
  stop_servers
  record kind=publish "backend=$b" "rate=$r" "cpu_node=$((c1[0] - c0[0]))" "cpu_redis=$((c1[1] - c0[1]))" \
    "sdrops=$sd" "drops=$((h1 - h0))" "errs=$errs" "rc=$rc" "cmdstats=$dir/cmdstats" "uac=$dir/uac"
  python3 - "$results" "$calls" <<'PY' || note_failure "publish $b $r/s: failed or missing calls (sipp exit $rc)"
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(f"  ok {r['ok']} failed {r['failed']} retrans {r['retrans']} p99 {r['p99']} ms")
sys.exit(1 if r["failed"] or r["ok"] != int(sys.argv[2]) or r["rc"] != "0" else 0)
PY
  ((crashed == 0)) || note_failure "publish $b $r/s: $crashed node(s) crashed"
}

# uas_answered DIR : NOTIFYs a timed UAS has answered so far (its stat.csv, written every second).
uas_answered() {
  awk -F';' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") col = i}
             END {print (col ? $col : 0) + 0}' "$1/stat.csv" 2>/dev/null || echo 0
}

# run_notify CONFIG : W held subscriptions spread over the config's nodes, then the fan-out with
# every PUBLISH sent to node A.
run_notify() {
  local cfg=$1 dir="$work/notify-$1" nodes=1 b=redis
  local pub_rate=$((notify_rate * presentities / watchers)) period_ms=$((1000 * watchers / notify_rate))
  [[ "$cfg" == memory ]] && b=memory
  [[ "$cfg" == redis2 ]] && nodes=2
  echo "[notify $cfg: $watchers watchers of $presentities presentities on $nodes node(s)," \
    "$notify_rate NOTIFY/s offered = $pub_rate PUBLISH/s]"
  start_servers "$b" "$nodes" "$dir"
  python3 "$sippdir/make_watchers.py" "$watchers" "$presentities" "$dir/watchers.csv" "$dir/pres.csv" >/dev/null
  # node i holds watchers i*W/nodes .. (i+1)*W/nodes-1: every presentity has W/(P*nodes) on each
  local per_node=$((watchers / nodes)) i ok fl ports=() uas_dirs=() uas_pids=() hold_ok=0 hold_failed=0 hold_rcs=""
  for ((i = 0; i < nodes; i++)); do
    { echo SEQUENTIAL; sed -n "$((2 + i * per_node)),$((1 + (i + 1) * per_node))p" "$dir/watchers.csv"; } \
      >"$dir/watchers$i.csv"
    ports+=("$(free_port)")
    sipp_client "$dir/hold$i" "127.0.0.1:${node_ports[$i]}" "${ports[$i]}" subscribe_watch.xml "$hold_rate" \
      "$per_node" "$((per_node * 3 / hold_rate + 30))" -inf "$dir/watchers$i.csv"
    hold_rcs+="$rc"
    read -r ok fl < <(awk -F';' 'NR == 1 {for (i = 1; i <= NF; i++) {if ($i == "SuccessfulCall(C)") a = i;
                       if ($i == "FailedCall(C)") b = i}} END {print $a + 0, $b + 0}' "$dir/hold$i/stat.csv")
    hold_ok=$((hold_ok + ok))
    hold_failed=$((hold_failed + fl))
  done
  echo "  held subscriptions: $hold_ok ok, $hold_failed failed"

  # the timed UASes take over the watchers' ports: parleyd sends NOTIFYs to the SUBSCRIBE's source
  for ((i = 0; i < nodes; i++)); do
    uas_dirs+=("$dir/uas$i")
    mkdir -p "$dir/uas$i"
    (cd "$dir/uas$i" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/notify_timed_uas.xml" -i 127.0.0.1 \
        -p "${ports[$i]}" -bind_local -deadcall_wait 0 -m "$((3 * per_node))" \
        -timeout "$((3 * period_ms / 1000 + 90))s" -nostdin -trace_stat -stf stat.csv -fd 1 \
        -trace_rtt -rtt_freq 1 -trace_err -error_file err.log >sipp.out 2>&1) &
    uas_pids+=($!)
    started_pids+=($!)
  done
  sleep 1
  [[ -z "$redis_pid" ]] || rcli config resetstat >/dev/null
  local c0 c1 h0 h1 sd0 sd1
  h0="$(udp_rcvbuf_errors)"
  sd0="$(node_sock_drops)"
  read -r -a c0 <<<"$(server_cpu_now)"
  sipp_client "$dir/pub" "127.0.0.1:${node_ports[0]}" "$(free_port)" publish_fanout.xml "$pub_rate" \
    "$presentities" "$((3 * period_ms / 1000 + 60))" -inf "$dir/pres.csv" -d "$period_ms"
  local pub_rc=$rc
  # The UASes exit 0 after 3 NOTIFYs per watcher; with coalescing fewer come, so stop waiting
  # once their count has not moved for 3 s (60 s at most).
  local deadline=$((SECONDS + 60)) seen=-1 n stall=0 u
  while ((SECONDS < deadline)); do
    n=0
    for u in "${uas_dirs[@]}"; do n=$((n + $(uas_answered "$u"))); done
    local running=0
    for u in "${uas_pids[@]}"; do kill -0 "$u" 2>/dev/null && running=1; done
    ((running)) || break
    if ((n == seen)); then
      stall=$((stall + 1))
      ((stall < 3)) || break
    else
      seen=$n
      stall=0
    fi
    sleep 1
  done
  read -r -a c1 <<<"$(server_cpu_now)"
  h1="$(udp_rcvbuf_errors)"
  sd1="$(node_sock_drops)"
  save_cmdstats "$dir/cmdstats"
  local uas_rcs=""
  for u in "${uas_pids[@]}"; do
    finish_sipp "$u"
    forget_pid "$u"
    uas_rcs+="${uas_rcs:+,}$sipp_rc"
  done
  stop_servers
  local joined
  joined="$(IFS=,; echo "${uas_dirs[*]}")"
  record kind=notify "config=$cfg" "nodes=$nodes" "watchers=$watchers" "P=$presentities" \
    "offered=$notify_rate" "expected=$((3 * watchers))" "cpu_node=$((c1[0] - c0[0]))" \
    "cpu_redis=$((c1[1] - c0[1]))" "sdrops=$((sd1 - sd0))" "drops=$((h1 - h0))" "errs=$errs" \
    "rc=$pub_rc" "uas_rc=$uas_rcs" "hold=$hold_ok/$hold_failed" "cmdstats=$dir/cmdstats" \
    "uac=$dir/pub" "uas=$joined"
  python3 - "$results" "$watchers" <<'PY' || note_failure "notify $cfg (failed PUBLISHes or fewer than 2 NOTIFYs per watcher)"
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
w = int(sys.argv[2])
print(f"  PUBLISH ok {r['ok']} failed {r['failed']}; NOTIFYs {r['delivered']} of {r['expected']}"
      f" at {r.get('notify_rate', 0):.0f}/s")
sys.exit(1 if r["failed"] or r["ok"] != int(r["P"]) or r["delivered"] < 2 * w else 0)
PY
  [[ "$hold_failed" == 0 && "$hold_rcs" =~ ^0+$ ]] || note_failure "notify $cfg: hold ($hold_failed failed SUBSCRIBEs, sipp exit $hold_rcs)"
  [[ "$pub_rc" == 0 ]] || note_failure "notify $cfg: publisher sipp exited $pub_rc"
  ((crashed == 0)) || note_failure "notify $cfg: $crashed node(s) crashed"
}

echo "cluster load: PUBLISH ${secs} s at ${rates[*]}/s (memory, redis); fan-out $watchers watchers," \
  "$presentities presentities, $notify_rate NOTIFY/s offered (${configs[*]}); -l $limit"
echo "cores: $(nproc); pinning: $([[ "${PIN:-1}" == 1 ]] && echo "parleyd CPU 1, sipp CPU 0," \
  "redis-server CPU $([[ "$redis_on" == server ]] && echo 1 || echo 0)" || echo none);" \
  "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "parleyd $parleyd_src (sha256 $(sha256sum "$parleyd" | cut -c1-12)); $(redis-server --version |
  cut -d' ' -f1-3); $(sipp -v 2>&1 | grep -oE 'SIPp v[^ ]+' | head -n 1 | sed 's/[.]$//')"

if [[ "$phases" == *" publish "* ]]; then
  for b in memory redis; do
    for r in "${rates[@]}"; do run_publish "$b" "$r"; done
  done
fi
if [[ "$phases" == *" notify "* ]]; then
  for c in "${configs[@]}"; do run_notify "$c"; done
fi

python3 "$work/analyze.py" summary "$results"
echo
echo "CPU: utime+stime from /proc/PID/stat (10 ms ticks) over the sipp run (publish) or from the first" \
  "PUBLISH to the last NOTIFY (notify: includes the PUBLISHes); server core = parleyd(s) + redis-server" \
  "when they share CPU 1 (REDIS_CPU=server). Redis commands per op: INFO commandstats after CONFIG" \
  "RESETSTAT, top 5. p50/p99: sipp -trace_rtt, whole ms. drops srv/host: receive-buffer drops on the" \
  "nodes' sockets / host-wide RcvbufErrors."
if ((${#failed_runs[@]} > 0)); then
  echo "FAILED runs: ${failed_runs[*]}"
  exit 1
fi
