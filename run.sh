#!/usr/bin/env bash
# Builds parleyd (Release, in build/) and runs it in the foreground.
# Usage: ./run.sh [CONFIG]      (default config/parley.example.toml; Ctrl-C stops it cleanly)
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

config="${1:-config/parley.example.toml}"
if [[ ! -f "$config" ]]; then
  echo "run.sh: no such config file: $config" >&2
  exit 2
fi

# shellcheck source=scripts/deps.sh
. scripts/deps.sh
parley_ensure_packages "${PARLEY_BUILD_DEPS[@]}"
parley_configure build -DCMAKE_BUILD_TYPE=Release
cmake --build build --target parleyd -j"$(nproc)"

build/server/parleyd --check-config "$config"

# The listen entries, e.g. udp:127.0.0.1:5060, for the hints below.
mapfile -t listen < <(grep -E '^[[:space:]]*listen[[:space:]]*=' "$config" | grep -oE '"(udp|tcp):[^"]+"' | tr -d '"')
udp_target=""
tcp_target=""
for entry in "${listen[@]}"; do
  case "$entry" in
    udp:*) [[ -n "$udp_target" ]] || udp_target="${entry#udp:}" ;;
    tcp:*) [[ -n "$tcp_target" ]] || tcp_target="${entry#tcp:}" ;;
  esac
done

cat <<INFO

parleyd is starting with $config
  listening on: ${listen[*]:-(see the sip.listening lines below)}
  domain: $(grep -E '^[[:space:]]*domains[[:space:]]*=' "$config" | sed -E 's/^[^=]*=[[:space:]]*//')

Try it from another terminal (sipp is in the Debian package sip-tester):
  sipp -sf tests/integration/sipp/options.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key ruri sip:sip.localhost -m 1
      # OPTIONS over UDP -> 200 OK with Allow/Accept/Supported
  sipp -sf tests/integration/sipp/options.xml ${tcp_target:-127.0.0.1:5060} -t t1 -i 127.0.0.1 \\
       -key domain sip.localhost -key ruri sip:sip.localhost -m 1
      # the same over TCP
  sipp -sf tests/integration/sipp/invite_405_then_ack.xml ${udp_target:-127.0.0.1:5060} -nr \\
       -i 127.0.0.1 -key domain sip.localhost -key ruri sip:alice@sip.localhost -m 1
      # INVITE -> 405 Method Not Allowed, then ACK
  sipp -sf tests/integration/sipp/register_only.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 -p 5070 \\
       -key domain sip.localhost -key user bob -m 1
      # bob registers from 127.0.0.1:5070; a phone listening there now gets bob's MESSAGEs:
  sipp -sf tests/integration/sipp/message_uac.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key user bob -m 1
      # MESSAGE to bob (run a UAS on 5070 first: sipp -sf tests/integration/sipp/message_uas.xml -p 5070 -i 127.0.0.1)
  sipp -sf tests/integration/sipp/publish.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key user alice -m 1
      # PUBLISH alice's presence: 200 + SIP-ETag, refresh, stale ETag -> 412, remove
  sipp -sf tests/integration/sipp/hook_state.xml ${udp_target:-127.0.0.1:5060} -i 127.0.0.1 \\
       -key domain sip.localhost -key user carol -key ctp "" -m 1
      # a phone publishes carol open, a watcher SUBSCRIBEs and gets NOTIFYs, a PBX publishes a
      # confirmed call (dialog-info) -> the watcher's NOTIFY shows on-the-phone, then clears
Press Ctrl-C to stop.

INFO
exec build/server/parleyd --config "$config"
