"""How the backend learns the real client address (contract 6). With proxy-v1/proxy-v2 (Postfix
`smtpd_upstream_proxy_protocol = haproxy`) and xclient (`smtpd_authorized_xclient_hosts`), a Postfix
that trusts only 127.0.0.1 (mynetworks = 127.0.0.1/32) sees a client on 127.0.0.2 as 127.0.0.2: relaying
to another domain is refused, local mail delivered. With plain it sees mxguard's 127.0.0.1 and relays
for anyone: the open relay the `plain` warning is about."""
import re
import smtplib
import socket
import struct
import unittest

from fixtures.base import IntegrationTestCase
from fixtures.scripted_backend import PROXY_V2_SIGNATURE
from fixtures.smtpwire import SmtpWire, insecure_context

CLIENT_IP = "127.0.0.2"


def message(tag):
    return (f"From: alice@sender.example\r\nTo: bob@example.test\r\nSubject: {tag}\r\n"
            f"Message-ID: <{tag}@sender.example>\r\n\r\nvia {tag}\r\n").encode()


class RealClientAddressMixin:
    """The scenario shared by proxy-v1, proxy-v2 and xclient."""

    def check_backend_sees_real_client(self, protocol):
        mx = self.start_mxguard(self.config(self.pf.port, backend_protocol=protocol, certificates=[self.leaf]))
        n = len(self.pf.messages("bob"))
        outsider = f"x-{protocol}@elsewhere.example"
        with smtplib.SMTP("127.0.0.1", mx.listen_ports[0], local_hostname="client.test", timeout=30,
                          source_address=(CLIENT_IP, 0)) as s:
            s.starttls(context=insecure_context())
            s.ehlo()
            self.assertEqual(s.mail("alice@sender.example")[0], 250, self.diag())
            code, text = s.rcpt(outsider)
            self.assertEqual(code, 554, f"relaying for {CLIENT_IP} must be refused: {code} {text}\n{self.diag()}")
            self.assertIn(b"5.7.1", text)
            self.assertIn(b"Relay access denied", text)
            code, text = s.rcpt("bob@example.test")
            self.assertEqual(code, 250, text)
            code, text = s.data(message(protocol))
            self.assertEqual(code, 250, text)
        self.pf.wait_delivered("bob", n + 1)
        self.pf.wait_log(r"reject: RCPT from unknown\[127\.0\.0\.2\]: 554 5\.7\.1 <" + re.escape(outsider) + ">")
        delivered = self.pf.last_message("bob", strip=False)
        self.assertRegex(delivered, rb"Received: from client\.test \(unknown \[127\.0\.0\.2\]\)",
                         "the Received header must name the real client address")
        self.assertIn(f"via {protocol}".encode(), delivered)
        return mx


class ProxyProtocolToPostfix(RealClientAddressMixin, IntegrationTestCase):
    @classmethod
    def setUpClass(cls):
        cls.leaf = cls.class_ca().issue("mx", "mx.test", ["mx.test"])
        cls.pf = cls.start_class_postfix(mynetworks="127.0.0.1/32", proxy_protocol="haproxy")

    def test_proxy_v2_backend_sees_real_client_address_and_refuses_relay(self):
        self.check_backend_sees_real_client("proxy-v2")
        self.assertNotRegex(self.pf.maillog(), r"connect from unknown\[127\.0\.0\.1\]",
                            "with a PROXY header Postfix must never see mxguard's own address")
        self.assertRegex(self.pf.maillog(), r"connect from unknown\[127\.0\.0\.2\]")

    def test_proxy_v1_backend_sees_real_client_address_and_refuses_relay(self):
        self.check_backend_sees_real_client("proxy-v1")
        self.assertNotRegex(self.pf.maillog(), r"connect from unknown\[127\.0\.0\.1\]")
        self.assertRegex(self.pf.maillog(), r"connect from unknown\[127\.0\.0\.2\]")


class XclientToPostfix(RealClientAddressMixin, IntegrationTestCase):
    @classmethod
    def setUpClass(cls):
        cls.leaf = cls.class_ca().issue("mx", "mx.test", ["mx.test"])
        cls.pf = cls.start_class_postfix(mynetworks="127.0.0.1/32", xclient_hosts="127.0.0.1")

    def test_xclient_backend_sees_real_client_address_and_refuses_relay(self):
        self.check_backend_sees_real_client("xclient")
        self.pf.wait_log(r": client=unknown\[127\.0\.0\.2\]")


