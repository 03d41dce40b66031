"""The XMPP side of the integration tests: a real Prosody, real XMPP clients (slixmpp) and a
raw XEP-0114 component (Python 3 stdlib + Debian's python3-slixmpp; run under /usr/bin/python3).

Prosody runs on a temporary config in the test's work dir: loopback only, no s2s, no HTTP, plain
auth without TLS, internal_plain storage under workdir/data. The ports are picked before start and
kept across restart(). Every wait has a time limit; processes are stopped by PID, and
PR_SET_PDEATHSIG kills Prosody if the harness dies.

XmppClient runs slixmpp's asyncio loop in a daemon thread and offers synchronous, time-limited
methods; every incoming stanza is recorded (with a sequence number), so a test can wait for
something that already arrived. Subscription requests are recorded, never answered by slixmpp:
the test decides.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from parley_harness import TestFailure, _die_with_parent, check, free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import prosody_config  # noqa: E402  (scripts/prosody_config.py: the one Prosody configuration)

START_TIMEOUT_S = 10.0     # both ports must accept TCP within this
STOP_TIMEOUT_S = 5.0       # SIGTERM, then SIGKILL after this
PROSODYCTL_TIMEOUT_S = 10.0
DEFAULT_WAIT_S = 5.0

NS_CLIENT = "jabber:client"
NS_COMPONENT = "jabber:component:accept"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


def localname(tag: str) -> str:
    """'{ns}name' -> 'name' (ElementTree keeps namespaces in the tag)."""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def bare(jid: str | None) -> str:
    return (jid or "").split("/", 1)[0]


def child_text(elem: ET.Element, name: str) -> str | None:
    """Text of the first child called `name`, whatever its namespace."""
    for child in elem:
        if localname(child.tag) == name:
            return child.text or ""
    return None


def find_child(elem: ET.Element, name: str, ns: str | None = None) -> ET.Element | None:
    """First descendant called `name` (and in `ns` when given)."""
    for node in elem.iter():
        if node is not elem and localname(node.tag) == name and (ns is None or namespace(node.tag) == ns):
            return node
    return None


def xml_text(elem: ET.Element) -> str:
    """Serialises elem for messages, with each namespace as a plain xmlns attribute (no ns0:)."""
    def strip(node: ET.Element, parent_ns: str) -> ET.Element:
        ns = namespace(node.tag)
        out = ET.Element(localname(node.tag), dict(node.attrib))
        if ns and ns != parent_ns:
            out.set("xmlns", ns)
        out.text, out.tail = node.text, node.tail
        for child in node:
            out.append(strip(child, ns))
        return out
    return ET.tostring(strip(elem, ""), encoding="unicode")


def log_slixmpp_to(path: Path, level: int = logging.DEBUG) -> logging.Handler:
    """Sends slixmpp's log (every stanza sent and received, at DEBUG) to `path`; the handler
    is returned so a test can remove it."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("slixmpp")
    logger.setLevel(level)
    logger.addHandler(handler)
    return handler


# ---- Prosody ---------------------------------------------------------------------------------

_ACTIVATED = re.compile(r"Activated service '(c2s|component)' on \[127\.0\.0\.1\]:(\d+)")
_BIND_FAILED = re.compile(r"Failed to open server port|could not bind|Address already in use", re.I)


