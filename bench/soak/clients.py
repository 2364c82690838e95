#!/usr/bin/env python3
"""The soak's misbehaving and refused clients (bench/soak.sh), one session at a time at a steady rate.

Kinds, taken in turn (reset-inbound twice per round: it has the most places to break off):
  injection       inbound: plaintext pipelined after STARTTLS ("STARTTLS\\r\\nMAIL FROM:..." in one write);
                  mxguard must answer 220, discard the MAIL, and then take a whole message over TLS
  reset-inbound   inbound: a TCP reset (SO_LINGER 0) at a random point: before the greeting is read,
                  after it, mid-command, mid-DATA, at the 220 to STARTTLS, after half a ClientHello,
                  after the server's first flight, mid-command and mid-DATA over TLS
  reset-outbound  outbound: a reset mid-command, after the RCPT that opened the MX connection, mid-DATA
  refused         outbound to a domain whose MX offers no STARTTLS under a policy that requires TLS:
                  the RCPT must get 451 4.7.x, and the session goes on to QUIT
Each session checks every reply up to the point it breaks off; a reset itself is the client's act and
counts as done. The report (JSON) has the counts per kind and point and every failure by reason.

With --drain N it plays the sessions that are mid-message when mxguard is told to stop instead: N inbound
over TLS and N outbound, each halfway through its message's content; it writes --ready-file, waits for
SIGUSR1 (sent after mxguard's SIGTERM), then finishes every message, which must get its 250 within
mxguard's shutdown grace, and says QUIT (221, or 421 from a server on its way out).
Talks only to the 127.0.0.1 addresses it is given.
"""
import argparse
import json
import random
import signal
import socket
import ssl
import struct
import sys
import time

MESSAGE = (b"From: <soak@bench.test>\r\nTo: <rcpt1@bench.test>\r\nSubject: mxguard soak\r\n"
           b"Message-ID: <soak@bench.test>\r\n\r\n" + b"The quick brown fox jumps over the lazy dog\r\n" * 60)


class Unexpected(Exception):
    """A reply (or its absence) that mxguard should not have given; the text is the failure's reason."""


class Client:
    def __init__(self, address, timeout):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def reply(self, what):
        """One whole reply (multi-line included): (code, text of its last line)."""
        while True:
            lines = self.buf.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) < 4 or not line[:3].isdigit() or line[3:4] not in (b" ", b"-"):
                    raise Unexpected(f"{what}: malformed reply line {line[:40]!r}")
                if line[3:4] == b" ":
                    self.buf = b"\r\n".join(lines[i + 1:])
                    return int(line[:3]), line[4:].decode("ascii", "replace")
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise Unexpected(f"{what}: no reply (timeout)") from None
            except ConnectionError as e:
                raise Unexpected(f"{what}: {type(e).__name__}") from None
            if not chunk:
                raise Unexpected(f"{what}: connection closed")
            self.buf += chunk

    def expect(self, what, code):
        got, text = self.reply(what)
        if got != code:
            raise Unexpected(f"{what}: {got} reply")
        return text

    def command(self, line, code):
        self.send(line.encode() + b"\r\n")
        return self.expect(line.split(":")[0].split(" ")[0], code)

    def starttls(self, ctx):
        if self.buf:
            raise Unexpected("STARTTLS: bytes after the 220")
        self.sock = ctx.wrap_socket(self.sock, server_hostname="mx.bench.test")

    def reset(self):
        """A TCP RST instead of a FIN (and no TLS close_notify): the client vanishes mid-whatever."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE   # as the load generator: the soak is about mxguard, not the chain
    return ctx


def client_hello(ctx):
    """The bytes of a real ClientHello, made over memory BIOs (the handshake is never finished)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="mx.bench.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def transaction_until_data(c, domain):
    c.command("MAIL FROM:<soak@bench.test>", 250)
    c.command(f"RCPT TO:<rcpt1@{domain}>", 250)
    c.command("DATA", 354)


