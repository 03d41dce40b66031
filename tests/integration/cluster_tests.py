#!/usr/bin/python3
"""Several parleyd nodes on one real redis-server ([storage] backend = "redis", docs/storage.md).

Usage: cluster_tests.py --parleyd PATH [--sipp PATH] [--source-dir DIR] TEST
Each TEST is one ctest test (tests/integration/CMakeLists.txt); `--list` prints them. Each test
starts its own redis-server (redis_harness.py) and nodes on free loopback ports, and stops them
by PID. SIP is spoken over raw UDP sockets (sip_tests.py's watcher and PUBLISH helpers).
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parley_harness import (  # noqa: E402
    DOMAIN, Listener, Parleyd, check, driver_main, free_port, header_of, recv_one, request,
    status_of, udp_socket, via_of)
from redis_harness import RedisServer  # noqa: E402
from sip_tests import _Watcher, _body, _pidf, _publish  # noqa: E402


def _node(args, work: Path, name: str, redis: RedisServer, stack: contextlib.ExitStack,
          listen: list[str] | None = None, run: str = "") -> Parleyd:
    """A started node on `redis`, its subscriptions resumed (storage.ready logged). `stack`
    stops it at the end (SIGTERM, exit 0 checked), or kills it when the test failed. `run`
    tells apart the working directories of one node started twice."""
    node = Parleyd(args.parleyd, work / (name + run), listen=listen or ["udp:127.0.0.1:0"], node_id=name,
                   extra_config=("[storage]\n"
                                 'backend = "redis"\n'
                                 f'redis_url = "{redis.url}"\n'
                                 'key_prefix = "it:"\n'
                                 "reconnect_min_ms = 50\n"
                                 "reconnect_max_ms = 500\n"))
    stack.enter_context(node)
    node.wait_log(r"storage\.ready backend=redis", timeout=10)
    return node


def _notify_pidf(user: str, basic: str, note: str) -> str:
    return _pidf(user, basic).replace("</status>", f"</status><note>{note}</note>")


CSEQ_LEASE = 100  # RedisSubscriptionStore::kCSeqLease


def _cseq(msg: bytes) -> int:
    return int((header_of(msg, "CSeq") or "0").split()[0])


def _sent_by(msg: bytes) -> str:
    """host:port of the Via that the sender put on top: the node that sent a NOTIFY."""
    via = header_of(msg, "Via") or ""
    m = re.search(r"SIP/2\.0/UDP\s+([^;\s]+)", via)
    return m.group(1) if m else ""


class _OpenSocket:
    """A UDP socket that is NOT connected: it sends to `target` but receives from anyone and
    records who sent each datagram, so a NOTIFY from the wrong node cannot go unseen (a
    connected socket would have the kernel drop it)."""

    def __init__(self, target: Listener) -> None:
        self._sock = socket.socket(target.family, socket.SOCK_DGRAM)
        self._sock.bind((target.host, 0))
        self._target = target.sockaddr
        self.senders: list[tuple] = []

    def send(self, data: bytes) -> int:
        return self._sock.sendto(data, self._target)

    def recv(self, size: int) -> bytes:
        data, peer = self._sock.recvfrom(size)
        self.senders.append(peer[:2])
        return data

    def __getattr__(self, name):  # settimeout, getsockname, close
        return getattr(self._sock, name)


def _subscribed(target: Listener, name: str, user: str = "alice") -> _Watcher:
    w = _Watcher(target, name)
    w.sock.close()
    w.sock = _OpenSocket(target)
    w.subscribe(user)
    resp, notes = w.wait(3.0, notifies=1)
    check(resp is not None and status_of(resp) == 200, f"{name}: SUBSCRIBE got {resp!r}")
    check(len(notes) == 1, f"{name}: no first NOTIFY after the 200")
    w.first = notes[0]
    return w


def _exactly_one(w: _Watcher, node: Parleyd, what: str, seconds: float = 3.0) -> bytes:
    """The one NOTIFY `w` gets for a change, from its own node, and nothing after it for 1 s."""
    _, notes = w.wait(seconds, final=False, notifies=1)
    check(len(notes) == 1, f"{w.name}: no NOTIFY for {what} within {seconds} s\n{node.log_tail()}")
    _, more = w.wait(1.0, final=False, notifies=1)
    check(not more, f"{w.name}: a second NOTIFY for {what}: {more[:1]!r}")
    own = node.listener("udp")
    check(_sent_by(notes[0]) == own.hostport,
          f"{w.name}: NOTIFY for {what} came via {_sent_by(notes[0])}, not its node {own.hostport}")
    strangers = {peer for peer in w.sock.senders if peer != own.sockaddr}
    check(not strangers, f"{w.name}: datagrams from other nodes {strangers}, only {own.sockaddr} may send")
    return notes[0]


def _register(target: Listener, phone: socket.socket, user: str, expires: int = 600) -> bytes:
    """REGISTER `user`'s contact from `phone` itself (the registrar routes to where the
    REGISTER came from); returns the final response."""
    host, port = phone.getsockname()[:2]
    branch = f"z9hG4bK-reg-{random.getrandbits(40):010x}"
    lines = [f"REGISTER sip:{DOMAIN} SIP/2.0",
             f"Via: SIP/2.0/UDP {host}:{port};branch={branch};rport",
             "Max-Forwards: 70",
             f"From: <sip:{user}@{DOMAIN}>;tag=r{random.getrandbits(32):08x}",
             f"To: <sip:{user}@{DOMAIN}>",
             f"Call-ID: {branch}@it",
             "CSeq: 1 REGISTER",
             f"Contact: <sip:{user}@{host}:{port}>",
             f"Expires: {expires}",
             "Content-Length: 0"]
    phone.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), target.sockaddr)
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        phone.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data, _ = phone.recvfrom(65535)
        except socket.timeout:
            break
        if (status_of(data) or 0) >= 200 and branch in (header_of(data, "Via") or ""):
            return data
    return b""


def _send_message(target: Listener, user: str, text: str) -> socket.socket:
    s = udp_socket(target)
    s.send(request("MESSAGE", f"sip:{user}@{DOMAIN}", via_of(s), f"z9hG4bK-msg-{random.getrandbits(40):010x}",
                   body=text.encode(), extra=["Content-Type: text/plain"]))
    return s


def _phone_answers(phone: socket.socket, seconds: float = 3.0) -> bytes | None:
    """The MESSAGE that reached `phone` (answered 200), or None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        phone.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            data, peer = phone.recvfrom(65535)
        except socket.timeout:
            return None
        if not data.startswith(b"MESSAGE "):
            continue
        head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
        keep = [l for l in head[1:] if l.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")]
        phone.sendto(("\r\n".join(["SIP/2.0 200 OK"] + keep + ["Content-Length: 0"]) + "\r\n\r\n").encode(), peer)
        return data
    return None


def _message_delivered(via: Parleyd, phone: socket.socket, user: str, text: str) -> None:
    sender = _send_message(via.listener("udp"), user, text)
    try:
        got = _phone_answers(phone)
        check(got is not None and text in _body(got),
              f"the MESSAGE sent via {via.node_id} did not reach {user}'s contact\n{via.log_tail()}")
        final = None
        deadline = time.monotonic() + 3.0
        while final is None and time.monotonic() < deadline:
            data = recv_one(sender, deadline - time.monotonic())
            if data is not None and (status_of(data) or 0) >= 200:
                final = data
        check(final is not None and status_of(final) == 200, f"the MESSAGE's sender got {final!r}, expected 200")
    finally:
        sender.close()


def _phone() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


# ---- tests --------------------------------------------------------------------------------------

def cluster_publish_notify(work: Path, args) -> None:
    """Nodes A and B on one Redis; a watcher subscribed on B. A PUBLISH accepted by A reaches
    the watcher exactly once, from B (never from A), with A's document; a second change makes
    exactly one more NOTIFY with the next CSeq."""
    with RedisServer(work / "redis") as redis, contextlib.ExitStack() as stack:
        a = _node(args, work, "node-a", redis, stack)
        b = _node(args, work, "node-b", redis, stack)
        w = _subscribed(b.listener("udp"), "bob")
        check(redis.command("ZCARD", "it:{node:node-b}:subs") == 1 and
              redis.command("ZCARD", "it:{node:node-a}:subs") == 0,
              "the subscription is not owned by node-b alone in Redis")
        _publish(a.listener("udp"), "alice", _notify_pidf("alice", "open", "published on A"))
        n1 = _exactly_one(w, b, "the PUBLISH on A")
        check("published on A" in _body(n1), f"the NOTIFY lacks A's document:\n{_body(n1)}")
        check(_cseq(n1) == _cseq(w.first) + 1, f"CSeq {_cseq(n1)} after {_cseq(w.first)}")
        _publish(a.listener("udp"), "alice", _pidf("alice", "closed"))
        n2 = _exactly_one(w, b, "the second PUBLISH")
        check("<basic>closed</basic>" in _body(n2), f"second NOTIFY:\n{_body(n2)}")
        check(_cseq(n2) == _cseq(n1) + 1, f"CSeq {_cseq(n2)} after {_cseq(n1)}")
        w.close()


def cluster_three_nodes(work: Path, args) -> None:
    """Three nodes; watchers of one presentity on each. One PUBLISH on A: every watcher gets
    exactly one NOTIFY, each from its own node."""
    with RedisServer(work / "redis") as redis, contextlib.ExitStack() as stack:
        nodes = [_node(args, work, f"node-{c}", redis, stack) for c in "abc"]
        watchers = [(_subscribed(n.listener("udp"), f"w-{n.node_id}"), n) for n in nodes]
        _publish(nodes[0].listener("udp"), "alice", _notify_pidf("alice", "open", "three"))
        for w, n in watchers:
            note = _exactly_one(w, n, "the PUBLISH on node-a")
            check("three" in _body(note), f"{w.name}: wrong document:\n{_body(note)}")
            w.close()


def cluster_register_message(work: Path, args) -> None:
    """A contact registered through node A gets a MESSAGE that arrives at node B."""
    with RedisServer(work / "redis") as redis, contextlib.ExitStack() as stack:
        a = _node(args, work, "node-a", redis, stack)
        b = _node(args, work, "node-b", redis, stack)
        with _phone() as phone:
            reply = _register(a.listener("udp"), phone, "carol")
            check(status_of(reply) == 200, f"REGISTER on A got {reply[:200]!r}")
            _message_delivered(b, phone, "carol", "hello via B")


def cluster_sigkill_restart(work: Path, args) -> None:
    """A watcher subscribed on B; B is killed with SIGKILL and started again (same id, same
    port). It resumes the subscription: a NOTIFY in the same dialog with a higher CSeq, still
    active; a later PUBLISH on A reaches the watcher through B; an in-dialog refresh is
    accepted by the restarted B."""
    with RedisServer(work / "redis") as redis, contextlib.ExitStack() as stack:
        a = _node(args, work, "node-a", redis, stack)
        listen = [f"udp:127.0.0.1:{free_port()}"]
        crashed = contextlib.ExitStack()  # the first B: killed by the test, never stopped
        stack.callback(crashed.close)
        b = _node(args, work, "node-b", redis, crashed, listen)
        w = _subscribed(b.listener("udp"), "bob")
        b.kill()
        crashed.pop_all()
        b = _node(args, work, "node-b", redis, stack, listen, run="-restarted")
        check(b.wait_log(r"storage\.ready backend=redis resumed=1") != "", "B did not resume 1 subscription")
        _, notes = w.wait(3.0, final=False, notifies=1)
        check(len(notes) == 1, f"no NOTIFY after B's restart\n{b.log_tail()}")
        n = notes[0]
        check(header_of(n, "Call-ID") == w.call_id, f"NOTIFY in another dialog: {header_of(n, 'Call-ID')}")
        check(f"tag={w.from_tag}" in (header_of(n, "To") or ""), f"NOTIFY To: {header_of(n, 'To')}")
        # Redis holds a CSeq leased ahead of the one in use (docs/storage.md): the resumed
        # dialog goes on above every CSeq sent before the crash, with a gap of at most the lease.
        check(_cseq(w.first) < _cseq(n) <= _cseq(w.first) + 1 + CSEQ_LEASE,
              f"CSeq {_cseq(n)} after {_cseq(w.first)} before the kill")
        state = header_of(n, "Subscription-State") or ""
        check(state.startswith("active"), f"Subscription-State after the restart: {state}")

        _publish(a.listener("udp"), "alice", _notify_pidf("alice", "open", "after restart"))
        n2 = _exactly_one(w, b, "the PUBLISH after B's restart")
        check("after restart" in _body(n2) and _cseq(n2) == _cseq(n) + 1,
              f"NOTIFY after restart: CSeq {_cseq(n2)}\n{_body(n2)}")

        w.subscribe("alice", expires=600)
        resp, _ = w.wait(3.0, notifies=1)
        check(resp is not None and status_of(resp) == 200, f"refresh to the restarted B got {resp!r}")
        w.close()


def cluster_redis_outage(work: Path, args) -> None:
    """redis-server stopped for 10 s under two nodes: both stay up (OPTIONS 200), state-changing
    requests get 503 + Retry-After, storage.degraded is logged. Redis back (same data): both log
    storage.restored; the watcher on B hears A's next PUBLISH; a contact registered before the
    outage gets a MESSAGE via B; REGISTER works again."""
    with RedisServer(work / "redis") as redis, contextlib.ExitStack() as stack:
        a = _node(args, work, "node-a", redis, stack)
        b = _node(args, work, "node-b", redis, stack)
        with _phone() as phone:
            w = _subscribed(b.listener("udp"), "bob")
            check(status_of(_register(a.listener("udp"), phone, "carol")) == 200, "REGISTER before the outage")
            since_a, since_b = len(a.lines()), len(b.lines())

            redis.stop()
            stopped = time.monotonic()
            a.wait_log(r"storage\.degraded", since=since_a)
            b.wait_log(r"storage\.degraded", since=since_b)
            for node in (a, b):
                with udp_socket(node.listener("udp")) as s:
                    s.send(request("OPTIONS", f"sip:{DOMAIN}", via_of(s), f"z9hG4bK-o-{random.getrandbits(32):08x}"))
                    reply = recv_one(s, 3.0) or b""
                check(status_of(reply) == 200, f"OPTIONS to {node.node_id} during the outage: {reply[:120]!r}")
            with _phone() as other:
                reply = _register(a.listener("udp"), other, "dave")
            check(status_of(reply) == 503 and header_of(reply, "Retry-After") is not None,
                  f"REGISTER during the outage got {reply[:300]!r}, expected 503 with Retry-After")
            time.sleep(max(0.0, 10.0 - (time.monotonic() - stopped)))
            check(a.running() and b.running(), "a node died during the Redis outage")

            redis.start()
            a.wait_log(r"storage\.restored", since=since_a, timeout=15)
            b.wait_log(r"storage\.restored", since=since_b, timeout=15)
            # B resynchronises its watchers first: one NOTIFY with the current state.
            _, resync = w.wait(3.0, final=False, notifies=1)
            check(len(resync) == 1, f"no resynchronisation NOTIFY from B after the outage\n{b.log_tail()}")
            _publish(a.listener("udp"), "alice", _notify_pidf("alice", "open", "after the outage"))
            n = _exactly_one(w, b, "the PUBLISH after the outage")
            check("after the outage" in _body(n), f"NOTIFY after the outage:\n{_body(n)}")
            _message_delivered(b, phone, "carol", "hello after the outage")
            with _phone() as other:
                check(status_of(_register(a.listener("udp"), other, "dave")) == 200, "REGISTER after the outage")
            w.close()


TESTS = {f.__name__: f for f in (cluster_publish_notify, cluster_three_nodes, cluster_register_message,
                                  cluster_sigkill_restart, cluster_redis_outage)}

if __name__ == "__main__":
    sys.exit(driver_main(__doc__, TESTS))
