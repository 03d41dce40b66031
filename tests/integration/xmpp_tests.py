#!/usr/bin/python3
"""XMPP integration tests: a real Prosody, real XMPP clients (slixmpp) and, later, parleyd.

Usage: xmpp_tests.py --parleyd PATH [--sipp PATH] [--source-dir DIR] TEST
Each TEST is one ctest test (tests/integration/CMakeLists.txt); `--list` prints them.
Runs under /usr/bin/python3 (Debian's python3-slixmpp). Exit status 0 = pass.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parley_harness import (  # noqa: E402
    DOMAIN, Parleyd, TestFailure, check, driver_main, header_of, recv_one, request, run_sipp, status_of,
    udp_socket, via_of)
from sip_tests import _Watcher, _body, _publish  # noqa: E402
from xmpp_harness import (  # noqa: E402
    NS_COMPONENT, FakeComponent, Prosody, XmppClient, find_child, localname, log_slixmpp_to,
    namespace, xml_text)

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"


def _disco_reply(iq) -> str:
    """The fake component answers disco#info like a gateway would (XEP-0030)."""
    return (f"<iq type='result' id='{iq.get('id')}' from='{iq.get('to')}' to='{iq.get('from')}'>"
            f"<query xmlns='{NS_DISCO_INFO}'><identity category='gateway' type='sip' name='fake'/>"
            f"</query></iq>")


def xmpp_harness_selftest(work: Path, args) -> None:
    """The harness itself, without parleyd: Prosody starts on loopback ports, accounts can be
    registered, two clients subscribe (no auto-approval), see presence and chat; a raw
    XEP-0114 component is accepted with the right secret and refused with a wrong one, routes
    an IQ both ways and messages both ways; after a restart on the same ports the data is
    still there and everyone reconnects."""
    log_slixmpp_to(work / "slixmpp.log")
    started = time.monotonic()
    with Prosody(work / "prosody") as xmpp:
        diag = xmpp.log_tail
        alice_jid, bob_jid = xmpp.register("alice", "alice-pw"), xmpp.register("bob", "bob-pw")
        check(xmpp.c2s_port != xmpp.component_port, "c2s and component got the same port")
        with XmppClient(alice_jid + "/desk", "alice-pw", xmpp.c2s_port, diagnostics=diag) as alice, \
                XmppClient(bob_jid + "/phone", "bob-pw", xmpp.c2s_port, diagnostics=diag) as bob:
            alice.connect()
            bob.connect()
            check(alice.jid == alice_jid + "/desk", f"alice is bound as {alice.jid}")
            pong = alice.send_iq(xmpp.domain, "<ping xmlns='urn:xmpp:ping'/>")
            check(pong.type == "result", f"XEP-0199 ping to {xmpp.domain} got {pong.xml} (mod_ping?)")

            # A wrong password fails within the time limit, with a readable reason.
            with XmppClient(alice_jid + "/bad", "wrong", xmpp.c2s_port) as intruder:
                try:
                    intruder.connect(timeout=5)
                except TestFailure as e:
                    check("auth" in str(e), f"wrong password failed without saying why: {e}")
                else:
                    raise TestFailure("a wrong password got a session")

            # Subscription: the request is recorded, not answered by slixmpp.
            alice.subscribe(bob_jid)
            bob.wait_subscription("subscribe", alice_jid)
            time.sleep(0.3)
            check(not [s for s in alice.presences() if s.type == "subscribed"],
                  "bob's client approved alice's request by itself (auto_authorize must be off)")
            bob.approve(alice_jid)
            alice.wait_subscription("subscribed", bob_jid)
            mark = alice.mark()
            bob.send_presence(show="away", status="in a meeting", priority=5)
            p = alice.wait_presence(lambda s: s.from_bare == bob_jid and s.show == "away", since=mark,
                                    what="bob's away presence")
            check(p.status == "in a meeting" and p.priority == 5 and p.from_ == bob.jid,
                  f"bob's presence arrived as {p.xml}")
            check(not [s for s in alice.presences() if s.type == "subscribe"],
                  "bob's client subscribed back by itself (auto_subscribe must be off)")
            alice_roster, bob_roster = alice.roster(), bob.roster()
            check(alice_roster.get(bob_jid) == "to", f"alice's roster: {alice_roster}")
            check(bob_roster.get(alice_jid) == "from", f"bob's roster: {bob_roster}")

            # Chat both ways, with thread and id kept.
            mid = alice.send_message(bob_jid, "hello bob", thread="t-1", id="m-1")
            m = bob.wait_message(lambda s: s.body == "hello bob")
            check(mid == "m-1" and m.id == "m-1" and m.thread == "t-1" and m.type == "chat"
                  and m.from_ == alice.jid, f"bob got {m.xml}")
            bob.send_message(alice.jid, "hello alice")
            m = alice.wait_message(lambda s: s.body == "hello alice")
            check(m.from_ == bob.jid and m.type == "chat", f"alice got {m.xml}")

            # The component port: a wrong secret is refused, the right one accepted.
            with FakeComponent(xmpp.component_port, xmpp.component_domain, "not-the-secret") as bad:
                error = bad.try_connect()
                check(error == "not-authorized",
                      f"a wrong component secret got {error!r}, expected not-authorized\n" + diag())
            comp = FakeComponent(xmpp.component_port, xmpp.component_domain, xmpp.secret,
                                 iq_handler=_disco_reply)
            with comp:
                comp.connect()
                _component_routing(alice, comp, xmpp.component_domain)

                # Restart: same ports, accounts and rosters kept; everyone reconnects.
                ports = (xmpp.c2s_port, xmpp.component_port)
                xmpp.restart()
                check((xmpp.c2s_port, xmpp.component_port) == ports,
                      f"restart moved the ports from {ports} to {(xmpp.c2s_port, xmpp.component_port)}")
                alice.wait_disconnected()
                bob.wait_disconnected()
            with FakeComponent(xmpp.component_port, xmpp.component_domain, xmpp.secret,
                               iq_handler=_disco_reply) as comp:
                comp.connect()
                alice.connect()
                bob.connect()
                check(alice.roster().get(bob_jid) == "to", "alice's roster was lost by the restart")
                mark = bob.mark()
                alice.send_message(bob_jid, "after restart")
                bob.wait_message(lambda s: s.body == "after restart", since=mark)
                _component_routing(alice, comp, xmpp.component_domain)
            alice.disconnect()
            bob.disconnect()
    elapsed = time.monotonic() - started
    check(elapsed < 30, f"the self-test took {elapsed:.1f} s (limit 30 s)")


