#!/usr/bin/env python3
"""SIP integration tests: a real parleyd against sipp and raw sockets.

Usage: sip_tests.py --parleyd PATH --sipp PATH --source-dir DIR TEST
Each TEST is one ctest test (tests/integration/CMakeLists.txt); `--list` prints them.
Exit status 0 = pass.
"""

from __future__ import annotations

import argparse
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parley_harness import (  # noqa: E402
    DOMAIN, Parleyd, TestFailure, check, header_of, ipv6_loopback_available, recv_all,
    recv_one, request, run_sipp, run_test, status_of, udp_socket, via_of)

T1_S = 0.5  # RFC 3261 §17.1.1.1 default T1


def sipp_options(work: Path, args) -> None:
    """OPTIONS to the domain and to a user of it -> 200 with Allow/Accept/Supported,
    over UDP, TCP and (when the host has it) UDP on ::1."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        udp, tcp = p.listener("udp"), p.listener("tcp")
        run_sipp(args.sipp, "options.xml", udp, work)
        run_sipp(args.sipp, "options.xml", udp, work, keys={"ruri": f"sip:anyone@{DOMAIN}"})
        run_sipp(args.sipp, "options.xml", tcp, work)
        run_sipp(args.sipp, "options.xml", tcp, work, keys={"ruri": f"sip:anyone@{DOMAIN}"})
        if ipv6_loopback_available():
            run_sipp(args.sipp, "options.xml", p.listener("udp", ipv6=True), work)
        # Several calls in a row over one sipp run: each is its own transaction.
        run_sipp(args.sipp, "options.xml", udp, work, calls=20, extra=["-r", "50"])


def sipp_invite_405(work: Path, args) -> None:
    """INVITE -> 405 (Allow, To-tag); over UDP the 405 is retransmitted until the ACK, and the
    ACK (same branch) is absorbed: no answer, no further 405."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        udp, tcp = p.listener("udp"), p.listener("tcp")
        run_sipp(args.sipp, "invite_405_then_ack.xml", udp, work, extra=["-nr"])
        run_sipp(args.sipp, "invite_405_then_ack.xml", tcp, work, extra=["-nr"])
        _raw_invite_405_retransmitted_until_ack(udp)


def _raw_invite_405_retransmitted_until_ack(udp) -> None:
    # RFC 3261 §17.2.1: in Completed the server retransmits the final response at T1, 2T1...
    # until the ACK arrives; the ACK moves it to Confirmed, which absorbs ACKs silently.
    ruri = f"sip:anyone@{DOMAIN}"
    branch = "z9hG4bK-raw405-%08x" % random.getrandbits(32)
    with udp_socket(udp) as s:
        s.send(request("INVITE", ruri, via_of(s), branch))
        first = recv_one(s, 2.0)
        while first is not None and (status_of(first) or 0) // 100 == 1:
            first = recv_one(s, 2.0)  # a 100 Trying may precede the final response
        check(first is not None, "no final response to INVITE within 2 s")
        check(status_of(first) == 405, f"INVITE answered {first[:60]!r}, expected 405")
        allow = header_of(first, "Allow")
        check(allow is not None, "405 has no Allow header")
        check("INVITE" not in allow.upper().replace(" ", "").split(","),
              f"405 for INVITE lists INVITE in Allow: {allow}")
        to = header_of(first, "To") or ""
        tag = re.search(r";\s*tag=([^;>\s]+)", to)
        check(tag is not None, f"405 has no To-tag: To: {to}")
        check(branch in (header_of(first, "Via") or ""), "405 Via lost the branch")
        again = recv_one(s, 4 * T1_S)
        check(again is not None, f"405 not retransmitted within {4 * T1_S:.1f} s without an ACK")
        check(again == first, "retransmitted 405 differs from the first one")
        s.send(request("ACK", ruri, via_of(s), branch, to_tag=tag.group(1)))
        late = recv_all(s, 3.0)
        check(not late, f"{len(late)} message(s) after the ACK, first: {late[0][1][:80]!r}"
              if late else "")


