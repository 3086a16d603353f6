"""`vaultmx user export` against the real daemon: messages delivered over SMTP (one with "From me",
">From you" and ">>From x" lines, one of several MiB), one deleted over POP3, then exported with
and without --trash; python's mailbox.mbox must find as many messages as POP3 listed, each with
the bytes RETR returned (LF for CRLF, one '>' off each quoted "From " line). Also: the file is
0600, an existing file is refused (and kept), --force replaces it, an unknown user fails and
leaves no file, and no daemon means a clear failure."""
import mailbox
import os
import re
import smtplib
import stat
import subprocess
import tempfile
import time
import unittest

from daemon_harness import VAULTMX, Daemon, free_port, init_instance, write_config, pop3_login, wait_for_pop3_messages

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""

PASSWORD = "export secret 7Kd!"
ADDRESS = "ann@export.test"
BIG_BYTES = 6 * 1024 * 1024



def message(subject, body):
    return (f"From: sender@remote.test\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@remote.test>\r\n\r\n{body}").encode()


def mbox_messages(path):
    """Each message of an mboxrd file as bytes, its quoting undone."""
    box = mailbox.mbox(path, create=False)
    try:
        return [re.sub(rb"^>(>*From )", rb"\1", box.get_bytes(key), flags=re.M) for key in box.keys()]
    finally:
        box.close()


class Export(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-export-")
        folder = cls.tmp.name
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        config = write_config(folder, ports, extra=CHEAP_ARGON2)
        init_instance(config, "--self-signed")
        cls.daemon = Daemon(existing=(folder, ports, config)).start()
        cls.ok("org", "add", "Export Org", "--plan", "pro")
        cls.ok("domain", "add", "export.test", "--org", "Export Org")
        cls.ok("user", "add", ADDRESS, "--password-stdin", stdin=PASSWORD + "\n")
        line = b"0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n"
        bodies = [
            ("plain", "hello\r\n"),
            ("quoting", "From me\r\n>From you\r\n>>From x\r\nFrom: not a separator\r\n a From b\r\n"),
            ("big one", (line * (BIG_BYTES // len(line) + 1)).decode()),
            ("to delete", "this one goes to the trash\r\nFrom the trash\r\n"),
            ("last", "bye\r\n"),
        ]
        for subject, body in bodies:
            cls.deliver(message(subject, body))
        cls.wait_for_messages(len(bodies))
        # What POP3 RETR returns, in POP3's order; then the one to delete goes to the trash at QUIT.
        p = cls.login()
        count, _ = p.stat()
        cls.retrieved = [b"\n".join(p.retr(i)[1]) + b"\n" for i in range(1, count + 1)]
        cls.deleted = next(i for i, m in enumerate(cls.retrieved) if b"Subject: to delete\n" in m)
        p.dele(cls.deleted + 1)
        p.quit()
        cls.live = [m for i, m in enumerate(cls.retrieved) if i != cls.deleted]

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        cls.tmp.cleanup()
        assert code == 0, code

    @classmethod
    def cli(cls, *args, stdin=None, config=None):
        return subprocess.run([VAULTMX, "-c", config or cls.daemon.config, *args], input=stdin, capture_output=True,
                              timeout=120)

    @classmethod
    def ok(cls, *args, stdin=None):
        r = subprocess.run([VAULTMX, "-c", cls.daemon.config, *args], input=stdin, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    @classmethod
    def deliver(cls, data):
        with smtplib.SMTP("127.0.0.1", cls.daemon.ports["smtp"], timeout=60) as s:
            s.sendmail("sender@remote.test", [ADDRESS], data)

    @classmethod
    def login(cls):
        return pop3_login(cls.daemon.ports["pop3s"], ADDRESS, PASSWORD)

    @classmethod
    def wait_for_messages(cls, count, timeout=30):
        wait_for_pop3_messages(cls.daemon.ports["pop3s"], ADDRESS, PASSWORD, count, timeout)

    def out_path(self, name):
        return os.path.join(self.tmp.name, name)

    def export(self, *args):
        return self.cli("user", "export", ADDRESS, *args)

    def test_live_messages_match_retr(self):
        out = self.out_path("live.mbox")
        started = time.monotonic()
        r = self.export("--out", out)
        elapsed = time.monotonic() - started
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"4 messages exported", r.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        self.assertFalse(os.path.exists(out + ".part"))
        exported = mbox_messages(out)
        self.assertEqual(len(exported), len(self.live))
        self.assertEqual(exported, self.live)
        with open(out, "rb") as f:
            data = f.read()
        self.assertNotIn(b"\r\n", data)
        self.assertTrue(data.startswith(b"From MAILER-DAEMON "), data[:60])
        self.assertIn(b"\n>From me\n>>From you\n>>>From x\nFrom: not a separator\n", data)
        size = os.path.getsize(out)
        print(f"\nexport of {size / 1e6:.1f} MB (4 messages): {elapsed * 1000:.0f} ms, "
              f"{size / 1e6 / elapsed:.0f} MB/s end to end (CLI start included)")

    def test_trash_comes_after_the_live_ones(self):
        out = self.out_path("all.mbox")
        r = self.export("--out", out, "--trash")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"5 messages exported", r.stdout)
        exported = mbox_messages(out)
        self.assertEqual(exported, self.live + [self.retrieved[self.deleted]])

    def test_existing_file_is_refused_then_forced(self):
        out = self.out_path("existing.mbox")
        with open(out, "wb") as f:
            f.write(b"keep me\n")
        r = self.export("--out", out)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"exists", r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"keep me\n")
        self.assertFalse(os.path.exists(out + ".part"))
        r = self.export("--out", out, "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(mbox_messages(out)), len(self.live))
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)

    def test_unknown_user_fails_without_a_file(self):
        out = self.out_path("nobody.mbox")
        r = self.cli("user", "export", "nobody@export.test", "--out", out)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"nobody@export.test", r.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + ".part"))

    def test_no_daemon_is_a_clear_failure(self):
        folder = tempfile.mkdtemp(dir=self.tmp.name)
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        config = write_config(folder, ports)
        out = os.path.join(folder, "x.mbox")
        r = self.cli("user", "export", ADDRESS, "--out", out, config=config)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"is vaultmxd running?", r.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + ".part"))

    def test_export_is_audited(self):
        out = self.out_path("audited.mbox")
        self.assertEqual(self.export("--out", out).returncode, 0)
        shown = self.ok("audit", "show")
        self.assertIn("user export", shown)
        self.assertIn(out, shown)


if __name__ == "__main__":
    unittest.main()