class PlainToPostfix(IntegrationTestCase):
    """The contrast: with `plain`, the same Postfix sees every client as 127.0.0.1 and relays for it."""

    @classmethod
    def setUpClass(cls):
        cls.leaf = cls.class_ca().issue("mx", "mx.test", ["mx.test"])
        # smtpd_reject_unlisted_recipient = no: a relayed recipient gets 250 at RCPT time instead of a 550
        # from the `error` transport (which still guarantees that nothing is ever sent out).
        cls.pf = cls.start_class_postfix(mynetworks="127.0.0.1/32",
                                         extra={"smtpd_reject_unlisted_recipient": "no"})

    def test_plain_backend_sees_mxguard_address_and_becomes_an_open_relay(self):
        # the same client, straight to Postfix: refused (so the test setup itself is sound)
        with smtplib.SMTP("127.0.0.1", self.pf.port, local_hostname="client.test", timeout=30,
                          source_address=(CLIENT_IP, 0)) as s:
            s.mail("alice@sender.example")
            self.assertEqual(s.rcpt("direct@elsewhere.example")[0], 554)
        mx = self.start_mxguard(self.config(self.pf.port, backend_protocol="plain", certificates=[self.leaf]))
        mx.wait_log(r"(?i)open relay")
        with smtplib.SMTP("127.0.0.1", mx.listen_ports[0], local_hostname="client.test", timeout=30,
                          source_address=(CLIENT_IP, 0)) as s:
            s.starttls(context=insecure_context())
            s.ehlo()
            s.mail("alice@sender.example")
            code, text = s.rcpt("via-plain@elsewhere.example")
            self.assertEqual(code, 250, f"expected the open relay this mode warns about: {code} {text}")
            s.rset()
        self.pf.wait_log(r"disconnect from unknown\[127\.0\.0\.1\]")
        self.assertNotRegex(self.pf.maillog(), r"via-plain@elsewhere\.example.*Relay access denied")


class ProxyHeaderOnTheWire(IntegrationTestCase):
    """The exact header bytes, read by a scripted backend before it greets."""

    def session(self, protocol, backend):
        mx = self.start_mxguard(self.config(backend.port, backend_protocol=protocol))
        with SmtpWire("127.0.0.1", mx.listen_ports[0], source_address=(CLIENT_IP, 0)) as c:
            client_port = c.sock.getsockname()[1]
            self.assertEqual(c.read_reply().code, 220, self.diag())
            self.assertEqual(c.command("QUIT").code, 221)
        backend.wait_all_closed()
        return mx, client_port

    def test_proxy_v1_header_names_client_and_listener(self):
        be = self.start_backend(proxy_header=True)
        mx, client_port = self.session("proxy-v1", be)
        self.assertEqual(be.connections[0].proxy_header,
                         f"PROXY TCP4 {CLIENT_IP} 127.0.0.1 {client_port} {mx.listen_ports[0]}\r\n".encode())

    def test_proxy_v2_header_names_client_and_listener(self):
        be = self.start_backend(proxy_header=True)
        mx, client_port = self.session("proxy-v2", be)
        header = be.connections[0].proxy_header
        self.assertTrue(header.startswith(PROXY_V2_SIGNATURE), header)
        ver_cmd, fam, length = header[12], header[13], struct.unpack("!H", header[14:16])[0]
        self.assertEqual(ver_cmd, 0x21, "version 2, command PROXY")
        self.assertEqual(fam, 0x11, "TCP over IPv4")
        self.assertGreaterEqual(length, 12)
        src, dst, sport, dport = struct.unpack("!4s4sHH", header[16:28])
        self.assertEqual((socket.inet_ntoa(src), socket.inet_ntoa(dst), sport, dport),
                         (CLIENT_IP, "127.0.0.1", client_port, mx.listen_ports[0]))

    def test_xclient_is_sent_before_any_client_command(self):
        be = self.start_backend()
        mx, client_port = self.session("xclient", be)
        commands = be.commands()
        xclient = [c for c in commands if c.upper().startswith(b"XCLIENT")]
        self.assertEqual(len(xclient), 1, commands)
        self.assertIn(f"ADDR={CLIENT_IP}".encode(), xclient[0])
        self.assertLess(commands.index(xclient[0]), commands.index(b"QUIT"), commands)


if __name__ == "__main__":
    unittest.main()
