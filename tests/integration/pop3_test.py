"""POP3S as mail clients meet it: the real daemon with a self-signed certificate, messages delivered
through inbound SMTP, then python's poplib, curl and openssl s_client over implicit TLS. Covers
list/uidl/top/retr/dele/quit with a reconnect, byte-exact retrieval, login history without the
password, one session per maildrop, remote logout, and a 5 MiB message streamed intact."""
import json
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

from daemon_harness import (VAULTMX, Daemon, files_holding, free_port, init_instance, pop3_login,
                            wait_for_pop3_messages, write_config)

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""

PASSWORD = "pop3 secret 5Wq!"
WRONG = "definitely-wrong-pw-8842"
ADDRESS = "ann@pop.test"


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(subject, body):
    return (f"From: sender@remote.test\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@remote.test>\r\n\r\n{body}").encode()


def strip_received(raw):
    """The stored message minus what the MX added in front: its Received: header, then its
    Authentication-Results: header (mail authentication)."""
    lines = raw.split(b"\r\n")
    assert lines[0].startswith(b"Received:"), lines[0]
    i = 0
    for name in (b"Received:", b"Authentication-Results:"):
        assert lines[i].startswith(name), lines[i]
        i += 1
        while lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\r\n".join(lines[i:])


class Pop3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-pop3-")
        folder = cls.tmp.name
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        config = write_config(folder, ports, extra=CHEAP_ARGON2)
        init_instance(config, "--self-signed")
        cls.daemon = Daemon(existing=(folder, ports, config)).start()
        cls.port = ports["pop3s"]
        cls.ok("org", "add", "Pop Org", "--plan", "pro")
        cls.ok("domain", "add", "pop.test", "--org", "Pop Org")
        cls.ok("user", "add", ADDRESS, "--password-stdin", stdin=PASSWORD + "\n")
        cls.sent = {}
        for i, body in enumerate(["first body\r\n",
                                  "second\r\n.leading dot line\r\n..two dots\r\nlast\r\n",
                                  "third\r\n" + "".join(f"line {n}\r\n" for n in range(40))]):
            subject = f"msg {i}"
            cls.sent[subject] = message(subject, body)
            cls.deliver(cls.sent[subject])
        cls.wait_for_messages(3)

    @classmethod
    def tearDownClass(cls):
        # Sessions ran both on the mailbox's owner shard and on the other one (lock and deletions
        # then travel by message); with ~40 connections spread by the kernel, both happen.
        places = re.findall(r"pop3\.session user=\d+ client=\S+ shard=(\d+) owner_shard=(\d+)", cls.daemon.log_text())
        code, _ = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        cls.tmp.cleanup()
        assert code == 0, code
        assert any(a == b for a, b in places) and any(a != b for a, b in places), places

    @classmethod
    def cli(cls, *args, stdin=None):
        return subprocess.run([VAULTMX, "-c", cls.daemon.config, *args], input=stdin, capture_output=True,
                              text=True, timeout=60)

    @classmethod
    def ok(cls, *args, stdin=None):
        r = cls.cli(*args, stdin=stdin)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    @classmethod
    def deliver(cls, data):
        with smtplib.SMTP("127.0.0.1", cls.daemon.ports["smtp"], timeout=30) as s:
            s.sendmail("sender@remote.test", [ADDRESS], data)

    @classmethod
    def login(cls):
        """A login, maybe right after the last session ended: the lock's release reaches the mailbox's
        owner shard a moment after the connection closed, so an [IN-USE] in that window is retried
        (as mail clients do)."""
        return pop3_login(cls.port, ADDRESS, PASSWORD)

    @classmethod
    def wait_for_messages(cls, count, timeout=15):
        wait_for_pop3_messages(cls.port, ADDRESS, PASSWORD, count, timeout)

    def retrieve_by_subject(self, p, subject):
        n, _ = p.stat()
        for i in range(1, n + 1):
            raw = b"\r\n".join(p.retr(i)[1]) + b"\r\n"
            if f"Subject: {subject}\r\n".encode() in raw:
                return i, raw
        self.fail(f"{subject} not found")

    def test_1_list_uidl_top_retr_byte_exact(self):
        p = self.login()
        try:
            n, size = p.stat()
            self.assertEqual(n, 3)
            listing = p.list()[1]
            self.assertEqual(len(listing), 3)
            self.assertEqual(sum(int(l.split()[1]) for l in listing), size)
            uidls = [l.split()[1] for l in p.uidl()[1]]
            self.assertEqual(len(set(uidls)), 3)
            for subject, sent in self.sent.items():
                i, raw = self.retrieve_by_subject(p, subject)
                # poplib undoes the dot-stuffing; the stored message is what SMTP received.
                self.assertEqual(strip_received(raw), sent)
                self.assertEqual(len(raw), int(listing[i - 1].split()[1]))
            i, _ = self.retrieve_by_subject(p, "msg 2")
            top = p.top(i, 2)[1]
            self.assertIn(b"Subject: msg 2", top)
            self.assertEqual(top[-2:], [b"third", b"line 0"])
        finally:
            p.quit()

    def test_2_dele_quit_reconnect_and_restore(self):
        p = self.login()
        before = {l.split()[1] for l in p.uidl()[1]}
        i, _ = self.retrieve_by_subject(p, "msg 0")
        gone = p.uidl(i).split()[2]
        p.dele(i)
        self.assertEqual(p.stat()[0], 2)
        p.quit()
        p = self.login()
        after = {l.split()[1] for l in p.uidl()[1]}
        p.quit()
        self.assertEqual(after, before - {gone})  # UIDLs of the others did not change
        listed = self.cli("user", "mailbox", ADDRESS, "--trash", "--json")
        if listed.returncode == 2:  # usage error: the command is not in this build
            self.skipTest("vaultmx user mailbox/restore not available in this build: " + listed.stderr.strip())
        trash = [m for m in json.loads(listed.stdout) if m.get("state") == "trash"]
        self.assertEqual([m["uidl"] for m in trash], [gone.decode()])
        self.ok("user", "restore", ADDRESS, str(trash[0]["id"]))
        p = self.login()
        self.assertEqual({l.split()[1] for l in p.uidl()[1]}, before)
        p.quit()

    def test_2b_a_dropped_connection_deletes_nothing(self):
        p = self.login()
        n = p.stat()[0]
        for i in range(1, n + 1):
            p.dele(i)
        p.sock.shutdown(socket.SHUT_RDWR)  # gone without QUIT: no UPDATE state
        p.close()
        p = self.login()
        self.assertEqual(p.stat()[0], n)
        p.rset()
        p.quit()

    def test_3_curl_lists_and_retrieves(self):
        url = f"pop3s://127.0.0.1:{self.port}/"
        auth = f"{ADDRESS}:{PASSWORD}"
        r = subprocess.run(["curl", "-s", "--insecure", "-u", auth, url], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().strip().splitlines()
        self.assertGreaterEqual(len(lines), 2)
        r = subprocess.run(["curl", "-s", "--insecure", "-u", auth, url + "1"], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(b"Received:"), r.stdout[:80])
        self.assertIn(b"Subject: msg", r.stdout)

    def test_4_openssl_s_client(self):
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-quiet", "-crlf"],
                           input=b"CAPA\nQUIT\n", capture_output=True, timeout=30)
        out = r.stdout.decode(errors="replace")
        self.assertTrue(out.startswith("+OK"), out)
        self.assertIn("USER\r\n", out)
        self.assertIn("SASL PLAIN", out)
        self.assertIn("+OK Bye", out)

    def test_5_wrong_password_is_in_history_and_nowhere_on_disk(self):
        p = poplib.POP3_SSL("127.0.0.1", self.port, context=insecure(), timeout=30)
        p.user(ADDRESS)
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_(WRONG)
        self.assertIn(b"[AUTH]", e.exception.args[0])
        p.close()
        deadline = time.monotonic() + 10
        while True:
            failed = json.loads(self.ok("--json", "user", "logins", ADDRESS, "--failed"))
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(failed, "no failed login recorded")
        entry = failed[-1]
        text = json.dumps(entry)
        self.assertIn("pop3", text)
        self.assertIn("127.0.0.1", text)
        self.assertIn("TLSv1.3", text)
        self.assertNotIn(WRONG, text)
        everything = json.loads(self.ok("--json", "user", "logins", ADDRESS))
        self.assertTrue(any("success" in json.dumps(e) for e in everything))
        self.assertEqual(files_holding(self.daemon.folder, [WRONG.encode(), PASSWORD.encode()]), [])

    def test_6_second_session_gets_in_use(self):
        first = self.login()
        try:
            second = poplib.POP3_SSL("127.0.0.1", self.port, context=insecure(), timeout=30)
            second.user(ADDRESS)
            with self.assertRaises(poplib.error_proto) as e:
                second.pass_(PASSWORD)
            self.assertIn(b"[IN-USE]", e.exception.args[0])
            second.close()
            self.assertGreaterEqual(first.stat()[0], 1)
        finally:
            first.quit()
        self.login().quit()  # released on QUIT

    def test_7_remote_logout_ends_the_session(self):
        p = self.login()
        sessions = json.loads(self.ok("--json", "user", "sessions", ADDRESS))
        self.assertTrue(any(s.get("protocol") == "pop3" for s in sessions), sessions)
        self.ok("user", "logout", ADDRESS)
        with self.assertRaises((poplib.error_proto, OSError, EOFError)):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                p.noop()
                time.sleep(0.1)
        p.close()
        self.login().quit()  # the lock went with the session

    def test_8_five_mib_message_streams_intact(self):
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-=+\r\n"
        body = (line * (5 * 1024 * 1024 // len(line) + 1)).decode()
        sent = message("big one", body)
        self.deliver(sent)
        p = self.login()
        try:
            n, _ = p.stat()
            deadline = time.monotonic() + 15
            while n < 4 and time.monotonic() < deadline:
                p.quit()
                time.sleep(0.2)
                p = self.login()
                n, _ = p.stat()
            i = n  # the newest
            start = time.monotonic()
            raw = b"\r\n".join(p.retr(i)[1]) + b"\r\n"
            elapsed = time.monotonic() - start
            self.assertEqual(strip_received(raw), sent)
            print(f"\n5 MiB RETR over TLS: {elapsed * 1000:.0f} ms")
            p.dele(i)
        finally:
            p.quit()

    def test_9_policy_and_account_state(self):
        self.ok("org", "add", "Strict Org", "--plan", "starter")
        self.ok("domain", "add", "strict.test", "--org", "Strict Org")
        bob = "bob@strict.test"
        self.ok("user", "add", bob, "--password-stdin", stdin=PASSWORD + "\n")
        app = self.ok("user", "app-password", "add", bob, "--label", "phone").split(": ", 1)[1].splitlines()[0]

        def attempt(password):
            p = poplib.POP3_SSL("127.0.0.1", self.port, context=insecure(), timeout=30)
            try:
                p.user(bob)
                p.pass_(password)
                p.quit()
                return b"+OK"
            except poplib.error_proto as e:
                p.close()
                return e.args[0]

        self.assertEqual(attempt(PASSWORD), b"+OK")
        self.assertEqual(attempt(app), b"+OK")  # an app password works as well
        self.ok("org", "policy", "Strict Org", "--require-mfa")
        self.assertIn(b"policy", attempt(PASSWORD))  # only app passwords over POP3 now
        self.assertEqual(attempt(app), b"+OK")
        self.ok("org", "policy", "Strict Org", "--allow-net", "10.0.0.0/8")
        self.assertIn(b"policy", attempt(app))
        self.ok("org", "policy", "Strict Org", "--allow-any-net", "--no-require-mfa", "--session-max", "1s")
        p = poplib.POP3_SSL("127.0.0.1", self.port, context=insecure(), timeout=30)
        p.user(bob)
        p.pass_(PASSWORD)
        time.sleep(1.5)
        with self.assertRaises((poplib.error_proto, OSError, EOFError)):
            p.noop()
        p.close()
        self.ok("org", "policy", "Strict Org", "--session-max", "0")
        self.ok("user", "disable", bob)
        self.assertIn(b"disabled", attempt(PASSWORD))  # only once the password was right
        self.assertIn(b"[AUTH] Authentication failed", attempt(WRONG))
        failed = json.dumps(json.loads(self.ok("--json", "user", "logins", bob, "--failed")))
        for reason in ("mfa_required", "network_not_allowed", "account_disabled", "bad_credentials"):
            self.assertIn(reason, failed)
        history = json.loads(self.ok("--json", "user", "logins", bob))
        successes = [json.dumps(e) for e in history if "success" in json.dumps(e)]
        self.assertTrue(any("app_password" in e for e in successes), history)
        self.assertNotIn(app, json.dumps(history))

    def test_10_a_repeated_login_is_answered_without_argon2id(self):
        """A mail client polling with the same password: the verified-login cache answers the second
        login (vaultmx stats counts its hits and misses), until a logout forgets it."""
        def counts():
            return {k: int(v) for k, v in re.findall(r"login_cache_(\w+)=(\d+)", self.ok("stats"))}

        self.login().quit()
        first = counts()
        self.login().quit()
        second = counts()
        self.assertGreater(second["hits"], first["hits"])
        self.assertGreaterEqual(second["entries"], 1)
        self.ok("user", "logout", ADDRESS)
        self.login().quit()
        self.assertGreater(counts()["misses"], second["misses"])  # forgotten: Argon2id again


class Pop3WithoutCertificate(unittest.TestCase):
    def test_pop3s_refuses_clearly_without_a_certificate(self):
        with Daemon(extra=CHEAP_ARGON2) as daemon:
            with socket.create_connection(("127.0.0.1", daemon.ports["pop3s"]), timeout=10) as s:
                self.assertEqual(s.recv(100), b"")  # closed at once, nothing in the clear
            with self.assertRaises((ssl.SSLError, OSError)):
                poplib.POP3_SSL("127.0.0.1", daemon.ports["pop3s"], context=insecure(), timeout=10)
            code, err = daemon.stop()
            self.assertEqual(code, 0)
            self.assertIn("pop3.unavailable", daemon.log_text() + err)


if __name__ == "__main__":
    unittest.main()
