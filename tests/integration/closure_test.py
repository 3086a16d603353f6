"""Account closure against the real daemon: mail in over SMTP to two users; `user close` ends the
open POP3 session, refuses a new login (as a wrong password; the history says account_closed) and
refuses RCPT with 550 5.2.1, the other user untouched; `user reopen` gives every message back byte
for byte and logins work. Then a second daemon with [lifecycle] closure_purge_days = 0 and a 1 s
sweep: after the purge no record of the user remains (user list, user logins, user mailbox), reopen
is refused, the address can be added again as a new empty account, the other user's mail reads
back; `user purge --now` is refused for an open account and works for a closed one; `org close` /
`org reopen`; and a SIGKILL during the purge of a user with many messages, a restart, and the
purge finishes."""
import os
import poplib
import signal
import smtplib
import subprocess
import time
import unittest

from daemon_harness import VAULTMX, Daemon, pop3_login

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""
FAST_PURGE = CHEAP_ARGON2 + """
[lifecycle]
closure_purge_days = 0
"""
SLOW_SWEEP = "\n[store]\nsweep_interval_s = 3600\n"
FAST_SWEEP = "\n[store]\nsweep_interval_s = 1\n"
PASSWORD = "closure secret 9Qz!"
ANN = "ann@close.test"
BOB = "bob@close.test"



def message(to, subject, body):
    return (f"From: sender@remote.test\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@remote.test>\r\n\r\n{body}").encode()


class Instance:
    """One daemon with an org, a domain and two users (ann, bob), and helpers around it."""

    def __init__(self, extra):
        self.daemon = Daemon(extra=extra, init_args=("--self-signed",)).start()
        self.ok("org", "add", "Close Org", "--plan", "ultimate")
        self.ok("domain", "add", "close.test", "--org", "Close Org")
        for address in (ANN, BOB):
            self.ok("user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")

    def cli(self, *args, stdin=None):
        return subprocess.run([VAULTMX, "-c", self.daemon.config, *args], input=stdin, capture_output=True,
                              text=True, timeout=120)

    def ok(self, *args, stdin=None):
        r = self.cli(*args, stdin=stdin)
        assert r.returncode == 0, f"{args}: {r.stdout} {r.stderr}"
        return r.stdout

    def deliver(self, to, data):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["smtp"], timeout=60) as s:
            s.sendmail("sender@remote.test", [to], data)

    def rcpt(self, to):
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["smtp"], timeout=60) as s:
            s.ehlo("client.test")
            s.mail("sender@remote.test")
            return s.rcpt(to)

    def login(self, address, timeout=10):
        return pop3_login(self.daemon.ports["pop3s"], address, PASSWORD, timeout)

    def messages(self, address):
        p = self.login(address)
        count, _ = p.stat()
        out = [b"\n".join(p.retr(i)[1]) for i in range(1, count + 1)]
        p.quit()
        return out

    def wait_for(self, address, count, timeout=60):
        end = time.monotonic() + timeout
        while True:
            got = self.messages(address)
            if len(got) >= count or time.monotonic() > end:
                assert len(got) >= count, f"{address}: {len(got)} messages, expected {count}"
                return got
            time.sleep(0.1)

    def wait_gone(self, address, timeout=60):
        end = time.monotonic() + timeout
        while address in self.ok("user", "list"):
            assert time.monotonic() < end, f"{address} still listed"
            time.sleep(0.2)

    def close(self):
        if self.daemon.proc and self.daemon.proc.poll() is None:
            self.daemon.stop()
        self.daemon.__exit__(None, None, None)


