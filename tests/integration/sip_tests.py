#!/usr/bin/env python3
"""SIP integration tests: a real parleyd against sipp and raw sockets.

Usage: sip_tests.py --parleyd PATH --sipp PATH --source-dir DIR TEST
Each TEST is one ctest test (tests/integration/CMakeLists.txt); `--list` prints them.
Exit status 0 = pass.
"""

from __future__ import annotations

import random
import signal
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parley_harness import (  # noqa: E402
    DOMAIN, Parleyd, TestFailure, check, free_port, header_of, ipv6_loopback_available, recv_all,
    driver_main, recv_one, request, run_sipp, status_of, udp_socket, via_of)

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

    # A Redis that is not there is no reason to refuse to start (it may come later): parleyd
    # serves, says where it connects without the password, and stops cleanly on SIGTERM.
    redis = work / "redis.toml"
    dead = free_port(kind=socket.SOCK_STREAM)
    redis.write_text('[sip]\nlisten = ["udp:127.0.0.1:0"]\n[storage]\nbackend = "redis"\n'
                     f'redis_url = "redis://:hunter2@127.0.0.1:{dead}/0"\n')
    proc = subprocess.Popen([args.parleyd, "--config", str(redis)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        check(proc.poll() is None, f"parleyd exited {proc.returncode} while Redis was away")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check(proc.returncode == 0, f"parleyd stopped with {proc.returncode}\n{out}")
    check(f"url=redis://:***@127.0.0.1:{dead}/0" in out, "the Redis endpoint was not logged redacted:\n" + out)
    check("hunter2" not in out, "the Redis password was printed:\n" + out)

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


# ---- SUBSCRIBE/NOTIFY (RFC 6665, RFC 3856 presence, RFC 4235 dialog) ------------------------
#
# The flows run as one sipp call each: the PUBLISHes that drive a watcher's NOTIFYs share the
# subscription's Call-ID, because sipp hands an incoming request to the call with that
# Call-ID; Parley answers a PUBLISH before it notifies, so the order is known. Over TCP the
# watcher's Contact carries ;transport=tcp (key ctp). Error cases use raw UDP.

def _flow(args, scenario: str, target, work: Path, user: str) -> str:
    ctp = ";transport=tcp" if target.transport == "tcp" else ""
    return run_sipp(args.sipp, scenario, target, work, keys={"user": user, "ctp": ctp},
                    extra=["-trace_logs"])


def sipp_subscribe_neutral(work: Path, args) -> None:
    """SUBSCRIBE presence to a user who published nothing -> 200 (To-tag, Expires, Contact) and a
    NOTIFY in the dialog (Request-URI = our Contact, tags swapped, CSeq 1, active) with the
    neutral PIDF (basic closed); in-dialog Expires 0 -> 200 + NOTIFY terminated;reason=timeout.
    Over UDP and TCP."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        _flow(args, "subscribe_neutral.xml", p.listener("udp"), work, "nobody-udp")
        _flow(args, "subscribe_neutral.xml", p.listener("tcp"), work, "nobody-tcp")


def sipp_publish_subscribe(work: Path, args) -> None:
    """PUBLISH open, then a watcher subscribes and sees open; a PUBLISH modify (closed) reaches
    it; a bare refresh sends no NOTIFY; a stale ETag gets 412; unsubscribe -> terminated; a
    later PUBLISH remove reaches nobody. Over UDP and TCP."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        _flow(args, "publish_subscribe.xml", p.listener("udp"), work, "alice")
        _flow(args, "publish_subscribe.xml", p.listener("tcp"), work, "bob")


def sipp_hook_state(work: Path, args) -> None:
    """A PBX PUBLISHes Event: dialog with a confirmed dialog for a user -> the user's presence
    watchers get a NOTIFY with rpid on-the-phone (tuple still open); the dialog terminated ->
    a NOTIFY without it. Over UDP and TCP."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        _flow(args, "hook_state.xml", p.listener("udp"), work, "bob")
        _flow(args, "hook_state.xml", p.listener("tcp"), work, "carol")


def sipp_dialog_blf(work: Path, args) -> None:
    """A BLF watcher (Event: dialog;id=...) gets dialog-info NOTIFYs: version 0 and no dialog
    first, version 1 with the PBX's confirmed dialog, version 2 when it terminated, version 3
    with terminated;reason=timeout on unsubscribe; Event's id is echoed. Over UDP and TCP."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        _flow(args, "dialog_blf.xml", p.listener("udp"), work, "desk-101")
        _flow(args, "dialog_blf.xml", p.listener("tcp"), work, "desk-102")


def sipp_subscribe_expiry(work: Path, args) -> None:
    """[presence] min_expires = 1: SUBSCRIBE Expires 2 -> 200 Expires 2 + NOTIFY active; about
    2 s later, with no refresh, NOTIFY terminated;reason=timeout; then a refresh gets 481
    (UDP and TCP). Publications that lapse notify presence and dialog watchers."""
    with Parleyd(args.parleyd, work / "parleyd", extra_config="[presence]\nmin_expires = 1\n") as p:
        for transport in ("udp", "tcp"):
            started = time.monotonic()
            _flow(args, "subscribe_expiry.xml", p.listener(transport), work, f"idle-{transport}")
            took = time.monotonic() - started
            # The terminating NOTIFY must wait for the 2 s expiry (sipp waits at most 6 s).
            check(took >= 1.5, f"{transport}: the subscription ended after {took:.2f} s, expected ~2 s")
        _publication_expiry_notifies(p.listener("udp"))


def _publication_expiry_notifies(udp) -> None:
    # RFC 3903 §5 / RFC 3856 §6.10: a publication that lapses changes the state, so watchers
    # hear of it: presence open (2 s) and a PBX dialog (3 s) for one user; the presence watcher
    # sees open+on-the-phone, then on-the-phone only, then neither; the BLF watcher sees the
    # dialog vanish at 3 s.
    user = "lapsing"
    pres, blf = _Watcher(udp, "lapse-pres"), _Watcher(udp, "lapse-blf")
    try:
        pres.subscribe(user)
        blf.subscribe(user, event="dialog")
        for w in (pres, blf):
            resp, notes = w.wait(3.0, notifies=1)
            check(resp is not None and status_of(resp) == 200 and len(notes) == 1,
                  f"{w.name}: SUBSCRIBE got {resp[:80] if resp else None!r} and {len(notes)} NOTIFY")
        started = time.monotonic()
        _publish(udp, user, _pidf(user, "open"), expires=2)
        _publish(udp, user, '<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info"'
                 f' version="0" state="full" entity="sip:{user}@{DOMAIN}"><dialog id="d1">'
                 '<state>confirmed</state></dialog></dialog-info>', event="dialog", expires=3)
        got = _drain({pres: 4, blf: 2}, 5.0)
        seen = [(round(t - started, 1), "<basic>open</basic>" in _body(n), "on-the-phone" in _body(n))
                for t, n in got[pres]]
        check([(o, h) for _, o, h in seen] == [(True, False), (True, True), (False, True), (False, False)],
              f"presence watcher saw (s, open, on-the-phone) = {seen}, expected open; open+phone; "
              "phone (presence lapsed at 2 s); neither (dialog lapsed at 3 s)")
        check(seen[2][0] >= 1.5 and seen[3][0] >= 2.5,
              f"presence watcher heard of the lapses too early: {seen}")
        blf_seen = [(round(t - started, 1), "<state>confirmed</state>" in _body(n), "<dialog " in _body(n))
                    for t, n in got[blf]]
        check(len(blf_seen) == 2 and blf_seen[0][1] and not blf_seen[1][2] and blf_seen[1][0] >= 2.5,
              f"BLF watcher saw (s, confirmed, any dialog) = {blf_seen}, expected the confirmed dialog, "
              "then at ~3 s a document without it")
    finally:
        pres.close()
        blf.close()


# ---- raw SUBSCRIBE over UDP --------------------------------------------------------------------

class _Watcher:
    """A raw UDP subscriber: builds requests in one dialog, answers NOTIFYs, keeps what arrived."""

    def __init__(self, target, name: str) -> None:
        self.sock = udp_socket(target)
        self.name = name
        self.call_id = f"{name}-{random.getrandbits(32):08x}@parley-it"
        self.from_tag = f"w-{random.getrandbits(32):08x}"
        self.cseq = 0
        self.to_tag: str | None = None
        self.answered: dict[str, int] = {}  # NOTIFY CSeq -> the code we answered

    def close(self) -> None:
        self.sock.close()

    def subscribe(self, user: str, *, event: str = "presence", expires: int | str | None = 600,
                  accept: str | None = None, contact: bool = True, to_tag: str | None = None,
                  cseq: int | None = None, ruri: str | None = None) -> None:
        self.cseq = cseq if cseq is not None else self.cseq + 1
        via = via_of(self.sock)
        tag = to_tag if to_tag is not None else self.to_tag
        lines = [
            f"SUBSCRIBE {ruri or f'sip:{user}@{DOMAIN}'} SIP/2.0",
            f"Via: SIP/2.0/UDP {via};branch=z9hG4bK-{self.name}-{random.getrandbits(40):010x};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.name}@{DOMAIN}>;tag={self.from_tag}",
            f"To: <sip:{user}@{DOMAIN}>" + (f";tag={tag}" if tag else ""),
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} SUBSCRIBE",
            f"Event: {event}",
        ]
        if contact:
            lines.append(f"Contact: <sip:{self.name}@{via}>")
        if accept is not None:
            lines.append(f"Accept: {accept}")
        if expires is not None:
            lines.append(f"Expires: {expires}")
        lines.append("Content-Length: 0")
        self.sock.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def answer(self, req: bytes, code: int, reason: str = "") -> None:
        """A response to a NOTIFY: Via/From/To/Call-ID/CSeq copied (RFC 3261 §8.2.6.2)."""
        head = req.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
        keep = [l for l in head[1:] if l.split(":", 1)[0].strip().lower()
                in ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")]
        reason = reason or {200: "OK", 481: "Subscription Does Not Exist"}.get(code, "Whatever")
        self.sock.send(("\r\n".join([f"SIP/2.0 {code} {reason}"] + keep + ["Content-Length: 0"])
                        + "\r\n\r\n").encode())

    def wait(self, seconds: float = 3.0, *, final: bool = True, notifies: int = 0,
             notify_code: int | None = 200) -> tuple[bytes | None, list[bytes]]:
        """Reads until a final response to our request (if `final`) and `notifies` NOTIFYs have
        arrived; answers each NOTIFY with notify_code (None: leave unanswered). A retransmitted
        NOTIFY (a CSeq already answered) gets the same answer again and is not counted.
        Returns (final response, NOTIFYs) - response None if none came."""
        response, got = None, []
        deadline = time.monotonic() + seconds
        while (final and response is None) or len(got) < notifies:
            data = recv_one(self.sock, deadline - time.monotonic())
            if data is None:
                break
            code = status_of(data)
            if code is None:
                if data.startswith(b"NOTIFY "):
                    cseq = header_of(data, "CSeq") or ""
                    if cseq in self.answered:
                        self.answer(data, self.answered[cseq])
                        continue
                    got.append(data)
                    if notify_code is not None:
                        self.answered[cseq] = notify_code
                        self.answer(data, notify_code)
                continue
            if code >= 200 and f"{self.cseq} SUBSCRIBE" in (header_of(data, "CSeq") or ""):
                response = data
                tag = re.search(r";\s*tag=([^;>\s]+)", header_of(data, "To") or "")
                if code < 300 and tag and self.to_tag is None:
                    self.to_tag = tag.group(1)
        return response, got


def _drain(want: dict, seconds: float) -> dict:
    """Reads several watchers together (each NOTIFY answered 200 at once) until each has its
    wanted count of new NOTIFYs or time is up; returns {watcher: [(arrival, NOTIFY), ...]}."""
    got = {w: [] for w in want}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(len(got[w]) < n for w, n in want.items()):
        for w in want:
            _, notes = w.wait(0.02, final=False, notifies=1)
            got[w] += [(time.monotonic(), n) for n in notes]
    return got


def _publish(target, user: str, body: str | None, *, event: str = "presence", etag: str | None = None,
             expires: int = 600) -> str:
    """One PUBLISH from its own socket; returns the 200's SIP-ETag."""
    ctype = "application/pidf+xml" if event == "presence" else "application/dialog-info+xml"
    extra = [f"Event: {event}", f"Expires: {expires}"]
    if etag:
        extra.append(f"SIP-If-Match: {etag}")
    if body is not None:
        extra.append(f"Content-Type: {ctype}")
    with udp_socket(target) as s:
        s.send(request("PUBLISH", f"sip:{user}@{DOMAIN}", via_of(s),
                       f"z9hG4bK-pub-{random.getrandbits(40):010x}",
                       body=(body or "").encode(), extra=extra))
        reply = recv_one(s, 3.0) or b""
    check(status_of(reply) == 200, f"PUBLISH for {user} got {reply[:200]!r}, expected 200")
    tag = header_of(reply, "SIP-ETag")
    check(bool(tag), f"PUBLISH 200 without SIP-ETag: {reply!r}")
    return tag


def _pidf(user: str, basic: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:{user}@{DOMAIN}">'
            f'<tuple id="t1"><status><basic>{basic}</basic></status></tuple></presence>')


def _body(msg: bytes) -> str:
    return msg.split(b"\r\n\r\n", 1)[1].decode(errors="replace") if b"\r\n\r\n" in msg else ""


def sipp_subscribe_errors(work: Path, args) -> None:
    """SUBSCRIBE refusals (raw UDP), none followed by a NOTIFY: unknown package -> 489 +
    Allow-Events; Accept without the package's type -> 406 + Accept; in-dialog for an unknown
    dialog -> 481; Expires below min_expires -> 423 + Min-Expires 60; no Contact -> 400; a
    CSeq not above the last in the dialog -> 500. Also what is granted: Expires absent ->
    3600, above max_expires -> 3600, a wildcard Accept and dialog's own type -> 200, and the
    200's Contact is exactly our UDP listener."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        udp = p.listener("udp")
        watchers: list[_Watcher] = []

        refusals: list[_Watcher] = []

        def refused(name: str, code: int, **kw) -> bytes:
            w = _Watcher(udp, name)
            watchers.append(w)
            refusals.append(w)
            w.subscribe(kw.pop("user", "erin"), **kw)
            resp, notes = w.wait(3.0)
            check(resp is not None, f"{name}: no final response within 3 s")
            check(status_of(resp) == code, f"{name}: got {resp[:80]!r}, expected {code}")
            return resp

        try:
            r = refused("event-foo", 489, event="foo")
            allow = (header_of(r, "Allow-Events") or "").replace(" ", "").split(",")
            check("presence" in allow and "dialog" in allow,
                  f"489 Allow-Events is {header_of(r, 'Allow-Events')!r}, expected presence and dialog")
            refused("event-presence-upper", 489, event="Presence")  # byte-wise (RFC 6665 §8.2.1)
            r = refused("accept-text", 406, accept="text/plain")
            check("application/pidf+xml" in (header_of(r, "Accept") or ""),
                  f"406 Accept is {header_of(r, 'Accept')!r}, expected application/pidf+xml")
            r = refused("accept-pidf-for-dialog", 406, event="dialog", accept="application/pidf+xml")
            check("application/dialog-info+xml" in (header_of(r, "Accept") or ""),
                  f"406 Accept is {header_of(r, 'Accept')!r}, expected application/dialog-info+xml")
            refused("unknown-dialog", 481, to_tag="no-such-dialog")
            r = refused("too-brief", 423, expires=1)
            check((header_of(r, "Min-Expires") or "").strip() == "60",
                  f"423 Min-Expires is {header_of(r, 'Min-Expires')!r}, expected 60")
            refused("no-contact", 400, contact=False)
            refused("no-user", 404, ruri=f"sip:{DOMAIN}")
            refused("bad-expires", 400, expires="soon")
            refused("empty-accept", 406, accept="")  # an empty Accept accepts no body at all

            # Granted: the default, the clamp, a wildcard Accept, the dialog package.
            for name, kw, want_expires in (
                    ("no-expires", {"expires": None}, 3600),
                    ("long-expires", {"expires": 99999}, 3600),
                    ("accept-wildcard", {"accept": "text/plain, application/*"}, 600),
                    ("dialog-ok", {"event": "dialog", "accept": "application/dialog-info+xml"}, 600)):
                w = _Watcher(udp, name)
                watchers.append(w)
                w.subscribe("erin", **kw)
                resp, notes = w.wait(3.0, notifies=1)
                check(resp is not None and status_of(resp) == 200,
                      f"{name}: got {resp[:80] if resp else None!r}, expected 200")
                check((header_of(resp, "Expires") or "").strip() == str(want_expires),
                      f"{name}: 200 Expires {header_of(resp, 'Expires')!r}, expected {want_expires}")
                check(header_of(resp, "Contact") == f"<sip:{udp.hostport}>",
                      f"{name}: 200 Contact {header_of(resp, 'Contact')!r}, expected <sip:{udp.hostport}>")
                check(len(notes) == 1, f"{name}: {len(notes)} NOTIFY after the 200, expected 1")
                state = header_of(notes[0], "Subscription-State") or ""
                check(state == f"active;expires={want_expires}" or
                      state == f"active;expires={want_expires - 1}",
                      f"{name}: NOTIFY Subscription-State {state!r}, expected active;expires={want_expires}")

            # 500: a refresh whose CSeq is not above the last one (RFC 3261 §12.2.2).
            w = watchers[-1]  # "dialog-ok": an established dialog, last CSeq 1
            w.subscribe("erin", event="dialog", accept="application/dialog-info+xml", cseq=1)
            resp, notes = w.wait(3.0)
            check(resp is not None and status_of(resp) == 500,
                  f"in-dialog SUBSCRIBE with CSeq 1 again got {resp[:80] if resp else None!r}, expected 500")
            # ... and the dialog still works: a higher CSeq refreshes (200 + NOTIFY).
            w.subscribe("erin", event="dialog", accept="application/dialog-info+xml", cseq=5)
            resp, notes = w.wait(3.0, notifies=1)
            check(resp is not None and status_of(resp) == 200 and len(notes) == 1,
                  f"refresh after the 500 got {resp[:80] if resp else None!r} and {len(notes)} NOTIFY")
            check("version=\"1\"" in _body(notes[0]),
                  f"second dialog-info NOTIFY is not version 1:\n{_body(notes[0])}")

            # No refusal was followed by a NOTIFY.
            for w in refusals:
                late = recv_all(w.sock, 0.05)
                check(not late, f"{w.name}: message after the refusal: {late[0][1][:80]!r}" if late else "")
        finally:
            for w in watchers:
                w.close()

    # max_subscriptions_per_watcher: one more from the same watcher AOR gets 403; an
    # unsubscribe makes room again.
    with Parleyd(args.parleyd, work / "parleyd-limit",
                 extra_config="[presence]\nmax_subscriptions_per_watcher = 2\n") as p:
        udp = p.listener("udp")
        subs = [_Watcher(udp, "greedy") for _ in range(4)]
        try:
            for i, w in enumerate(subs[:3]):
                w.subscribe(f"target{i}")
                resp, notes = w.wait(3.0, notifies=0 if i == 2 else 1)
                want = 403 if i == 2 else 200
                check(resp is not None and status_of(resp) == want,
                      f"subscription {i + 1} of the watcher got {resp[:80] if resp else None!r}, "
                      f"expected {want}")
            subs[0].subscribe("target0", expires=0)
            resp, notes = subs[0].wait(3.0, notifies=1)
            check(resp is not None and status_of(resp) == 200, "unsubscribe did not get 200")
            subs[3].subscribe("target3")
            resp, notes = subs[3].wait(3.0, notifies=1)
            check(resp is not None and status_of(resp) == 200,
                  f"a subscription after an unsubscribe got {resp[:80] if resp else None!r}, expected 200")
        finally:
            for w in subs:
                w.close()


def sipp_subscribe_ipv6(work: Path, args) -> None:
    """A SUBSCRIBE that arrives on the [::1] UDP listener gets a 200 whose Contact names that
    listener, and its NOTIFY's Via sent-by and Contact name it too (RFC 3261 §18.1.1, §8.1.1.8):
    an IPv6-only watcher must be able to reach the dialog's remote target."""
    if not ipv6_loopback_available():
        print("no IPv6 loopback on this host: nothing to test")
        return
    with Parleyd(args.parleyd, work / "parleyd") as p:
        u6 = p.listener("udp", ipv6=True)
        w = _Watcher(u6, "v6")
        try:
            w.subscribe("ivan")
            resp, notes = w.wait(3.0, notifies=1)
            check(resp is not None and status_of(resp) == 200, f"SUBSCRIBE over ::1 got {resp!r:.80}")
            check(len(notes) == 1, "no NOTIFY over ::1")
            want = f"<sip:{u6.hostport}>"
            problems = []
            if header_of(resp, "Contact") != want:
                problems.append(f"200 Contact is {header_of(resp, 'Contact')!r}, expected {want!r}")
            via = header_of(notes[0], "Via") or ""
            if f"SIP/2.0/UDP {u6.hostport};" not in via:
                problems.append(f"NOTIFY Via is {via!r}, expected sent-by {u6.hostport}")
            if header_of(notes[0], "Contact") != want:
                problems.append(f"NOTIFY Contact is {header_of(notes[0], 'Contact')!r}, expected {want!r}")
            check(not problems, "; ".join(problems))
        finally:
            w.close()


def sipp_notify_481_ends(work: Path, args) -> None:
    """A watcher that answers a NOTIFY with 481 is dropped (RFC 6665 §4.2.2): the next PUBLISH
    sends it nothing (while a control watcher still gets its NOTIFY, and one that answered 500
    keeps its subscription), and its refresh gets 481."""
    with Parleyd(args.parleyd, work / "parleyd") as p:
        udp = p.listener("udp")
        user = "frank"
        gone, control, erring = _Watcher(udp, "gone"), _Watcher(udp, "control"), _Watcher(udp, "erring")
        try:
            for w in (gone, control, erring):
                w.subscribe(user)
                resp, notes = w.wait(3.0, notifies=1)
                check(resp is not None and status_of(resp) == 200 and len(notes) == 1,
                      f"{w.name}: SUBSCRIBE got {resp[:80] if resp else None!r} and {len(notes)} NOTIFY")

            etag = _publish(udp, user, _pidf(user, "open"))
            for w, code in ((gone, 481), (erring, 500), (control, 200)):
                _, notes = w.wait(3.0, final=False, notifies=1, notify_code=code)
                check(len(notes) == 1, f"{w.name}: no NOTIFY within 3 s after the PUBLISH")
                check("<basic>open</basic>" in _body(notes[0]), f"{w.name}: NOTIFY without open")

            _publish(udp, user, _pidf(user, "closed"), etag=etag)
            _, notes = control.wait(3.0, final=False, notifies=1)
            check(len(notes) == 1 and "<basic>closed</basic>" in _body(notes[0]),
                  "control watcher: no NOTIFY with closed after the second PUBLISH")
            _, notes = erring.wait(3.0, final=False, notifies=1)
            check(len(notes) == 1, "a NOTIFY answered 500 ended the subscription (only §4.2.2 codes may)")
            late = recv_all(gone.sock, 1.0)
            check(not late, f"the watcher that answered 481 still got {len(late)} message(s), first:\n"
                  f"{late[0][1][:300].decode(errors='replace')}" if late else "")

            gone.subscribe(user)  # in-dialog refresh (its To-tag is known)
            resp, notes = gone.wait(3.0)
            check(resp is not None and status_of(resp) == 481,
                  f"refresh of the dropped subscription got {resp[:80] if resp else None!r}, expected 481")
            check(not notes, "the dropped subscription got a NOTIFY on refresh")
        finally:
            for w in (gone, control, erring):
                w.close()


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
    "sipp_subscribe_neutral": sipp_subscribe_neutral,
    "sipp_publish_subscribe": sipp_publish_subscribe,
    "sipp_hook_state": sipp_hook_state,
    "sipp_dialog_blf": sipp_dialog_blf,
    "sipp_subscribe_expiry": sipp_subscribe_expiry,
    "sipp_subscribe_errors": sipp_subscribe_errors,
    "sipp_notify_481_ends": sipp_notify_481_ends,
    "sipp_subscribe_ipv6": sipp_subscribe_ipv6,
}


def main() -> int:
    return driver_main(__doc__, TESTS)


if __name__ == "__main__":
    sys.exit(main())
