"""inbound.backend as a host name: every address the name resolves to is tried in turn, so a first address
that refuses (the classic case: `localhost` resolving to ::1 first while the legacy MTA listens on
127.0.0.1 only) does not make the backend unavailable. Only when every address fails does the client get
`421 4.3.2`.

The host name is resolved through a private /etc/hosts (fixtures.namespace: mxguard runs in its own mount
namespace), whatever this machine's own /etc/hosts says about localhost. The test reads back the order
getaddrinfo gives in there and puts the backend on the last address only."""
import socket
import unittest

from fixtures import namespace, ports
from fixtures.hardening import HardeningTestCase

NAME = "legacy-backend.test"


def port_free_on(addresses):
    """A port that nothing listens on at any of `addresses` (checked by binding each)."""
    for _ in range(50):
        port = ports.free_port(addresses[0])
        try:
            for a in addresses[1:]:
                with socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET) as s:
                    s.bind((a, port))
            return port
        except OSError:
            continue
    raise AssertionError(f"no port free on all of {addresses}")


class BackendAddressFallback(HardeningTestCase):
    def start_behind(self, hosts):
        """mxguard with inbound.backend = NAME:port, NAME resolving to `hosts` (in this order in the file);
        returns the addresses in getaddrinfo's order and the port."""
        wrapper = namespace.private_hosts(self.tmp, [(a, NAME) for a in hosts])
        order = namespace.resolve(wrapper, NAME)
        self.assertEqual(sorted(order), sorted(hosts), f"{NAME} resolves to {order} in the private namespace")
        port = port_free_on(order)
        cfg = self.config(port)
        cfg["inbound"]["backend"] = f"{NAME}:{port}"
        return wrapper, cfg, order, port

    def assertServedByTheLastAddress(self, hosts):
        wrapper, cfg, order, port = self.start_behind(hosts)
        self.be = self.start_backend(host=order[-1], port=port)   # the earlier addresses refuse
        self.mx = self.start_mxguard(cfg, wrapper=wrapper)
        c = self.open()
        self.assertReply(c.read_reply(), 220, text="scripted backend")
        self.assertReply(c.command("EHLO client.test"), 250)
        self.assertReply(c.command("NOOP"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(len(self.be.connections), 1)

    def test_ipv6_first_address_refusing_falls_back_to_ipv4(self):
        self.assertServedByTheLastAddress(["::1", "127.0.0.1"])

    def test_ipv4_first_address_refusing_falls_back_to_the_next(self):
        self.assertServedByTheLastAddress(["127.0.0.1", "127.0.0.2"])

    def test_every_address_refusing_gives_421(self):
        wrapper, cfg, order, port = self.start_behind(["::1", "127.0.0.1"])
        self.mx = self.start_mxguard(cfg, wrapper=wrapper)
        c = self.open()
        self.assertReply(c.read_reply(), 421, "4.3.2")
        self.assertClosed(c)
        self.assertLogged(r"backend unavailable|cannot connect to backend")


if __name__ == "__main__":
    unittest.main()