def _component_routing(alice: XmppClient, comp: FakeComponent, domain: str) -> None:
    """IQ client -> component -> client; message client -> component and component -> client."""
    mark = comp.mark()
    reply = alice.send_iq(domain, f"<query xmlns='{NS_DISCO_INFO}'/>")
    check(reply.type == "result" and find_child(reply.element, "identity") is not None
          and find_child(reply.element, "identity").get("category") == "gateway",
          f"alice's disco#info to {domain} got {reply.xml}")
    iq = comp.wait_stanza(lambda e: localname(e.tag) == "iq", since=mark, what="alice's iq")
    check(iq.get("from") == alice.jid and iq.get("to") == domain, f"the component got {xml_text(iq)}")
    # Prosody strips xmlns on stanzas to components: they inherit jabber:component:accept.
    check(namespace(iq.tag) == NS_COMPONENT, f"iq arrived in namespace {namespace(iq.tag)!r}")

    alice.send_message(f"carol@{domain}", "to sip", id="c-1")
    msg = comp.wait_stanza(lambda e: localname(e.tag) == "message" and e.get("id") == "c-1", since=mark,
                           what="alice's message to carol")
    body = find_child(msg, "body")
    check(body is not None and body.text == "to sip" and msg.get("to") == f"carol@{domain}",
          f"the component got {xml_text(msg)}")

    amark = alice.mark()
    comp.send(f"<message from='carol@{domain}/sip' to='{alice.jid}' type='chat' id='c-2'>"
              f"<body>from sip</body></message>")
    m = alice.wait_message(lambda s: s.id == "c-2", since=amark, what="carol's message")
    check(m.body == "from sip" and m.from_ == f"carol@{domain}/sip", f"alice got {m.xml}")



# ---- parleyd attached to Prosody ---------------------------------------------------------------

