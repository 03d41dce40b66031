#!/usr/bin/env bash
# The HTTP presence API of parleyd (docs/api.md) under load: reads with wrk, and the live
# stream's fan-out to many WebSocket clients (bench/ws_fanout.py).
#
# Phases, each against a parleyd with [http] enabled on a free 127.0.0.1 port, a read token and a
# publish token, requests_per_second = 0 (no rate limit), memory backend:
#   get     USERS presentities user0000.. are seeded with one SIP PUBLISH each (sipp
#           publish_load.xml, the PIDF of the other benches), then, for each C in CONNS,
#           `wrk -t THREADS -c C -d SECONDS --latency -s api_get.lua`: GET /api/v1/presence/{a}
#           of a random seeded user per request, Authorization: Bearer <read token>
#   batch   the same, GET /api/v1/presence?addresses=a1,...,aBATCH (BATCH random users)
#           (get and batch share one parleyd: reads change nothing)
#   stream  ws_fanout.py on a fresh parleyd per variant:
#             one     WS_CLIENTS WebSocket clients all watching one presentity, WS_CHANGES changes
#                     (PUT /api/v1/presence with the publish token) every WS_INTERVAL_MS ms
#             spread  WS_CLIENTS clients each watching 10 of 100 presentities (WS_CLIENTS/10
#                     watchers each), WS_SPREAD_CHANGES changes round robin every
#                     WS_SPREAD_INTERVAL_MS ms
#           [http] max_clients = WS_CLIENTS + 100.
# Reported: requests/s, latency p50/p99/max (wrk's, from its --latency histogram), non-2xx
# answers and socket errors, parleyd CPU us per request (utime+stime over the wrk run / requests);
# for the stream: deliveries expected/received (lost, duplicated), delay from the PUT's sending
# to each client's receipt p50/p99/max (and from its 204), the first-to-last receipt spread per
# change, parleyd CPU us per delivered message (PUTs included), parleyd RSS per open client.
# wrk is closed-loop: C connections each keep one request outstanding, so at C = 50 the server
# is saturated and the latency is mostly queueing; C = 1 is the unloaded latency. The PUTs are
# sequential: when one takes longer than the interval (the 204 follows the fan-out), the next
# goes at once, so the achieved pace is the msg/s ws_fanout.py prints.
# Exit status 1 if a run had a non-2xx answer, a socket error, a lost or duplicated message or a
# crashed parleyd; 2 on bad usage or a missing tool.
#
# Usage: bench/api_load.sh [SECONDS]        (wrk duration per run, default 10, at most 15)
# Environment:
#   PARLEYD   parleyd binary (default build/server/parleyd; copied to the work directory)
#   PHASES    subset of "get batch stream" (default all)
#   USERS     seeded presentities (default 1000)
#   CONNS     wrk connection counts (default "1 50")
#   THREADS   wrk threads (default 1)
#   BATCH     addresses per batch GET (default 20; at most 100)
#   REPEAT    runs of each wrk measurement (default 1; the stream variants run once)
#   WS_CLIENTS (1000), WS_CHANGES (20), WS_INTERVAL_MS (200), WS_SPREAD_CHANGES (100),
#   WS_SPREAD_INTERVAL_MS (50), WS_PROCS (client worker processes, default 1), WS_VARIANTS
#             (subset of "one spread"), WS_CLIENT (raw: ws_fanout.py's own minimal client, the
#             default; websockets: python3-websockets, a cross-check whose timestamps include its
#             ~70 us per message of client-side work)
#   PIN       1 (default): parleyd on CPU 1, wrk, sipp and the WebSocket clients on CPU 0
#             (lib.sh pin_cpus); 0: no pinning
#   KEEP=1    keep the work directory (config, logs, wrk output)
# Needs: wrk (Debian package wrk), sipp, python3; for WS_CLIENT=websockets /usr/bin/python3 with
# python3-websockets. Loopback only; every process it starts is stopped by PID; every wrk run is
# bounded by -d and `timeout`, ws_fanout.py by its own deadlines and `timeout`.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
sippdir="$root/bench/sipp"

secs="${1:-10}"
users="${USERS:-1000}"
read -r -a conns <<<"${CONNS:-1 50}"
threads="${THREADS:-1}"
batch="${BATCH:-20}"
repeat="${REPEAT:-1}"
ws_clients="${WS_CLIENTS:-1000}"
ws_changes="${WS_CHANGES:-20}"
ws_interval="${WS_INTERVAL_MS:-200}"
ws_spread_changes="${WS_SPREAD_CHANGES:-100}"
ws_spread_interval="${WS_SPREAD_INTERVAL_MS:-50}"
ws_procs="${WS_PROCS:-1}"
ws_client="${WS_CLIENT:-raw}"
read -r -a ws_variants <<<"${WS_VARIANTS:-one spread}"
phases=" ${PHASES:-get batch stream} "
parleyd_src="${PARLEYD:-$root/build/server/parleyd}"

