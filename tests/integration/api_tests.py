#!/usr/bin/python3
"""The HTTP presence API of a real parleyd over real HTTP (docs/api.md).

Usage: api_tests.py --parleyd PATH [--sipp PATH] [--source-dir DIR] TEST
Each TEST is one ctest test (tests/integration/CMakeLists.txt); `--list` prints them.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parley_harness import DOMAIN, Parleyd, check, driver_main  # noqa: E402
from sip_tests import _Watcher, _body, _pidf, _publish  # noqa: E402
from ws_client import WsClient, WsClosed  # noqa: E402

TOKEN = "it-reader-0123456789abcdef"
PUBLISHER = "it-publisher-0123456789ab"
ADMIN = "it-admin-0123456789abcdef0"
HTTP_CONFIG = ("[http]\n"
               "enabled = true\n"
               'listen = ["127.0.0.1:0"]\n'
               "max_body_bytes = 1024\n"
               "[[http.tokens]]\n"
               'name = "board"\n'
               f'token = "{TOKEN}"\n'
               'scopes = ["read"]\n'
               "[[http.tokens]]\n"
               'name = "pbx"\n'
               f'token = "{PUBLISHER}"\n'
               'scopes = ["publish"]\n'
               "[[http.tokens]]\n"
               'name = "ops"\n'
               f'token = "{ADMIN}"\n'
               'scopes = ["admin"]\n')


def _http_port(node: Parleyd) -> int:
    line = node.wait_log(r"http\.listening local=127\.0\.0\.1:\d+")
    return int(re.search(r"local=127\.0\.0\.1:(\d+)", line).group(1))


def _get(port: int, path: str, token: str | None = TOKEN, method: str = "GET",
         body: bytes | None = None, content_type: str | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _json(data: bytes) -> dict:
    try:
        return json.loads(data)
    except ValueError:
        check(False, f"not JSON: {data[:200]!r}")
        return {}


def http_api_presence(work: Path, args) -> None:
    """SIP PUBLISH, then the API: the composed presence (note, devices, change time); the PBX's
    confirmed call makes it on_the_phone / dnd; batch reads; stats and metrics."""
    with Parleyd(args.parleyd, work / "parleyd", listen=["udp:127.0.0.1:0"], extra_config=HTTP_CONFIG) as p:
        port = _http_port(p)
        status, _, data = _get(port, f"/api/v1/presence/alice@{DOMAIN}")
        check(status == 200 and _json(data)["show"] == "offline", f"before any PUBLISH: {status} {data!r}")

        _publish(p.listener("udp"), "alice", _pidf("alice", "open").replace(
            "</status>", "</status><note>in the office</note>"))
        status, headers, data = _get(port, f"/api/v1/presence/sip%3Aalice%40{DOMAIN}")
        j = _json(data)
        check(status == 200 and headers.get("content-type") == "application/json", f"{status} {headers}")
        check(j["basic"] == "open" and j["show"] == "available" and j["note"] == "in the office",
              f"after PUBLISH: {j}")
        check(j["changed"] is not None and j["changed"].endswith("Z"), f"no change time: {j}")
        check(len(j["devices"]) == 1 and j["devices"][0]["basic"] == "open", f"devices: {j['devices']}")

        _publish(p.listener("udp"), "alice",
                 '<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" '
                 f'state="full" entity="sip:alice@{DOMAIN}"><dialog id="d1"><state>confirmed</state></dialog>'
                 "</dialog-info>", event="dialog")
        j = _json(_get(port, f"/api/v1/presence/alice@{DOMAIN}")[2])
        check(j["on_the_phone"] is True and j["show"] == "dnd" and "on-the-phone" in j["activities"],
              f"PBX hook state not in the API: {j}")

        status, _, data = _get(port, f"/api/v1/presence?addresses=alice@{DOMAIN},bob@{DOMAIN},x@elsewhere.org")
        batch = _json(data).get("presence", [])
        check(status == 200 and [b.get("show") for b in batch[:2]] == ["dnd", "offline"]
              and batch[2]["error"]["code"] == "not_served", f"batch: {status} {batch}")

        stats = _json(_get(port, "/api/v1/stats")[2])
        check(stats["storage"] == {"backend": "memory", "up": True, "latency_ms": 0.0}, f"stats: {stats}")
        status, headers, data = _get(port, "/metrics")
        check(status == 200 and headers["content-type"].startswith("text/plain")
              and b"\nparley_storage_up 1\n" in data, f"metrics: {status} {data[:300]!r}")


def http_api_errors(work: Path, args) -> None:
    """401 without or with a wrong token, 403 without the scope, 404, 405 + Allow, 413 for a body
    over max_body_bytes, 400 for a malformed request line and for a broken %-escape — each as JSON
    {"error": {"code", "message"}}; the server keeps serving after each."""
    with Parleyd(args.parleyd, work / "parleyd", listen=["udp:127.0.0.1:0"], extra_config=HTTP_CONFIG) as p:
        port = _http_port(p)
        path = f"/api/v1/presence/alice@{DOMAIN}"
        cases = [
            (_get(port, path, token=None), 401, "unauthorized"),
            (_get(port, path, token="wrong-token-0123456789abc"), 401, "unauthorized"),
            (_get(port, path, token=PUBLISHER), 403, "forbidden"),
            (_get(port, "/api/v1/nothing"), 404, "not_found"),
            (_get(port, "/api/v1/presence/alice%4"), 400, "bad_address"),
            (_get(port, path, method="POST"), 405, "method_not_allowed"),
            (_get(port, path, token=TOKEN, method="DELETE"), 403, "forbidden"),
            (_get(port, path, method="POST", body=b"x" * 2048), 413, "too_large"),
        ]
        for (status, headers, data), want, code in cases:
            j = _json(data)
            check(status == want and j.get("error", {}).get("code") == code,
                  f"expected {want} {code}, got {status} {data[:200]!r}")
            if want == 401:
                check(headers.get("www-authenticate", "").startswith("Bearer"), f"401 without WWW-Authenticate: {headers}")
            if want == 405:
                check(headers.get("allow") == "GET, PUT, DELETE, OPTIONS", f"405 Allow: {headers.get('allow')}")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GARBAGE\x01 / HTTP/1.1\r\n\r\n")
            reply = s.recv(4096)
        check(reply.startswith(b"HTTP/1.1 400"), f"malformed request got {reply[:100]!r}")
        check(TOKEN not in p.log_tail(200) and PUBLISHER not in p.log_tail(200), "a token was logged")
        check(_get(port, path)[0] == 200, "the server stopped serving after the errors")


def http_api_publish(work: Path, args) -> None:
    """PUT through the API (a PBX or app that cannot send SIP PUBLISH) reaches a SIP watcher's
    NOTIFY, composed with the user's SIP device; GET shows it; DELETE removes it and the watcher
    hears that too."""
    with Parleyd(args.parleyd, work / "parleyd", listen=["udp:127.0.0.1:0"], extra_config=HTTP_CONFIG) as p:
        port = _http_port(p)
        _publish(p.listener("udp"), "carol", _pidf("carol", "closed"))  # her phone, idle
        w = _Watcher(p.listener("udp"), "dave")
        w.subscribe("carol")
        resp, first = w.wait(3.0, notifies=1)
        check(resp is not None and len(first) == 1, f"SUBSCRIBE: {resp!r} / {len(first)} NOTIFY")

        body = json.dumps({"basic": "open", "note": "Presenting", "activities": ["presentation"]}).encode()
        status, _, data = _get(port, f"/api/v1/presence/carol@{DOMAIN}", token=PUBLISHER, method="PUT",
                               body=body, content_type="application/json")
        check(status == 204, f"PUT got {status} {data!r}")
        _, notes = w.wait(3.0, final=False, notifies=1)
        check(len(notes) == 1, "no NOTIFY after the API PUT")
        doc = _body(notes[0])
        check("Presenting" in doc and "presentation" in doc and "<basic>open</basic>" in doc,
              f"the NOTIFY lacks the API's device:\n{doc}")
        j = _json(_get(port, f"/api/v1/presence/carol@{DOMAIN}")[2])
        check(j["basic"] == "open" and j["note"] == "Presenting" and "presentation" in j["activities"]
              and len(j["devices"]) == 2, f"GET after PUT: {j}")

        status, _, _ = _get(port, f"/api/v1/presence/carol@{DOMAIN}", token=PUBLISHER, method="DELETE")
        check(status == 204, f"DELETE got {status}")
        _, notes = w.wait(3.0, final=False, notifies=1)
        check(len(notes) == 1 and "Presenting" not in _body(notes[0]), "no NOTIFY without the API device")
        j = _json(_get(port, f"/api/v1/presence/carol@{DOMAIN}")[2])
        check(j["basic"] == "closed" and len(j["devices"]) == 1, f"GET after DELETE: {j}")
        w.close()


def _sse_events(resp, count: int, timeout: float = 5.0) -> list[tuple[str, dict]]:
    """Reads `count` events (event name, JSON data) from a text/event-stream response."""
    resp.fp.raw._sock.settimeout(timeout)
    events, name = [], None
    while len(events) < count:
        line = resp.fp.readline()
        check(line != b"", "the event stream ended")
        line = line.rstrip(b"\n").decode()
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: "):])))
    return events


def http_api_stream(work: Path, args) -> None:
    """The live stream: a WebSocket client watching alice sees each SIP PUBLISH within 100 ms;
    the server-sent-events fallback sees an API PUT; ?access_token= opens a stream and a wrong
    token is 401; the watcher list (admin scope) shows a SIP watcher; /metrics counts it all."""
    with Parleyd(args.parleyd, work / "parleyd", listen=["udp:127.0.0.1:0"], extra_config=HTTP_CONFIG) as p:
        port = _http_port(p)
        udp = p.listener("udp")
        ws = WsClient(port, "/api/v1/stream", headers={"Authorization": f"Bearer {TOKEN}"})
        check(ws.status == 101, f"WebSocket handshake: {ws.status} {ws.headers}")
        hello = ws.recv_json()
        check(hello.get("type") == "hello" and hello.get("node") == "parley-it", f"hello: {hello}")
        ws.send_json({"op": "watch", "addresses": [f"alice@{DOMAIN}", "nobody@elsewhere.example"]})
        snaps = [ws.recv_json(), ws.recv_json()]
        by_address = {m["presence"]["address"]: m["presence"] for m in snaps}
        check(by_address[f"sip:alice@{DOMAIN}"]["show"] == "offline", f"snapshot: {snaps}")
        check(by_address["nobody@elsewhere.example"]["error"]["code"] == "not_served", f"snapshot: {snaps}")

        # SIP PUBLISH -> WebSocket: the time from sending the PUBLISH to the message.
        delays, etag = [], None
        for i, note in enumerate(("in the office", "at lunch", "back")):
            start = time.monotonic()
            etag = _publish(udp, "alice", _pidf("alice", "open").replace(
                "</status>", f"</status><note>{note}</note>"), etag=etag)
            got = ws.wait_for(lambda m: m.get("type") == "presence" and m["presence"].get("note") == note, 3)
            delays.append((time.monotonic() - start) * 1000)
            check(got["presence"]["basic"] == "open" and got["presence"]["show"] == "available", f"{i}: {got}")
        print(f"SIP PUBLISH -> WebSocket delays (ms): {', '.join(f'{d:.1f}' for d in delays)}")
        check(sorted(delays)[1] <= 100 and max(delays) <= 500, f"too slow: {delays} ms")

        # Bad input on the socket: an error message, and the stream goes on.
        ws.send_text("{not json")
        check(ws.recv_json().get("type") == "error", "no error for a malformed message")

        # Server-sent events, then an API PUT reaching both clients.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", f"/api/v1/stream?addresses=alice@{DOMAIN},bob@{DOMAIN}",
                      headers={"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream"})
        resp = conn.getresponse()
        check(resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream",
              f"SSE: {resp.status} {resp.getheaders()}")
        first = _sse_events(resp, 3)
        check(first[0][0] == "hello" and {e[1]["address"] for e in first[1:]} == {f"sip:alice@{DOMAIN}", f"sip:bob@{DOMAIN}"},
              f"SSE start: {first}")
        body = json.dumps({"basic": "open", "activities": ["on-the-phone"], "note": "call"}).encode()
        status, _, _ = _get(port, f"/api/v1/presence/bob@{DOMAIN}", token=PUBLISHER, method="PUT", body=body,
                            content_type="application/json")
        check(status == 204, f"PUT: {status}")
        (name, data), = _sse_events(resp, 1)
        check(name == "presence" and data["address"] == f"sip:bob@{DOMAIN}" and data["on_the_phone"],
              f"SSE change: {name} {data}")
        resp.close()  # the response holds the socket: closing the connection alone keeps it open
        conn.close()

        # The token as a query parameter (browsers cannot set WebSocket headers).
        q = WsClient(port, f"/api/v1/stream?access_token={TOKEN}")
        check(q.status == 101, f"?access_token=: {q.status}")
        q.close()
        bad = WsClient(port, "/api/v1/stream?access_token=wrong-token-0000000000")
        check(bad.status == 401, f"a wrong token: {bad.status}")
        bad.sock.close()

        # The watcher list.
        w = _Watcher(udp, "carol")
        w.subscribe("alice")
        resp_, notes = w.wait(3.0, notifies=1)
        check(resp_ is not None and notes, "SUBSCRIBE to alice")
        status, _, _ = _get(port, f"/api/v1/watchers/alice@{DOMAIN}")
        check(status == 403, f"the read scope may not list watchers: {status}")
        status, _, data = _get(port, f"/api/v1/watchers/alice@{DOMAIN}", token=ADMIN)
        j = _json(data)
        check(status == 200 and [x["watcher"] for x in j["watchers"]] == [f"sip:carol@{DOMAIN}"]
              and j["watchers"][0]["event"] == "presence" and j["watchers"][0]["expires"], f"watchers: {j}")
        w.close()

        time.sleep(1.0)  # rates are taken over at least a second
        st = _json(_get(port, "/api/v1/stats")[2])
        check(st["presence"]["publications"]["changed"] == 4 and st["sip"]["requests"] >= 4
              and st["stream"]["messages"] >= 10 and st["rates_per_s"]["window_s"] >= 1.0
              and st["rates_per_s"]["publications"] > 0, f"stats: {st}")
        mem = st["memory"]
        check(mem["rss_anon_bytes"] > 1_000_000 and mem["rss_file_bytes"] > 0, f"memory: {mem}")
        if mem["allocator"] == "jemalloc":  # a Release parleyd; sanitized builds keep libc's
            check(0 < mem["allocated_bytes"] <= mem["active_bytes"] <= mem["allocator_resident_bytes"]
                  and mem["allocator_metadata_bytes"] > 0, f"allocator memory: {mem}")
            # the PUBLISHes' transactions linger 32 s, in their own arena
            check(0 < mem["transactions_bytes"] < mem["allocated_bytes"], f"transaction memory: {mem}")
        else:
            check(mem["allocator"] == "libc" and "allocated_bytes" not in mem, f"memory: {mem}")

        # The closed clients are gone once the server has read their end.
        deadline = time.monotonic() + 3
        while True:
            text = _get(port, "/metrics")[2].decode()
            if "parley_http_stream_clients 1\n" in text or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for needle in ('parley_sip_responses_total{method="PUBLISH",code="200"} 3',
                       'parley_sip_responses_total{method="SUBSCRIBE",code="200"} 1',
                       'parley_sip_client_transactions_total{method="NOTIFY",code="200"}',
                       'parley_publications_total{kind="changed"} 4',
                       "parley_http_stream_clients 1", 'parley_notify_queue{state="in_flight"}',
                       'parley_memory_bytes{kind="rss_anon"} '):
            check(needle in text, f"/metrics lacks {needle}:\n{text}")
        check(('parley_memory_bytes{kind="allocated"} ' in text) == (mem["allocator"] == "jemalloc")
              and ('parley_memory_bytes{kind="transactions"} ' in text) == (mem["allocator"] == "jemalloc"),
              f"/metrics and /api/v1/stats disagree on the allocator's figures:\n{text}")
        ws.close()


TESTS = {f.__name__: f for f in (http_api_presence, http_api_errors, http_api_publish, http_api_stream)}

if __name__ == "__main__":
    sys.exit(driver_main(__doc__, TESTS))
