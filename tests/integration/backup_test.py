"""Backups on the real daemon: `vaultmx backup create` beside a serving daemon, `backup verify`
(one flipped byte in any file, a missing file, a foreign file: each named), and the disaster
recovery test: create, wipe the data folder, restore, start again: every message reads back byte
for byte over POP3S, the directory and the login history are intact, `audit verify` passes. A
restore refuses a data folder that is not empty and a backup made under another master key. And
shredding reaches the backups: a backup made before a user's purge, restored after it, cannot open
that user's mail (on the starter plan, whose users share the wrapping key) while every other user's
mail reads back."""
import json
import os
import poplib
import random
import re
import shutil
import smtplib
import tempfile
import time
import unittest

from daemon_harness import Daemon, files_holding, insecure_tls, retrieve_all, vaultmx_cli

PASSWORD = "backup-test-password-1"
USERS = ("ann@example.test", "bob@example.test")
CANARY = b"CANARY-backup-plaintext-7d1e"


cli = vaultmx_cli


def mailbox(port, user):
    """Every message of the mailbox as POP3 RETR gives it."""
    return retrieve_all(port, user, PASSWORD)


class Backup(unittest.TestCase):
    def setUp(self):
        self.daemon = Daemon(init_args=("--self-signed",))
        self.daemon.start()
        self.cfg = self.daemon.config
        cli(self.cfg, "org", "add", "Example", "--plan", "starter")
        cli(self.cfg, "domain", "add", "example.test", "--org", "Example")
        for user in USERS:
            cli(self.cfg, "user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
        rng = random.Random(7)
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["smtp"], timeout=30) as s:
            for i in range(12):
                size = 3_000_000 if i == 5 else rng.randint(200, 20_000)  # one body of many chunks
                body = b"".join(rng.choice([b"line of text ", CANARY + b" ", b"\r\n"]) for _ in range(size // 12))
                msg = b"From: x@remote.test\r\nSubject: m%d\r\n\r\n" % i + body + b"\r\n"
                s.sendmail("x@remote.test", [USERS[i % 2]], msg)
        self.before = {u: mailbox(self.daemon.ports["pop3s"], u) for u in USERS}
        self.assertEqual(sum(len(m) for m in self.before.values()), 12)
        # A failed login, for the history.
        with self.assertRaises(poplib.error_proto):
            p = poplib.POP3_SSL("127.0.0.1", self.daemon.ports["pop3s"], context=insecure_tls(), timeout=10)
            try:
                p.user(USERS[0])
                p.pass_("wrong-password")
            finally:
                p.close()
        self.backups = tempfile.mkdtemp(prefix="vmx-backups-")

    def tearDown(self):
        self.daemon.__exit__(None, None, None)
        shutil.rmtree(self.backups, ignore_errors=True)

    def create(self, name="b1"):
        to = os.path.join(self.backups, name)
        r = cli(self.cfg, "backup", "create", "--to", to)
        self.assertIn("files", r.stdout)
        return to

    def test_restore_of_a_wiped_instance_gives_everything_back(self):
        logins_before = cli(self.cfg, "--json", "user", "logins", USERS[0]).stdout
        users_before = cli(self.cfg, "--json", "user", "list").stdout
        backup = self.create()  # while the daemon serves
        self.assertEqual(os.stat(backup).st_mode & 0o777, 0o700)
        self.assertEqual(files_holding(backup, [CANARY, PASSWORD.encode()]), [])  # sealed as stored
        verified = cli(self.cfg, "backup", "verify", backup)
        self.assertIn("good", verified.stdout)
        # Every record opened: the users, the messages, each chunk of the 3 MB body, the audit entries.
        self.assertGreater(int(re.search(r"(\d+) records opened", verified.stdout).group(1)), 40, verified.stdout)

        # Run beside the daemon, both went into its audit chain, which goes on unbroken.
        audit = cli(self.cfg, "audit", "show").stdout
        self.assertIn(f"backup create {backup}: ok", audit)
        self.assertIn(f"backup verify {backup}: ok", audit)
        cli(self.cfg, "user", "list")  # the daemon appends after the CLI's entries
        self.assertEqual(cli(self.cfg, "audit", "verify").returncode, 0)
        running = cli(self.cfg, "backup", "restore", backup, check=False)
        self.assertEqual(running.returncode, 1)
        self.assertIn("vaultmxd is running", running.stderr)
        self.assertEqual(self.daemon.stop()[0], 0)
        data = os.path.join(self.daemon.folder, "data")
        refused = cli(self.cfg, "backup", "restore", backup, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("not empty", refused.stderr)

        shutil.rmtree(data)
        r = cli(self.cfg, "backup", "restore", backup)
        self.assertIn("restored", r.stdout)
        self.daemon.start()
        after = {u: mailbox(self.daemon.ports["pop3s"], u) for u in USERS}
        self.assertEqual(after, self.before)  # byte for byte, in order
        self.assertEqual(cli(self.cfg, "--json", "user", "list").stdout, users_before)
        logins_after = json.loads(cli(self.cfg, "--json", "user", "logins", USERS[0]).stdout)
        for entry in json.loads(logins_before):
            self.assertIn(entry, logins_after)
        self.assertEqual(cli(self.cfg, "audit", "verify").returncode, 0)
        # The restored chain goes on with the restore itself (the create and verify came after the
        # copy, in the chain that was wiped: checked before the wipe).
        self.assertIn("backup restore", cli(self.cfg, "audit", "show").stdout)
        # New mail is accepted after the restore.
        with smtplib.SMTP("127.0.0.1", self.daemon.ports["smtp"], timeout=30) as s:
            s.sendmail("x@remote.test", [USERS[0]], b"Subject: after\r\n\r\nafter restore\r\n")

    def test_verify_names_a_flipped_byte_a_missing_file_and_a_foreign_one(self):
        backup = self.create()
        files = sorted(os.path.relpath(os.path.join(r, f), backup) for r, _, fs in os.walk(backup) for f in fs
                       if f != "manifest")
        self.assertIn("keys/data.mdb", files)
        self.assertIn("meta", files)
        rng = random.Random(3)
        for rel in rng.sample(files, 4) + ["keys/data.mdb", "mail/0000/data.mdb"]:
            path = os.path.join(backup, rel)
            with open(path, "r+b") as f:
                size = os.path.getsize(path)
                at = rng.randrange(size)
                f.seek(at)
                byte = f.read(1)
                f.seek(at)
                f.write(bytes([byte[0] ^ 0x01]))
            r = cli(self.cfg, "backup", "verify", backup, check=False)
            self.assertEqual(r.returncode, 3, rel)
            self.assertIn(f"{rel}: its SHA-256 is not the manifest's", r.stderr)
            with open(path, "r+b") as f:  # put it back
                f.seek(at)
                f.write(byte)
        self.assertEqual(cli(self.cfg, "backup", "verify", backup).returncode, 0)
        os.rename(os.path.join(backup, "global/audit/data.mdb"), os.path.join(self.backups, "aside"))
        r = cli(self.cfg, "backup", "verify", backup, check=False)
        self.assertIn("global/audit/data.mdb: missing", r.stderr)
        os.rename(os.path.join(self.backups, "aside"), os.path.join(backup, "global/audit/data.mdb"))
        with open(os.path.join(backup, "mail", "extra"), "wb") as f:
            f.write(b"x")
        r = cli(self.cfg, "backup", "verify", backup, check=False)
        self.assertIn("mail/extra: a file the manifest does not list", r.stderr)
        os.unlink(os.path.join(backup, "mail", "extra"))
        with open(os.path.join(backup, "manifest"), "r+b") as f:
            f.seek(-5, os.SEEK_END)
            f.write(b"XXXXX")
        r = cli(self.cfg, "backup", "verify", backup, check=False)
        self.assertIn("the manifest is damaged", r.stderr)

    def test_restore_refuses_a_backup_made_under_another_master_key(self):
        backup = self.create()
        self.assertEqual(self.daemon.stop()[0], 0)
        shutil.rmtree(os.path.join(self.daemon.folder, "data"))
        key = os.path.join(self.daemon.folder, "master.key")
        with open(key, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        r = cli(self.cfg, "backup", "restore", backup, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("made under another master key", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.daemon.folder, "data", "meta")))

    def test_list_shows_complete_and_unfinished_backups(self):
        self.create("b1")
        os.makedirs(os.path.join(self.backups, "b2"))
        with open(self.cfg, "a") as f:
            f.write(f'\n[backup]\ndir = "{self.backups}"\n')
        listed = json.loads(cli(self.cfg, "--json", "backup", "list").stdout)
        by_dir = {os.path.basename(b["dir"]): b for b in listed}
        self.assertEqual(by_dir["b1"]["status"], "complete")
        self.assertGreater(by_dir["b1"]["bytes"], 100_000)
        self.assertIn("not a finished backup", by_dir["b2"]["status"])
        text = cli(self.cfg, "backup", "list").stdout
        self.assertIn("b1", text)
        # Without --to, a new folder in [backup] dir.
        cli(self.cfg, "backup", "create")
        self.assertEqual(len(json.loads(cli(self.cfg, "--json", "backup", "list").stdout)), 3)


class Schedule(unittest.TestCase):
    def test_the_daemon_makes_a_scheduled_backup_that_verifies(self):
        backups = tempfile.mkdtemp(prefix="vmx-scheduled-")
        os.chmod(backups, 0o711)  # the service user reaches [backup] dir by path, as under /var/lib
        try:
            with Daemon(extra=f'\n[backup]\ndir = "{backups}/sched"\ninterval_h = 24\nkeep = 2\n') as d:
                cli(d.config, "org", "add", "Example", "--plan", "starter")
                cli(d.config, "domain", "add", "example.test", "--org", "Example")
                cli(d.config, "user", "add", USERS[0], "--password-stdin", stdin=PASSWORD + "\n")
                # None yet: the first is due at once, made by the daemon (as its service user).
                deadline = time.monotonic() + 60
                made = []
                while time.monotonic() < deadline and not made:
                    made = [b for b in json.loads(cli(d.config, "--json", "backup", "list").stdout)
                            if b["status"] == "complete"]
                    time.sleep(0.2)
                self.assertEqual(len(made), 1, d.log_text()[-3000:])
                self.assertTrue(os.path.basename(made[0]["dir"]).startswith("vaultmx-"))
                self.assertIn("good", cli(d.config, "backup", "verify", made[0]["dir"]).stdout)
                self.assertIn("event=backup.created", d.log_text())
                alarms = {a["name"]: a for a in json.loads(cli(d.config, "--json", "alarms").stdout)}
                self.assertEqual(alarms["backup_too_old"]["state"], "ok")
                self.assertIsNone(d.proc.poll())
        finally:
            shutil.rmtree(backups, ignore_errors=True)


class ShreddingReachesBackups(unittest.TestCase):
    def test_a_backup_made_before_a_purge_never_brings_the_users_mail_back(self):
        backups = tempfile.mkdtemp(prefix="vmx-shred-")
        os.chmod(backups, 0o711)  # the service user reaches [backup] dir by path, as under /var/lib
        extra = (f'\n[backup]\ndir = "{backups}/kept"\n[lifecycle]\nclosure_purge_days = 30\n'
                 '[store]\nsweep_interval_s = 1\n')
        try:
            with Daemon(init_args=("--self-signed",), extra=extra) as d:
                cli(d.config, "org", "add", "Example", "--plan", "starter")
                cli(d.config, "domain", "add", "example.test", "--org", "Example")
                for user in USERS:
                    cli(d.config, "user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
                keys = json.loads(cli(d.config, "--json", "key", "status").stdout)
                self.assertEqual(sorted(k["scope"] for k in keys if k["scope"] == "account"), ["account", "account"])
                secret = {u: b"SECRET-OF-" + u.encode() for u in USERS}
                with smtplib.SMTP("127.0.0.1", d.ports["smtp"], timeout=30) as s:
                    for i in range(6):
                        user = USERS[i % 2]
                        s.sendmail("x@remote.test", [user],
                                   b"From: x@remote.test\r\nSubject: s%d\r\n\r\n%s %d\r\n" % (i, secret[user], i))
                before = {u: mailbox(d.ports["pop3s"], u) for u in USERS}
                cli(d.config, "backup", "create")  # into [backup] dir, before the purge
                listed = json.loads(cli(d.config, "--json", "backup", "list").stdout)
                self.assertEqual(len(listed), 1)
                backup = listed[0]["dir"]
                self.assertIn("0 of destroyed keys", cli(d.config, "backup", "verify", backup).stdout)

                cli(d.config, "user", "close", USERS[0])
                self.assertIn("purged", cli(d.config, "user", "purge", USERS[0], "--now").stdout)
                # The daemon takes the destroyed key out of the backup's key store.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and "event=backup.keys_scrubbed" not in d.log_text():
                    time.sleep(0.2)
                self.assertIn("event=backup.keys_scrubbed", d.log_text(), d.log_text()[-3000:])
                verified = cli(d.config, "backup", "verify", backup).stdout
                self.assertIn("good", verified)  # the manifest was resealed over the new key store
                self.assertGreater(int(re.search(r"\((\d+) of destroyed keys\)", verified).group(1)), 0, verified)

                self.assertEqual(d.stop()[0], 0)
                shutil.rmtree(os.path.join(d.folder, "data"))
                cli(d.config, "backup", "restore", backup)
                d.start()
                # Bob's mail is all there; Ann (still a user in the restored directory) gets none of hers.
                self.assertEqual(mailbox(d.ports["pop3s"], USERS[1]), before[USERS[1]])
                got = b""
                try:
                    got = b"".join(mailbox(d.ports["pop3s"], USERS[0]))
                except (poplib.error_proto, OSError):
                    pass
                self.assertNotIn(secret[USERS[0]], got)
                self.assertEqual(files_holding(os.path.join(d.folder, "data"), [secret[USERS[0]], secret[USERS[1]]]), [])
                self.assertIsNone(d.proc.poll())
        finally:
            shutil.rmtree(backups, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
