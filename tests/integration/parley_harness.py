"""Runs a real parleyd and real sipp for the integration tests (Python 3 stdlib only).

Parleyd starts from a temporary config whose listeners use port 0; the harness reads the
ports back from the `sip.listening transport=... local=...` log lines and waits for
`node.ready`. Every wait has a time limit, and the harness stops only the processes it
started, by PID. If the harness itself dies, PR_SET_PDEATHSIG kills its children.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent / "sipp"
DOMAIN = "sip.localhost"

READY_TIMEOUT_S = 10.0  # parleyd must log node.ready within this
STOP_TIMEOUT_S = 10.0   # and exit 0 within this after SIGTERM
SIPP_TIMEOUT_S = 30.0   # hard limit on one sipp run (its own -timeout is 10 s)

_LISTENING = re.compile(
    r"sip\.listening transport=(udp|tcp) local=(\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d+)")
_READY = re.compile(r"\bnode\.ready\b")


class TestFailure(Exception):
    """A behaviour the test expects did not happen."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise TestFailure(message)


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL if the harness dies (ctest timeout, crash)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_DGRAM) -> int:
    """A port that is free right now for both UDP and TCP on host (the kernel picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, kind) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        try:
            with socket.socket(family, other) as s:
                s.bind((host, port))
            return port
        except OSError:
            continue
    raise TestFailure(f"no free port on {host}")


@dataclass(frozen=True)
class Listener:
    transport: str  # "udp" | "tcp"
    host: str       # IP literal without brackets
    port: int

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    @property
    def hostport(self) -> str:
        """host:port as SIP and sipp write it ([::1]:5060 for IPv6)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def sockaddr(self) -> tuple:
        return (self.host, self.port)


def config_text(listen: list[str], node_id: str = "parley-it", log_format: str = "text",
                extra: str = "") -> str:
    """The temporary parley.toml; `extra` is appended verbatim (more tables, e.g. "[presence]\n...")."""
    quoted = ", ".join(f'"{entry}"' for entry in listen)
    return (
        "[node]\n"
        f'id = "{node_id}"\n'
        'log_level = "info"\n'
        f'log_format = "{log_format}"\n'
        "\n"
        "[sip]\n"
        f'domains = ["{DOMAIN}"]\n'
        f"listen = [{quoted}]\n"
        "max_message_bytes = 65535\n"
        + ("\n" + extra if extra else "")
    )


def default_listen() -> list[str]:
    listen = ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]
    if ipv6_loopback_available():
        listen.append("udp:[::1]:0")
    return listen