class Kinds:
    def __init__(self, args, rng):
        self.args = args
        self.rng = rng
        self.ctx = tls_context()
        self.hello = client_hello(self.ctx)

    def inbound(self):
        c = Client(self.args.inbound, self.args.timeout)
        return c

    def ehlo(self, c):
        c.expect("greeting", 220)
        c.command("EHLO soak.bench.test", 250)

    def injection(self):
        c = self.inbound()
        try:
            self.ehlo(c)
            c.send(b"STARTTLS\r\nMAIL FROM:<injected@bench.test>\r\n")
            c.expect("STARTTLS", 220)
            c.starttls(self.ctx)
            c.command("EHLO soak.bench.test", 250)
            # Had the injected MAIL been taken, this one would be a nested MAIL (503).
            transaction_until_data(c, "bench.test")
            c.send(MESSAGE + b".\r\n")
            c.expect("end of data", 250)
            c.command("QUIT", 221)
        finally:
            c.close()
        return "delivered"

    def reset_inbound(self):
        point = self.rng.choice(["connect", "greeting", "mid-command", "mid-data", "handshake-at-220",
                                 "handshake-half-hello", "handshake-server-flight", "tls-mid-command",
                                 "tls-mid-data"])
        c = self.inbound()
        try:
            if point == "connect":
                return point
            c.expect("greeting", 220)
            if point == "greeting":
                return point
            c.command("EHLO soak.bench.test", 250)
            if point == "mid-command":
                c.send(b"MAIL FROM:<reset@bench")
                return point
            if point == "mid-data":
                transaction_until_data(c, "bench.test")
                c.send(MESSAGE[: len(MESSAGE) // 2])
                return point
            c.command("STARTTLS", 220)
            if point == "handshake-at-220":
                return point
            if point == "handshake-half-hello":
                c.send(self.hello[: len(self.hello) // 2])
                return point
            if point == "handshake-server-flight":
                c.send(self.hello)
                if not c.sock.recv(5):   # the first bytes of the ServerHello record
                    raise Unexpected("handshake: connection closed before the ServerHello")
                return point
            c.starttls(self.ctx)
            c.command("EHLO soak.bench.test", 250)
            if point == "tls-mid-command":
                c.send(b"RCPT TO:<reset@bench")
                return point
            transaction_until_data(c, "bench.test")
            c.send(MESSAGE[: len(MESSAGE) // 2])
            return point
        finally:
            c.reset()

    def reset_outbound(self):
        point = self.rng.choice(["mid-command", "after-rcpt", "mid-data"])
        c = Client(self.args.outbound, self.args.timeout)
        try:
            self.ehlo(c)
            c.command("MAIL FROM:<soak@bench.test>", 250)
            if point == "mid-command":
                c.send(b"RCPT TO:<rcpt1@" + self.args.deliver_domain.encode())
                return point
            # The 250 to RCPT means mxguard has a verified TLS connection to the MX open.
            c.command(f"RCPT TO:<rcpt1@{self.args.deliver_domain}>", 250)
            if point == "after-rcpt":
                return point
            c.command("DATA", 354)
            c.send(MESSAGE[: len(MESSAGE) // 2])
            return point
        finally:
            c.reset()

    def refused(self):
        c = Client(self.args.outbound, self.args.timeout)
        try:
            self.ehlo(c)
            c.command("MAIL FROM:<soak@bench.test>", 250)
            c.send(f"RCPT TO:<rcpt1@{self.args.refused_domain}>\r\n".encode())
            code, text = c.reply("RCPT")
            if code != 451 or not text.startswith("4.7."):
                raise Unexpected(f"RCPT to {self.args.refused_domain}: {code} {text[:5]} (451 4.7.x expected)")
            c.command("QUIT", 221)
        finally:
            c.close()
        return "451-4.7.x"


def drain(args):
    """Sessions halfway through a message while mxguard drains: each must still deliver it."""
    kinds = Kinds(args, random.Random(0))
    stats = {k: {"ok": 0, "failed": 0, "points": {}} for k in ("drain-inbound", "drain-outbound")}
    failures = {}
    half = len(MESSAGE) // 2
    held = []
    usr1 = []
    signal.signal(signal.SIGUSR1, lambda *_: usr1.append(1))
    for i in range(args.drain * 2):
        kind = "drain-inbound" if i % 2 == 0 else "drain-outbound"
        try:
            if kind == "drain-inbound":
                c = kinds.inbound()
                kinds.ehlo(c)
                c.command("STARTTLS", 220)
                c.starttls(kinds.ctx)
                c.command("EHLO soak.bench.test", 250)
                transaction_until_data(c, "bench.test")
            else:
                c = Client(args.outbound, args.timeout)
                kinds.ehlo(c)
                transaction_until_data(c, args.deliver_domain)
            c.send(MESSAGE[:half])
            held.append((kind, c))
        except (Unexpected, OSError) as e:
            stats[kind]["failed"] += 1
            failures[f"{kind} setup: {e}"] = failures.get(f"{kind} setup: {e}", 0) + 1
    with open(args.ready_file, "w") as f:
        f.write(f"{len(held)} held\n")
    deadline = time.monotonic() + 120
    while not usr1 and time.monotonic() < deadline:
        time.sleep(0.05)
    for kind, c in held:
        try:
            c.send(MESSAGE[half:] + b".\r\n")
            c.expect("end of data during the drain", 250)
            c.send(b"QUIT\r\n")
            try:
                code, _ = c.reply("QUIT")
            except Unexpected:
                code = 0   # closed at once: the session was over for mxguard
            if code not in (221, 421, 0):
                raise Unexpected(f"QUIT during the drain: {code} reply")
            stats[kind]["ok"] += 1
            stats[kind]["points"]["delivered"] = stats[kind]["points"].get("delivered", 0) + 1
        except (Unexpected, OSError) as e:
            stats[kind]["failed"] += 1
            failures[f"{kind}: {e}"] = failures.get(f"{kind}: {e}", 0) + 1
        finally:
            c.close()
    report = {"signalled": bool(usr1), "kinds": stats, "failures": failures}
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    return 1 if failures or not usr1 else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inbound", required=True, help="mxguard's inbound listener, 127.0.0.1:PORT")
    ap.add_argument("--outbound", required=True, help="mxguard's outbound listener, 127.0.0.1:PORT")
    ap.add_argument("--deliver-domain", default="bench.test", help="a domain mxguard delivers to over TLS")
    ap.add_argument("--refused-domain", default="plain.bench.test",
                    help="a domain mxguard must refuse (no STARTTLS at its MX)")
    ap.add_argument("--duration", type=float, default=60, help="seconds to keep starting sessions")
    ap.add_argument("--drain", type=int, default=0, help="the drain instead: N inbound and N outbound sessions")
    ap.add_argument("--ready-file", help="with --drain: written once the sessions are held")
    ap.add_argument("--rate", type=float, default=2.0, help="sessions started per second")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds any one reply may take")
    ap.add_argument("--seed", type=int, default=None, help="for the random reset points (default: the time)")
    ap.add_argument("--json", required=True, help="where the report goes")
    args = ap.parse_args()
    for a in (args.inbound, args.outbound):
        if not a.startswith("127."):
            ap.error(f"{a}: loopback (127.0.0.0/8) only")
    if args.drain:
        if not args.ready_file:
            ap.error("--drain needs --ready-file")
        return drain(args)

    seed = args.seed if args.seed is not None else time.time_ns()
    rng = random.Random(seed)
    kinds = Kinds(args, rng)
    rounds = [("injection", kinds.injection), ("reset-inbound", kinds.reset_inbound),
              ("reset-outbound", kinds.reset_outbound), ("refused", kinds.refused),
              ("reset-inbound", kinds.reset_inbound)]
    stats = {name: {"ok": 0, "failed": 0, "points": {}} for name, _ in rounds}
    failures = {}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    start = time.monotonic()
    n = 0
    while not stopping and time.monotonic() - start < args.duration:
        name, run = rounds[n % len(rounds)]
        try:
            point = run()
            stats[name]["ok"] += 1
            stats[name]["points"][point] = stats[name]["points"].get(point, 0) + 1
        except (Unexpected, OSError) as e:
            reason = f"{name}: {e}" if isinstance(e, Unexpected) else f"{name}: {type(e).__name__}: {e}"
            stats[name]["failed"] += 1
            failures[reason] = failures.get(reason, 0) + 1
        n += 1
        delay = start + n / args.rate - time.monotonic()   # on the clock, not after each session
        if delay > 0:
            time.sleep(delay)
    report = {"seed": seed, "rate": args.rate, "elapsed_s": round(time.monotonic() - start, 3), "sessions": n,
              "kinds": stats, "failures": failures}
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    return 1 if failures or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
