#!/usr/bin/env bash
# Runs the reference Kamailio presence server (bench/kamailio/kamailio.cfg) on
# udp:127.0.0.1:PORT until this script is stopped (Ctrl-C / SIGTERM), then stops Kamailio.
#
# Usage: bench/kamailio/run_kamailio.sh PORT WORKDIR
#   PORT     UDP port on 127.0.0.1
#   WORKDIR  directory for the db_text tables (WORKDIR/dbtext), kamailio.log, kamailio.pids
#            and the kamcmd control socket WORKDIR/kamailio_ctl
#            (e.g. kamcmd -s unix:WORKDIR/kamailio_ctl core.shmmem)
# Environment:
#   KAM_CHILDREN  UDP worker processes (default 4)
#   KAM_SHM_MB    shared memory, MB (default 1024). Subscriptions, presentities AND every tm
#                 transaction (~8 KB each, kept 5 s after completion by tm wait_timer) live
#                 there: SUBSCRIBE load at 2500/s ran out of 256 MB.
#   KAM_PKG_MB    private memory per process, MB (default 8)
#   KAM_USER      run as this user/group (-u/-g; default: the current user; Kamailio 5.6 runs
#                 as root without complaint, WORKDIR must be writable by KAM_USER otherwise)
#
# Once Kamailio answers an OPTIONS it prints one line
#   kamailio ready port=PORT main_pid=PID pids=PID PID ...
# (main process first, then its children: 4 UDP workers, timers, ...) and writes the same PIDs
# to WORKDIR/kamailio.pids, for measuring CPU and memory over all of them. Stopping this script
# sends SIGTERM to Kamailio's main process (which stops its children) and waits for it.
# Needs: kamailio + kamailio-presence-modules (Debian: apt-get install -y kamailio
# kamailio-presence-modules), python3. Loopback only.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"

if [[ $# -ne 2 || ! "$1" =~ ^[0-9]+$ || "$1" -lt 1 || "$1" -gt 65535 ]]; then
  echo "usage: $0 PORT WORKDIR" >&2
  exit 2
fi
port=$1
work=$2
children="${KAM_CHILDREN:-4}"
shm_mb="${KAM_SHM_MB:-1024}"
pkg_mb="${KAM_PKG_MB:-8}"

kamailio_bin="$(command -v kamailio || true)"
[[ -z "$kamailio_bin" && -x /usr/sbin/kamailio ]] && kamailio_bin=/usr/sbin/kamailio
modules=/usr/lib/x86_64-linux-gnu/kamailio/modules
schema=/usr/share/kamailio/dbtext/kamailio
if [[ -z "$kamailio_bin" ]]; then
  echo "kamailio not found: apt-get install -y kamailio kamailio-presence-modules" >&2
  exit 2
fi
if [[ ! -e "$modules/presence.so" && -z "$(find /usr/lib -name presence_xml.so -path '*kamailio*' \
      -print -quit 2>/dev/null)" ]]; then
  echo "kamailio presence modules not found: apt-get install -y kamailio-presence-modules" >&2
  exit 2
fi
if [[ ! -d "$schema" ]]; then
  echo "no db_text schema in $schema (package kamailio)" >&2
  exit 2
fi
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 2; }

mkdir -p "$work"
work="$(cd "$work" && pwd)"
# db_text "database": one file per table, plus the version table presence checks at start-up.
# With subs_db_mode 0 / publ_cache 2 nothing is written to them; they only have to exist.
dbdir="$work/dbtext"
rm -rf "$dbdir"
mkdir -p "$dbdir"
for table in version presentity active_watchers watchers xcap; do
  cp "$schema/$table" "$dbdir/$table"
done

user_args=()
if [[ -n "${KAM_USER:-}" ]]; then
  user_args=(-u "$KAM_USER" -g "$KAM_USER")
  chown -R "$KAM_USER:" "$dbdir"
fi

log="$work/kamailio.log"
: >"$log"
"$kamailio_bin" -f "$here/kamailio.cfg" -DD -E -m "$shm_mb" -M "$pkg_mb" "${user_args[@]}" \
  -A "SIP_PORT=$port" -A "DBURL=\"text://$dbdir\"" -A "CHILDREN=$children" \
  -A "CTL_SOCKET=\"unix:$work/kamailio_ctl\"" >>"$log" 2>&1 &
kam_pid=$!

stop() {
  trap - EXIT INT TERM
  if kill -0 "$kam_pid" 2>/dev/null; then
    kill -TERM "$kam_pid" 2>/dev/null || true
    local i
    for i in $(seq 100); do
      kill -0 "$kam_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$kam_pid" 2>/dev/null; then
      echo "kamailio $kam_pid did not stop within 10 s of SIGTERM; killing it" >&2
      # its children by PID, then the main process
      for i in $(cat "$work/kamailio.pids" 2>/dev/null); do
        [[ "$i" != "$kam_pid" ]] && kill -KILL "$i" 2>/dev/null || true
      done
      kill -KILL "$kam_pid" 2>/dev/null || true
    fi
  fi
  wait "$kam_pid" 2>/dev/null || true
  echo "kamailio stopped"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=bench/lib.sh
. "$here/../lib.sh"   # options_ok; this script keeps its own stop() for Kamailio's process tree

ready=0
for _ in $(seq 100); do   # up to ~10-60 s (each probe waits at most 0.5 s)
  if ! kill -0 "$kam_pid" 2>/dev/null; then
    echo "kamailio exited during start-up; its log ($log):" >&2
    cat "$log" >&2
    exit 1
  fi
  if options_ok "$port"; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ $ready -ne 1 ]]; then
  echo "kamailio did not answer OPTIONS on 127.0.0.1:$port; its log ($log):" >&2
  cat "$log" >&2
  exit 1
fi

pids=("$kam_pid")
for child in $(pgrep -P "$kam_pid" || true); do
  pids+=("$child")
done
echo "${pids[*]}" >"$work/kamailio.pids"
echo "kamailio ready port=$port main_pid=$kam_pid pids=${pids[*]}"

# Stay in the foreground until Kamailio exits or this script is told to stop (the builtin wait
# returns on a trapped signal, then the EXIT trap stops Kamailio).
rc=0
wait "$kam_pid" || rc=$?
echo "kamailio exited by itself (status $rc); its log: $log" >&2
exit 1