@dataclass
class Prosody:
    """One Prosody on a temporary config under workdir. Use as a context manager:

        with Prosody(work / "prosody") as xmpp:
            xmpp.register("alice", "pw")
            XmppClient("alice@localhost", "pw", xmpp.c2s_port)
    """

    workdir: Path
    component_domain: str = "sip.localhost"
    secret: str = "s3cret"
    domain: str = "localhost"
    c2s_port: int = 0        # 0: picked by start(), then kept by restart()
    component_port: int = 0
    binary: str = ""         # "" -> `prosody` on PATH, else /usr/bin/prosody
    proc: subprocess.Popen | None = None
    _log_offset: int = 0

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.config_path = self.workdir / "prosody.cfg.lua"
        self.log_path = self.workdir / "prosody.log"
        self.out_path = self.workdir / "prosody.out"  # stdout/stderr: startup errors land here
        self.data_path = self.workdir / "data"
        if not self.binary:
            self.binary = shutil.which("prosody") or "/usr/bin/prosody"
        self.prosodyctl = shutil.which("prosodyctl") or "/usr/bin/prosodyctl"

    def __enter__(self) -> "Prosody":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop()

    # ---- config ------------------------------------------------------------------------------

    def config_text(self) -> str:
        # One copy for the tests, ./run.sh and the benchmark (scripts/prosody_config.py).
        return prosody_config.config_text(
            directory=self.workdir, c2s_port=self.c2s_port, component_port=self.component_port,
            secret=self.secret, domain=self.domain, component_domain=self.component_domain,
            generator="tests/integration/xmpp_harness.py")

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_path.mkdir(exist_ok=True)
        (self.workdir / "certs").mkdir(exist_ok=True)  # an empty dir: no cert-indexing error
        if not self.c2s_port or not self.component_port:
            self.c2s_port = free_port("127.0.0.1", socket.SOCK_STREAM)
            while True:
                self.component_port = free_port("127.0.0.1", socket.SOCK_STREAM)
                if self.component_port != self.c2s_port:
                    break
        self.config_path.write_text(self.config_text())

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Starts Prosody and waits until c2s and the component port accept TCP. A port that
        another process took between picking and binding is retried with new ports, unless
        the ports are fixed (restart())."""
        fixed = bool(self.c2s_port and self.component_port)
        for attempt in range(3):
            self._write_config()
            if self._start_once():
                return
            if fixed or attempt == 2:
                break
            self.c2s_port = self.component_port = 0
        raise TestFailure(f"Prosody could not bind 127.0.0.1:{self.c2s_port} and "
                          f":{self.component_port}\n" + self.log_tail())

    def _start_once(self) -> bool:
        """True when ready; False when a port was taken; TestFailure otherwise."""
        check(Path(self.binary).exists(), f"prosody not found ({self.binary}): apt-get install prosody")
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.out_path, "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "-F", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.workdir, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT_S
        want = {"c2s": self.c2s_port, "component": self.component_port}
        while True:
            log = self._new_log()
            if _BIND_FAILED.search(log):
                self._terminate()
                return False
            active = {(m.group(1), int(m.group(2))) for m in _ACTIVATED.finditer(log)}
            if all((svc, port) in active for svc, port in want.items()) and \
                    all(_accepts_tcp(port) for port in want.values()):
                return True
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise TestFailure(f"prosody exited with {rc} during startup\n" + self.log_tail())
            if time.monotonic() > deadline:
                self._terminate()
                raise TestFailure(f"prosody did not accept TCP on c2s {self.c2s_port} and component "
                                  f"{self.component_port} within {START_TIMEOUT_S:.0f} s\n" + self.log_tail())
            time.sleep(0.05)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM by PID, SIGKILL after STOP_TIMEOUT_S; returns the exit status (None if not started)."""
        return self._terminate()

    def _terminate(self) -> int | None:
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        return proc.returncode

    def restart(self) -> None:
        """Stop, then start on the same ports with the same data (accounts, rosters)."""
        self.stop()
        self.start()

    # ---- accounts ----------------------------------------------------------------------------

    def register(self, user: str, password: str) -> str:
        """Creates (or resets) user@domain; works before or after start(). Returns the bare JID."""
        if not self.config_path.exists():
            self._write_config()
        try:
            res = subprocess.run(
                [self.prosodyctl, "--config", str(self.config_path), "register", user, self.domain, password],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=self.workdir,
                timeout=PROSODYCTL_TIMEOUT_S, preexec_fn=_die_with_parent)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"prosodyctl register {user} took more than {PROSODYCTL_TIMEOUT_S:.0f} s")
        check(res.returncode == 0,
              f"prosodyctl register {user} {self.domain} exited with {res.returncode}:\n"
              f"{res.stdout}{res.stderr}")
        account = self.data_path / self.domain.replace(".", "%2e") / "accounts" / f"{user}.dat"
        check(account.exists(), f"prosodyctl register wrote no {account}:\n{res.stdout}{res.stderr}")
        return f"{user}@{self.domain}"

    # ---- diagnostics -------------------------------------------------------------------------

    def _new_log(self) -> str:
        """The log written since the current process started."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in (self.out_path, self.log_path):
            try:
                text = path.read_text(errors="replace").splitlines()
            except FileNotFoundError:
                continue
            tail = text[-lines:]
            parts.append(f"---- {path.name} (last {len(tail)} lines) ----\n" + "\n".join(tail))
        return "\n".join(parts) + "\n----" if parts else "(no Prosody output)"


def _accepts_tcp(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# ---- recorded stanzas ------------------------------------------------------------------------

@dataclass(frozen=True)
class Stanza:
    """One incoming stanza as a test sees it. `type` defaults as RFC 6121 says: presence ->
    'available', message -> 'normal'. `seq` orders every stanza one client received."""

    seq: int
    kind: str                  # presence | message | iq | other element name
    type: str
    from_: str
    to: str
    id: str | None
    show: str | None
    status: str | None
    priority: int | None
    body: str | None
    thread: str | None
    subject: str | None
    xml: str
    element: ET.Element = field(compare=False, repr=False)

    @property
    def from_bare(self) -> str:
        return bare(self.from_)

    @property
    def error_condition(self) -> str | None:
        """The RFC 6120 §8.3.3 condition of a type='error' stanza."""
        err = find_child(self.element, "error")
        if err is None:
            return None
        for child in err:
            if namespace(child.tag) == NS_STANZA_ERRORS and localname(child.tag) != "text":
                return localname(child.tag)
        return None

    def __str__(self) -> str:
        return self.xml


def _stanza_from(seq: int, elem: ET.Element, xml: str) -> Stanza:
    kind = localname(elem.tag)
    default_type = {"presence": "available", "message": "normal"}.get(kind, "")
    prio = child_text(elem, "priority") if kind == "presence" else None
    try:
        priority = int(prio) if prio is not None else None
    except ValueError:
        priority = None
    return Stanza(seq=seq, kind=kind, type=elem.get("type") or default_type,
                  from_=elem.get("from", ""), to=elem.get("to", ""), id=elem.get("id"),
                  show=child_text(elem, "show") if kind == "presence" else None,
                  status=child_text(elem, "status") if kind == "presence" else None,
                  priority=priority,
                  body=child_text(elem, "body") if kind == "message" else None,
                  thread=child_text(elem, "thread") if kind == "message" else None,
                  subject=child_text(elem, "subject") if kind == "message" else None,
                  xml=xml, element=elem)


class _Recorder:
    """Thread-safe list of Stanza with waiting (the loop thread appends, the test waits)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._items: list[Stanza] = []
        self._cond = threading.Condition()

    def add(self, elem: ET.Element, xml: str) -> None:
        with self._cond:
            self._items.append(_stanza_from(len(self._items), elem, xml))
            self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self._items)

    def items(self, kind: str | None = None) -> list[Stanza]:
        with self._cond:
            return [s for s in self._items if kind is None or s.kind == kind]

    def wait(self, what: str, match: Callable[[Stanza], bool], timeout: float, since: int,
             diagnostics: Callable[[], str] = lambda: "") -> Stanza:
        deadline = time.monotonic() + timeout
        with self._cond:
            checked = since
            while True:
                for s in self._items[checked:]:
                    if match(s):
                        return s
                checked = max(checked, len(self._items))
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(timeout=min(left, 0.2))
            recent = "\n".join("  " + s.xml[:300] for s in self._items[since:][-15:]) or "  (nothing)"
        raise TestFailure(f"{self.owner}: no {what} within {timeout:.1f} s; received since #{since}:\n"
                          f"{recent}\n{diagnostics()}")


