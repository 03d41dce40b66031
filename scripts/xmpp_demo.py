#!/usr/bin/python3
"""The XMPP side of the ./run.sh demo: logs in to the demo Prosody on 127.0.0.1 as
bob@localhost, subscribes to the SIP user alice@sip.localhost (served by parleyd through its
component), sends her one chat message and prints every presence and message it receives in
plain words, e.g. "alice@sip.localhost is dnd: On the phone". Exits after --seconds (60).

    python3 scripts/xmpp_demo.py [--seconds N] [--port P] [--user bob --password bob]
                                 [--contact alice@sip.localhost] [--message TEXT]

Needs Debian's python3-slixmpp, so run it with /usr/bin/python3 (not a virtualenv's python).
Loopback only, plain TCP without TLS: the demo Prosody allows plain-text login there.
Exit status: 0 once logged in (whatever alice does), 1 if it never got a session, 2 on bad
arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time

HOST = "127.0.0.1"
DOMAIN = "localhost"
RESOURCE = "xmpp-demo"
CONNECT_TIMEOUT_S = 10.0  # TCP + SASL + bind; the whole run is capped by --seconds anyway
DISCONNECT_WAIT_S = 2.0

# What a <show/> means to a person (RFC 6121 §4.7.2.1).
SHOW_WORDS = {
    "": "available",
    "chat": "available to chat",
    "away": "away",
    "xa": "away for a while (xa)",
    "dnd": "dnd",
}

# Why a message to a SIP user bounces, for the conditions Parley sends (docs/bridge.md).
ERROR_HINTS = {
    "recipient-unavailable": "no SIP phone of theirs is registered right now",
    "item-not-found": "no such user",
    "service-unavailable": "the SIP side refused it",
    "remote-server-not-found": "parleyd is not attached to Prosody (is ./run.sh running?)",
    "remote-server-timeout": "parleyd did not answer in time",
    "policy-violation": "the message is too long for SIP",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    env_port = os.environ.get("PARLEY_DEMO_C2S_PORT", "")
    default_port = int(env_port) if env_port.isdigit() else 5222
    p = argparse.ArgumentParser(
        description="Log in to the ./run.sh demo Prosody as bob and watch a SIP user through Parley.")
    p.add_argument("--seconds", type=float, default=60.0,
                   help="exit after this many seconds (default 60)")
    p.add_argument("--port", type=int, default=default_port,
                   help=f"Prosody's client port on {HOST} (default $PARLEY_DEMO_C2S_PORT or 5222)")
    p.add_argument("--user", default="bob", help=f"account on {DOMAIN} (default bob; the demo also has carol)")
    p.add_argument("--password", default=None, help="its password (default: the user name, as the demo sets)")
    p.add_argument("--contact", default="alice@sip.localhost",
                   help="JID to subscribe to and write to (default alice@sip.localhost)")
    p.add_argument("--message", default=None,
                   help="the chat message sent to the contact once logged in (default: a greeting)")
    args = p.parse_args(argv)
    if not 0 < args.seconds <= 24 * 3600:
        p.error("--seconds must be in (0, 86400]")
    if not 0 < args.port <= 65535:
        p.error("--port must be in 1..65535")
    if args.password is None:
        args.password = args.user
    if args.message is None:
        args.message = f"Hello {args.contact.split('@', 1)[0]}, this is {args.user} on XMPP."
    return args


class Demo:
    """One slixmpp client and what it prints. Runs on the caller's asyncio loop."""

    def __init__(self, slixmpp, args: argparse.Namespace) -> None:
        self.args = args
        self.started = time.monotonic()
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.session = False
        self.closing = False
        self.failure: str | None = None
        self.jid = f"{args.user}@{DOMAIN}"
        self.xmpp = slixmpp.ClientXMPP(
            f"{self.jid}/{RESOURCE}", args.password,
            # PLAIN without TLS is how the loopback demo Prosody is set up.
            plugin_config={"feature_mechanisms": {"unencrypted_plain": True}})
        self.xmpp.loop = asyncio.get_running_loop()
        # Approve anyone who asks to see bob's presence (a SIP watcher of bob@localhost comes
        # in as a subscription request); never ask back on our own.
        self.xmpp.auto_authorize = True
        self.xmpp.auto_subscribe = False
        self.xmpp.add_event_handler("session_start", self.on_session_start)
        self.xmpp.add_event_handler("presence", self.on_presence)
        self.xmpp.add_event_handler("failed_all_auth", lambda _e: self.fail("login refused (wrong user or password?)"))
        self.xmpp.add_event_handler("connection_failed", lambda e: self.fail(f"cannot connect: {e}"))
        self.xmpp.add_event_handler("stream_error", lambda e: self.fail(f"stream error: {e['condition']}"))
        self.xmpp.add_event_handler("disconnected", self.on_disconnected)
        # Every message, with or without a body (the built-in 'message' event needs a body).
        self.xmpp.register_handler(slixmpp.Callback(
            "xmpp-demo messages", slixmpp.xmlstream.matcher.MatchXPath("{jabber:client}message"),
            self.on_message))

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def fail(self, why: str) -> None:
        self.failure = self.failure or why
        if not self.session:
            self.say(f"{why}; is ./run.sh running? (Prosody on {HOST}:{self.args.port})")
            if not self.done.done():
                self.done.set_result(None)

    def on_disconnected(self, _reason) -> None:
        if self.session and not self.closing and not self.done.done():
            self.say("the server closed the connection")
            self.done.set_result(None)

    async def run(self) -> int:
        self.say(f"connecting to {HOST}:{self.args.port} as {self.jid} (no TLS)")
        # slixmpp looks up default_domain even when given an address; an IP literal there
        # makes it skip DNS, and the "answer" then carries default_port.
        self.xmpp.default_domain, self.xmpp.default_port = HOST, self.args.port
        self.xmpp.use_aiodns = False
        self.xmpp.connect((HOST, self.args.port), use_ssl=False, force_starttls=False,
                          disable_starttls=True)
        loop = asyncio.get_running_loop()
        connect_deadline = loop.call_later(
            min(CONNECT_TIMEOUT_S, self.args.seconds),
            lambda: None if self.session else self.fail(f"no session within {CONNECT_TIMEOUT_S:.0f} s"))
        try:
            await asyncio.wait_for(asyncio.shield(self.done), self.args.seconds)
        except asyncio.TimeoutError:
            if self.session:
                self.say(f"{self.args.seconds:g} s are up; logging out")
        connect_deadline.cancel()
        await self.close()
        return 0 if self.session else 1

    async def close(self) -> None:
        self.closing = True
        self.xmpp.cancel_connection_attempt()  # no reconnect loop after a failed connect
        if self.xmpp.transport is None:
            return
        try:
            await asyncio.wait_for(self.xmpp.disconnect(wait=DISCONNECT_WAIT_S), DISCONNECT_WAIT_S + 1.0)
        except asyncio.TimeoutError:
            self.xmpp.abort()

    async def on_session_start(self, _event) -> None:
        self.session = True
        contact = self.args.contact
        try:
            await self.xmpp.get_roster(timeout=5)
        except Exception as e:  # noqa: BLE001 - a demo goes on without its roster
            self.say(f"could not fetch the roster ({e!r}); going on")
        self.xmpp.send_presence()
        self.say(f"logged in as {self.xmpp.boundjid}; subscribing to {contact}")
        self.xmpp.send_presence(pto=contact, ptype="subscribe")
        self.xmpp.send_message(mto=contact, mbody=self.args.message, mtype="chat")
        self.say(f"sent {contact} a chat message: {self.args.message}")

    def on_presence(self, pres) -> None:
        ptype = pres["type"]
        sender = pres["from"]
        name = str(sender.bare) if sender.bare != self.jid else f"{sender} (you)"
        status = pres["status"]
        if ptype in ("available", "chat", "away", "xa", "dnd"):
            # slixmpp reports the <show/> as the type of an available presence.
            show = pres["show"] if pres["show"] in SHOW_WORDS else ""
            self.say(f"{name} is {SHOW_WORDS[show]}{': ' + status if status else ''}")
        elif ptype == "unavailable":
            self.say(f"{name} is offline{': ' + status if status else ''}")
        elif ptype == "subscribe":
            self.say(f"{name} asks to see your presence (approved)")
        elif ptype == "subscribed":
            self.say(f"{name} accepted your subscription: you will see their presence")
        elif ptype == "unsubscribe":
            self.say(f"{name} no longer wants to see your presence")
        elif ptype == "unsubscribed":
            self.say(f"{name} refused or ended your subscription")
        elif ptype == "error":
            self.say(f"presence error from {name}: {self.describe_error(pres)}")
        elif ptype == "probe":
            self.say(f"{name} asks for your current presence (probe)")
        else:
            self.say(f"presence of type {ptype} from {name}")

    def on_message(self, msg) -> None:
        mtype = msg["type"]
        sender = msg["from"]
        name = str(sender.bare) if sender.bare != self.jid else f"{sender} (you)"
        body = msg["body"]
        if mtype == "error":
            self.say(f"your message to {name} was not delivered: {self.describe_error(msg)}")
        elif body:
            subject = msg["subject"]
            self.say(f"{name} says ({mtype}){' [' + subject + ']' if subject else ''}: {body}")
        else:
            self.say(f"{name} sent a {mtype} message without text (a chat state or receipt)")

    @staticmethod
    def describe_error(stanza) -> str:
        condition = stanza["error"]["condition"] or "unknown error"
        text = stanza["error"]["text"]
        hint = ERROR_HINTS.get(condition)
        return condition + (f" ({text})" if text else "") + (f" - {hint}" if hint else "")


async def main_async(slixmpp, args: argparse.Namespace) -> int:
    return await Demo(slixmpp, args).run()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        import slixmpp  # Debian's python3-slixmpp: only /usr/bin/python3 has it
        import slixmpp.xmlstream.matcher  # noqa: F401 - MatchXPath
    except ImportError as e:
        print(f"xmpp_demo: slixmpp is not importable from {sys.executable} ({e}): "
              "apt-get install python3-slixmpp and run this with /usr/bin/python3", file=sys.stderr)
        return 1
    # slixmpp logs connection trouble at ERROR/WARNING; the demo says it in its own words.
    logging.basicConfig(level=logging.CRITICAL)
    try:
        return asyncio.run(main_async(slixmpp, args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