COMPONENT = "sip.localhost"
SECRET = "s3cret"


def _xmpp_config(component_port: int, secret: str = SECRET, extra: str = "") -> str:
    return ("[xmpp]\n"
            "enabled = true\n"
            f'component_domain = "{COMPONENT}"\n'
            f'server = "127.0.0.1:{component_port}"\n'
            f'secret = "{secret}"\n'
            'domains = ["localhost"]\n'
            "reconnect_min_ms = 100\n"
            "reconnect_max_ms = 1000\n" + extra)


@contextlib.contextmanager
def _world(work: Path, args, users=("bob",), xmpp_extra: str = ""):
    """Prosody with the component configured, the XMPP `users` registered (password
    <user>-pw), and parleyd attached to it (waits for xmpp.link_up)."""
    log_slixmpp_to(work / "slixmpp.log")
    with Prosody(work / "prosody", component_domain=COMPONENT, secret=SECRET) as xmpp:
        for u in users:
            xmpp.register(u, f"{u}-pw")
        with Parleyd(args.parleyd, work / "parleyd",
                     extra_config=_xmpp_config(xmpp.component_port, extra=xmpp_extra)) as p:
            p.wait_log(r"xmpp\.link_up", timeout=10)
            yield xmpp, p


def _client(xmpp: Prosody, user: str, resource: str = "it") -> XmppClient:
    return XmppClient(f"{user}@{xmpp.domain}/{resource}", f"{user}-pw", xmpp.c2s_port,
                      diagnostics=xmpp.log_tail)


def _subscribe_to_sip_user(client: XmppClient, jid: str) -> None:
    """Connects `client`, subscribes it to a SIP user's JID and waits for subscribed and the
    first presence (unavailable: nothing is published yet)."""
    client.connect()
    mark = client.mark()
    client.subscribe(jid)
    client.wait_subscription("subscribed", jid, timeout=5, since=mark)
    client.wait_presence(lambda s: s.from_bare == jid and s.type == "unavailable", 5, since=mark)


def _pidf_note(user: str, basic: str, note: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:{user}@{DOMAIN}">'
            f'<tuple id="t1"><status><basic>{basic}</basic></status><note>{note}</note></tuple></presence>')


def _dialog_info(user: str, state: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" '
            f'entity="sip:{user}@{DOMAIN}"><dialog id="pbx-1" call-id="pbx-1@pbx" local-tag="l1" '
            f'remote-tag="r1" direction="initiator"><state>{state}</state></dialog></dialog-info>')


