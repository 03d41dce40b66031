#!/usr/bin/python3
"""One-way XEP-0114 handshake shim for Kamailio 5.6's xmpp module (bench/bridge_load.sh).

Why: the module's XML stream reader crashes on the first element it receives. In
src/modules/xmpp/xstream.c, _xode_put_expatattribs() loops `while(*(atts[i]) != '\\0')` over
expat's attribute array, which ends with a NULL pointer, so the loop dereferences NULL on
every start tag -- the first one being the XMPP server's <stream:stream> answer. The
"XMPP Manager" process dies with SIGSEGV and Kamailio's main process then stops every
process (Debian 12, kamailio-xmpp-modules 5.6.3; upstream issue kamailio/kamailio#4154,
closed unfixed). Kamailio can therefore never complete the component handshake itself.

What this does: it listens on 127.0.0.1:LISTEN for Kamailio's component connection, opens
its own component stream to the XMPP server (127.0.0.1:SERVER), does the handshake
(sha1(stream id + secret)) for DOMAIN, then forwards everything Kamailio writes after its
own stream header to the server, unchanged. Nothing is ever sent to Kamailio (so it never
parses anything and never crashes); whatever the server sends on the stream is read and
dropped (a stream error is printed). Kamailio's own work per SIP->XMPP message (SIP worker:
transaction, xmpp_send_message(), pipe; XMPP process: building and writing the stanza) is
exactly what it would do on a direct link, where nothing comes back for a delivered
message either; XMPP->SIP cannot be measured this way.

  /usr/bin/python3 bench/xmpp/component_shim.py --listen 5348 --server 5347 \
      --domain sip.localhost --secret s3cret --ready shim.ready

Writes --ready once it listens. Runs until SIGTERM/SIGINT; every network wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import signal
import sys

NS_COMPONENT = "jabber:component:accept"
NS_STREAMS = "http://etherx.jabber.org/streams"
HANDSHAKE_TIMEOUT_S = 10.0
HEADER = re.compile(rb"<stream:stream\b[^>]*>", re.S)
STREAM_ID = re.compile(rb"<stream:stream\b[^>]*?\bid=['\"]([^'\"]+)['\"]", re.S)


async def server_stream(args: argparse.Namespace) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A component stream to the XMPP server, authenticated for args.domain."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", args.server),
                                            HANDSHAKE_TIMEOUT_S)
    writer.write((f"<?xml version='1.0'?><stream:stream xmlns='{NS_COMPONENT}' "
                  f"xmlns:stream='{NS_STREAMS}' to='{args.domain}'>").encode())
    buf = b""
    while not (m := STREAM_ID.search(buf)):
        chunk = await asyncio.wait_for(reader.read(4096), HANDSHAKE_TIMEOUT_S)
        if not chunk:
            raise ConnectionError(f"server closed the stream before its header: {buf[:300]!r}")
        buf += chunk
    digest = hashlib.sha1(m.group(1) + args.secret.encode()).hexdigest()
    writer.write(f"<handshake>{digest}</handshake>".encode())
    buf = buf[m.end():]
    while b"<handshake" not in buf:
        if b"<stream:error" in buf:
            raise ConnectionError(f"handshake refused: {buf[:300]!r}")
        chunk = await asyncio.wait_for(reader.read(4096), HANDSHAKE_TIMEOUT_S)
        if not chunk:
            raise ConnectionError(f"server closed the stream during the handshake: {buf[:300]!r}")
        buf += chunk
    return reader, writer


async def drain_server(reader: asyncio.StreamReader) -> None:
    """Reads and drops what the server sends; reports a stream error."""
    while chunk := await reader.read(65536):
        if b"<stream:error" in chunk:
            print(f"component_shim: server stream error: {chunk[:300]!r}", file=sys.stderr, flush=True)


async def handle(args: argparse.Namespace, k_reader: asyncio.StreamReader,
                 k_writer: asyncio.StreamWriter) -> None:
    s_writer = None
    try:
        s_reader, s_writer = await server_stream(args)
        drain = asyncio.create_task(drain_server(s_reader))
        buf = b""
        while not (m := HEADER.search(buf)):   # Kamailio's stream header stays here
            chunk = await k_reader.read(4096)
            if not chunk:
                return
            buf += chunk
        pending = buf[m.end():]
        if pending:
            s_writer.write(pending)
        while chunk := await k_reader.read(65536):
            s_writer.write(chunk)
            await s_writer.drain()
        drain.cancel()
    except (OSError, ConnectionError, asyncio.TimeoutError) as e:
        print(f"component_shim: {e}", file=sys.stderr, flush=True)
    finally:
        for w in (k_writer, s_writer):
            if w is not None:
                w.close()


async def main_async(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    server = await asyncio.start_server(lambda r, w: handle(args, r, w), "127.0.0.1", args.listen)
    with open(args.ready, "w", encoding="utf-8") as f:
        f.write("ready\n")
    async with server:
        await stop
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1 Kamailio connects to")
    p.add_argument("--server", type=int, required=True, help="the XMPP server's component port on 127.0.0.1")
    p.add_argument("--domain", required=True, help="component domain")
    p.add_argument("--secret", required=True)
    p.add_argument("--ready", required=True, help="file written once listening")
    return asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
