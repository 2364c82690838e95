#!/usr/bin/env python3
"""The soak's MTA-STS policy host (bench/soak.sh): HTTPS on one 127.0.0.1 port, answering
GET /.well-known/mta-sts.txt with the policy given, so that mxguard's mxguard-fetch children fetch it
again every time the short max_age makes the cache refresh it. Each request is one line on stdout
(method, path, Host header, status), which the soak counts."""
import argparse
import http.server
import ssl
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--listen", required=True, help="127.0.0.1:PORT")
    ap.add_argument("--cert", required=True, help="PEM chain for mta-sts.<domain>")
    ap.add_argument("--key", required=True)
    ap.add_argument("--policy", required=True, help="the policy file's text ('\\n' for line breaks)")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    if not host.startswith("127."):
        ap.error("loopback (127.0.0.0/8) only")
    body = args.policy.replace("\\n", "\r\n").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            ok = self.path == "/.well-known/mta-sts.txt"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(body)
            print(f"GET {self.path} {self.headers.get('Host', '-')} {200 if ok else 404}", flush=True)

        def log_message(self, *_):
            pass   # the one line above is the log

    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