@dataclass
class Parleyd:
    """One parleyd process on a temporary config. Use as a context manager:

        with Parleyd(binary, workdir) as p:
            p.listener("udp")  # -> Listener(udp, 127.0.0.1, port)
    The exit check (SIGTERM -> exit 0 within 10 s) runs in __exit__ unless a test failed.
    """

    binary: str
    workdir: Path
    listen: list[str] = field(default_factory=default_listen)
    log_format: str = "text"
    extra_config: str = ""  # TOML appended to the generated config, e.g. a [presence] table
    node_id: str = "parley-it"  # [node] id: distinct per node sharing one Redis
    listeners: list[Listener] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    _lines: list[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _reader: threading.Thread | None = None

    def __enter__(self) -> "Parleyd":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.stop()
        else:
            self.kill()

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "parley.toml"
        config.write_text(config_text(self.listen, node_id=self.node_id, log_format=self.log_format,
                                      extra=self.extra_config))
        self.log_path = self.workdir / "parleyd.log"
        self.proc = subprocess.Popen(
            [self.binary, "--config", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=self.workdir, preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        self._wait_ready()

    def _read_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.log_path, "w", encoding="utf-8", errors="replace") as log:
            for raw in self.proc.stdout:  # drains until EOF so parleyd never blocks on stdout
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                with self._cond:
                    self._lines.append(line)
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        with self._cond:
            while True:
                if any(_READY.search(line) for line in self._lines):
                    break
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise TestFailure(
                        f"parleyd exited with {self.proc.returncode} before node.ready\n"
                        + self.log_tail())
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise TestFailure(
                        f"parleyd did not log node.ready within {READY_TIMEOUT_S:.0f} s\n"
                        + self.log_tail())
                self._cond.wait(timeout=min(left, 0.2))
            for line in self._lines:
                m = _LISTENING.search(line)
                if m:
                    self.listeners.append(
                        Listener(m.group(1), m.group(2).strip("[]"), int(m.group(3))))
        wanted = {(e.split(":", 1)[0], "[" in e) for e in self.listen}
        got = {(lst.transport, ":" in lst.host) for lst in self.listeners}
        check(wanted <= got,
              f"missing sip.listening lines: wanted {sorted(wanted)}, got {self.listeners}\n"
              + self.log_tail())
        for lst in self.listeners:
            check(lst.port != 0, f"listener logged port 0: {lst}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM by PID; parleyd must exit 0 within STOP_TIMEOUT_S (else SIGKILL + fail)."""
        if self.proc is None:
            return
        check(self.running(),
              f"parleyd died during the test (exit {self.proc.returncode})\n" + self.log_tail())
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure(
                f"parleyd did not exit within {STOP_TIMEOUT_S:.0f} s of SIGTERM (killed)\n"
                + self.log_tail())
        if self._reader is not None:
            self._reader.join(timeout=5)
        check(rc == 0, f"parleyd exited with {rc} after SIGTERM, expected 0\n" + self.log_tail())

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    # ---- queries ---------------------------------------------------------------------------

    def listener(self, transport: str, ipv6: bool = False) -> Listener:
        for lst in self.listeners:
            if lst.transport == transport and (":" in lst.host) == ipv6:
                return lst
        raise TestFailure(f"no {transport} listener (ipv6={ipv6}) in {self.listeners}")

    def lines(self) -> list[str]:
        """Every stdout line so far (complete once stop() has returned)."""
        with self._cond:
            return list(self._lines)

    def wait_log(self, pattern: str, timeout: float = 10.0, since: int = 0) -> str:
        """The first output line from index `since` on matching regex `pattern`, waiting up to
        `timeout` s (TestFailure with the log tail otherwise). len(lines()) is a `since` mark."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines[since:]:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure(f"parleyd did not log /{pattern}/ within {timeout:.0f} s\n"
                                      + self.log_tail())
                self._cond.wait(timeout=min(left, 0.2))

    def log_tail(self, lines: int = 40) -> str:
        with self._cond:
            tail = self._lines[-lines:]
        return "---- parleyd output (last %d lines) ----\n%s\n----" % (len(tail), "\n".join(tail))


# ---- sipp ------------------------------------------------------------------------------------

def run_sipp(sipp: str, scenario: str, target: Listener, workdir: Path,
             keys: dict[str, str] | None = None, extra: list[str] | None = None,
             calls: int = 1, local_port: int | None = None) -> str:
    """Runs sipp as a UAC with SCENARIO_DIR/scenario against target; fails unless exit 0.

    sipp writes its logs into its cwd, so each run gets its own directory under workdir.
    Returns sipp's stdout+stderr.
    """
    local_ip = target.host
    all_keys = {"domain": DOMAIN, "ruri": f"sip:{DOMAIN}"}
    all_keys.update(keys or {})
    run_dir = Path(tempfile.mkdtemp(prefix=Path(scenario).stem + "-", dir=workdir))
    last = ""
    for attempt in range(3):  # retry only when the local port we picked was taken meanwhile
        port = local_port or free_port(local_ip)
        cmd = [sipp, "-sf", str(SCENARIO_DIR / scenario), target.hostport,
               "-i", local_ip, "-p", str(port), "-ci", "127.0.0.1",
               "-m", str(calls), "-timeout", "10s", "-timeout_error",
               "-nostdin", "-trace_err", "-trace_msg"]
        if target.transport == "tcp":
            cmd += ["-t", "t1"]
        for k, v in all_keys.items():
            cmd += ["-key", k, v]
        cmd += extra or []
        proc = subprocess.Popen(cmd, cwd=run_dir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)
        try:
            out, _ = proc.communicate(timeout=SIPP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=5)
            raise TestFailure(f"sipp did not finish within {SIPP_TIMEOUT_S:.0f} s: {' '.join(cmd)}\n"
                              + _sipp_report(out.decode(errors="replace"), run_dir))
        last = out.decode(errors="replace")
        if proc.returncode == 0:
            return last
        if "bind" in last.lower() and attempt < 2:
            continue
        break
    raise TestFailure(f"sipp exited with {proc.returncode}: {' '.join(cmd)}\n"
                      + _sipp_report(last, run_dir))


def _sipp_report(output: str, run_dir: Path) -> str:
    """What went wrong, most useful first: sipp's error log (failed checks, timeouts,
    unexpected messages), the scenario's own <log> lines (with -trace_logs), the message
    trace, then the scenario's message counts."""
    parts = []
    for log in sorted(run_dir.glob("*_errors.log")):
        lines = log.read_text(errors="replace").splitlines()
        parts += [f"---- {log.name} (head) ----", "\n".join(lines[:60])]
    for log in sorted(run_dir.glob("*_logs.log")):  # <log> actions, with -trace_logs
        lines = log.read_text(errors="replace").splitlines()
        parts += [f"---- {log.name} (head) ----", "\n".join(lines[:30])]
    for log in sorted(run_dir.glob("*_messages.log")):
        lines = log.read_text(errors="replace").splitlines()
        parts += [f"---- {log.name} (tail) ----", "\n".join(lines[-50:])]
    lines = output.splitlines()
    start = next((i for i, l in enumerate(lines) if "Messages  Retrans" in l), None)
    if start is not None:
        end = next((i for i in range(start, len(lines)) if "Test Terminated" in lines[i]),
                   len(lines))
        parts += ["---- sipp scenario counts ----", "\n".join(lines[start:end + 1])]
    else:
        parts += ["---- sipp output (tail) ----", "\n".join(lines[-30:])]
    return "\n".join(parts) + "\n----"


# ---- raw SIP over sockets ----------------------------------------------------------------------

_STATUS = re.compile(rb"^SIP/2\.0 (\d{3}) ")


def status_of(data: bytes) -> int | None:
    m = _STATUS.match(data)
    return int(m.group(1)) if m else None


def header_of(data: bytes, name: str) -> str | None:
    """First value of header `name` (case-insensitive, full form) in a SIP message."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", errors="replace")
    for line in head.split("\r\n")[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    return None


def request(method: str, ruri: str, via_hostport: str, branch: str, *, transport: str = "UDP",
            cseq: int = 1, call_id: str | None = None, to_tag: str | None = None,
            version: str = "SIP/2.0", body: bytes = b"",
            content_length: int | None = None, omit_content_length: bool = False,
            extra: list[str] | None = None) -> bytes:
    """A well-formed request (RFC 3261 §8.1.1) unless the caller overrides a part.
    content_length=None writes the real body length."""
    call_id = call_id or f"{branch}@parley-it"
    lines = [
        f"{method} {ruri} {version}",
        f"Via: SIP/2.0/{transport} {via_hostport};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:harness@{DOMAIN}>;tag=h-{branch[-8:]}",
        f"To: <{ruri}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
    ]
    lines += extra or []
    if not omit_content_length:
        lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def udp_socket(target: Listener) -> socket.socket:
    s = socket.socket(target.family, socket.SOCK_DGRAM)
    s.bind((target.host, 0))
    s.connect(target.sockaddr)  # only datagrams from parleyd's listener reach this socket
    return s


def via_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def recv_all(sock: socket.socket, seconds: float) -> list[tuple[float, bytes]]:
    """Every datagram arriving within `seconds`, with its arrival time (monotonic)."""
    got = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return got
        sock.settimeout(left)
        try:
            data = sock.recv(70000)
        except socket.timeout:
            return got
        except ConnectionRefusedError:  # ICMP port unreachable from an earlier send
            continue
        got.append((time.monotonic(), data))


def recv_one(sock: socket.socket, seconds: float) -> bytes | None:
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            return sock.recv(70000)
        except socket.timeout:
            return None
        except ConnectionRefusedError:
            raise TestFailure("ICMP port unreachable: nothing listens on the target port")


# ---- test runner -----------------------------------------------------------------------------

def driver_main(doc: str, tests: dict) -> int:
    """The command line of a test driver (sip_tests.py, xmpp_tests.py): one TEST per run."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--parleyd", help="path to the parleyd binary")
    ap.add_argument("--sipp", default="sipp", help="path to sipp")
    ap.add_argument("--source-dir", default=str(Path(__file__).resolve().parents[2]),
                    help="repository root (for config/parley.example.toml)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("test", nargs="?", choices=sorted(tests))
    args = ap.parse_args()
    if args.list:
        print("\n".join(tests))
        return 0
    if not args.test or not args.parleyd:
        ap.error("TEST and --parleyd are required")
    return run_test(args.test, tests[args.test], args)


def run_test(name: str, fn, *args) -> int:
    """Runs fn(workdir, *args); prints PASS/FAIL; keeps workdir only on failure."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"{name}: terminated"))
    workdir = Path(tempfile.mkdtemp(prefix=f"parley-it-{name}-"))
    started = time.monotonic()
    try:
        fn(workdir, *args)
    except TestFailure as e:
        print(f"FAIL {name} ({time.monotonic() - started:.1f} s): {e}", flush=True)
        print(f"(files kept in {workdir})", flush=True)
        return 1
    print(f"PASS {name} ({time.monotonic() - started:.1f} s)", flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0
