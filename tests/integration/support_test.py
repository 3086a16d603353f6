"""`vaultmx support mailbox` against the real daemon: messages delivered over SMTP with known
senders and subjects are listed with keyed hashes in their place (equal senders, equal hashes; the
clear text nowhere in the output); --reveal without --reason, --reason without --reveal and a
reason with a control character are refused; --reveal --reason "ticket 42" shows them, and the
reveal with its reason is in the audit log and in the user's own history (user logins), never the
senders or subjects; the window survives a restart without growing; and neither the daemon's log
(the sealed spool and its stderr) nor any file on disk holds a sender, a subject or the reason."""
import json
import re
import smtplib
import subprocess
import tempfile
import unittest

from daemon_harness import VAULTMX, Daemon, files_holding, free_port, init_instance, wait_for_pop3_messages, write_config

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""

PASSWORD = "support secret 5Jq!"
ADDRESS = "ann@support.test"
REASON = "ticket 42"

# (From, Subject, Date): the first two share a sender, the first and third a subject; the third's
# subject is folded and its From written differently from the first's.
MESSAGES = [
    ("Alice Sender <alice.sender@remote.test>", "Quarterly numbers XQZ1", "Mon, 1 Jun 2026 10:00:00 +0200"),
    ("Alice Sender <alice.sender@remote.test>", "Lunch plans XQZ2", "Tue, 2 Jun 2026 11:30:00 +0000"),
    ("bob.other@remote.test", "Quarterly\r\n numbers XQZ1", None),
]
SECRETS = ["alice.sender", "Alice Sender", "bob.other", "XQZ1", "XQZ2", "Quarterly", "Lunch plans"]
ROW = re.compile(r"^(\d+)\tstate=(\w+)\tdate=(\S+)\tdate_from=(\w+)\tsize=(\d+)\tuidl=(\S+)\tfrom=(\S+)\tsubject=(\S+)(.*)$")


def message(sender, subject, date):
    head = f"From: {sender}\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n"
    if date:
        head += f"Date: {date}\r\n"
    return (head + "Message-ID: <m-" + str(abs(hash(subject))) + "@remote.test>\r\n\r\nhello\r\n").encode()