def sipp_retransmission(work: Path, args) -> None:
    """The same OPTIONS (same branch) twice over UDP -> the same 200 (same To-tag) twice.
    UDP only: over TCP, Timer J is zero (RFC 3261 §17.2.2), so the transaction is gone at once
    and a repeated request is a new transaction that may get a new To-tag."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        run_sipp(args.sipp, "retransmitted_options.xml", p.listener("udp"), work, extra=["-nr"])
        # Raw UDP too, comparing the whole response: a retransmission gets the cached bytes.
        udp = p.listener("udp")
        with udp_socket(udp) as s:
            msg = request("OPTIONS", f"sip:{DOMAIN}", via_of(s), "z9hG4bK-rawrt-1")
            s.send(msg)
            first = recv_one(s, 2.0)
            check(first is not None and status_of(first) == 200, f"OPTIONS got {first!r:.80}")
            s.send(msg)
            second = recv_one(s, 2.0)
            check(second == first, f"retransmission answered differently:\n{first!r}\n{second!r}")


def sipp_unknown_method(work: Path, args) -> None:
    """FOO -> 501 Not Implemented, over UDP and TCP."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        run_sipp(args.sipp, "unknown_method.xml", p.listener("udp"), work)
        run_sipp(args.sipp, "unknown_method.xml", p.listener("tcp"), work)


# ---- garbage ---------------------------------------------------------------------------------

SILENT = "silent"            # no SIP response at all
SILENT_OR_400 = "silent|400"  # nothing, or 400 Bad Request when a response can be formed