# ---- XMPP client -----------------------------------------------------------------------------

def require_slixmpp():
    """The slixmpp module, or a TestFailure that says how to get it."""
    try:
        import slixmpp  # Debian's python3-slixmpp: only /usr/bin/python3 has it
    except ImportError as e:
        raise TestFailure(f"slixmpp is not importable from {sys.executable} ({e}): "
                          "apt-get install python3-slixmpp and run under /usr/bin/python3")
    return slixmpp


class XmppClient:
    """A slixmpp ClientXMPP on its own asyncio loop (daemon thread), driven synchronously:

        with XmppClient("alice@localhost/test", "pw", prosody.c2s_port) as alice:
            alice.connect()
            alice.subscribe("bob@localhost")
            bob.wait_subscription("subscribe", "alice@localhost")

    Plain TCP to 127.0.0.1 (no SRV, no STARTTLS). Subscription requests are recorded, never
    answered automatically (auto_authorize=None, auto_subscribe=False).
    `diagnostics` (e.g. prosody.log_tail) is appended to every failure message.
    """

    def __init__(self, jid: str, password: str, port: int, host: str = "127.0.0.1",
                 diagnostics: Callable[[], str] | None = None) -> None:
        slixmpp = require_slixmpp()
        self.requested_jid = jid if "/" in jid else jid + "/parley-it"
        self.password = password
        self.address = (host, port)
        self.diagnostics = diagnostics or (lambda: "")
        self._slixmpp = slixmpp
        self._recorder = _Recorder(bare(self.requested_jid))
        self._state = threading.Condition()
        self._session = False        # session_start seen, no disconnect since
        self._session_count = 0
        self._last_error: str | None = None
        self._ready = threading.Event()
        self._init_error: BaseException | None = None
        self._initial_presence = self._fetch_roster = True
        self._initial_presence_id = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run_loop, name=f"xmpp-{bare(self.requested_jid)}",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(5.0):
            raise TestFailure(f"{self.requested_jid}: slixmpp loop thread did not start")
        if self._init_error is not None:
            raise TestFailure(f"{self.requested_jid}: could not create the slixmpp client: "
                              f"{self._init_error!r}")

    def __enter__(self) -> "XmppClient":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    # ---- loop thread -------------------------------------------------------------------------

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # slixmpp creates Futures in __init__: they bind to this loop
        self._loop = loop
        try:
            self.xmpp = self._make_client()
        except BaseException as e:  # reported to the constructor, which raises TestFailure
            self._init_error = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            # slixmpp keeps tasks (its send queue) running forever: cancel them so closing the
            # loop does not print "Task was destroyed but it is pending".
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=2.0))
            loop.close()

    def _make_client(self):
        xmpp = self._slixmpp.ClientXMPP(
            self.requested_jid, self.password,
            # PLAIN without TLS is how this loopback Prosody is set up (SCRAM works too).
            plugin_config={"feature_mechanisms": {"unencrypted_plain": True}})
        xmpp.loop = self._loop
        xmpp.auto_authorize = None   # record subscribe requests; the test answers them
        xmpp.auto_subscribe = False
        xmpp.add_filter("in", self._record)
        xmpp.add_event_handler("session_start", self._on_session_start)
        xmpp.add_event_handler("disconnected", self._on_disconnected)
        xmpp.add_event_handler("failed_all_auth", lambda _e: self._fail("authentication failed"))
        xmpp.add_event_handler("connection_failed", lambda e: self._fail(f"connection failed: {e}"))
        xmpp.add_event_handler("stream_error", lambda e: self._fail(f"stream error: {e}"))
        return xmpp

    def _record(self, stanza):
        # Stream negotiation (features, SASL) is no test's business and would bury the
        # stanzas in failure messages; everything else is kept, stream errors included.
        if namespace(stanza.xml.tag) != NS_SASL and stanza.xml.tag != f"{{{NS_STREAMS}}}features":
            self._recorder.add(copy.deepcopy(stanza.xml), str(stanza))
        return stanza

    async def _on_session_start(self, _event) -> None:
        try:
            if self._fetch_roster:
                await self.xmpp.get_roster(timeout=DEFAULT_WAIT_S)
            if self._initial_presence:
                pres = self.xmpp.make_presence()
                pres["id"] = self._initial_presence_id = self.xmpp.new_id()
                pres.send()
        except Exception as e:  # noqa: BLE001 - reported to connect()
            self._fail(f"session setup failed: {e!r}")
            return
        with self._state:
            self._session = True
            self._session_count += 1
            self._state.notify_all()

    def _on_disconnected(self, reason) -> None:
        with self._state:
            self._session = False
            self._last_error = self._last_error or f"disconnected ({reason})"
            self._state.notify_all()

    def _fail(self, why: str) -> None:
        with self._state:
            self._last_error = why
            self._state.notify_all()

    def _call(self, fn: Callable, timeout: float = DEFAULT_WAIT_S, what: str = "call",
              flush: bool = False):
        """Runs fn() on the loop thread and returns its result (awaited if it is awaitable).
        flush: also wait until slixmpp's send queue has been written to the socket, so a
        send_* call returns only once its stanza is on its way."""
        async def runner():
            result = fn()
            if asyncio.isfuture(result) or asyncio.iscoroutine(result):
                result = await asyncio.wait_for(result, timeout)
            if flush:
                await asyncio.wait_for(self.xmpp.waiting_queue.join(), timeout)
            return result
        check(self._loop is not None and self._thread.is_alive(), f"{self.requested_jid}: client is closed")
        fut = asyncio.run_coroutine_threadsafe(runner(), self._loop)
        try:
            return fut.result(timeout + 1.0)
        except (TimeoutError, asyncio.TimeoutError):
            fut.cancel()
            raise TestFailure(f"{self.requested_jid}: {what} took more than {timeout:.1f} s\n"
                              + self.diagnostics())

    # ---- connection --------------------------------------------------------------------------

    @property
    def jid(self) -> str:
        """The full JID Prosody bound (the requested one until the first session)."""
        return str(self.xmpp.boundjid) if self._session_count else self.requested_jid

    @property
    def bare_jid(self) -> str:
        return bare(self.requested_jid)

    def connected(self) -> bool:
        with self._state:
            return self._session

    def connect(self, timeout: float = 10.0, initial_presence: bool = True,
                fetch_roster: bool = True) -> None:
        """Plain TCP to 127.0.0.1:port, SASL, bind, then (by default) roster get and initial
        presence; returns once the session runs and Prosody has echoed the initial presence
        (so the resource is available: messages to the bare JID reach it). Also reconnects
        after a disconnect."""
        self._initial_presence, self._fetch_roster = initial_presence, fetch_roster
        mark = self._recorder.mark()
        with self._state:
            self._last_error = None
            sessions = self._session_count

        def start():
            if self.xmpp.transport is not None:  # a stale connection (server restarted): drop it
                self.xmpp.abort()
            # slixmpp resolves default_domain even for an IP address ('' when connect() was
            # given an IP, which c-ares then looks up): naming the IP makes it skip DNS. The
            # "answer" then carries default_port, so that must be our port too.
            self.xmpp.default_domain, self.xmpp.default_port = self.address
            self.xmpp.use_aiodns = False
            self.xmpp.connect(self.address, use_ssl=False, force_starttls=False, disable_starttls=True)
        self._call(start, what="connect")
        deadline = time.monotonic() + timeout
        with self._state:
            while self._session_count == sessions:
                if self._last_error and not self._last_error.startswith("disconnected"):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._state.wait(timeout=min(left, 0.2))
            ok = self._session_count > sessions
            error = self._last_error
        if not ok:
            self._call(lambda: self.xmpp.cancel_connection_attempt(), what="cancel connect")
            self._call(self._abort, what="abort")
            raise TestFailure(f"{self.requested_jid}: no session with 127.0.0.1:{self.address[1]} within "
                              f"{timeout:.1f} s ({error or 'no error reported'})\n" + self.diagnostics())
        if initial_presence:
            pid = self._initial_presence_id
            self._recorder.wait(
                "echo of the initial presence",
                lambda s: s.kind == "presence" and s.id == pid and s.from_bare == self.bare_jid,
                max(deadline - time.monotonic(), 0.5), mark, self.diagnostics)

    def _abort(self) -> None:
        if self.xmpp.transport is not None:
            self.xmpp.abort()

    def disconnect(self, timeout: float = 5.0) -> None:
        """Closes the stream (waits up to 2 s for the server's close, then aborts)."""
        if not self.connected():
            self._call(self._abort, what="abort")
            return
        self._call(lambda: self.xmpp.disconnect(wait=2.0), timeout=timeout, what="disconnect")
        self.wait_disconnected(timeout)

    def wait_disconnected(self, timeout: float = DEFAULT_WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        with self._state:
            while self._session:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure(f"{self.requested_jid}: still connected after {timeout:.1f} s\n"
                                      + self.diagnostics())
                self._state.wait(timeout=min(left, 0.2))

    def close(self) -> None:
        """Disconnects (best effort) and stops the loop thread."""
        if self._loop is None or not self._thread.is_alive():
            return
        try:
            self.disconnect(timeout=3.0)
        except TestFailure:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5.0)

    # ---- sending -----------------------------------------------------------------------------

    def send_presence(self, show: str | None = None, status: str | None = None,
                      priority: int | None = None, to: str | None = None,
                      ptype: str | None = None) -> None:
        """Sends a presence (initial/available when to and ptype are None); like every send_*
        it returns once the stanza is written to the socket. Order across clients still needs
        a wait: Prosody may read two sockets in either order."""
        self._call(lambda: self.xmpp.send_presence(pshow=show, pstatus=status, ppriority=priority,
                                                   pto=to, ptype=ptype),
                   what="send presence", flush=True)

    def subscribe(self, jid: str) -> None:
        self.send_presence(to=jid, ptype="subscribe")

    def approve(self, jid: str) -> None:
        self.send_presence(to=jid, ptype="subscribed")

    def deny(self, jid: str) -> None:
        self.send_presence(to=jid, ptype="unsubscribed")

    def unsubscribe(self, jid: str) -> None:
        self.send_presence(to=jid, ptype="unsubscribe")

    def send_message(self, to: str, body: str | None, mtype: str = "chat", thread: str | None = None,
                     id: str | None = None) -> str:  # noqa: A002 - the XMPP attribute name
        """Sends a message and returns its id (a fresh one unless given)."""
        def send():
            msg = self.xmpp.make_message(mto=to, mbody=body, mtype=mtype)
            msg["id"] = id or self.xmpp.new_id()
            if thread is not None:
                msg["thread"] = thread
            msg.send()
            return msg["id"]
        return self._call(send, what="send message", flush=True)

    def send_raw(self, xml: str) -> None:
        """Sends XML as is (for stanzas the helpers cannot build)."""
        self._call(lambda: self.xmpp.send_raw(xml), what="send raw", flush=True)

    def send_iq(self, to: str, xml_payload: str | None, itype: str = "get",
                timeout: float = DEFAULT_WAIT_S) -> Stanza:
        """Sends an IQ with xml_payload as its child and returns the reply (result or error)."""
        payload = ET.fromstring(xml_payload) if xml_payload else None

        async def send():
            iq = self.xmpp.make_iq(id=self.xmpp.new_id(), ito=to, itype=itype)
            if payload is not None:
                iq.append(payload)
            try:
                reply = await iq.send(timeout=timeout)
            except self._slixmpp.exceptions.IqError as e:
                reply = e.iq
            except self._slixmpp.exceptions.IqTimeout:
                return None
            return _stanza_from(-1, copy.deepcopy(reply.xml), str(reply))
        reply = self._call(send, timeout=timeout + 1.0, what=f"iq to {to}")
        if reply is None:
            raise TestFailure(f"{self.requested_jid}: no reply to the iq to {to} within {timeout:.1f} s\n"
                              + self.diagnostics())
        return reply

    # ---- receiving ---------------------------------------------------------------------------

    def mark(self) -> int:
        """The sequence number the next received stanza will get: pass it as `since` to wait
        only for stanzas received from now on."""
        return self._recorder.mark()

    def stanzas(self, kind: str | None = None) -> list[Stanza]:
        return self._recorder.items(kind)

    def presences(self) -> list[Stanza]:
        return self._recorder.items("presence")

    def messages(self) -> list[Stanza]:
        return self._recorder.items("message")

    def wait_presence(self, pred: Callable[[Stanza], bool] | None = None, timeout: float = DEFAULT_WAIT_S,
                      since: int = 0, what: str = "matching presence") -> Stanza:
        return self._recorder.wait(what, lambda s: s.kind == "presence" and (pred is None or pred(s)),
                                   timeout, since, self.diagnostics)

    def wait_message(self, pred: Callable[[Stanza], bool] | None = None, timeout: float = DEFAULT_WAIT_S,
                     since: int = 0, what: str = "matching message") -> Stanza:
        return self._recorder.wait(what, lambda s: s.kind == "message" and (pred is None or pred(s)),
                                   timeout, since, self.diagnostics)

    def wait_subscription(self, ptype: str, from_bare: str, timeout: float = DEFAULT_WAIT_S,
                          since: int = 0) -> Stanza:
        """A presence of type subscribe|subscribed|unsubscribe|unsubscribed from from_bare."""
        return self._recorder.wait(
            f"presence type={ptype} from {from_bare}",
            lambda s: s.kind == "presence" and s.type == ptype and s.from_bare == bare(from_bare),
            timeout, since, self.diagnostics)

    def roster(self, timeout: float = DEFAULT_WAIT_S) -> dict[str, str]:
        """Fetches the roster from the server: bare JID -> subscription (none|to|from|both)."""
        async def fetch():
            await self.xmpp.get_roster(timeout=timeout)
            items = self.xmpp.client_roster
            return {jid: items[jid]["subscription"] for jid in items if jid != self.bare_jid}
        return self._call(fetch, timeout=timeout + 1.0, what="roster get")