class CloseAndReopen(unittest.TestCase):
    def test_close_ends_sessions_refuses_logins_and_mail_and_reopen_gives_everything_back(self):
        box = Instance(CHEAP_ARGON2 + SLOW_SWEEP)
        try:
            for i in range(3):
                box.deliver(ANN, message(ANN, f"ann {i}", f"hello ann {i}\r\n"))
                box.deliver(BOB, message(BOB, f"bob {i}", f"hello bob {i}\r\n"))
            before = box.wait_for(ANN, 3)
            bob_before = box.wait_for(BOB, 3)
            session = box.login(ANN)
            self.assertIn("closed", box.ok("user", "close", ANN))
            with self.assertRaises((poplib.error_proto, OSError, EOFError)):  # the open session ended
                for _ in range(50):
                    session.noop()
                    time.sleep(0.1)
            with self.assertRaises(poplib.error_proto) as refused:
                box.login(ANN)
            self.assertNotIn(b"disabled", refused.exception.args[0].lower())  # as a wrong password
            code, reply = box.rcpt(ANN)
            self.assertEqual(code, 550)
            self.assertIn(b"5.2.1", reply)
            self.assertIn("account_closed", box.ok("user", "logins", ANN))
            self.assertEqual(box.rcpt(BOB)[0], 250)
            self.assertEqual(box.messages(BOB), bob_before)
            self.assertIn("state=closed", box.ok("user", "list"))
            # Reopen: every message back, byte for byte, and logins work.
            box.ok("user", "reopen", ANN)
            self.assertEqual(box.messages(ANN), before)
            self.assertEqual(box.rcpt(ANN)[0], 250)
            r = box.cli("user", "reopen", ANN)
            self.assertNotEqual(r.returncode, 0)
            # An organisation closes and reopens with its users; its domain refuses mail meanwhile.
            box.ok("org", "close", "Close Org")
            self.assertEqual(box.rcpt(BOB)[0], 550)
            self.assertEqual(box.rcpt("nobody@close.test")[0], 550)  # known domain: never relayed
            self.assertNotEqual(box.cli("user", "reopen", BOB).returncode, 0)
            box.ok("org", "reopen", "Close Org")
            self.assertEqual(box.messages(BOB), bob_before)
            self.assertEqual(box.messages(ANN), before)
            audit = box.ok("audit", "show")
            for command in ("user close", "user reopen", "org close", "org reopen"):
                self.assertIn(command, audit)
        finally:
            box.close()


class Purge(unittest.TestCase):
    def test_purge_removes_every_record_and_frees_the_address(self):
        box = Instance(FAST_PURGE + SLOW_SWEEP)
        try:
            for i in range(3):
                box.deliver(ANN, message(ANN, f"ann {i}", f"hello ann {i}\r\n"))
                box.deliver(BOB, message(BOB, f"bob {i}", f"hello bob {i}\r\n"))
            box.wait_for(ANN, 3)
            bob_before = box.wait_for(BOB, 3)
            self.assertNotEqual(box.cli("user", "purge", ANN, "--now").returncode, 0)  # open: refused
            box.ok("user", "close", ANN)
            self.assertIn("purged", box.ok("user", "purge", ANN, "--now"))
            self.assertNotIn(ANN, box.ok("user", "list"))
            self.assertNotEqual(box.cli("user", "logins", ANN).returncode, 0)
            self.assertNotEqual(box.cli("user", "mailbox", ANN).returncode, 0)
            r = box.cli("user", "reopen", ANN)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("purge", r.stdout + r.stderr)
            self.assertIn("user purged", box.ok("audit", "show"))
            # The address is free: a new, empty account.
            box.ok("user", "add", ANN, "--password-stdin", stdin=PASSWORD + "\n")
            self.assertEqual(box.messages(ANN), [])
            self.assertEqual(box.messages(BOB), bob_before)
        finally:
            box.close()

    def test_the_sweep_purges_and_a_sigkill_mid_purge_is_finished_after_restart(self):
        box = Instance(FAST_PURGE + SLOW_SWEEP)
        try:
            body = ("x" * 70 + "\r\n") * 30
            for i in range(300):
                box.deliver(ANN, message(ANN, f"many {i}", body))
            box.deliver(BOB, message(BOB, "keep", "keep me\r\n"))
            box.wait_for(ANN, 300, timeout=120)
            bob_before = box.wait_for(BOB, 1)
            box.ok("user", "close", ANN)
            purge = subprocess.Popen([VAULTMX, "-c", box.daemon.config, "user", "purge", ANN, "--now"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(0.3)
            box.daemon.proc.send_signal(signal.SIGKILL)
            box.daemon.proc.communicate()
            purge.communicate(timeout=60)
            # The restart sweeps every second: the purge goes on from where it stopped.
            config = open(box.daemon.config, encoding="utf-8").read().replace("sweep_interval_s = 3600",
                                                                              "sweep_interval_s = 1")
            with open(box.daemon.config, "w", encoding="utf-8") as f:
                f.write(config)
            box.daemon.start()
            box.wait_gone(ANN)
            self.assertNotEqual(box.cli("user", "reopen", ANN).returncode, 0)
            self.assertEqual(box.messages(BOB), bob_before)
            self.assertNotIn("closure_purge.pass_failed", box.daemon.log_text())
        finally:
            box.close()


if __name__ == "__main__":
    unittest.main()
