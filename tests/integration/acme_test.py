"""Certificates from an ACME CA (RFC 8555) with real parts on loopback: Debian's pebble is the CA,
unbound tells it that the appliance's names are 127.0.0.1, and pebble checks each HTTP-01 challenge
on vaultmx-portal's redirect listener. Covered: the appliance's certificate ([smtp] hostname) and a
mail domain's ([acme] domain_names) are issued and served by SNI on 995, 465, after STARTTLS on 25
and 587, and on the portal, the appliance's also without SNI; a renewal on demand serves a new certificate on every listener, and
one falls due by itself within [acme] renew_days; the
certificates outlive a restart without a new order; no private key in clear under the data folder;
the challenge path answers nothing it was not given."""
import http.client
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import unittest
import urllib.request

from daemon_harness import Daemon, free_port, init_instance, vaultmx_cli, wait_for_port, write_config
from outbound_test import Unbound, wait_until
from portal_harness import Portal, portal_config, portal_ports

PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
HOST = "mail.acme.test"
DOMAIN = "shop.test"
DOMAIN_HOST = "mx.shop.test"


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


class Pebble:
    """pebble on 127.0.0.1 with a certificate of a CA made here (its ACME API is HTTPS); stopped by pid."""

    def __init__(self, http_port, dns_port):
        self.dir = tempfile.mkdtemp(prefix="vmx-pebble-")
        os.chmod(self.dir, 0o755)
        self.port, self.mgmt = free_port(), free_port()
        d = self.dir
        self.ca = os.path.join(d, "ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=pebble test CA", "-keyout", f"{d}/ca.key", "-out", self.ca)
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                "-keyout", f"{d}/key.pem", "-out", f"{d}/req.csr")
        with open(f"{d}/ext.cnf", "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("x509", "-req", "-in", f"{d}/req.csr", "-CA", self.ca, "-CAkey", f"{d}/ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{d}/ext.cnf", "-out", f"{d}/cert.pem")
        os.chmod(self.ca, 0o644)
        with open(f"{d}/pebble.json", "w") as f:
            json.dump({"pebble": {"listenAddress": f"127.0.0.1:{self.port}", "managementListenAddress": f"127.0.0.1:{self.mgmt}",
                                  "certificate": f"{d}/cert.pem", "privateKey": f"{d}/key.pem", "httpPort": http_port,
                                  "tlsPort": free_port(), "ocspResponderURL": "", "externalAccountBindingRequired": False}}, f)
        # No sleeps before validation; pebble still refuses 5% of nonces at random (the client retries).
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1")
        self.proc = subprocess.Popen([PEBBLE, "-config", f"{d}/pebble.json", "-dnsserver", f"127.0.0.1:{dns_port}"],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not wait_for_port(self.port, timeout=20):
            self.proc.kill()
            raise RuntimeError("pebble did not start: " + self.proc.communicate()[0])

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def root_pem(self):
        """The root pebble signs with (random per run), from its management API."""
        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt}/roots/0", context=ctx, timeout=10) as r:
            return r.read().decode()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        shutil.rmtree(self.dir, ignore_errors=True)


def served_certificate(port, server_name, root_pem=None):
    """The leaf a TLS listener serves for server_name (None: no SNI); verified against root_pem when given."""
    ctx = ssl.create_default_context()
    if root_pem:
        ctx.load_verify_locations(cadata=root_pem)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.getpeercert(binary_form=True)


class AcmeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-acme-")
        folder = cls.tmp.name
        cls.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        cls.https_port, cls.redirect_port = portal_ports()
        cls.dns = Unbound(["acme.test", "shop.test"], [f"{HOST}. A 127.0.0.1", f"{DOMAIN_HOST}. A 127.0.0.1"])
        cls.pebble = Pebble(cls.redirect_port, cls.dns.port)
        extra = f"""
[smtp]
hostname = "{HOST}"

[acme]
directory = "{cls.pebble.directory}"
email = "hostmaster@acme.test"
ca_file = "{cls.pebble.ca}"
domain_names = ["mx.{{domain}}"]
check_interval_s = 5
""" + portal_config(folder, cls.https_port, cls.redirect_port)
        cls.config = write_config(folder, cls.ports, extra=extra)
        init_instance(cls.config, "--self-signed")
        cls.daemon = Daemon(existing=(folder, cls.ports, cls.config)).start()
        cls.portal = Portal(cls.config, folder, cls.https_port, cls.redirect_port).start()
        vaultmx_cli(cls.config, "org", "add", "Shop", "--plan", "pro")
        vaultmx_cli(cls.config, "domain", "add", DOMAIN, "--org", "Shop")

    @classmethod
    def tearDownClass(cls):
        for part in (cls.portal, cls.daemon):
            part.stop()
            part.__exit__(None, None, None)
        cls.pebble.stop()
        cls.dns.stop()
        cls.tmp.cleanup()

    def status(self):
        r = vaultmx_cli(self.config, "acme", "status", "--json")
        return {tuple(row["names"]): row for row in json.loads(r.stdout)}

    def wait_valid(self, names, other_than=None, timeout=90):
        def ready():
            row = self.status().get(names)
            return row if row and row["state"] == "valid" and row["serial"] and row["serial"] != other_than else None
        row = wait_until(ready, timeout)
        self.assertTrue(row, f"no certificate for {names}: {self.status()}")
        return row

    def serial_on(self, port, name, root):
        der = served_certificate(port, name, root)
        pem = ssl.DER_cert_to_PEM_cert(der)
        r = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True, text=True, check=True)
        return r.stdout.strip().split("=", 1)[1].upper().lstrip("0")

    def serial_on_starttls(self, port, name, root):
        """The serial an SMTP listener serves after STARTTLS to a client that names `name`."""
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cadata=root)
        with smtplib.SMTP(timeout=10) as s:
            s.connect("127.0.0.1", port)
            s._host = name  # the name STARTTLS sends (SNI) and checks
            s.ehlo("client.test")
            s.starttls(context=ctx)
            pem = ssl.DER_cert_to_PEM_cert(s.sock.getpeercert(binary_form=True))
        r = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True, text=True, check=True)
        return r.stdout.strip().split("=", 1)[1].upper().lstrip("0")

    def serial_now(self, port, name, root):
        """serial_on, or None while the listener still serves another (unverifiable) certificate."""
        try:
            return self.serial_on(port, name, root)
        except ssl.SSLError:
            return None

    def test_1_issued_served_renewed_kept(self):
        appliance = self.wait_valid((HOST,))
        domain = self.wait_valid((DOMAIN_HOST,))
        root = self.pebble.root_pem()
        want = appliance["serial"].lstrip("0")
        # Served by SNI, verified against pebble's root and the name, on 995 and 465 ...
        self.assertEqual(self.serial_on(self.ports["pop3s"], HOST, root), want)
        self.assertEqual(self.serial_on(self.ports["submission_tls"], HOST, root), want)
        self.assertEqual(self.serial_on(self.ports["pop3s"], DOMAIN_HOST, root), domain["serial"].lstrip("0"))
        # ... after STARTTLS on the MX and on 587 ...
        self.assertEqual(self.serial_on_starttls(self.ports["smtp"], HOST, root), want)
        self.assertEqual(self.serial_on_starttls(self.ports["submission"], DOMAIN_HOST, root), domain["serial"].lstrip("0"))
        # ... the appliance's also to a client that names nothing, and on the portal once it has asked.
        der = served_certificate(self.ports["pop3s"], None)
        self.assertEqual(served_certificate(self.ports["pop3s"], HOST, root), der)
        self.assertTrue(wait_until(lambda: self.serial_now(self.https_port, HOST, root) == want, 30))
        self.assertEqual(self.serial_on(self.https_port, DOMAIN_HOST, root), domain["serial"].lstrip("0"))

        # A renewal on demand: a new certificate, served on every listener.
        vaultmx_cli(self.config, "acme", "renew", "--name", HOST)
        renewed = self.wait_valid((HOST,), other_than=appliance["serial"])
        fresh = renewed["serial"].lstrip("0")
        self.assertTrue(wait_until(lambda: self.serial_now(self.ports["pop3s"], HOST, root) == fresh, 10))
        self.assertTrue(wait_until(lambda: self.serial_now(self.https_port, HOST, root) == fresh, 30))
        self.assertEqual(self.status()[(DOMAIN_HOST,)]["serial"], domain["serial"], "the other certificate was renewed too")

        # Kept sealed: no private key in clear anywhere under the data folder.
        data = os.path.join(self.tmp.name, "data")
        for base, _, files in os.walk(data):
            for name in files:
                with open(os.path.join(base, name), "rb") as f:
                    self.assertNotIn(b"PRIVATE KEY", f.read(), f"a key in clear in {name}")

        # A restart serves the stored certificates at once, with no new order.
        self.daemon.stop()
        self.daemon.__exit__(None, None, None)
        self.__class__.daemon = Daemon(existing=(self.tmp.name, self.ports, self.config)).start()
        self.assertEqual(self.serial_on(self.ports["pop3s"], HOST, root), fresh)
        self.assertEqual(self.status()[(HOST,)]["serial"], renewed["serial"])

        # Renewal before expiry, unasked: with renew_days past the certificates' lifetime they are due.
        self.daemon.stop()
        self.daemon.__exit__(None, None, None)
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("check_interval_s = 5\n", "check_interval_s = 5\nrenew_days = 3650\n"))
        self.__class__.daemon = Daemon(existing=(self.tmp.name, self.ports, self.config)).start()
        # (They stay due, so the state shows "due" between orders: wait for the serial alone.)
        auto = wait_until(lambda: self.status()[(HOST,)]["serial"] not in ("", renewed["serial"]) and self.status()[(HOST,)], 90)
        self.assertTrue(auto, self.status())
        self.assertTrue(wait_until(lambda: self.serial_now(self.ports["pop3s"], HOST, root) not in (None, fresh), 10))

    def test_2_challenge_path_answers_only_its_tokens(self):
        for path in ("/.well-known/acme-challenge/unknownToken", "/.well-known/acme-challenge/../../etc/passwd",
                     "/.well-known/acme-challenge/", "/.well-known/acme-challenge/a%2Fb"):
            conn = http.client.HTTPConnection("127.0.0.1", self.redirect_port, timeout=10)
            conn.request("GET", path, headers={"Host": HOST})
            r = conn.getresponse()
            r.read()
            conn.close()
            self.assertEqual(r.status, 404, path)
        # Everything else still only redirects.
        conn = http.client.HTTPConnection("127.0.0.1", self.redirect_port, timeout=10)
        conn.request("GET", "/login", headers={"Host": HOST})
        r = conn.getresponse()
        self.assertEqual(r.status, 301)
        self.assertTrue(r.getheader("Location").startswith(f"https://{HOST}"))


if __name__ == "__main__":
    unittest.main()
