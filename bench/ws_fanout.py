#!/usr/bin/python3
"""Fan-out of parleyd's live presence stream (GET /api/v1/stream, WebSocket) to many clients.

Against a running parleyd whose HTTP API listens on 127.0.0.1:PORT (bench/api_load.sh starts
one and runs this as its `stream` phase):

 1. PUTs an initial state (note "seed") for each of P presentities fan0000..fan<P-1>@DOMAIN;
 2. reads parleyd's VmRSS, then opens CLIENTS WebSocket clients, ?access_token=READ (as a
    browser must), spread over PROCS worker processes; client c watches PER presentities,
    fan<(c + j*P/PER) mod P> for j < PER (P = PER = 1: everyone watches fan0000; P = 100,
    PER = 10: every presentity has CLIENTS*PER/P watchers); waits for every hello and snapshot,
    reads VmRSS again: (after - before) / CLIENTS is the server memory per client;
 3. PUTs CHANGES presence changes (note "chg-<k>"), change k to fan<k mod P>, one every
    INTERVAL ms (a fixed pace, not as fast as possible), from this process, while the workers
    time-stamp every message their clients receive (CLOCK_MONOTONIC, shared by the processes);
 4. stops when every expected message has arrived, or DRAIN s after the last PUT.

Reported (text, and with --json one JSON object per run): deliveries expected (the sum over
the changes of the watchers of the changed presentity; CLIENTS*CHANGES when all watch one)
and received, lost, duplicated, unexpected messages, clients closed by the server; delay from
the PUT's sending to each receipt, p50/p99/max, and from the PUT's 204 (negative when the
message overtakes the 204, as it does when the server writes the fan-out before the answer);
per change, the spread from its first to its last receipt; PUT round trip;
parleyd CPU (utime+stime) per delivered message, PUTs included, from the first PUT to the
last receipt; RSS before/after opening the clients and after closing them; the workers' own
CPU use during the changes (near 100 % of a core means the clients, not the server, set the
delays: each worker handles its clients' messages one after another).

Clients: by default a minimal RFC 6455 client built in (text frames, ping/pong, close) whose
epoll loop only recv()s and time-stamps, parsing when the sockets go quiet: 1000 sockets made
ready by one change are read and stamped within a few ms, so the delays are the server's.
--client websockets uses python3-websockets 10.4 instead (a check of the server against a
complete implementation); it costs ~70 us of client CPU per message, so with 1000 clients on
one change its timestamps mostly measure the client's own backlog.

Usage: ws_fanout.py --port PORT --pid PID --read-token T --publish-token T
                    [--clients 1000] [--presentities 1] [--per-client 1] [--changes 20]
                    [--interval-ms 200] [--procs 1] [--client raw|websockets] [--drain 5]
                    [--label NAME] [--json FILE]
Needs Python 3 (and for --client websockets, python3-websockets: Debian 12 ships 10.4 for
/usr/bin/python3). Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import http.client
import json
import multiprocessing as mp
import os
import resource
import select
import socket
import sys
import time

try:
    import websockets  # only for --client websockets
except ImportError:
    websockets = None

CONNECT_AT_ONCE = 100  # handshakes in flight per worker: a burst of 1000 SYNs is not the test
READY_TIMEOUT = 120    # s for every client to open and get its snapshots
HZ = os.sysconf("SC_CLK_TCK")


def address(args, p: int) -> str:
    return f"fan{p:04d}@{args.domain}"


def watched(args, c: int) -> list[int]:
    """Presentities client c watches: PER of them, evenly spaced, so each has CLIENTS*PER/P."""
    step = args.presentities // args.per_client
    return [(c + j * step) % args.presentities for j in range(args.per_client)]


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def quantile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


# ---- worker process: CLIENTS/PROCS WebSocket clients ----------------------------------------------

class Client:
    __slots__ = ("index", "watch", "hello", "snapshots", "ready", "received", "dups", "other", "closed",
                 "error", "send_text", "sock", "buf", "fragments")

    def __init__(self, index: int, watch: list[int]):
        self.index = index
        self.watch = watch
        self.hello = False
        self.snapshots = 0
        self.ready = False
        self.received: dict[int, float] = {}  # change -> receipt time
        self.dups = 0
        self.other = 0      # messages that are neither a snapshot nor one of our changes
        self.closed = None  # close code/reason when the server closed us before the end
        self.error = None   # connect or protocol failure
        self.send_text = None
        self.sock = None    # raw client only
        self.buf = bytearray()
        self.fragments = bytearray()


class Worker:
    """What every client checks, whichever client implementation reads the frames."""

    def __init__(self, args, lo: int, hi: int):
        self.args = args
        self.clients = [Client(c, watched(args, c)) for c in range(lo, hi)]
        # which of our clients see change k: those watching presentity k mod P
        self.expected = sum(1 for cl in self.clients for k in range(args.changes)
                            if k % args.presentities in cl.watch)
        self.got = 0
        self.settled = 0  # clients ready, failed, or gone before being ready
        self.path = f"/api/v1/stream?access_token={args.read_token}"
        self.on_all_ready = lambda: None
        self.on_all_in = lambda: None

    def all_ready(self) -> bool:
        return self.settled == len(self.clients)

    def all_in(self) -> bool:
        return self.got >= self.expected

    def settle(self) -> None:
        self.settled += 1
        if self.all_ready():
            self.on_all_ready()

    def lost(self, cl: Client, stopping: bool, why: str) -> None:
        if not stopping and cl.closed is None:
            cl.closed = why
        if not cl.ready and not cl.error:
            cl.error = why
            self.settle()

    def handle(self, cl: Client, now: float, payload) -> None:
        try:
            m = json.loads(payload)
            if not cl.hello:
                cl.hello = True
                if m.get("type") != "hello":
                    cl.error = f"first message is not hello: {m}"
                cl.send_text(json.dumps({"op": "watch", "addresses": [address(self.args, p) for p in cl.watch]}))
                return
            pres = m.get("presence") if m.get("type") == "presence" else None
            note = pres.get("note", "") if isinstance(pres, dict) else ""
        except Exception as e:  # not JSON, or not the shape the contract gives
            cl.error = cl.error or f"handling {payload[:100]!r}: {type(e).__name__}: {e}"
            return
        if not cl.ready:
            if note == "seed":
                cl.snapshots += 1
                if cl.snapshots == len(cl.watch):
                    cl.ready = True
                    self.settle()
            else:
                cl.other += 1
                if m.get("type") == "error" and cl.error is None:
                    cl.error = f"error message: {m}"
                    self.settle()
            return
        if note.startswith("chg-"):
            k = int(note[4:])
            if k in cl.received:
                cl.dups += 1
            elif k < self.args.changes and k % self.args.presentities in cl.watch:
                cl.received[k] = now
                self.got += 1
                if self.got == self.expected:
                    self.on_all_in()
            else:
                cl.other += 1
        else:
            cl.other += 1


# -- the raw client: a minimal RFC 6455 client on blocking handshakes and one plain epoll loop.
# The loop only recv()s and time-stamps; frames are cut and parsed when the sockets go quiet, so
# the k-th of 1000 sockets made ready by one change is stamped a few microseconds per socket
# after the first, not after 999 messages' worth of Python.

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_frame(op: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 5.3)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | op, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | op, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | op, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def raw_open(w: Worker, cl: Client) -> None:
    """Connects and upgrades (blocking, 10 s at most); bytes after the 101 stay in cl.buf."""
    key = base64.b64encode(os.urandom(16))
    sock = socket.create_connection(("127.0.0.1", w.args.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(f"GET {w.path} HTTP/1.1\r\nHost: 127.0.0.1:{w.args.port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    data = bytearray()
    while (end := data.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(4096)
        if not chunk:
            sock.close()
            raise ConnectionError("closed during the handshake")
        data += chunk
    lines = bytes(data[:end]).decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
    if not lines[0].startswith("HTTP/1.1 101") or headers.get("sec-websocket-accept") != accept:
        sock.close()
        raise ConnectionError(f"handshake refused: {lines[0]}")
    sock.setblocking(False)
    cl.sock = sock
    cl.buf = data[end + 4:]
    cl.send_text = lambda text: sock.sendall(ws_frame(0x1, text.encode()))


def raw_frames(w: Worker, cl: Client, now: float, stopping: bool) -> None:
    """Cuts the complete frames out of cl.buf: text to w.handle stamped `now` (when the bytes that
    completed it were read), pings answered, a close echoed."""
    buf = cl.buf
    while len(buf) >= 2:
        b0, b1 = buf[0], buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return
            n, off = int.from_bytes(buf[2:4], "big"), 4
        elif n == 127:
            if len(buf) < 10:
                return
            n, off = int.from_bytes(buf[2:10], "big"), 10
        if b1 & 0x80:
            cl.error = cl.error or "the server masked a frame (RFC 6455 5.1)"
            del buf[:]
            return
        if len(buf) < off + n:
            return
        payload = bytes(buf[off:off + n])
        del buf[:off + n]
        op = b0 & 0x0F
        if op in (0x1, 0x0):  # text, continuation
            if not b0 & 0x80:
                cl.fragments += payload
                continue
            if cl.fragments:
                payload = bytes(cl.fragments + payload)
                cl.fragments.clear()
            w.handle(cl, now, payload)
        elif op == 0x8:  # close: echo it
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            try:
                cl.sock.sendall(ws_frame(0x8, payload[:2]))
            except OSError:
                pass
            w.lost(cl, stopping, f"close frame {code} {payload[2:].decode(errors='replace')}".strip())
        elif op == 0x9:  # ping
            try:
                cl.sock.sendall(ws_frame(0xA, payload))
            except OSError:
                pass
        elif op != 0xA:
            cl.error = cl.error or f"unexpected opcode {op}"


def raw_worker(args, lo: int, hi: int, conn) -> None:
    w = Worker(args, lo, hi)
    started = time.monotonic()
    by_fd = {}
    for cl in w.clients:
        try:
            raw_open(w, cl)
        except Exception as e:
            cl.error = f"connect: {type(e).__name__}: {e}"
            w.settle()
            continue
        by_fd[cl.sock.fileno()] = cl
    ep = select.epoll()
    for fd in by_fd:
        ep.register(fd, select.EPOLLIN)
    ep.register(conn.fileno(), select.EPOLLIN)
    stopping = False
    pending = []  # (client, receipt time, bytes) read but not cut into frames yet

    def parse_pending():
        for cl, now, data in pending:
            cl.buf += data
            raw_frames(w, cl, now, stopping)
        pending.clear()

    def pump(until, deadline: float) -> None:
        """Reads every ready socket until until() or the deadline or a stop from the parent."""
        nonlocal stopping
        while not until() and not stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            events = ep.poll(0.001 if pending else min(left, 0.05))
            if not events:
                parse_pending()  # quiet: now the parsing costs no one a late timestamp
                continue
            for fd, _ in events:
                if fd == conn.fileno():
                    conn.recv()
                    stopping = True
                    continue
                cl = by_fd[fd]
                try:
                    data = cl.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    data, why = b"", f"connection lost: {e}"
                else:
                    why = "connection closed"
                now = time.monotonic()
                if data:
                    pending.append((cl, now, data))
                else:
                    ep.unregister(fd)
                    del by_fd[fd]
                    parse_pending()
                    w.lost(cl, stopping, why)
        parse_pending()

    for cl in by_fd.values():  # a hello that came with the 101
        raw_frames(w, cl, time.monotonic(), False)
    # hellos, watches and snapshots
    pump(w.all_ready, started + READY_TIMEOUT)
    conn.send(("ready", sum(1 for cl in w.clients if cl.ready and not cl.error), time.monotonic() - started))
    # the changes: the parent PUTs them; say when all ours are in, then wait for its stop
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    pump(w.all_in, time.monotonic() + 3600)
    if w.all_in():
        conn.send(("complete",))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    pump(lambda: False, time.monotonic() + 3600)  # late duplicates or strays count until the stop
    for cl in by_fd.values():
        try:
            cl.sock.sendall(ws_frame(0x8, (1000).to_bytes(2, "big")))
        except OSError:
            pass
        cl.sock.close()
    conn.send(("result", {
        "clients": [(cl.index, cl.received, cl.dups, cl.other, cl.closed, cl.error) for cl in w.clients],
        "expected": w.expected,
        "cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
    }))


# -- the python3-websockets client: a check of the server against a complete RFC 6455
# implementation; its timestamps include the library's own queueing (~70 us per message).

def websockets_worker(args, lo: int, hi: int, conn) -> None:
    asyncio.run(websockets_main(args, lo, hi, conn))


async def websockets_main(args, lo: int, hi: int, conn) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_reader(conn.fileno(), lambda: (conn.recv(), stop.set()))
    w = Worker(args, lo, hi)
    all_ready, all_in = asyncio.Event(), asyncio.Event()
    w.on_all_ready, w.on_all_in = all_ready.set, all_in.set
    if w.all_in():
        all_in.set()
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    closers = []

    async def run(cl: Client) -> None:
        async with gate:
            try:
                ws = await websockets.connect(f"ws://127.0.0.1:{args.port}{w.path}", compression=None,
                                              ping_interval=None, open_timeout=30, close_timeout=2,
                                              max_queue=None)
            except Exception as e:  # refused, or a handshake the server rejected
                cl.error = f"connect: {type(e).__name__}: {e}"
                w.settle()
                return
        cl.send_text = lambda text: loop.create_task(ws.send(text))
        closers.append(ws.close)
        try:
            async for msg in ws:
                w.handle(cl, time.monotonic(), msg)
        except websockets.ConnectionClosed:
            pass
        except Exception as e:
            cl.error = cl.error or f"receive: {type(e).__name__}: {e}"
        w.lost(cl, stop.is_set(), f"closed {ws.close_code} {ws.close_reason}".strip())

    started = time.monotonic()
    tasks = [asyncio.create_task(run(cl)) for cl in w.clients]
    try:
        await asyncio.wait_for(all_ready.wait(), READY_TIMEOUT)
    except asyncio.TimeoutError:
        pass
    conn.send(("ready", sum(1 for cl in w.clients if cl.ready and not cl.error), time.monotonic() - started))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.wait([asyncio.create_task(all_in.wait()), asyncio.create_task(stop.wait())],
                       return_when=asyncio.FIRST_COMPLETED)
    if all_in.is_set():
        conn.send(("complete",))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    await stop.wait()
    loop.remove_reader(conn.fileno())
    if closers:
        await asyncio.wait([asyncio.create_task(c()) for c in closers], timeout=5)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    conn.send(("result", {
        "clients": [(cl.index, cl.received, cl.dups, cl.other, cl.closed, cl.error) for cl in w.clients],
        "expected": w.expected,
        "cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
    }))


# ---- parent: seeding, the PUTs, the figures -------------------------------------------------------

class Http:
    """One keep-alive connection for the PUTs (a new one if the server closed it)."""

    def __init__(self, port: int, token: str):
        self.port, self.token, self.conn = port, token, None

    def put(self, addr: str, note: str) -> int:
        body = json.dumps({"basic": "open", "note": note, "expires": 3600})
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.conn.request("PUT", f"/api/v1/presence/{addr}", body=body,
                                  headers={"Authorization": f"Bearer {self.token}",
                                           "Content-Type": "application/json"})
                resp = self.conn.getresponse()
                resp.read()
                return resp.status
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        return 0


def raise_nofile(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < need:
        sys.exit(f"open files limit {soft} (hard {hard}) is below the {need} this needs")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="parleyd's PID (CPU and RSS)")
    ap.add_argument("--read-token", required=True)
    ap.add_argument("--publish-token", required=True)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--presentities", type=int, default=1)
    ap.add_argument("--per-client", type=int, default=1)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--interval-ms", type=float, default=200)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--client", choices=("raw", "websockets"), default="raw",
                    help="raw: the built-in minimal client (default); websockets: python3-websockets")
    ap.add_argument("--drain", type=float, default=5, help="s to wait after the last PUT")
    ap.add_argument("--domain", default="sip.localhost")
    ap.add_argument("--label", default="")
    ap.add_argument("--json", help="append one JSON object with the figures to this file")
    args = ap.parse_args()
    if args.client == "websockets" and websockets is None:
        sys.exit("python3-websockets is missing: apt-get install -y python3-websockets"
                 " (and run this with /usr/bin/python3)")
    if not (1 <= args.per_client <= args.presentities and args.presentities % args.per_client == 0
            and args.clients >= args.procs >= 1 and args.changes >= 1):
        ap.error("need 1 <= per-client <= presentities (a divisor of it), 1 <= procs <= clients")
    raise_nofile(args.clients // args.procs + 64)

    put = Http(args.port, args.publish_token)
    for p in range(args.presentities):
        status = put.put(address(args, p), "seed")
        if status != 204:
            sys.exit(f"seeding PUT {address(args, p)} answered {status}")
    time.sleep(0.5)
    rss_before = rss_kb(args.pid)

    ctx = mp.get_context("fork")
    pipes, procs = [], []
    per = -(-args.clients // args.procs)
    for w in range(args.procs):
        lo, hi = w * per, min(args.clients, (w + 1) * per)
        parent, child = ctx.Pipe()
        target = raw_worker if args.client == "raw" else websockets_worker
        proc = ctx.Process(target=target, args=(args, lo, hi, child), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)

    def recv(pipe, kind, timeout):
        """The next message of `kind` from a worker; None if none within timeout."""
        deadline = time.monotonic() + timeout
        while True:  # polls at least once, even when the time is already up
            if pipe.poll(max(0.0, min(0.5, deadline - time.monotonic()))):
                msg = pipe.recv()
                if msg[0] == kind:
                    return msg
            elif time.monotonic() >= deadline:
                return None

    try:
        ready_clients, open_s = 0, 0.0
        for pipe in pipes:
            msg = recv(pipe, "ready", READY_TIMEOUT + 10)
            if msg is None:
                sys.exit("a worker never reported its clients ready")
            ready_clients += msg[1]
            open_s = max(open_s, msg[2])
        time.sleep(0.5)
        rss_open = rss_kb(args.pid)

        cpu0 = cpu_ticks(args.pid)
        puts = []  # (change, address, sent, answered, status)
        t0 = time.monotonic() + 0.1
        for k in range(args.changes):
            target = t0 + k * args.interval_ms / 1000
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            addr = address(args, k % args.presentities)
            sent = time.monotonic()
            status = put.put(addr, f"chg-{k}")
            puts.append((k, addr, sent, time.monotonic(), status))
        last_put = time.monotonic()
        complete = 0
        for pipe in pipes:
            if recv(pipe, "complete", max(0.0, last_put + args.drain - time.monotonic())):
                complete += 1
        cpu1 = cpu_ticks(args.pid)
        wall_changes = time.monotonic() - t0
        for pipe in pipes:
            pipe.send("stop")
        results = []
        for pipe in pipes:
            msg = recv(pipe, "result", 30)
            if msg is None:
                sys.exit("a worker never sent its results")
            results.append(msg[1])
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
    time.sleep(1.0)
    rss_closed = rss_kb(args.pid)

    answered = {k: t for k, _, _, t, _ in puts}
    sent_at = {k: t for k, _, t, _, _ in puts}
    bad_puts = sum(1 for *_, s in puts if s != 204)
    delays, delays_sent, first, last = [], [], {}, {}
    closed, errors = [], []
    dups = other = 0
    expected = sum(r["expected"] for r in results)
    for r in results:
        for index, received, d, o, cl_closed, err in r["clients"]:
            dups += d
            other += o
            if cl_closed:
                closed.append((index, cl_closed))
            if err:
                errors.append((index, err))
            for k, t in received.items():
                delays.append((t - answered[k]) * 1000)
                delays_sent.append((t - sent_at[k]) * 1000)
                first[k] = min(first.get(k, t), t)
                last[k] = max(last.get(k, t), t)
    delivered = len(delays)
    spreads = [(last[k] - first[k]) * 1000 for k in first]
    put_rtt = [(a - s) * 1000 for _, _, s, a, _ in puts]
    cpu_s = (cpu1 - cpu0) / HZ
    out = {
        "label": args.label, "clients": args.clients, "ready": ready_clients, "open_s": open_s,
        "presentities": args.presentities, "per_client": args.per_client, "changes": args.changes,
        "interval_ms": args.interval_ms, "procs": args.procs, "client": args.client,
        "expected": expected, "delivered": delivered, "lost": expected - delivered,
        "dups": dups, "other": other, "closed": len(closed), "errors": len(errors), "bad_puts": bad_puts,
        "p50_ms": quantile(delays, 0.5), "p99_ms": quantile(delays, 0.99),
        "max_ms": max(delays) if delays else None, "min_ms": min(delays) if delays else None,
        "p50_from_send_ms": quantile(delays_sent, 0.5), "p99_from_send_ms": quantile(delays_sent, 0.99),
        "max_from_send_ms": max(delays_sent) if delays_sent else None,
        "spread_p50_ms": quantile(spreads, 0.5), "spread_max_ms": max(spreads) if spreads else None,
        "put_p50_ms": quantile(put_rtt, 0.5), "put_p99_ms": quantile(put_rtt, 0.99),
        "server_cpu_s": cpu_s, "server_us_per_msg": cpu_s * 1e6 / delivered if delivered else None,
        "wall_s": wall_changes, "msgs_per_s": delivered / wall_changes if wall_changes else None,
        "client_cpu_pct": max(100 * r["cpu_s"] / wall_changes for r in results) if wall_changes else None,
        "rss_before_kb": rss_before, "rss_open_kb": rss_open, "rss_closed_kb": rss_closed,
        "kb_per_client": (rss_open - rss_before) / args.clients,
        "complete_workers": complete,
    }
    fmt = lambda v, spec="{:.2f}": "-" if v is None else spec.format(v)
    print(f"[{args.label or 'stream'}] {args.clients} clients ({ready_clients} ready in {open_s:.1f} s),"
          f" {args.presentities} presentities x {args.per_client} per client, {args.changes} changes"
          f" every {args.interval_ms:g} ms")
    print(f"  deliveries {delivered} of {expected} (lost {expected - delivered}, dups {dups},"
          f" other {other}); clients closed by the server {len(closed)}, errors {len(errors)},"
          f" PUTs not 204: {bad_puts}")
    print(f"  delay after the PUT was sent: p50 {fmt(out['p50_from_send_ms'])} p99 {fmt(out['p99_from_send_ms'])}"
          f" max {fmt(out['max_from_send_ms'])} ms; after its 204: p50 {fmt(out['p50_ms'])} p99 {fmt(out['p99_ms'])}"
          f" max {fmt(out['max_ms'])} min {fmt(out['min_ms'])} ms (negative: the message came first)")
    print(f"  first-to-last receipt per change p50 {fmt(out['spread_p50_ms'])} max {fmt(out['spread_max_ms'])} ms;"
          f" PUT round trip p50 {fmt(out['put_p50_ms'])} p99 {fmt(out['put_p99_ms'])} ms")
    print(f"  parleyd CPU {cpu_s:.2f} s = {fmt(out['server_us_per_msg'], '{:.1f}')} us per delivered message"
          f" (PUTs included); {fmt(out['msgs_per_s'], '{:.0f}')} msg/s; busiest client worker"
          f" {fmt(out['client_cpu_pct'], '{:.0f}')} % CPU")
    print(f"  parleyd RSS {rss_before} KB -> {rss_open} KB with the clients"
          f" ({out['kb_per_client']:.1f} KB per client) -> {rss_closed} KB after closing them")
    for index, why in (closed + errors)[:5]:
        print(f"  client {index}: {why}")
    if args.json:
        with open(args.json, "a") as fh:
            fh.write(json.dumps(out) + "\n")
    ok = delivered == expected and not closed and not errors and not bad_puts and ready_clients == args.clients
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
