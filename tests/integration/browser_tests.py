#!/usr/bin/python3
"""The dashboard parleyd serves at / in a real headless Chromium (tests/browser/dashboard.mjs).

Usage: browser_tests.py --parleyd PATH [--sipp PATH] [--source-dir DIR] TEST
Each TEST is one ctest test (tests/integration/CMakeLists.txt); `--list` prints them.
Needs node, Debian's chromium (or $CHROMIUM) and `npm ci` run in tests/browser. The screenshot
goes to $PARLEY_ARTIFACTS/<test>/, else ./test-artifacts/<test>/ (ctest runs this in the build
directory), and is kept whether the test passes or fails.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_tests import HTTP_CONFIG, TOKEN, _http_port, _json  # noqa: E402
from parley_harness import DOMAIN, Parleyd, _die_with_parent, check, driver_main, run_sipp  # noqa: E402
from sip_tests import _pidf, _publish  # noqa: E402

READY_TIMEOUT_S = 45.0  # Chromium's start on a busy 2-core machine, the page, the stream
DONE_TIMEOUT_S = 45.0   # after the PUBLISH: the page's own wait (10 s), the screenshot, closing


def _request(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _artifact_dir(name: str) -> Path:
    base = Path(os.environ.get("PARLEY_ARTIFACTS") or Path.cwd() / "test-artifacts")
    out = (base / name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


class _Node:
    """node dashboard.mjs, its stdout read line by line on a thread (so it never blocks)."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str]):
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, prefixes: tuple[str, ...], timeout: float) -> str | None:
        """The first line starting with one of `prefixes`; None at EOF or after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            if line.startswith(prefixes):
                return line

    def finish(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def transcript(self) -> str:
        return "---- node dashboard.mjs ----\n" + "\n".join(self.output[-40:]) + "\n----"


def _check_page(port: int, source: Path) -> None:
    """GET / is the page (no token: a browser navigating cannot send one), with an ETag that a
    revalidation answers with 304; the script and stylesheet have their types."""
    status, headers, body = _request(port, "/")
    check(status == 200, f"GET / got {status} {body[:200]!r}")
    check(headers.get("content-type", "").startswith("text/html"), f"GET / content-type: {headers}")
    check(body == (source / "server/web/index.html").read_bytes(), "GET / is not server/web/index.html")
    etag = headers.get("etag", "")
    check(etag.startswith('"') and etag.endswith('"') and len(etag) > 2, f"GET / without a strong ETag: {headers}")
    status, headers304, body304 = _request(port, "/", {"If-None-Match": etag})
    check(status == 304 and body304 == b"", f"GET / If-None-Match {etag} got {status} {body304[:100]!r}")
    check(headers304.get("etag") == etag, f"the 304 lacks the ETag: {headers304}")
    status, _, _ = _request(port, "/", {"If-None-Match": '"not-the-etag"'})
    check(status == 200, f"GET / with a stale If-None-Match got {status}")
    for path, kind in (("/dashboard.js", "text/javascript"), ("/dashboard.css", "text/css")):
        status, headers, body = _request(port, path)
        check(status == 200 and headers.get("content-type", "").startswith(kind)
              and body == (source / "server/web" / path[1:]).read_bytes(),
              f"GET {path}: {status} {headers.get('content-type')}")


def dashboard_browser(work: Path, args) -> None:
    """The page from parleyd in Chromium: alice's tile shows offline over the live stream; a
    desk phone's PUBLISH (sipp) turns it green and the PBX's confirmed dialog turns it red "on
    the phone", each seen live; the header shows the stream and storage; the token leaves the
    visible URL. GET / has an ETag and answers If-None-Match with 304."""
    source = Path(args.source_dir).resolve()
    browser_dir = source / "tests" / "browser"
    node = shutil.which("node")
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    check(node is not None, "node not found (apt-get install nodejs)")
    check(Path(chromium).exists(), f"{chromium} not found (apt-get install chromium)")
    check((browser_dir / "node_modules" / "playwright-core").is_dir(),
          f"playwright-core is not installed: run `npm ci` in {browser_dir}")
    artifacts = _artifact_dir("dashboard_browser")
    screenshot = artifacts / "dashboard.png"
    screenshot.unlink(missing_ok=True)

    with Parleyd(args.parleyd, work / "parleyd", listen=["udp:127.0.0.1:0"], extra_config=HTTP_CONFIG) as p:
        port = _http_port(p)
        _check_page(port, source)

        # Carol is in already (green, with a note); bob never published (grey); alice changes.
        _publish(p.listener("udp"), "carol", _pidf("carol", "open").replace(
            "</status>", "</status><note>In the lab until 3 pm</note>"))
        alice = f"sip:alice@{DOMAIN}"
        url = f"http://127.0.0.1:{port}/?addresses=alice@{DOMAIN},bob@{DOMAIN},carol@{DOMAIN}#token={TOKEN}"
        env = dict(os.environ, CHROMIUM=chromium)
        runner = _Node([node, str(browser_dir / "dashboard.mjs"), "--url", url, "--artifacts", str(artifacts),
                        "--address", alice, "--initial", "offline",
                        "--expect-show", "dnd", "--expect-on-the-phone", "true", "--timeout-ms", "10000"],
                       browser_dir, env)
        try:
            ready = runner.wait_for(("READY", "FAIL"), READY_TIMEOUT_S)
            check(ready is not None and ready.startswith("READY"),
                  f"the page never showed {alice} offline with the stream up\n{runner.transcript()}")
            run_sipp(args.sipp, "publish_on_the_phone.xml", p.listener("udp"), work, keys={"user": "alice"})
            rc = runner.finish(DONE_TIMEOUT_S)
        except BaseException:
            runner.kill()
            raise
        result_line = next((line for line in runner.output if line.startswith("RESULT ")), None)
        check(rc == 0 and any(line.startswith("PASS") for line in runner.output),
              f"dashboard.mjs exited {rc}\n{runner.transcript()}")
        check(result_line is not None, f"no RESULT line\n{runner.transcript()}")
        result = json.loads(result_line[len("RESULT "):])
        tile, seen, health = result["tile"], result["seen"], result["health"]

        # Green first, then red: both changes reached the page live, not one poll later.
        check(seen[:1] == ["offline/false"] and "available/false" in seen and seen[-1] == "dnd/true"
              and seen.index("available/false") < seen.index("dnd/true"),
              f"the tile went through {seen}, expected offline -> available -> dnd on the phone")
        check(tile["address"] == alice and tile["phoneLabel"] == "On the phone", f"tile: {tile}")
        check(tile["devices"] == "1 device online" and tile["since"] == "just now", f"tile: {tile}")
        check(health["stream"] == {"state": "up", "value": "connected"}, f"stream indicator: {health}")
        check(health["storage"] == {"state": "up", "value": "memory"}, f"storage indicator: {health}")
        check(health["xmpp"]["value"] == "off", f"XMPP indicator (no bridge configured): {health}")
        check("token" not in result["url"], f"the token stayed in the page's URL: {result['url']}")
        others = {t["address"]: (t["show"], t["onThePhone"], t["note"]) for t in result["tiles"]}
        check(others == {alice: ("dnd", "true", tile["note"]), f"sip:bob@{DOMAIN}": ("offline", "false", ""),
                         f"sip:carol@{DOMAIN}": ("available", "false", "In the lab until 3 pm")},
              f"tiles: {result['tiles']}")
        check(not result["pageErrors"], f"errors in the page: {result['pageErrors']}")

        # The page and the API agree.
        status, _, data = _request(port, f"/api/v1/presence/alice@{DOMAIN}", {"Authorization": f"Bearer {TOKEN}"})
        j = _json(data)
        check(status == 200 and j["show"] == "dnd" and j["on_the_phone"] is True, f"API: {status} {j}")
        # The WebSocket carried the token in its query (?access_token=): it must not be logged.
        check(TOKEN not in "\n".join(p.lines()), "the token appears in parleyd's log")

    check(screenshot.is_file() and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
          and screenshot.stat().st_size > 10_000, f"no screenshot at {screenshot}")
    print(f"screenshot: {screenshot}", flush=True)


TESTS = {f.__name__: f for f in (dashboard_browser,)}

if __name__ == "__main__":
    sys.exit(driver_main(__doc__, TESTS))