# ---- raw XEP-0114 component --------------------------------------------------------------------

class FakeComponent:
    """A minimal XEP-0114 component over a raw socket (stream header, then
    <handshake>hex(sha1(stream id + secret))</handshake>), for checking Prosody's component
    port and secret without parleyd. Received stanzas are recorded as ElementTree elements
    (namespace jabber:component:accept: Prosody strips xmlns on stanzas to components).

    iq_handler, if given, runs on the reader thread for each incoming <iq type=get|set>; the
    XML string it returns (if any) is sent as the reply.
    """

    def __init__(self, port: int, domain: str = "sip.localhost", secret: str = "s3cret",
                 host: str = "127.0.0.1",
                 iq_handler: Callable[[ET.Element], str | None] | None = None) -> None:
        self.address = (host, port)
        self.domain = domain
        self.secret = secret
        self.iq_handler = iq_handler
        self.sock: socket.socket | None = None
        self.stream_id: str | None = None
        self.authenticated = False
        self.stream_error: str | None = None  # e.g. "not-authorized"
        self.closed = False
        self._stanzas: list[ET.Element] = []
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._reader: threading.Thread | None = None

    def __enter__(self) -> "FakeComponent":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def try_connect(self, timeout: float = DEFAULT_WAIT_S) -> str | None:
        """Opens the stream and does the handshake: None when Prosody accepted it, else the
        stream error condition ("not-authorized", ...) or "closed"/"timeout"."""
        self.sock = socket.create_connection(self.address, timeout=timeout)
        self.sock.settimeout(None)
        self._reader = threading.Thread(target=self._read, name=f"component-{self.domain}", daemon=True)
        self._reader.start()
        self.send(f"<?xml version='1.0'?><stream:stream xmlns='{NS_COMPONENT}' "
                  f"xmlns:stream='{NS_STREAMS}' to='{self.domain}'>")
        deadline = time.monotonic() + timeout
        if not self._wait(lambda: self.stream_id is not None, deadline):
            return self.stream_error or ("closed" if self.closed else "timeout")
        digest = hashlib.sha1((self.stream_id + self.secret).encode("utf-8")).hexdigest()
        self.send(f"<handshake>{digest}</handshake>")
        if not self._wait(lambda: self.authenticated, deadline):
            return self.stream_error or ("closed" if self.closed else "timeout")
        return None

    def connect(self, timeout: float = DEFAULT_WAIT_S) -> None:
        error = self.try_connect(timeout)
        check(error is None, f"component {self.domain}: handshake refused ({error})")

    def _wait(self, done: Callable[[], bool], deadline: float) -> bool:
        with self._cond:
            while not done():
                if self.closed or self.stream_error:
                    return done()
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.2))
            return True

    def send(self, xml: str) -> None:
        check(self.sock is not None and not self.closed, f"component {self.domain}: not connected")
        with self._send_lock:
            self.sock.sendall(xml.encode("utf-8"))

    def _read(self) -> None:
        parser = ET.XMLPullParser(("start", "end"))
        depth = 0
        root: ET.Element | None = None
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                parser.feed(data)
                for event, elem in parser.read_events():
                    if event == "start":
                        depth += 1
                        if depth == 1:
                            root = elem
                            with self._cond:
                                self.stream_id = elem.get("id")
                                self._cond.notify_all()
                        continue
                    depth -= 1
                    if depth == 0:  # </stream:stream>
                        raise EOFError
                    if depth == 1:
                        self._on_top_level(elem)
                        if root is not None:
                            root.remove(elem)  # keep the parse tree small
        except (OSError, EOFError, ET.ParseError):
            pass
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def _on_top_level(self, elem: ET.Element) -> None:
        name = localname(elem.tag)
        if name == "handshake":
            with self._cond:
                self.authenticated = True
                self._cond.notify_all()
            return
        if name == "error" and namespace(elem.tag) == NS_STREAMS:
            cond = next((localname(c.tag) for c in elem
                         if namespace(c.tag) == NS_STREAM_ERRORS and localname(c.tag) != "text"), "unknown")
            with self._cond:
                self.stream_error = cond
                self._cond.notify_all()
            return
        with self._cond:
            self._stanzas.append(elem)
            self._cond.notify_all()
        if name == "iq" and elem.get("type") in ("get", "set") and self.iq_handler is not None:
            reply = self.iq_handler(elem)
            if reply:
                try:
                    self.send(reply)
                except (OSError, TestFailure):
                    pass

    def stanzas(self) -> list[ET.Element]:
        with self._cond:
            return list(self._stanzas)

    def mark(self) -> int:
        with self._cond:
            return len(self._stanzas)

    def wait_stanza(self, pred: Callable[[ET.Element], bool], timeout: float = DEFAULT_WAIT_S,
                    since: int = 0, what: str = "matching stanza") -> ET.Element:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for elem in self._stanzas[since:]:
                    if pred(elem):
                        return elem
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    break
                self._cond.wait(timeout=min(left, 0.2))
            recent = "\n".join("  " + xml_text(e)[:300] for e in self._stanzas[since:][-15:]) or "  (nothing)"
        raise TestFailure(f"component {self.domain}: no {what} within {timeout:.1f} s"
                          f"{' (stream closed)' if self.closed else ''}; received:\n{recent}")

    def close(self) -> None:
        if self.sock is None:
            return
        try:
            if not self.closed:
                with self._send_lock:
                    self.sock.sendall(b"</stream:stream>")
        except OSError:
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        self.sock.close()
        self.sock = None
