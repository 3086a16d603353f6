"""The inbound MX as the internet meets it: real clients (python smtplib, swaks, openssl s_client)
against the real daemon. Local recipients only (no open relay), STARTTLS, pipelining, SMTPUTF8,
the smuggling defence, and durability: every message acknowledged with 250 is in the mailboxes,
exactly once, even when the daemon is killed right after acknowledging."""
import json
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import unittest

from daemon_harness import VAULTMX, Daemon, init_instance

EXTRA = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1

[smtp]
hostname = "mx.example.test"
"""

USERS = ["ann", "ben", "cat", "dan"]


def cli(daemon, *args, stdin=None):
    r = subprocess.run([VAULTMX, "-c", daemon.config, *args], input=stdin, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"vaultmx {' '.join(args)}: {r.stderr}")
    return r.stdout


def mailbox(daemon, user):
    return json.loads(cli(daemon, "--json", "user", "mailbox", f"{user}@example.test"))


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_daemon():
    d = Daemon(extra=EXTRA)
    init_instance(d.config, "--self-signed")
    d.start()
    cli(d, "org", "add", "Example", "--plan", "pro")
    cli(d, "domain", "add", "example.test", "--org", "Example")
    for u in USERS:
        cli(d, "user", "add", f"{u}@example.test")
    return d


def wait_for(predicate, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class InboundSmtp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = make_daemon()
        cls.port = cls.d.ports["smtp"]

    @classmethod
    def tearDownClass(cls):
        code, err = cls.d.stop()
        cls.d.__exit__(None, None, None)
        assert code == 0, err

    def count(self, user):
        return len(mailbox(self.d, user))

    def test_starttls_delivery_to_several_recipients(self):
        before = {u: self.count(u) for u in ("ann", "ben")}
        body = b"Subject: over TLS\r\nFrom: x@remote.test\r\n\r\nline one\r\n.leading dot\r\n"
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
            code, banner = s.ehlo("client.remote.test")
            self.assertIn(b"STARTTLS", banner)
            s.starttls(context=tls_context())
            code, banner = s.ehlo("client.remote.test")
            self.assertNotIn(b"STARTTLS", banner)
            refused = s.sendmail("x@remote.test", ["ann@example.test", "BEN@Example.Test"], body)
            self.assertEqual(refused, {})
        self.assertTrue(wait_for(lambda: self.count("ann") == before["ann"] + 1 and self.count("ben") == before["ben"] + 1))
        newest = max(mailbox(self.d, "ann"), key=lambda m: m["id"])
        self.assertGreater(newest["size"], len(body))  # the Received: header was prepended

    def test_no_open_relay_and_unknown_users(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
            s.ehlo("client.remote.test")
            s.mail("x@remote.test")
            self.assertEqual(s.rcpt("victim@elsewhere.test")[0], 550)
            self.assertEqual(s.rcpt("nobody@example.test")[0], 550)
            for trick in ("<@relay.test:ann@example.test>", "<ann%elsewhere.test@example.test>",
                          "<elsewhere.test!ann@example.test>", "<ann@[127.0.0.1]>"):
                code, _ = s.docmd("RCPT TO:" + trick)
                self.assertGreaterEqual(code, 500, trick)
            self.assertEqual(s.rcpt("ann@example.test")[0], 250)

    def test_pipelined_messages_and_smtputf8(self):
        before = self.count("cat")
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"EHLO client.remote.test\r\n")
            while f.readline()[3:4] == b"-":
                pass
            batch = b"".join(
                b"MAIL FROM:<s%d@remote.test>\r\nRCPT TO:<cat@example.test>\r\nDATA\r\n" % i for i in range(1))
            s.sendall(batch)
            replies = [f.readline() for _ in range(3)]
            self.assertTrue(replies[2].startswith(b"354"), replies)
            s.sendall(b"Subject: piped\r\n\r\nbody\r\n.\r\nMAIL FROM:<j\xc3\xbcrgen@remote.test> SMTPUTF8\r\n"
                      b"RCPT TO:<cat@example.test>\r\nDATA\r\n")
            replies = [f.readline() for _ in range(4)]
            self.assertTrue(replies[0].startswith(b"250"), replies)
            self.assertTrue(replies[3].startswith(b"354"), replies)
            s.sendall("Subject: caf\u00e9\r\n\r\nUTF-8 body \u2713\r\n.\r\nQUIT\r\n".encode())
            self.assertTrue(f.readline().startswith(b"250"))
            self.assertTrue(f.readline().startswith(b"221"))
        self.assertTrue(wait_for(lambda: self.count("cat") == before + 2))

    def test_smuggling_is_refused(self):
        before = self.count("dan")
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"HELO client.remote.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<dan@example.test>\r\nDATA\r\n")
            for _ in range(4):
                f.readline()
            s.sendall(b"first\r\n\n.\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<dan@example.test>\r\nDATA\r\n"
                      b"smuggled\r\n.\r\n")
            reply = f.readline()
            self.assertTrue(reply.startswith(b"550"), reply)
        time.sleep(0.3)
        self.assertEqual(self.count("dan"), before)

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_with_starttls(self):
        before = self.count("ben")
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.port), "--to", "ben@example.test",
                            "--from", "swaks@remote.test", "--tls", "--helo", "swaks.remote.test"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("TLS started", r.stdout)
        self.assertTrue(wait_for(lambda: self.count("ben") == before + 1))

    def test_openssl_s_client_starttls(self):
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-starttls", "smtp",
                            "-brief", "-ign_eof"], input="EHLO openssl.test\r\nQUIT\r\n", capture_output=True,
                           text=True, timeout=30)
        self.assertIn("TLSv1.3", r.stdout + r.stderr)
        self.assertIn("250", r.stdout)

    def test_fifty_connections_thousand_messages_all_present(self):
        before = {u: self.count(u) for u in USERS}
        acknowledged = []
        lock = threading.Lock()

        def sender(n):
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
                s.ehlo("load.remote.test")
                for i in range(20):
                    rcpt = f"{USERS[(n + i) % len(USERS)]}@example.test"
                    s.sendmail(f"load{n}@remote.test", [rcpt], f"Subject: {n}-{i}\r\n\r\nbody {n} {i}\r\n".encode())
                    with lock:
                        acknowledged.append(rcpt)

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(acknowledged), 1000)
        expected = {u: before[u] + sum(1 for a in acknowledged if a.startswith(u + "@")) for u in USERS}
        self.assertTrue(wait_for(lambda: all(self.count(u) == expected[u] for u in USERS), timeout=60),
                        {u: (self.count(u), expected[u]) for u in USERS})


class KeyRotation(unittest.TestCase):
    def test_rotation_rewraps_stored_mail_then_destroys_the_old_version(self):
        d = make_daemon()
        try:
            with smtplib.SMTP("127.0.0.1", d.ports["smtp"], timeout=10) as s:
                for i in range(30):
                    s.sendmail("r@remote.test", ["ann@example.test", "ben@example.test"], f"Subject: {i}\r\n\r\nx\r\n".encode())
            self.assertTrue(wait_for(lambda: len(mailbox(d, "ann")) == 30 and len(mailbox(d, "ben")) == 30))
            cli(d, "key", "rotate", "--org", "Example")

            def old_version_destroyed():
                keys = json.loads(cli(d, "--json", "key", "status"))
                return any(k["scope"] == "organisation" and k["version"] == 1 and k["state"] == "destroyed" for k in keys)

            self.assertTrue(wait_for(old_version_destroyed, 30), cli(d, "key", "status"))
            self.assertIn("done", cli(d, "key", "status"))
            # Every message still opens: it was rewrapped before its old key was destroyed.
            self.assertEqual(len(mailbox(d, "ann")), 30)
            self.assertEqual(len(mailbox(d, "ben")), 30)
            self.assertEqual(d.stop()[0], 0)
            d.start()
            self.assertEqual(len(mailbox(d, "ann")), 30)
        finally:
            d.__exit__(None, None, None)


class CrashSafety(unittest.TestCase):
    def test_acknowledged_mail_survives_sigkill_exactly_once(self):
        d = make_daemon()
        try:
            port = d.ports["smtp"]
            sent = 0
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                s.ehlo("crash.remote.test")
                for i in range(40):
                    s.sendmail("c@remote.test", ["ann@example.test", "dan@example.test"], f"Subject: {i}\r\n\r\nx\r\n".encode())
                    sent += 1
                # Killed right after the last 250: delivery may be anywhere in between.
                d.proc.send_signal(signal.SIGKILL)
                d.proc.wait()
            d.start()
            self.assertTrue(wait_for(lambda: len(mailbox(d, "ann")) == sent and len(mailbox(d, "dan")) == sent, 30),
                            (len(mailbox(d, "ann")), len(mailbox(d, "dan")), sent))
            time.sleep(0.5)  # and no duplicate arrives late
            self.assertEqual(len(mailbox(d, "ann")), sent)
            self.assertEqual(len(mailbox(d, "dan")), sent)
            code, err = d.stop()
            self.assertEqual(code, 0, err)
        finally:
            d.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
