"""A real redis-server for the multi-node integration tests (Python 3 stdlib only, no redis-py).

RedisServer runs redis-server (Debian 12: 7.0) in the foreground on a free 127.0.0.1 port with
append-only persistence into its own directory (`--appendonly yes --appendfsync always`), so a
server stopped with SIGTERM and started again on the same port and directory keeps every key:
the outage tests need Redis to come back with the state parleyd acknowledged before it went.
Readiness is a PING answered +PONG over raw RESP (a server still loading its AOF answers
-LOADING). Every wait has a time limit; the process is stopped by PID, and PR_SET_PDEATHSIG
kills it if the harness dies.

    with RedisServer(work / "redis") as redis:
        redis.url                      # "redis://127.0.0.1:<port>/0"
        redis.command("DBSIZE")        # -> 0
        redis.stop(); redis.start()    # same port, same data
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from parley_harness import TestFailure, _die_with_parent, check, free_port

START_TIMEOUT_S = 5.0     # PING must answer +PONG within this
STOP_TIMEOUT_S = 5.0      # exit after SIGTERM within this (an AOF fsync'd per write has nothing left)
COMMAND_TIMEOUT_S = 5.0   # one command() round trip


class RedisReplyError(TestFailure):
    """Redis answered a command() with an error reply (-ERR ..., -WRONGTYPE ...)."""


@dataclass
class RedisServer:
    workdir: Path
    port: int = 0      # 0: picked by start(), then kept, so start() after stop() reuses it
    binary: str = ""   # "" -> redis-server on PATH, else /usr/bin/redis-server
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.data_path = self.workdir / "data"  # --dir: the AOF lives here across restarts
        self.out_path = self.workdir / "redis.out"
        if not self.binary:
            self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"

    def __enter__(self) -> "RedisServer":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.kill()  # nothing to keep: the data dies with the test's work dir

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Starts redis-server and waits for +PONG. A picked port that another process took
        meanwhile is retried with a new one; a fixed port (a restart) is not."""
        check(Path(self.binary).exists(), f"redis-server not found ({self.binary}): apt-get install redis-server")
        check(not self.running(), "RedisServer.start(): already running")
        self.data_path.mkdir(parents=True, exist_ok=True)
        fixed = self.port != 0
        for attempt in range(3):
            if not fixed:
                self.port = free_port("127.0.0.1", socket.SOCK_STREAM)
            if self._start_once():
                return
            if fixed or attempt == 2:
                break
        raise TestFailure(f"redis-server could not listen on 127.0.0.1:{self.port}\n" + self.log_tail())

    def _start_once(self) -> bool:
        """True when it answers PING; False when it exited at start (port taken?)."""
        with open(self.out_path, "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "no",
                 "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                 "--dir", str(self.data_path), "--daemonize", "no"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.workdir, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            if self._pong():
                return True
            time.sleep(0.02)
        self.kill()
        raise TestFailure(f"redis-server did not answer PING within {START_TIMEOUT_S:.0f} s\n" + self.log_tail())

    def _pong(self) -> bool:
        try:
            return self.command("PING") == "PONG"
        except (OSError, TestFailure):  # not listening yet, or -LOADING the AOF
            return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        """SIGTERM by PID; redis-server must exit within STOP_TIMEOUT_S (else SIGKILL + fail).
        Returns its exit status. The port and the data directory stay for start()."""
        check(self.running(), "RedisServer.stop(): redis-server is not running\n" + self.log_tail())
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            raise TestFailure(f"redis-server did not exit within {STOP_TIMEOUT_S:.0f} s of SIGTERM (killed)\n"
                              + self.log_tail())

    def kill(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    # ---- raw RESP ----------------------------------------------------------------------------

    def command(self, *args: str | bytes | int):
        """One command on a fresh connection: +simple -> str, :int -> int, $bulk -> bytes (None
        for a nil), *array -> list; an error reply raises RedisReplyError."""
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        wire = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection(("127.0.0.1", self.port), timeout=COMMAND_TIMEOUT_S) as s:
            s.sendall(wire)
            with s.makefile("rb") as reader:
                return _read_reply(reader, args[0] if args else "")

    def keys(self, pattern: str) -> list[str]:
        """KEYS pattern, decoded and sorted (a test's Redis holds a handful of keys)."""
        return sorted(k.decode(errors="replace") for k in self.command("KEYS", pattern))

    # ---- diagnostics -------------------------------------------------------------------------

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.out_path.read_text(errors="replace").splitlines()[-lines:]
        except FileNotFoundError:
            return "(no redis-server output)"
        return f"---- redis.out (last {len(text)} lines) ----\n" + "\n".join(text) + "\n----"


def _read_reply(reader, name):
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise TestFailure(f"Redis closed the connection during {name!r} (read {line!r})")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode(errors="replace")
    if kind == b"-":
        raise RedisReplyError(f"Redis answered {name!r} with {rest.decode(errors='replace')}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)
        if len(data) != n + 2:
            raise TestFailure(f"Redis closed the connection inside the reply to {name!r}")
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(reader, name) for _ in range(n)]
    raise TestFailure(f"not a RESP reply to {name!r}: {line!r}")