usage() {
  echo "usage: $0 [seconds]   (1..15; the header lists the environment)" >&2
  exit 2
}
for v in "$secs" "$users" "${conns[@]}" "$threads" "$batch" "$repeat" "$ws_clients" "$ws_changes" \
  "$ws_interval" "$ws_spread_changes" "$ws_spread_interval" "$ws_procs"; do
  [[ "$v" =~ ^[0-9]+$ && "$v" -gt 0 ]] || usage
done
((secs <= 15 && batch <= 100)) || usage
for v in "${ws_variants[@]}"; do [[ "$v" == one || "$v" == spread ]] || usage; done
[[ "$ws_client" == raw || "$ws_client" == websockets ]] || usage
for tool in wrk sipp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$tool not found (Debian: apt-get install -y $tool)" >&2; exit 2; }
done
if [[ "$phases" == *" stream "* && "$ws_client" == websockets ]] && ! /usr/bin/python3 -c 'import websockets' 2>/dev/null; then
  echo "/usr/bin/python3 cannot import websockets: apt-get install -y python3-websockets" >&2
  exit 2
fi
[[ -x "$parleyd_src" ]] || { echo "no parleyd at $parleyd_src: build it first" >&2; exit 2; }

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
pin_cpus
bench_setup parley-api-load
failed_runs=()
# parleyd and the clients each hold one descriptor per WebSocket client
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# fresh random tokens: the API refuses tokens under 16 characters
token() { echo "bench-$1-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
read_token="$(token read)"
publish_token="$(token publish)"

# tcp_port : a TCP port on 127.0.0.1 that was free a moment ago (lib.sh free_port checks UDP).
tcp_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# level field of the text log format (server/src/logging.cpp: "%Y-%m-%dT%H:%M:%S.%e %-5l %-9n %v")
warn_re='^[^ ]+ +(warning|error|critical) '

note_failure() {
  failed_runs+=("$1")
  echo "  FAILED: $1"
}

# start_api_server NAME MAX_CLIENTS : a fresh parleyd in $work/NAME (lib.sh launch_parleyd) with
# the HTTP API on a free port; sets http_port.
start_api_server() {
  run_dir="$work/$1"
  mkdir -p "$run_dir"
  http_port="$(tcp_port)"
  launch_parleyd "[presence]
max_publications_per_presentity = 1000
default_policy = \"allow\"
[http]
enabled = true
listen = [\"127.0.0.1:$http_port\"]
requests_per_second = 0
max_clients = $2
[[http.tokens]]
name = \"bench-read\"
token = \"$read_token\"
scopes = [\"read\"]
[[http.tokens]]
name = \"bench-publish\"
token = \"$publish_token\"
scopes = [\"publish\"]"
  local i
  for i in $(seq 50); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
      "$http_port" 2>/dev/null && break
    ((i < 50)) || { echo "parleyd does not accept HTTP on 127.0.0.1:$http_port; its log:" >&2; cat "$server_log" >&2; exit 1; }
    sleep 0.1
  done
  echo "  parleyd pid $server_pid: SIP $target, HTTP 127.0.0.1:$http_port"
}

# stop_api_server : stops it by PID; sets errs (log lines at warning level or above), crashed.
stop_api_server() {
  crashed=0
  if ! kill -0 "$server_pid" 2>/dev/null; then
    crashed=1
    echo "  parleyd pid $server_pid is gone (crashed?); its last lines:" >&2
    tail -n 20 "$server_log" >&2
  fi
  stop_pid "$server_pid"
  local keep=() p
  for p in "${started_pids[@]}"; do [[ "$p" == "$server_pid" ]] || keep+=("$p"); done
  started_pids=("${keep[@]}")
  errs="$(grep -cE "$warn_re" "$server_log" || true)"
  if ((errs > 0)); then
    echo "  $errs log line(s) at warning level or above; first ones:"
    grep -m 3 -E "$warn_re" "$server_log" | cut -c1-240 | sed 's/^/    /'
  fi
}

# seed_users : one SIP PUBLISH (publish_load.xml) for each of the USERS users, 1000/s.
seed_users() {
  local dir="$run_dir/seed" rc=0
  mkdir -p "$dir"
  python3 "$sippdir/make_users.py" "$users" "$dir/users.csv" >/dev/null
  (cd "$dir" && exec "${sipp_cpu[@]}" sipp -sf "$sippdir/publish_load.xml" "$target" -i 127.0.0.1 \
    -p "$(free_port)" -key domain sip.localhost -inf "$dir/users.csv" -r 1000 -m "$users" \
    -recv_timeout 5000 -timeout "$((users / 1000 + 30))s" -nostdin -trace_stat -stf stat.csv \
    >sipp.out 2>&1) || rc=$?
  local ok
  ok="$(awk -F';' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") c = i}
                   END {print (c ? $c : 0) + 0}' "$dir/stat.csv" 2>/dev/null || echo 0)"
  if [[ "$rc" != 0 || "$ok" != "$users" ]]; then
    echo "seeding failed: sipp exit $rc, $ok of $users PUBLISHes answered 200" >&2
    tail -n 5 "$dir/sipp.out" >&2
    exit 1
  fi
  # a read must show what was published, else the wrk figures would measure something else
  python3 - "$http_port" "$read_token" "$users" <<'PY' || { echo "GET after seeding is wrong" >&2; exit 1; }
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", "/api/v1/presence/user0000@sip.localhost", headers={"Authorization": f"Bearer {sys.argv[2]}"})
r = c.getresponse()
body = r.read()
j = json.loads(body) if r.status == 200 else {}
ok = j.get("basic") == "open" and j.get("note", "").startswith("bench ")
print(f"  seeded {sys.argv[3]} users; GET user0000: {r.status} {len(body)} bytes{'' if ok else ': ' + body[:200].decode(errors='replace')}")
sys.exit(0 if ok else 1)
PY
}

# run_wrk MODE CONNS N : one wrk run against the running parleyd; appends a result record.
run_wrk() {
  local mode=$1 c=$2 n=$3 out="$run_dir/wrk-$1-c$2-$3.out" c0 c1 rc=0 nbatch=0
  [[ "$mode" == batch ]] && nbatch=$batch
  c0="$(cpu_ticks "$server_pid")"
  timeout "$((secs + 30))" "${sipp_cpu[@]}" wrk -t "$threads" -c "$c" -d "${secs}s" --latency \
    -s "$root/bench/api_get.lua" "http://127.0.0.1:$http_port" -- "$read_token" "$users" "$nbatch" \
    >"$out" 2>&1 || rc=$?
  c1="$(cpu_ticks "$server_pid")"
  local line
  line="$(grep '^api_get ' "$out" || true)"
  if [[ "$rc" != 0 || -z "$line" ]]; then
    note_failure "wrk $mode -c $c run $n exited $rc"
    tail -n 5 "$out" | sed 's/^/    /'
    return 0
  fi
  local ticks=$((c1 - c0))
  python3 - "$results" "$mode" "$c" "$threads" "$nbatch" "$ticks" "$hz" "$line" <<'PY' || note_failure "wrk $mode -c $c run $n: non-2xx or socket errors"
import json, sys
path, mode, conns, threads, nbatch, ticks, hz, line = sys.argv[1:]
r = {k: float(v) for k, v in (f.split("=") for f in line.split()[1:])}
r.update(kind="wrk", mode=mode, conns=int(conns), threads=int(threads), batch=int(nbatch),
         cpu_s=int(ticks) / int(hz))
r["us_per_req"] = r["cpu_s"] * 1e6 / r["requests"] if r["requests"] else None
r["us_per_addr"] = r["us_per_req"] / r["batch"] if r["us_per_req"] and r["batch"] else None
print(f"  {mode} -c {conns}: {r['rps']:.0f} req/s, p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms,"
      f" parleyd {r['us_per_req']:.1f} us/request, non-2xx {r['non2xx']:.0f}, socket errors {r['sock_errors']:.0f}")
open(path, "a").write(json.dumps(r) + "\n")
sys.exit(1 if r["non2xx"] or r["sock_errors"] else 0)
PY
}

# run_stream VARIANT : ws_fanout.py against a fresh parleyd.
run_stream() {
  local v=$1 args rc=0
  if [[ "$v" == one ]]; then
    args=(--presentities 1 --per-client 1 --changes "$ws_changes" --interval-ms "$ws_interval")
  else
    args=(--presentities 100 --per-client 10 --changes "$ws_spread_changes" --interval-ms "$ws_spread_interval")
  fi
  echo "[stream $v: $ws_clients WebSocket clients]"
  start_api_server "stream-$v" "$((ws_clients + 100))"
  timeout 300 "${sipp_cpu[@]}" /usr/bin/python3 "$root/bench/ws_fanout.py" --port "$http_port" \
    --pid "$server_pid" --read-token "$read_token" --publish-token "$publish_token" \
    --clients "$ws_clients" --procs "$ws_procs" --client "$ws_client" --label "$v" --json "$results" "${args[@]}" \
    >"$run_dir/ws_fanout.out" 2>&1 || rc=$?
  sed 's/^/  /' "$run_dir/ws_fanout.out"
  stop_api_server
  [[ "$rc" == 0 ]] || note_failure "stream $v: ws_fanout.py exited $rc (lost messages, closed clients or errors)"
  ((crashed == 0)) || note_failure "stream $v: parleyd crashed"
}

echo "HTTP API load: wrk ${secs} s per run, conns ${conns[*]}, $threads thread(s), $users users," \
  "batch $batch; stream $ws_clients clients"
echo "cores: $(nproc); pinning: $([[ "${PIN:-1}" == 1 ]] && echo "parleyd CPU 1, load CPU 0" || echo none);" \
  "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "parleyd $parleyd_src (sha256 $(sha256sum "$parleyd" | cut -c1-12)); $(wrk -v 2>&1 | head -n 1 |
  cut -d' ' -f1-2); websockets $(/usr/bin/python3 -c 'import websockets; print(websockets.__version__)' 2>/dev/null || echo -)"

if [[ "$phases" == *" get "* || "$phases" == *" batch "* ]]; then
  echo "[reads: $users presentities seeded by SIP PUBLISH]"
  start_api_server reads 1000
  seed_users
  for mode in get batch; do
    [[ "$phases" == *" $mode "* ]] || continue
    for c in "${conns[@]}"; do
      for n in $(seq "$repeat"); do run_wrk "$mode" "$c" "$n"; done
    done
  done
  rss="$(awk '$1 == "VmRSS:" {print $2}' "/proc/$server_pid/status")"
  echo "  parleyd VmRSS after the reads: $rss KB"
  stop_api_server
  ((crashed == 0)) || note_failure "reads: parleyd crashed"
fi
if [[ "$phases" == *" stream "* ]]; then
  for v in "${ws_variants[@]}"; do run_stream "$v"; done
fi

python3 - "$results" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
fmt = lambda v, spec="{:.0f}": "-" if v is None else spec.format(v)
wrk = [r for r in recs if r.get("kind") == "wrk"]
if wrk:
    print("\n### Reads (wrk)\n")
    print("| request | wrk -t/-c | requests/s | p50 ms | p99 ms | max ms | parleyd CPU us/request |"
          " us per address | non-2xx | socket errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in wrk:
        what = "GET one presence" if r["mode"] == "get" else f"GET batch of {r['batch']}"
        print(f"| {what} | {r['threads']}/{r['conns']} | {r['rps']:.0f} | {r['p50_us'] / 1000:.2f} |"
              f" {r['p99_us'] / 1000:.2f} | {r['max_us'] / 1000:.1f} | {fmt(r['us_per_req'], '{:.1f}')} |"
              f" {fmt(r['us_per_addr'], '{:.1f}')} | {r['non2xx']:.0f} | {r['sock_errors']:.0f} |")
ws = [r for r in recs if r.get("label") in ("one", "spread")]
if ws:
    print("\n### Live stream fan-out (WebSocket)\n")
    print("| variant | client | clients ready | changes, every | delivered / expected | lost | dups | closed |"
          " delay p50 ms | p99 ms | max ms | after the 204 p50/p99 ms | per-change spread p50/max ms |"
          " PUT p50/p99 ms | parleyd us/message | client CPU % | RSS before -> with clients KB | KB per client |")
    print("|" + "---|" * 18)
    for r in ws:
        what = ("all watch 1 presentity" if r["presentities"] == 1 else
                f"{r['per_client']} of {r['presentities']} each")
        print(f"| {what} | {r.get('client', 'raw')} | {r['ready']}/{r['clients']} | {r['changes']}, {r['interval_ms']:g} ms |"
              f" {r['delivered']} / {r['expected']} | {r['lost']} | {r['dups']} | {r['closed']} |"
              f" {fmt(r['p50_from_send_ms'], '{:.1f}')} | {fmt(r['p99_from_send_ms'], '{:.1f}')} |"
              f" {fmt(r['max_from_send_ms'], '{:.1f}')} | {fmt(r['p50_ms'], '{:.1f}')}/{fmt(r['p99_ms'], '{:.1f}')} |"
              f" {fmt(r['spread_p50_ms'], '{:.1f}')}/{fmt(r['spread_max_ms'], '{:.1f}')} |"
              f" {fmt(r['put_p50_ms'], '{:.1f}')}/{fmt(r['put_p99_ms'], '{:.1f}')} | {fmt(r['server_us_per_msg'], '{:.1f}')} |"
              f" {fmt(r['client_cpu_pct'])} | {r['rss_before_kb']} -> {r['rss_open_kb']} |"
              f" {r['kb_per_client']:.1f} |")
PY
echo
echo "CPU: parleyd utime+stime from /proc/PID/stat (10 ms ticks) over each wrk run, or from the first" \
  "PUT to the last receipt (stream; the PUTs included). Latency: wrk's (reads); the delay from the" \
  "PUT's sending to each client's receipt (stream), and from the PUT's 204 (negative: the message came first)."
if ((${#failed_runs[@]} > 0)); then
  echo "FAILED runs:"
  printf '  %s\n' "${failed_runs[@]}"
  exit 1
fi