def _garbage_cases(via: str) -> list[tuple[str, bytes, object]]:
    rng = random.Random(4475)  # fixed seed: the same bytes every run
    ruri = f"sip:{DOMAIN}"
    ok = request("OPTIONS", ruri, via, "z9hG4bK-g-valid").decode()
    head, _ = ok.split("\r\n\r\n", 1)
    cases: list[tuple[str, bytes, object]] = []
    for n in (1, 7, 64, 333, 1024, 1400, 9000, 60000):
        cases.append((f"random {n} bytes", rng.randbytes(n), SILENT_OR_400))
    cases += [
        ("empty datagram", b"", SILENT),
        ("CRLF keep-alive", b"\r\n\r\n", SILENT),
        ("request line then random bytes", b"OPTIONS sip:" + DOMAIN.encode() + b" SIP/2.0\r\n"
         + rng.randbytes(200), SILENT_OR_400),
        ("truncated request", ok[: len(ok) // 2].encode(), SILENT_OR_400),
        ("no Via", "\r\n".join(l for l in head.split("\r\n") if not l.startswith("Via:"))
         .encode() + b"\r\n\r\n", SILENT_OR_400),
        ("huge Content-Length", request("OPTIONS", ruri, via, "z9hG4bK-g-hugecl",
                                        content_length=4294967296), SILENT_OR_400),
        ("Content-Length beyond the datagram", request(
            "OPTIONS", ruri, via, "z9hG4bK-g-shortbody", body=b"0123456789",
            content_length=500), SILENT_OR_400),
        ("negative Content-Length", request("OPTIONS", ruri, via, "z9hG4bK-g-negcl",
                                            content_length=-1), SILENT_OR_400),
        ("header line without colon", ok.replace("Max-Forwards: 70", "Max-Forwards 70")
         .replace("z9hG4bK-g-valid", "z9hG4bK-g-nocolon").encode(), SILENT_OR_400),
        ("NUL in a header", ok.replace("Max-Forwards: 70", "Max-Forwards: 7\x000")
         .replace("z9hG4bK-g-valid", "z9hG4bK-g-nul").encode(), SILENT_OR_400),
        ("non-numeric CSeq", ok.replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS")
         .replace("z9hG4bK-g-valid", "z9hG4bK-g-cseq").encode(), SILENT_OR_400),
        ("two-token request line", ok.replace(f"OPTIONS {ruri} SIP/2.0", f"OPTIONS {ruri}")
         .replace("z9hG4bK-g-valid", "z9hG4bK-g-2tok").encode(), SILENT_OR_400),
        # Responses are never answered (RFC 3261 §17.1.3, no matching client transaction).
        ("response code 700", ("SIP/2.0 700 Way Out" + head[head.index("\r\n"):]
                               + "\r\n\r\n").encode(), SILENT),
        ("stray 200 response", ("SIP/2.0 200 OK" + head[head.index("\r\n"):]
                                + "\r\n\r\n").encode(), SILENT),
        # RFC 3261 §21.5.7: a request with an unsupported SIP version gets 505.
        ("INVITE SIP/3.0", request("INVITE", ruri, via, "z9hG4bK-g-sip3",
                                   version="SIP/3.0"), 505),
    ]
    return cases


def garbage_survival(work: Path, args) -> None:
    """~25 malformed datagrams and a TCP message without Content-Length; parleyd answers each
    correctly (nothing, 400, or 505), then still serves OPTIONS over UDP and TCP."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        udp, tcp = p.listener("udp"), p.listener("tcp")
        # One socket per case, so each response is attributed to the datagram that caused it.
        socks = []
        try:
            for _ in range(len(_garbage_cases("127.0.0.1:9"))):
                socks.append(udp_socket(udp))
            cases = [_garbage_cases(via_of(s))[i] + (s,) for i, s in enumerate(socks)]
            for name, data, _, s in cases:
                s.send(data)
            deadline = time.monotonic() + 2.0
            problems = []
            for name, data, expected, s in cases:
                got = recv_all(s, max(0.05, deadline - time.monotonic()))
                codes = [status_of(d) for _, d in got]
                if expected == SILENT:
                    if any(c is not None for c in codes):
                        problems.append(f"{name}: expected no answer, got {codes}")
                elif expected == SILENT_OR_400:
                    if any(c is not None and c != 400 for c in codes):
                        problems.append(f"{name}: expected nothing or 400, got {codes}")
                else:
                    if not codes or codes[0] != expected:
                        problems.append(f"{name}: expected {expected}, got {codes or 'nothing'}")
                    elif name == "INVITE SIP/3.0":
                        # A non-2xx final for INVITE is ACKed (hop-by-hop, same branch).
                        tag = re.search(r";\s*tag=([^;>\s]+)", header_of(got[0][1], "To") or "")
                        s.send(request("ACK", f"sip:{DOMAIN}", via_of(s), "z9hG4bK-g-sip3",
                                       to_tag=tag.group(1) if tag else None))
            check(not problems, "; ".join(problems))
        finally:
            for s in socks:
                s.close()
        check(p.running(), "parleyd died from the garbage datagrams\n" + p.log_tail())

        _tcp_without_content_length(tcp)
        check(p.running(), "parleyd died from the TCP message without Content-Length\n"
              + p.log_tail())

        # Still serving: raw UDP, sipp over UDP and TCP.
        with udp_socket(udp) as s:
            s.send(request("OPTIONS", f"sip:{DOMAIN}", via_of(s), "z9hG4bK-g-after"))
            answer = recv_one(s, 2.0)
            check(answer is not None and status_of(answer) == 200,
                  f"OPTIONS after the garbage got {answer!r:.80}")
        run_sipp(args.sipp, "options.xml", udp, work)
        run_sipp(args.sipp, "options.xml", tcp, work)
        check(p.running(), "parleyd is not running after the test\n" + p.log_tail())


def _tcp_without_content_length(tcp) -> None:
    # RFC 3261 §18.3: on a stream transport Content-Length MUST be present; without it the
    # message boundary is lost, so the server answers 400 and closes the connection.
    with socket.create_connection(tcp.sockaddr, timeout=5) as c:
        host, port = c.getsockname()[:2]
        c.sendall(request("OPTIONS", f"sip:{DOMAIN}", f"{host}:{port}", "z9hG4bK-g-tcpnocl",
                          transport="TCP", omit_content_length=True))
        data = b""
        closed = False
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            c.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = c.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
        check(status_of(data) == 400,
              f"TCP OPTIONS without Content-Length got {data[:80]!r}, expected 400")
        check(closed, "connection still open 5 s after the 400 (expected parleyd to close it)")


# ---- config ------------------------------------------------------------------------------------

def check_config(work: Path, args) -> None:
    """--check-config: 0 for the shipped example; 1 with file:line:col + key for a bad file."""
    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([args.parleyd, *argv], capture_output=True, text=True,
                              timeout=10, stdin=subprocess.DEVNULL)

    example = Path(args.source_dir) / "config" / "parley.example.toml"
    r = run("--check-config", str(example))
    check(r.returncode == 0, f"--check-config {example} exited {r.returncode}\n{r.stdout}{r.stderr}")

    bad = work / "bad.toml"
    bad.write_text(
        "[node]\n"
        'id = "parley-bad"\n'
        "[sip]\n"
        f'domains = ["{DOMAIN}"]\n'
        'listen = ["udp:127.0.0.1:0", "sctp:127.0.0.1:5060"]\n')
    r = run("--check-config", str(bad))
    out = r.stdout + r.stderr
    check(r.returncode == 1, f"--check-config on a bad file exited {r.returncode}, expected 1\n{out}")
    want = re.compile(r"(^|\s|/)bad\.toml:5:\d+: sip\.listen\[1\]: unknown transport \"sctp\"",
                      re.M)
    check(want.search(out) is not None,
          'expected "bad.toml:5:<col>: sip.listen[1]: unknown transport \\"sctp\\"" in:\n' + out)

    r = run("--check-config", str(work / "does-not-exist.toml"))
    check(r.returncode == 1, f"--check-config on a missing file exited {r.returncode}, expected 1")

    # A listener that cannot be bound: exit 2 and a log line naming it, no hang.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        taken = work / "taken.toml"
        taken.write_text(f'[sip]\nlisten = ["udp:127.0.0.1:{port}"]\n')
        r = run("--config", str(taken))
        out = r.stdout + r.stderr
        check(r.returncode == 2, f"parleyd on a busy port exited {r.returncode}, expected 2\n{out}")
        check(f"cannot listen on udp:127.0.0.1:{port}" in out, "start failure does not name the listener:\n" + out)

    r = run("--version")
    check(r.returncode == 0 and r.stdout.strip() != "",
          f"--version exited {r.returncode} with output {r.stdout!r}")


def sipp_register(work: Path, args) -> None:
    """The registrar against sipp over UDP and TCP: register (200 + expires + Date), query,
    423 below the minimum, unregister with Contact: * (200, no Contact left)."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        run_sipp(args.sipp, "register.xml", p.listener("udp"), work, keys={"user": "alice"})
        run_sipp(args.sipp, "register.xml", p.listener("tcp"), work, keys={"user": "bob"})
        # Five phones in one run, each its own AOR.
        run_sipp(args.sipp, "register.xml", p.listener("udp"), work, keys={"user": "carol"}, calls=5)


def sipp_message(work: Path, args) -> None:
    """MESSAGE through Parley to a registered sipp phone (UDP and TCP): the phone registers
    from port P, a sipp UAS then serves port P and must receive the forwarded MESSAGE; the
    sender gets the phone's 200. MESSAGE to a user nobody registered gets 480."""
    from parley_harness import SCENARIO_DIR, free_port
    with Parleyd(args.parleyd, work / "parleyd") as p:
        for transport in ("udp", "tcp"):
            target = p.listener(transport)
            user = f"phone-{transport}"
            port = free_port("127.0.0.1", socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
            run_sipp(args.sipp, "register_only.xml", target, work, keys={"user": user}, local_port=port)
            uas_dir = work / f"uas-{transport}"
            uas_dir.mkdir()
            uas = subprocess.Popen(
                [args.sipp, "-sf", str(SCENARIO_DIR / "message_uas.xml"), "-i", "127.0.0.1",
                 "-p", str(port), "-m", "1", "-timeout", "15s", "-timeout_error", "-nostdin",
                 "-trace_err"] + (["-t", "t1"] if transport == "tcp" else []),
                cwd=uas_dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                time.sleep(0.5)  # let the UAS bind port P
                run_sipp(args.sipp, "message_uac.xml", target, work, keys={"user": user})
                out, _ = uas.communicate(timeout=20)
            finally:
                if uas.poll() is None:
                    uas.kill()
                    uas.wait(timeout=5)
            check(uas.returncode == 0,
                  f"the registered phone ({transport}) did not receive the MESSAGE (sipp exit {uas.returncode}):\n"
                  + out.decode(errors="replace")[-2000:])
        run_sipp(args.sipp, "message_unavailable.xml", p.listener("udp"), work, keys={"user": "nobody"})


def sipp_publish(work: Path, args) -> None:
    """PUBLISH life cycle against sipp over UDP and TCP (initial with ETag, refresh, stale
    ETag 412, remove); XML bombs, external entities and DTDs get 400 and parleyd keeps serving."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        run_sipp(args.sipp, "publish.xml", p.listener("udp"), work, keys={"user": "alice"})
        run_sipp(args.sipp, "publish.xml", p.listener("tcp"), work, keys={"user": "bob"})
        # Hostile bodies (sipp cannot write a DOCTYPE internal subset: '[' is its keyword
        # syntax), so a raw client sends them.
        udp = p.listener("udp")
        entities = ('<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">')
        hostile = {
            "billion-laughs": f'<?xml version="1.0"?><!DOCTYPE presence [{entities}]>'
                              '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:m@x">&d;</presence>',
            "external-entity": '<?xml version="1.0"?><!DOCTYPE presence [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
                               '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:m@x">&x;</presence>',
            "external-dtd": '<?xml version="1.0"?><!DOCTYPE presence SYSTEM "http://127.0.0.1:9/x.dtd">'
                            '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:m@x"/>',
        }
        for i, (name, body) in enumerate(hostile.items()):
            with udp_socket(udp) as s:
                s.send(request("PUBLISH", f"sip:mallory@{DOMAIN}", via_of(s), f"z9hG4bK-bomb-{i}",
                               body=body.encode(), extra=["Event: presence", "Content-Type: application/pidf+xml"]))
                reply = recv_one(s, 5.0) or b""
                check(status_of(reply) == 400, f"{name}: expected 400, got {reply[:200]!r}")
        check(p.running(), "parleyd died on a hostile document")
        run_sipp(args.sipp, "publish.xml", p.listener("udp"), work, keys={"user": "carol"}, calls=5)


def json_logs(work: Path, args) -> None:
    """log_format = "json": every stdout line of a real run is one JSON object with
    ts/level/module/msg, and the lifecycle events are there (escaping: logging_test)."""
    import json
    p = Parleyd(args.parleyd, work / "parleyd", log_format="json")
    with p:
        udp = p.listener("udp")
        with udp_socket(udp) as s:
            s.send(request("OPTIONS", f"sip:{DOMAIN}", via_of(s), "z9hG4bK-json-1"))
            check(status_of(recv_one(s, 5.0) or b"") == 200, "OPTIONS over UDP did not get 200")
    lines = [line for line in p.lines() if line.strip()]
    check(len(lines) >= 5, f"expected at least 5 log lines, got {len(lines)}")
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise TestFailure(f"not JSON ({e}): {line!r}")
        check(set(obj) == {"ts", "level", "module", "msg"}, f"unexpected keys in {line!r}")
    msgs = [json.loads(line)["msg"] for line in lines]
    check(any(m.startswith("sip.listening transport=udp") for m in msgs), "no sip.listening message")
    check(any(m.startswith("node.stopped") for m in msgs), "no node.stopped message")


TESTS = {
    "sipp_register": sipp_register,
    "sipp_message": sipp_message,
    "sipp_publish": sipp_publish,
    "json_logs": json_logs,
    "sipp_options": sipp_options,
    "sipp_invite_405": sipp_invite_405,
    "sipp_retransmission": sipp_retransmission,
    "sipp_unknown_method": sipp_unknown_method,
    "garbage_survival": garbage_survival,
    "check_config": check_config,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parleyd", help="path to the parleyd binary")
    ap.add_argument("--sipp", default="sipp", help="path to sipp")
    ap.add_argument("--source-dir", default=str(Path(__file__).resolve().parents[2]),
                    help="repository root (for config/parley.example.toml)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("test", nargs="?", choices=sorted(TESTS))
    args = ap.parse_args()
    if args.list:
        print("\n".join(TESTS))
        return 0
    if not args.test or not args.parleyd:
        ap.error("TEST and --parleyd are required")
    return run_test(args.test, TESTS[args.test], args)


if __name__ == "__main__":
    sys.exit(main())
