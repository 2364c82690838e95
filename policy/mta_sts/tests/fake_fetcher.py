#!/usr/bin/env python3
"""A stand-in for mxguard-fetch in FetchClient's tests: speaks the fetch protocol on fd 0
(policy/fetcher/protocol.h) and misbehaves on demand. Usage: fake_fetcher.py MODE [STATE_FILE]
  answer   answers every request with HTTP 200, body "domain=<domain>"
  die      exits with status 3 at the first request (STATE_FILE: counts starts; from the 2nd on, answers)
  hang     reads requests and never answers
  garbage  answers the first request with bytes that are not a frame
  wrong-id answers with an id it was never asked"""
import os
import struct
import sys


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def string(payload, at):
    (n,) = struct.unpack_from(">I", payload, at)
    return payload[at + 4:at + 4 + n].decode(), at + 4 + n


def read_request():
    (length,) = struct.unpack(">I", read_exact(4))
    payload = read_exact(length)
    assert payload[0:1] == b"Q"
    (rid,) = struct.unpack_from(">I", payload, 1)
    domain, _ = string(payload, 5)
    return rid, domain


def put(s):
    return struct.pack(">I", len(s)) + s


def answer(rid, body, status=200):
    fields = struct.pack(">IBH", rid, 1, status) + put(b"text/plain") + put(body) + put(b"")
    frame = b"A" + fields
    os.write(0, struct.pack(">I", len(frame)) + frame)


def main():
    mode = sys.argv[1]
    if mode == "die" and len(sys.argv) > 2:
        path = sys.argv[2]
        starts = int(open(path).read()) + 1 if os.path.exists(path) else 1
        open(path, "w").write(str(starts))
        if starts > 1:
            mode = "answer"
    while True:
        rid, domain = read_request()
        if mode == "answer":
            answer(rid, f"domain={domain}".encode())
        elif mode == "die":
            sys.exit(3)
        elif mode == "hang":
            continue
        elif mode == "garbage":
            os.write(0, b"\xff\xff\xff\xffHTTP/1.1 200 OK\r\n")
        elif mode == "wrong-id":
            answer(rid + 1000, b"x")


main()