class Support(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-support-")
        folder = cls.tmp.name
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        config = write_config(folder, ports, extra=CHEAP_ARGON2)
        init_instance(config, "--self-signed")
        cls.daemon = Daemon(existing=(folder, ports, config)).start()
        cls.stderr = ""
        cls.ok("org", "add", "Support Org", "--plan", "pro")
        cls.ok("domain", "add", "support.test", "--org", "Support Org")
        cls.ok("user", "add", ADDRESS, "--password-stdin", stdin=PASSWORD + "\n")
        # One at a time, each in the mailbox before the next is sent, so their ids follow MESSAGES.
        for count, (sender, subject, date) in enumerate(MESSAGES, start=1):
            with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=60) as s:
                s.sendmail("envelope@remote.test", [ADDRESS], message(sender, subject, date))
            wait_for_pop3_messages(ports["pop3s"], ADDRESS, PASSWORD, count, 30)

    @classmethod
    def tearDownClass(cls):
        code, err = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        cls.tmp.cleanup()
        assert code == 0, code
        leaked = [s for s in SECRETS + [REASON] if s in cls.stderr + err]
        assert not leaked, f"the daemon's stderr holds {leaked}"

    @classmethod
    def cli(cls, *args):
        return subprocess.run([VAULTMX, "-c", cls.daemon.config, *args], capture_output=True, text=True,
                              errors="replace", timeout=60)

    @classmethod
    def ok(cls, *args, stdin=None):
        r = subprocess.run([VAULTMX, "-c", cls.daemon.config, *args], input=stdin, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    def rows(self, out):
        rows = [ROW.match(line) for line in out.splitlines() if not line.startswith("#")]
        self.assertTrue(all(rows), out)
        return rows

    def test_listing_shows_hashes_not_senders_or_subjects(self):
        out = self.ok("support", "mailbox", ADDRESS)
        for secret in SECRETS:
            self.assertNotIn(secret, out)
        rows = self.rows(out)
        self.assertEqual(len(rows), 3, out)
        senders = [r.group(7) for r in rows]
        subjects = [r.group(8) for r in rows]
        for h in senders + subjects:
            self.assertRegex(h, r"^#[0-9a-f]{12}$")
        self.assertEqual(senders[0], senders[1])     # one sender, one hash
        self.assertNotEqual(senders[0], senders[2])
        self.assertEqual(subjects[0], subjects[2])   # a folded subject is the same subject
        self.assertNotEqual(subjects[0], subjects[1])
        self.assertNotIn(senders[0][1:], subjects)  # a sender's hash is not its subject's
        self.assertEqual([r.group(4) for r in rows], ["header", "header", "stored"])
        self.assertEqual(rows[0].group(3), "2026-06-01T08:00:00Z")
        self.assertEqual(rows[0].group(9), "")  # no clear columns
        self.assertIn("keyed hashes", out.splitlines()[0])

    def test_json_listing(self):
        doc = json.loads(self.ok("support", "mailbox", ADDRESS, "--json"))
        self.assertFalse(doc["revealed"])
        self.assertIsNone(doc["reveal_until"])
        messages = doc["messages"]
        self.assertEqual(len(messages), 3)
        self.assertEqual(messages[0]["from_hash"], messages[1]["from_hash"])
        self.assertNotIn("from", messages[0])
        self.assertNotIn("subject", messages[0])
        for secret in SECRETS:
            self.assertNotIn(secret, json.dumps(doc))

    def test_reveal_needs_a_reason(self):
        r = self.cli("support", "mailbox", ADDRESS, "--reveal")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--reason", r.stderr)
        self.assertEqual(r.stdout, "")
        r = self.cli("support", "mailbox", ADDRESS, "--reason", REASON)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--reveal", r.stderr)
        for bad in ["", "   ", "esc \x1b[2J", "x" * 201]:
            r = self.cli("support", "mailbox", ADDRESS, "--reveal", "--reason", bad)
            self.assertEqual(r.returncode, 1, f"{bad!r}: {r.stderr}")
            for secret in SECRETS:
                self.assertNotIn(secret, r.stdout + r.stderr)

    def test_unknown_user_is_refused(self):
        r = self.cli("support", "mailbox", "nobody@support.test", "--reveal", "--reason", REASON)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nobody@support.test", r.stderr)

    def test_reveal_shows_them_and_is_on_record(self):
        plain = self.ok("support", "mailbox", ADDRESS)
        out = self.ok("support", "mailbox", ADDRESS, "--reveal", "--reason", REASON)
        self.assertIn("Alice Sender <alice.sender@remote.test>", out)
        self.assertIn("subject_text=Quarterly numbers XQZ1", out)
        self.assertIn("subject_text=Lunch plans XQZ2", out)
        self.assertIn("from_text=bob.other@remote.test", out)
        head = out.splitlines()[0]
        self.assertIn(f"reason: {REASON}", head)
        self.assertIn("open until", head)
        # The hashes are the same ones the obfuscated view shows.
        self.assertEqual([r.group(7) for r in self.rows(out)], [r.group(7) for r in self.rows(plain)])
        doc = json.loads(self.ok("support", "mailbox", ADDRESS, "--json", "--reveal", "--reason", REASON))
        self.assertTrue(doc["revealed"])
        self.assertEqual(doc["messages"][1]["subject"], "Lunch plans XQZ2")
        # A reveal does not leave the plain view revealed: each clear view carries its reason.
        again = self.ok("support", "mailbox", ADDRESS)
        for secret in SECRETS:
            self.assertNotIn(secret, again)

        audit = self.ok("audit", "show")
        self.assertIn("support reveal", audit)
        self.assertIn(REASON, audit)
        for secret in SECRETS:
            self.assertNotIn(secret, audit)
        self.assertTrue(self.ok("audit", "verify"))

        history = self.ok("user", "logins", ADDRESS)
        reveals = [line for line in history.splitlines() if "support_reveal" in line]
        self.assertGreaterEqual(len(reveals), 2, history)
        self.assertTrue(all(line.endswith(f"note={REASON}") and "method=support" in line for line in reveals), history)
        logins = json.loads(self.ok("user", "logins", ADDRESS, "--json"))
        self.assertIn(REASON, [e["note"] for e in logins if e["result"] == "support_reveal"])

    def test_z_window_survives_a_restart_and_nothing_leaks(self):
        first = self.ok("support", "mailbox", ADDRESS, "--reveal", "--reason", REASON).splitlines()[0]
        until = re.search(r"open until (\S+)\)", first).group(1)
        code, err = self.daemon.stop()
        self.assertEqual(code, 0)
        type(self).stderr += err
        self.daemon.start()
        second = self.ok("support", "mailbox", ADDRESS, "--reveal", "--reason", "ticket 43").splitlines()[0]
        self.assertIn(f"open until {until})", second)  # the same window: not lengthened by the second
        self.assertIn("reason: ticket 43", second)

        log = self.daemon.log_text()
        self.assertIn("event=support.reveal", log)
        for secret in SECRETS + [REASON]:
            self.assertNotIn(secret, log)
        self.assertEqual(files_holding(self.tmp.name, [s.encode() for s in SECRETS + [REASON, "ticket 43"]]), [])


if __name__ == "__main__":
    unittest.main()
