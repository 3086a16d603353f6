#!/usr/bin/env python3
"""The Prometheus endpoint on the real daemon: `curl` reads /metrics after real mail and logins and
sees the counters move, `promtool check metrics` accepts the text, hostile requests (oversized,
garbage, POST, a slow header, too many connections) get an error or are cut without harming the
daemon, and no address, user name or message text ever appears in the output."""
import os
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from daemon_harness import VAULTMX, Daemon, free_port, init_instance, write_config

CHEAP_ARGON2 = "\n[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n"
SCRAPE_LIMITS = "io_timeout_s = 1\nconnections_max = 4\n"  # into the harness's [metrics] table
PASSWORD = "metrics secret 4Kx!"
WRONG = "not the password 9Jq"
ADDRESS = "canaryuser@metrics.test"
CANARY = "CanaryBody7Zx"


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def exchange(port, request, timeout=5):
    """Sends raw bytes and returns everything the endpoint answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


def status_line(answer):
    return answer.split(b"\r\n", 1)[0].decode(errors="replace")


def total(text, family, **labels):
    """The sum of a family's samples whose labels include `labels`."""
    found = 0.0
    for line in text.splitlines():
        m = re.match(r"^(\w+)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != family:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            found += float(m.group(3))
    return found


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-metrics-")
        folder = cls.tmp.name
        os.chmod(folder, 0o711)
        cls.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        cls.config = write_config(folder, cls.ports, extra=CHEAP_ARGON2)
        with open(cls.config) as f:
            text = f.read()
        listen = f'listen = "127.0.0.1:{cls.ports["metrics"]}"\n'
        with open(cls.config, "w") as f:
            f.write(text.replace(listen, listen + SCRAPE_LIMITS))
        init_instance(cls.config, "--self-signed")
        cls.daemon = Daemon(existing=(folder, cls.ports, cls.config)).start()
        cls.ok("org", "add", "Metrics Org", "--plan", "pro")
        cls.ok("domain", "add", "metrics.test", "--org", "Metrics Org")
        cls.ok("user", "add", ADDRESS, "--password-stdin", stdin=PASSWORD + "\n")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.__exit__(None, None, None)
        cls.tmp.cleanup()

    @classmethod
    def ok(cls, *args, stdin=None):
        r = subprocess.run([VAULTMX, "-c", cls.config, *args], input=stdin, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    def scrape(self):
        r = subprocess.run(["curl", "-sS", "--max-time", "10", "-D", "-",
                            f"http://127.0.0.1:{self.ports['metrics']}/metrics"],
                           capture_output=True, timeout=30)  # bytes: text mode would turn CRLF into LF
        self.assertEqual(r.returncode, 0, r.stderr)
        head, _, body = r.stdout.decode().partition("\r\n\r\n")
        self.assertTrue(head.startswith("HTTP/1.1 200 OK"), head)
        self.assertIn("Content-Type: text/plain; version=0.0.4; charset=utf-8", head)
        return body

    def send_and_login(self):
        with smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=30) as s:
            s.starttls(context=insecure())
            s.sendmail("sender@remote.test", [ADDRESS],
                       f"From: sender@remote.test\r\nTo: {ADDRESS}\r\nSubject: {CANARY}\r\n\r\n{CANARY} body\r\n")
        p = poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], context=insecure(), timeout=30)
        p.user(ADDRESS)
        with self.assertRaises(poplib.error_proto):
            p.pass_(WRONG)
        p.quit()
        p = poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], context=insecure(), timeout=30)
        p.user(ADDRESS)
        p.pass_(PASSWORD)
        p.quit()

    def test_counters_move_and_promtool_accepts(self):
        before = self.scrape()
        self.send_and_login()
        deadline = time.monotonic() + 15
        while True:
            after = self.scrape()
            if total(after, "vaultmx_deliveries_total", path="local") >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(total(after, "vaultmx_messages_accepted_total", queue="inbound"),
                         total(before, "vaultmx_messages_accepted_total", queue="inbound") + 1)
        self.assertGreaterEqual(total(after, "vaultmx_deliveries_total", path="local"), 1)
        self.assertGreaterEqual(total(after, "vaultmx_logins_total", protocol="pop3"), 1)
        self.assertGreaterEqual(total(after, "vaultmx_login_failures_total", protocol="pop3", reason="bad_credentials"), 1)
        self.assertGreaterEqual(total(after, "vaultmx_login_seconds_count", protocol="pop3"), 2)
        self.assertGreaterEqual(total(after, "vaultmx_smtp_data_reply_seconds_count", listener="smtp"), 1)
        self.assertGreaterEqual(total(after, "vaultmx_tls_handshakes_total", listener="pop3s"), 2)
        self.assertGreaterEqual(total(after, "vaultmx_tls_handshakes_total", listener="smtp"), 1)
        self.assertGreaterEqual(total(after, "vaultmx_store_commits_total"), 1)
        self.assertGreaterEqual(total(after, "vaultmx_store_commit_seconds_count"), 1)
        self.assertEqual(total(after, "vaultmx_store_commit_failures_total"), 0)
        self.assertEqual(total(after, "vaultmx_shards"), 2)
        self.assertGreater(total(after, "vaultmx_data_free_bytes"), 0, [l for l in after.splitlines() if "free" in l])
        # `vaultmx init --self-signed` makes a certificate valid for years.
        self.assertGreater(total(after, "vaultmx_tls_certificate_expiry_seconds"), 30 * 86400)
        self.assertGreater(total(after, "vaultmx_log_spool_bytes"), 0)  # the sealed log spool is there
        self.assertIn('vaultmx_connections_accepted_total{shard="0"}', after)
        self.assertIn('vaultmx_connections_accepted_total{shard="1"}', after)
        # Every family has HELP and TYPE, counters end in _total: promtool's own lint.
        r = subprocess.run([shutil.which("promtool") or "promtool", "check", "metrics"], input=after,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # No address, user, domain, password or message text: only counts.
        for secret in (ADDRESS, "canaryuser", "metrics.test", "remote.test", CANARY, PASSWORD, WRONG, "127.0.0.1"):
            self.assertNotIn(secret, after)

    def test_head_and_wrong_paths(self):
        port = self.ports["metrics"]
        head = exchange(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status_line(head), "HTTP/1.1 200 OK")
        self.assertTrue(head.endswith(b"\r\n\r\n"))
        self.assertEqual(status_line(exchange(port, b"GET / HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found")
        self.assertEqual(status_line(exchange(port, b"GET /metrics/../x HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found")

    def test_hostile_requests_are_refused(self):
        port = self.ports["metrics"]
        post = exchange(port, b"POST /metrics HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world")
        self.assertEqual(status_line(post), "HTTP/1.1 405 Method Not Allowed")
        self.assertIn(b"Allow: GET, HEAD", post)
        self.assertEqual(status_line(exchange(port, b"\x16\x03\x01garbage\r\n\r\n")), "HTTP/1.1 400 Bad Request")
        self.assertEqual(status_line(exchange(port, b"GET /metrics HTTP/1.1\nHost: x\n\n")), "HTTP/1.1 400 Bad Request")
        self.assertEqual(status_line(exchange(port, b"GET /metrics HTTP/3.0\r\n\r\n")),
                         "HTTP/1.1 505 HTTP Version Not Supported")
        long_line = b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n"
        self.assertEqual(status_line(exchange(port, long_line)), "HTTP/1.1 414 URI Too Long")
        big_head = b"GET /metrics HTTP/1.1\r\n" + b"X-Fill: " + b"b" * 100_000 + b"\r\n\r\n"
        self.assertEqual(status_line(exchange(port, big_head)), "HTTP/1.1 431 Request Header Fields Too Large")
        many = b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"\r\n"
        self.assertEqual(status_line(exchange(port, many)), "HTTP/1.1 431 Request Header Fields Too Large")
        self.assertIn("vaultmx_metrics_scrapes_total", self.scrape())  # still serving

    def test_slow_header_is_cut_at_the_deadline(self):
        port = self.ports["metrics"]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            started = time.monotonic()
            s.sendall(b"GET /metrics HTTP/1.1\r\n")
            closed = False
            for _ in range(40):  # a byte every 100 ms: never a whole head
                try:
                    s.sendall(b"X")
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                s.settimeout(0.1)
                try:
                    if s.recv(1) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed = True
                    break
            self.assertTrue(closed, "a slow header was never cut")
            self.assertLess(time.monotonic() - started, 3.5)  # io_timeout_s = 1, checked every tick
        self.assertGreaterEqual(total(self.scrape(), "vaultmx_metrics_refused_total", reason="timeout"), 1)

    def test_connections_over_the_cap_are_closed(self):
        port = self.ports["metrics"]
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
        try:
            time.sleep(0.3)
            extra = exchange(port, b"GET /metrics HTTP/1.1\r\n\r\n")
            self.assertEqual(extra, b"")  # closed at accept: no answer at all
        finally:
            for s in idle:
                s.close()
        time.sleep(1.5)  # the idle ones are cut (or gone), and the next scrape is served
        text = self.scrape()
        self.assertGreaterEqual(total(text, "vaultmx_metrics_refused_total", reason="connections_max"), 1)
        with smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=10) as s:  # the mail side never noticed
            self.assertEqual(s.ehlo()[0], 250)


if __name__ == "__main__":
    unittest.main()
