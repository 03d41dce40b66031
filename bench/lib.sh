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
