#!/usr/bin/python3
"""XMPP ends of the SIP <-> XMPP bridge benchmark (bench/bridge_load.sh). Debian's
python3-slixmpp, so run it under /usr/bin/python3. Plain TCP to 127.0.0.1 (no TLS, no DNS).

  receive  logs in, sends initial presence (so messages to the bare JID reach it), counts every
           <message/> with its arrival time; writes a JSON summary after --expect messages, on
           SIGTERM/SIGINT, or after --timeout s, then exits. While running it rewrites
           --progress with the count every 0.25 s (the bench watches it to see when delivery
           has stopped).
  send     logs in and sends --count chat messages to --to at a fixed --rate (one message
           every 1/rate s, sent in small batches when the loop falls behind), then waits
           --linger s for error bounces and writes a JSON summary.

Both write --ready once the session runs (the bench starts the load only then) and exit
non-zero if no session comes up within --login-timeout s. Every wait is bounded.

  /usr/bin/python3 bench/xmpp/xmpp_load.py receive --jid bob@localhost/bench --password pw \
      --port 5222 --expect 5000 --summary rx.json --ready rx.ready --progress rx.count
  /usr/bin/python3 bench/xmpp/xmpp_load.py send --jid bob@localhost/sender --password pw \
      --port 5222 --to alice@sip.localhost --count 5000 --rate 500 --summary tx.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from xml.sax.saxutils import escape

try:
    import slixmpp
except ImportError as e:  # pragma: no cover - environment check
    sys.exit(f"slixmpp is not importable from {sys.executable} ({e}): "
             "apt-get install python3-slixmpp and run under /usr/bin/python3")


def write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def peak_per_second(stamps: list[float]) -> int:
    buckets: dict[int, int] = {}
    for s in stamps:
        buckets[int(s)] = buckets.get(int(s), 0) + 1
    return max(buckets.values()) if buckets else 0


class LoadClient(slixmpp.ClientXMPP):
    """A ClientXMPP that reports session start and records every message it gets."""

    def __init__(self, args: argparse.Namespace, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(args.jid, args.password,
                         plugin_config={"feature_mechanisms": {"unencrypted_plain": True}})
        self.loop = loop
        self.args = args
        self.session = loop.create_future()
        self.stamps: list[float] = []
        self.bodies: set[str] = set()
        self.errors: dict[str, int] = {}
        self.types: dict[str, int] = {}
        self.done = loop.create_future()
        self.add_event_handler("session_start", self._on_session)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("failed_all_auth", lambda _e: self._fail("authentication failed"))
        self.add_event_handler("connection_failed", lambda e: self._fail(f"connection failed: {e}"))

    def _fail(self, why: str) -> None:
        if not self.session.done():
            self.session.set_exception(RuntimeError(why))

    async def _on_session(self, _event) -> None:
        if self.args.mode == "receive":
            self.send_presence()  # available: Prosody routes messages to the bare JID here
        if not self.session.done():
            self.session.set_result(True)

    def _on_message(self, msg) -> None:
        now = time.time()
        mtype = msg["type"] or "normal"
        self.types[mtype] = self.types.get(mtype, 0) + 1
        if mtype == "error":
            cond = msg["error"]["condition"] or "unknown"
            self.errors[cond] = self.errors.get(cond, 0) + 1
            return
        self.stamps.append(now)
        self.bodies.add(msg["body"])
        if self.args.mode == "receive" and self.args.expect and len(self.stamps) >= self.args.expect \
                and not self.done.done():
            self.done.set_result("expected count reached")


async def login(client: LoadClient, args: argparse.Namespace) -> None:
    # Naming the IP as the default domain makes slixmpp skip DNS (see the integration harness).
    client.default_domain, client.default_port = "127.0.0.1", args.port
    client.use_aiodns = False
    client.connect(("127.0.0.1", args.port), use_ssl=False, force_starttls=False, disable_starttls=True)
    await asyncio.wait_for(client.session, args.login_timeout)
    write_atomically(args.ready, "ready\n")


async def receive(client: LoadClient, args: argparse.Namespace) -> dict:
    stop = client.loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        client.loop.add_signal_handler(sig, lambda s=sig: stop.done() or stop.set_result(f"signal {s.name}"))
    await login(client, args)
    deadline = time.monotonic() + args.timeout
    reason = "timeout"
    while time.monotonic() < deadline:
        if args.progress:
            write_atomically(args.progress, f"{len(client.stamps)}\n")
        finished = [f for f in (stop, client.done) if f.done()]
        if finished:
            reason = finished[0].result()
            break
        await asyncio.wait([stop, client.done], timeout=0.25, return_when=asyncio.FIRST_COMPLETED)
    if args.progress:
        write_atomically(args.progress, f"{len(client.stamps)}\n")
    st = client.stamps
    return {"mode": "receive", "jid": args.jid, "received": len(st), "unique": len(client.bodies),
            "types": client.types, "errors": client.errors, "first": st[0] if st else None,
            "last": st[-1] if st else None, "peak_1s": peak_per_second(st), "reason": reason,
            "cpu_s": time.process_time()}


async def send(client: LoadClient, args: argparse.Namespace) -> dict:
    await login(client, args)
    to = escape(args.to, {"'": "&apos;"})
    interval = 1.0 / args.rate
    t0 = time.monotonic()
    first = time.time()
    sent = 0
    while sent < args.count:
        due = min(args.count, int((time.monotonic() - t0) / interval) + 1)
        while sent < due:
            # raw XML: building slixmpp stanza objects would cost more than the servers under test
            client.send_raw(f"<message to='{to}' type='chat' id='b{sent}'>"
                            f"<body>bench xmpp message {sent}</body></message>")
            sent += 1
        await asyncio.sleep(max(0.0, t0 + sent * interval - time.monotonic()))
    await asyncio.wait_for(client.waiting_queue.join(), args.login_timeout)
    last = time.time()
    await asyncio.sleep(args.linger)  # error bounces (parleyd answers a failed MESSAGE with one)
    return {"mode": "send", "jid": args.jid, "to": args.to, "sent": sent, "rate": args.rate,
            "first_sent": first, "last_sent": last, "send_s": last - first,
            "errors": client.errors, "types": client.types, "received": len(client.stamps),
            "cpu_s": time.process_time()}


async def main_async(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    client = LoadClient(args, loop)
    try:
        summary = await (receive(client, args) if args.mode == "receive" else send(client, args))
    except (asyncio.TimeoutError, RuntimeError) as e:
        print(f"{args.jid}: {e or 'no session within the login timeout'}", file=sys.stderr)
        return 1
    finally:
        if client.transport is not None:
            client.disconnect(wait=1.0)
            try:
                await asyncio.wait_for(client.disconnected, 2.0)
            except (asyncio.TimeoutError, AttributeError, TypeError):
                client.abort()
    write_atomically(args.summary, json.dumps(summary) + "\n")
    return 0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("receive", "send"))
    p.add_argument("--jid", required=True, help="full JID to log in as")
    p.add_argument("--password", required=True)
    p.add_argument("--port", type=int, required=True, help="Prosody's c2s port on 127.0.0.1")
    p.add_argument("--summary", required=True, help="JSON summary written at the end")
    p.add_argument("--ready", required=True, help="written once the session runs")
    p.add_argument("--login-timeout", type=float, default=15.0)
    p.add_argument("--expect", type=int, default=0, help="receive: stop after this many messages")
    p.add_argument("--timeout", type=float, default=600.0, help="receive: stop after this many s")
    p.add_argument("--progress", default="", help="receive: file rewritten with the count")
    p.add_argument("--to", default="", help="send: destination JID")
    p.add_argument("--count", type=int, default=0, help="send: messages to send")
    p.add_argument("--rate", type=float, default=100.0, help="send: messages per second")
    p.add_argument("--linger", type=float, default=3.0, help="send: s to wait for bounces at the end")
    args = p.parse_args()
    if args.mode == "send" and (not args.to or args.count <= 0 or args.rate <= 0):
        p.error("send needs --to, --count > 0 and --rate > 0")
    return args


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(main_async(parse_args()))


if __name__ == "__main__":
    sys.exit(main())