def xmpp_component_link(work: Path, args) -> None:
    """parleyd attaches to a real Prosody as an XEP-0114 component and answers IQs itself:
    disco#info on the component (gateway/simple + features) and on a SIP user (account),
    XEP-0199 ping, XEP-0092 version, service-unavailable for anything else; a wrong secret is
    a clear start-up error (exit 1 within seconds), not a retry storm."""
    with _world(work, args) as (xmpp, p):
        with _client(xmpp, "bob") as bob:
            bob.connect()
            info = bob.send_iq(COMPONENT, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
            check(info.type == "result", f"disco#info on the component: {info.xml}")
            check("category=\"gateway\"" in info.xml.replace("'", '"') and "simple" in info.xml,
                  f"no gateway/simple identity: {info.xml}")
            check("urn:xmpp:ping" in info.xml and "jid\\20escaping" in info.xml,
                  f"features missing: {info.xml}")
            user = bob.send_iq(f"alice@{COMPONENT}", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
            check(user.type == "result" and "account" in user.xml, f"disco#info on a SIP user: {user.xml}")
            pong = bob.send_iq(f"alice@{COMPONENT}", "<ping xmlns='urn:xmpp:ping'/>")
            check(pong.type == "result", f"ping: {pong.xml}")
            version = bob.send_iq(COMPONENT, "<query xmlns='jabber:iq:version'/>")
            check(version.type == "result" and "Parley" in version.xml, f"version: {version.xml}")
            other = bob.send_iq(f"alice@{COMPONENT}", "<vCard xmlns='vcard-temp'/>")
            check(other.type == "error" and other.error_condition == "service-unavailable",
                  f"unknown IQ: {other.xml}")
    # A wrong secret: parleyd says why and exits 1 at once.
    with Prosody(work / "prosody2", component_domain=COMPONENT, secret=SECRET) as xmpp:
        bad = Parleyd(args.parleyd, work / "parleyd-bad",
                      extra_config=_xmpp_config(xmpp.component_port, secret="wrong-secret"))
        bad.start()
        try:
            rc = bad.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bad.kill()
            raise TestFailure("parleyd kept running with a wrong component secret\n" + bad.log_tail())
        check(rc == 1, f"wrong secret: exit {rc}, expected 1\n" + bad.log_tail())
        text = "\n".join(bad.lines())
        check("refused the component secret" in text, "no clear error for a wrong secret\n" + bad.log_tail())
        check("wrong-secret" not in text, "the secret was logged")
        check(text.count("xmpp.connecting") <= 1, "a wrong secret was retried\n" + bad.log_tail())


def xmpp_sees_sip_presence(work: Path, args) -> None:
    """An XMPP user adds alice@sip.localhost: subscribed at once, then her presence; her SIP
    PUBLISH shows as available with her note; a PBX's confirmed dialog shows as dnd "On the
    phone" and clears when the call ends; removing the publication shows unavailable; a probe
    is answered; unsubscribing stops the updates."""
    with _world(work, args) as (xmpp, p):
        udp = p.listener("udp")
        alice = f"alice@{COMPONENT}"
        with _client(xmpp, "bob") as bob:
            _subscribe_to_sip_user(bob, alice)

            mark = bob.mark()
            etag = _publish(udp, "alice", _pidf_note("alice", "open", "At my desk"))
            got = bob.wait_presence(lambda s: s.from_bare == alice and s.type == "available", 5, since=mark)
            check(got.status == "At my desk" and not got.show, f"published presence: {got.xml}")

            mark = bob.mark()
            dlg = _publish(udp, "alice", _dialog_info("alice", "confirmed"), event="dialog")
            got = bob.wait_presence(lambda s: s.from_bare == alice and s.show == "dnd", 5, since=mark)
            check(got.status == "On the phone" and got.type == "available", f"on the phone: {got.xml}")

            mark = bob.mark()
            _publish(udp, "alice", _dialog_info("alice", "terminated"), event="dialog", etag=dlg)
            got = bob.wait_presence(lambda s: s.from_bare == alice and s.show != "dnd", 5, since=mark)
            check(got.type == "available" and got.status == "At my desk", f"after the call: {got.xml}")

            mark = bob.mark()
            _publish(udp, "alice", None, etag=etag, expires=0)
            got = bob.wait_presence(lambda s: s.from_bare == alice, 5, since=mark)
            check(got.type == "unavailable", f"publication removed: {got.xml}")

            # A probe (what Prosody sends when bob comes online) is answered.
            mark = bob.mark()
            bob.send_presence(to=alice, ptype="probe")
            bob.wait_presence(lambda s: s.from_bare == alice and s.type == "unavailable", 5, since=mark)

            # Unsubscribed: alice's changes no longer reach bob.
            bob.unsubscribe(alice)
            time.sleep(0.3)
            mark = bob.mark()
            _publish(udp, "alice", _pidf_note("alice", "open", "back"))
            time.sleep(1.0)
            late = [s for s in bob.presences()[mark:] if s.from_bare == alice and s.type == "available"]
            check(not late, f"presence after unsubscribe: {[s.xml for s in late]}")


def sip_watches_xmpp_presence(work: Path, args) -> None:
    """A SIP watcher subscribes to sip:bob@localhost: 200 and NOTIFY pending at once; bob gets
    a subscription request from carol@sip.localhost and approves: NOTIFY active; bob's away,
    dnd and offline reach the watcher as PIDF NOTIFYs. A second watcher whom bob denies gets
    terminated;reason=rejected. A refresh sends no XMPP unsubscribe."""
    with _world(work, args) as (xmpp, p):
        udp = p.listener("udp")
        carol_jid = f"carol@{COMPONENT}"
        with _client(xmpp, "bob") as bob:
            bob.connect()
            mark = bob.mark()
            w = _Watcher(udp, "carol")
            try:
                w.subscribe("bob", ruri="sip:bob@localhost", expires=600)
                resp, notes = w.wait(5, notifies=1)
                check(resp is not None and status_of(resp) == 200, f"SUBSCRIBE to an XMPP user: {resp!r}")
                state = header_of(notes[0], "Subscription-State") or ""
                check(state.startswith("pending"), f"first NOTIFY: {state}")
                check(_body(notes[0]) == "", "a pending NOTIFY carries no body")

                bob.wait_subscription("subscribe", carol_jid, timeout=5, since=mark)
                bob.approve(carol_jid)
                _, notes = w.wait(5, final=False, notifies=1)
                check(notes and (header_of(notes[-1], "Subscription-State") or "").startswith("active"),
                      f"after approval: {[header_of(n, 'Subscription-State') for n in notes]}")

                def next_pidf(pred, what):
                    deadline = time.monotonic() + 6
                    while time.monotonic() < deadline:
                        _, ns = w.wait(0.5, final=False, notifies=1)
                        for n in ns:
                            if pred(_body(n)):
                                return _body(n)
                    raise TestFailure(f"no NOTIFY with {what}\n" + p.log_tail())

                bob.send_presence(show="away", status="lunch")
                body = next_pidf(lambda b: "away" in b and "lunch" in b, "bob away")
                check("<basic>open</basic>" in body, f"away is still open: {body}")
                bob.send_presence(show="dnd", status="busy busy")
                next_pidf(lambda b: "dnd" in b and "busy busy" in b, "bob dnd")

                # A refresh: no XMPP unsubscribe, the dialog goes on.
                mark = bob.mark()
                w.subscribe("bob", ruri="sip:bob@localhost", expires=600)
                resp, _ = w.wait(5, notifies=1)
                check(resp is not None and status_of(resp) == 200, f"refresh: {resp!r}")
                time.sleep(0.3)
                unsub = [s for s in bob.stanzas()[mark:] if s.type in ("unsubscribe", "unsubscribed")]
                check(not unsub, f"a SIP refresh sent {[s.xml for s in unsub]}")

                bob.disconnect()
                next_pidf(lambda b: "<basic>closed</basic>" in b and "open" not in b, "bob offline")
            finally:
                w.close()

            # Denied: terminated;reason=rejected.
            bob.connect()
            mark = bob.mark()
            dave = _Watcher(udp, "dave")
            try:
                dave.subscribe("bob", ruri="sip:bob@localhost", expires=600)
                resp, notes = dave.wait(5, notifies=1)
                check(resp is not None and status_of(resp) == 200, f"dave's SUBSCRIBE: {resp!r}")
                bob.wait_subscription("subscribe", f"dave@{COMPONENT}", timeout=5, since=mark)
                bob.deny(f"dave@{COMPONENT}")
                _, notes = dave.wait(5, final=False, notifies=1)
                state = header_of(notes[-1], "Subscription-State") if notes else None
                check(state is not None and state.startswith("terminated") and "rejected" in state,
                      f"after deny: {state}\n" + p.log_tail())
            finally:
                dave.close()


def _register(udp, user: str) -> socket.socket:
    """A phone: REGISTERs `user` from its own UDP socket and returns the socket."""
    s = udp_socket(udp)
    via = via_of(s)
    s.send(request("REGISTER", f"sip:{DOMAIN}", via, f"z9hG4bK-reg-{random.getrandbits(40):010x}",
                   extra=[f"Contact: <sip:{user}@{via}>", "Expires: 600"])
           .replace(b"From: <sip:harness@", f"From: <sip:{user}@".encode())
           .replace(f"To: <sip:{DOMAIN}>".encode(), f"To: <sip:{user}@{DOMAIN}>".encode()))
    reply = recv_one(s, 3.0) or b""
    check(status_of(reply) == 200, f"REGISTER {user}: {reply[:300]!r}")
    return s


def xmpp_sip_chat(work: Path, args) -> None:
    """Chat both ways (RFC 7572). XMPP -> SIP: bob's message reaches alice's registered phone
    as a MESSAGE from sip:bob@localhost (;gr=resource) with the body; a message to a SIP user
    with no registration comes back as recipient-unavailable. SIP -> XMPP: a sipp MESSAGE to
    sip:bob@localhost gets 202 and bob gets the text from sender@sip.localhost; a MESSAGE to an
    unknown XMPP user gets a SIP error; a spoofed sender gets 403."""
    with _world(work, args) as (xmpp, p):
        udp = p.listener("udp")
        with _client(xmpp, "bob", "laptop") as bob:
            bob.connect()
            phone = _register(udp, "alice")
            try:
                bob.send_message(f"alice@{COMPONENT}", "hi alice, from XMPP", id="m1")
                data = recv_one(phone, 5.0) or b""
                check(data.startswith(b"MESSAGE "), f"alice's phone got {data[:300]!r}\n" + p.log_tail())
                check(b"hi alice, from XMPP" in data, f"body lost: {data!r}")
                sender = header_of(data, "From") or ""
                check("sip:bob@localhost" in sender and "gr=laptop" in sender, f"From: {sender}")
                head = data.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
                keep = [l for l in head[1:] if l.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")]
                phone.send(("\r\n".join(["SIP/2.0 200 OK"] + keep + ["Content-Length: 0"]) + "\r\n\r\n").encode())
            finally:
                phone.close()

            mark = bob.mark()
            bob.send_message(f"nobody@{COMPONENT}", "anyone?", id="m2")
            err = bob.wait_message(lambda s: s.type == "error" and s.id == "m2", 5, since=mark)
            check(err.error_condition == "recipient-unavailable", f"offline SIP user: {err.xml}")

            mark = bob.mark()
            run_sipp(args.sipp, "message_to_xmpp.xml", udp, work,
                     keys={"user": "bob", "xmpp_domain": "localhost", "sender": "sender"})
            got = bob.wait_message(lambda s: s.body and "hello XMPP from sipp" in s.body, 5, since=mark)
            check(got.from_bare == f"sender@{COMPONENT}" and got.type == "chat", f"message from SIP: {got.xml}")
            check(got.subject == "from sipp", f"Subject not mapped: {got.xml}")

            with udp_socket(udp) as s:
                s.send(request("MESSAGE", "sip:nobody@localhost", via_of(s), "z9hG4bK-unknown-xmpp",
                               body=b"hello?", extra=["Content-Type: text/plain"]))
                reply = recv_one(s, 3.0) or b""
                check(status_of(reply) is not None and status_of(reply) >= 400,
                      f"unknown XMPP user: {reply[:200]!r}\n" + p.log_tail())
                spoof = request("MESSAGE", "sip:bob@localhost", via_of(s), "z9hG4bK-spoof",
                                body=b"I am bob", extra=["Content-Type: text/plain"])
                s.send(spoof.replace(f"From: <sip:harness@{DOMAIN}>".encode(), b"From: <sip:eve@localhost>"))
                reply = recv_one(s, 3.0) or b""
                check(status_of(reply) == 403, f"spoofed sender: {reply[:200]!r}")


def xmpp_prosody_restart(work: Path, args) -> None:
    """Prosody restarted mid-test: parleyd reconnects by itself, and presence flows again
    (alice's new status reaches bob), without restarting parleyd."""
    with _world(work, args) as (xmpp, p):
        udp = p.listener("udp")
        alice = f"alice@{COMPONENT}"
        with _client(xmpp, "bob") as bob:
            bob.connect()
            mark = bob.mark()
            bob.subscribe(alice)
            bob.wait_subscription("subscribed", alice, timeout=5, since=mark)
            etag = _publish(udp, "alice", _pidf_note("alice", "open", "before"))
            bob.wait_presence(lambda s: s.from_bare == alice and s.status == "before", 5, since=mark)

            since = len(p.lines())
            xmpp.restart()
            p.wait_log(r"xmpp\.link_down", timeout=10, since=since)
            p.wait_log(r"xmpp\.link_up", timeout=15, since=since)
            bob.wait_disconnected(timeout=10)
            mark = bob.mark()
            bob.connect()
            # On reconnect parleyd re-announced alice; bob's server probes her when bob logs in.
            bob.wait_presence(lambda s: s.from_bare == alice and s.status == "before", 10, since=mark)
            mark = bob.mark()
            _publish(udp, "alice", _pidf_note("alice", "open", "after"), etag=etag)
            bob.wait_presence(lambda s: s.from_bare == alice and s.status == "after", 5, since=mark)
            check(p.running(), "parleyd died across the Prosody restart")


def xmpp_api_presence(work: Path, args) -> None:
    """The HTTP API and XMPP: a PUT for alice reaches her XMPP subscriber bob as dnd "On the
    phone" and a DELETE as unavailable; bob's own presence (known once a SIP user watches him)
    reads as xmpp:bob@localhost, and a WebSocket client watching that address sees him change;
    the watcher list (admin) names bob as alice's XMPP subscriber."""
    import json
    import urllib.request
    from api_tests import ADMIN, HTTP_CONFIG, PUBLISHER, TOKEN, _http_port
    from ws_client import WsClient

    def call(port: int, path: str, token: str, method: str = "GET", body: dict | None = None):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            data = r.read()
            return r.status, json.loads(data) if data else None

    with _world(work, args, xmpp_extra=HTTP_CONFIG) as (xmpp, p):
        port = _http_port(p)
        alice = f"alice@{COMPONENT}"
        with _client(xmpp, "bob") as bob:
            _subscribe_to_sip_user(bob, alice)

            mark = bob.mark()
            status, _ = call(port, f"/api/v1/presence/{alice}", PUBLISHER, "PUT",
                             {"basic": "open", "activities": ["on-the-phone"]})
            check(status == 204, f"PUT: {status}")
            got = bob.wait_presence(lambda s: s.from_bare == alice and s.type == "available", 5, since=mark)
            check(got.show == "dnd", f"the API's on-the-phone at the XMPP subscriber: {got.xml}")
            mark = bob.mark()
            status, _ = call(port, f"/api/v1/presence/{alice}", PUBLISHER, "DELETE")
            check(status == 204, f"DELETE: {status}")
            got = bob.wait_presence(lambda s: s.from_bare == alice, 5, since=mark)
            check(got.type == "unavailable", f"after DELETE: {got.xml}")

            _, j = call(port, f"/api/v1/watchers/{alice}", ADMIN)
            check({"watcher": "xmpp:bob@localhost", "event": "presence", "state": "subscribed", "expires": None}
                  in j["watchers"], f"watchers of alice: {j}")

            # bob's side: carol (SIP) watches him, he approves, then his presence is known.
            ws = WsClient(port, "/api/v1/stream", headers={"Authorization": f"Bearer {TOKEN}"})
            ws.recv_json()  # hello
            ws.send_json({"op": "watch", "addresses": ["xmpp:bob@localhost"]})
            snap = ws.recv_json()["presence"]
            check(snap["address"] == "xmpp:bob@localhost" and snap["show"] == "offline", f"snapshot: {snap}")
            w = _Watcher(p.listener("udp"), "carol")
            try:
                mark = bob.mark()
                w.subscribe("bob", ruri="sip:bob@localhost", expires=600)
                bob.wait_subscription("subscribe", f"carol@{COMPONENT}", timeout=5, since=mark)
                bob.approve(f"carol@{COMPONENT}")
                bob.send_presence(show="away", status="lunch")
                got = ws.wait_for(lambda m: m.get("type") == "presence" and m["presence"]["show"] == "away", 5)
                check(got["presence"]["note"] == "lunch", f"bob away on the stream: {got}")
                _, j = call(port, "/api/v1/presence/xmpp:bob@localhost", TOKEN)
                check(j["show"] == "away" and j["note"] == "lunch" and j["basic"] == "open", f"GET bob: {j}")
            finally:
                w.close()
                ws.close()


TESTS = {
    "xmpp_harness_selftest": xmpp_harness_selftest,
    "xmpp_component_link": xmpp_component_link,
    "xmpp_sees_sip_presence": xmpp_sees_sip_presence,
    "sip_watches_xmpp_presence": sip_watches_xmpp_presence,
    "xmpp_sip_chat": xmpp_sip_chat,
    "xmpp_prosody_restart": xmpp_prosody_restart,
    "xmpp_api_presence": xmpp_api_presence,
}


def main() -> int:
    return driver_main(__doc__, TESTS)


if __name__ == "__main__":
    sys.exit(main())
