# Shared helpers for the bench/ scripts (sourced, not run). Loopback only;
# every process a script starts goes into started_pids and is stopped by PID.

# bench_workdir PREFIX : creates $work, empties started_pids, and installs the
# EXIT/INT/TERM traps that stop those processes and remove $work (KEEP=1 keeps it).
bench_workdir() {
  work="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
  started_pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# bench_setup PREFIX : bench_workdir PREFIX, then what every comparison script measures with:
# $parleyd, a copy of $parleyd_src in $work (the binary measured stays the same even if a build
# replaces it; no copy when there is no binary, for a Kamailio-only run), $hz (clock ticks per
# second, for cpu_ticks) and an empty $results (one JSON row per run).
bench_setup() {
  bench_workdir "$1"
  parleyd="$work/parleyd"
  if [[ -x "$parleyd_src" ]]; then cp "$parleyd_src" "$parleyd"; fi
  hz="$(getconf CLK_TCK)"
  results="$work/results.jsonl"
  : >"$results"
}

bench_cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do
    stop_pid "$pid"
  done
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "work directory kept: $work"
  else
    rm -rf "$work"
  fi
}

# stop_pid PID : SIGTERM, up to 10 s, then SIGKILL; reaps it when it is our child.
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "process $pid did not stop within 10 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# free_port : a UDP port on 127.0.0.1 that was free a moment ago.
free_port() {
  python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PID... : utime+stime summed over the PIDs, in clock ticks
# (/proc/PID/stat fields 14 and 15; the command name may contain spaces).
cpu_ticks() {
  local total=0 pid stat
  for pid in "$@"; do
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    stat="${stat##*) }"
    # shellcheck disable=SC2086
    set -- $stat
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}

# options_ok PORT : one OPTIONS to sip:sip.localhost on 127.0.0.1:PORT; succeeds on a 200.
options_ok() {
  python3 - "$1" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.bind(("127.0.0.1", 0))
me = s.getsockname()[1]
req = (f"OPTIONS sip:sip.localhost SIP/2.0\r\n"
       f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-probe-{me};rport\r\n"
       f"Max-Forwards: 70\r\nFrom: <sip:probe@sip.localhost>;tag=probe{me}\r\n"
       f"To: <sip:sip.localhost>\r\nCall-ID: probe-{me}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
       f"Content-Length: 0\r\n\r\n").encode()
s.sendto(req, ("127.0.0.1", port))
try:
    data = s.recv(65535)
except OSError:
    sys.exit(1)
sys.exit(0 if data.startswith(b"SIP/2.0 200") else 1)
PY
}

# run_kamailio PORT DIR [PREFIX...] : starts bench/kamailio/run_kamailio.sh on PORT with
# its work files in DIR (optionally under a command prefix such as taskset), waits up to
# 30 s for it to report ready, and sets runner_pid (added to started_pids). Exits the
# script with Kamailio's output if it does not come up.
run_kamailio() {
  local port=$1 dir=$2
  shift 2
  "$@" "$(dirname "${BASH_SOURCE[0]}")/kamailio/run_kamailio.sh" "$port" "$dir" >"$dir.out" 2>&1 &
  runner_pid=$!
  started_pids+=("$runner_pid")
  for _ in $(seq 300); do
    grep -q '^kamailio ready' "$dir.out" 2>/dev/null && break
    kill -0 "$runner_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '^kamailio ready' "$dir.out" 2>/dev/null; then
    echo "Kamailio did not start:" >&2
    cat "$dir.out" >&2
    exit 1
  fi
}

# ---- Kamailio-vs-parleyd comparisons (presence_load.sh, notify_load.sh) ----------------------
# They share these globals: server (kamailio|parleyd), run_dir, parleyd (the binary copy),
# server_cpu/sipp_cpu (taskset prefixes), and set server_pid, server_pids, target, server_log.

# comparison_preflight PARLEYD_SRC : exits 2 naming what is missing (sipp, python3, kamcmd,
# kamailio, the parleyd binary, taskset/2 CPUs when PIN=1); sets server_cpu and sipp_cpu.
comparison_preflight() {
  local tool
  for tool in sipp python3 kamcmd; do
    command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
  done
  if ! command -v kamailio >/dev/null && [[ ! -x /usr/sbin/kamailio ]]; then
    echo "kamailio not found: apt-get install -y kamailio kamailio-presence-modules" >&2
    exit 2
  fi
  if [[ ! -x "$1" ]]; then
    echo "no parleyd at $1: build it first (cmake --build build --target parleyd)" >&2
    exit 2
  fi
  pin_cpus
}

# finish_sipp PID : ends a sipp started in the background (SIGINT, so it writes its files; then
# stop_pid after 5 s), or collects the exit status of one that ended by itself. Sets sipp_rc to
# "stopped" or that exit status. Not in a $(...): `wait` needs the shell that started sipp.
finish_sipp() {
  local pid=$1
  sipp_rc=0
  if kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$pid"
    sipp_rc=stopped
  else
    wait "$pid" || sipp_rc=$?
  fi
}

# pin_cpus : with PIN=1 (the default) the server goes on CPU 1 and the load generators on
# CPU 0 (exits 2 without taskset or 2 CPUs); sets server_cpu and sipp_cpu (taskset prefixes).
pin_cpus() {
  if [[ "${PIN:-1}" == 1 ]]; then
    command -v taskset >/dev/null || { echo "taskset not found (or run with PIN=0)" >&2; exit 2; }
    (($(nproc) >= 2)) || { echo "PIN=1 needs 2 CPUs (run with PIN=0)" >&2; exit 2; }
    server_cpu=(taskset -c 1)
    sipp_cpu=(taskset -c 0)
  else
    server_cpu=()
    sipp_cpu=()
  fi
}

# udp_rcvbuf_errors : host-wide UDP RcvbufErrors (/proc/net/snmp): datagrams the kernel dropped
# because a socket's receive buffer was full. Host-wide, so other loopback traffic counts too.
udp_rcvbuf_errors() {
  awk '$1 == "Udp:" && $6 ~ /^[0-9]+$/ {print $6}' /proc/net/snmp
}

# mem_bytes : the server's memory figure in bytes: Kamailio's shared memory real_used
# (kamcmd core.shmmem), parleyd's RssAnon: its resident anonymous memory (heap, stacks), which
# is what state costs. VmRSS also counts file-backed pages: library code and data that the first
# use of a library pages in once (Xerces and ICU at the first PIDF parse: about 6 MB), which made
# up half of the "per presentity" growth over 10,000 PUBLISHes (docs/performance.md).
mem_bytes() {
  if [[ "$server" == kamailio ]]; then
    kamcmd -s "unix:$run_dir/kamailio/kamailio_ctl" core.shmmem 2>/dev/null |
      awk '$1 == "real_used:" {print $2; found=1} END {if (!found) print 0}'
  else
    awk '$1 == "RssAnon:" {print $2 * 1024}' "/proc/$server_pid/status" 2>/dev/null || echo 0
  fi
}

# start_kamailio : a fresh Kamailio on a free port, under server_cpu.
start_kamailio() {
  local port
  port="$(free_port)"
  run_kamailio "$port" "$run_dir/kamailio" "${server_cpu[@]}"
  read -r -a server_pids <"$run_dir/kamailio/kamailio.pids"
  server_pid="${server_pids[0]}"
  target="127.0.0.1:$port"
  server_log="$run_dir/kamailio/kamailio.log"
}

# launch_parleyd [TOML] : a fresh parleyd on a free port, under server_cpu, with the bench's
# [node]/[sip] tables plus TOML (the caller's limits); waits up to 10 s for a 200 to OPTIONS.
# node_id (default parley-bench) and node_log_level (default warn) set [node] id and log_level:
# nodes sharing one Redis need distinct ids.
launch_parleyd() {
  local port
  port="$(free_port)"
  cat >"$run_dir/parley.toml" <<TOML
[node]
id = "${node_id:-parley-bench}"
log_level = "${node_log_level:-warn}"
log_format = "text"
[sip]
domains = ["sip.localhost"]
listen = ["udp:127.0.0.1:$port"]
max_message_bytes = 65535
${1:-}
TOML
  "${server_cpu[@]}" "$parleyd" --config "$run_dir/parley.toml" >"$run_dir/parleyd.log" 2>&1 &
  server_pid=$!
  started_pids+=("$server_pid")
  server_pids=("$server_pid")
  server_log="$run_dir/parleyd.log"
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    options_ok "$port" && { target="127.0.0.1:$port"; return 0; }
    sleep 0.1
  done
  echo "parleyd did not answer OPTIONS on 127.0.0.1:$port; its log:" >&2
  cat "$run_dir/parleyd.log" >&2
  exit 1
}
