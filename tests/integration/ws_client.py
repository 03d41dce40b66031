"""A minimal blocking WebSocket client (RFC 6455) for the integration tests: the handshake,
masked text frames out, text/ping/close frames in. Stdlib only, so a test can read the live
stream in its own thread of control, message by message, with a deadline."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
import time

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsClosed(Exception):
    pass


class WsClient:
    def __init__(self, port: int, path: str, host: str = "127.0.0.1", headers: dict | None = None,
                 timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
        self._buf = b""
        while b"\r\n\r\n" not in self._buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WsClosed(f"closed during the handshake: {self._buf!r}")
            self._buf += chunk
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        if self.status == 101:
            expect = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
            if self.headers.get("sec-websocket-accept") != expect:
                raise WsClosed(f"bad Sec-WebSocket-Accept: {self.headers}")

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def send_json(self, obj) -> None:
        self.send_text(json.dumps(obj))

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _read(self, n: int, deadline: float) -> bytes:
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no WebSocket message in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout as e:
                raise TimeoutError("no WebSocket message in time") from e
            if not chunk:
                raise WsClosed("the server closed the connection")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def recv_text(self, timeout: float = 5.0) -> str:
        """The next text message (answering pings on the way); WsClosed on a close frame."""
        deadline = time.monotonic() + timeout
        while True:
            b0, b1 = self._read(2, deadline)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if b1 & 0x80:
                raise WsClosed("a server frame was masked (RFC 6455 §5.1 forbids it)")
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2, deadline))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8, deadline))
            payload = self._read(n, deadline)
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WsClosed(f"close frame, code {code}")
            elif opcode == 0x1:
                return payload.decode()

    def recv_json(self, timeout: float = 5.0):
        return json.loads(self.recv_text(timeout))

    def wait_for(self, match, timeout: float = 5.0):
        """The first JSON message for which match(msg) is true; others are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv_json(max(0.0, deadline - time.monotonic()))
            if match(msg):
                return msg

    def close(self) -> None:
        try:
            self._send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()
