"""Master-key rotation on the real daemon: `vaultmx key rotate --master --new-key-file PATH` while
mail flows in, then a restart under the new key (installed by the CLI as [keys] master_key_file):
every acknowledged message reads back over POP3S, the users, the appliance secret and the event
log (whose key is held wrapped under the master key) are all there, `audit verify` passes, and the
old key is refused at start. And a rotation interrupted by SIGKILL of the daemon, finished by
running the command again with the daemon down. Then the appliance key (directory, queues, audit,
login history) rotated online under load, the daemon killed during the rewrap and started again:
the walk resumes, the old version is destroyed once every record moved, and everything reads."""
import json
import os
import secrets
import shutil
import smtplib
import subprocess
import threading
import time
import unittest

from daemon_harness import VAULTMX, Daemon, files_holding, retrieve_all, vaultmx_cli

PASSWORD = "rotation-test-password-1"
USERS = ("ann@example.test", "bob@example.test")
SMARTHOST_PASSWORD = "SMARTHOST-secret-5b2c"


cli = vaultmx_cli


def read_all(port, user):
    return retrieve_all(port, user, PASSWORD)


class Load:
    """Mail sent without pause on one connection; `acknowledged` holds each accepted message's tag."""

    def __init__(self, port):
        self.port, self.acknowledged, self.stopping = port, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        n = 0
        while not self.stopping.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
                    while not self.stopping.is_set():
                        tag = b"LOAD-%06d" % n
                        user = USERS[n % 2]
                        s.sendmail("x@remote.test", [user], b"Subject: %s\r\n\r\n%s\r\n" % (tag, tag))
                        self.acknowledged.append((user, tag))
                        n += 1
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)  # the daemon is down: try again

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=30)


class MasterRotation(unittest.TestCase):
    def setUp(self):
        self.daemon = Daemon(init_args=("--self-signed",))
        self.daemon.start()
        self.cfg = self.daemon.config
        cli(self.cfg, "org", "add", "Example", "--plan", "pro")
        cli(self.cfg, "domain", "add", "example.test", "--org", "Example")
        for user in USERS:
            cli(self.cfg, "user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
        cli(self.cfg, "secret", "set", "relayhost", stdin=SMARTHOST_PASSWORD + "\n")
        self.key_file = os.path.join(self.daemon.folder, "master.key")
        self.old_key = open(self.key_file, "rb").read()
        self.new_file = os.path.join(self.daemon.folder, "master.key.next")
        with open(os.open(self.new_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(secrets.token_hex(32) + "\n")

    def tearDown(self):
        self.daemon.__exit__(None, None, None)

    def check_everything_after_restart(self, load):
        self.daemon.start()
        got = {u: read_all(self.daemon.ports["pop3s"], u) for u in USERS}
        for user, tag in load.acknowledged:  # nothing acknowledged is lost
            self.assertTrue(any(tag in m for m in got[user]), tag)
        self.assertIn("relayhost", cli(self.cfg, "secret", "list").stdout)
        self.assertIn(USERS[0], cli(self.cfg, "user", "list").stdout)
        self.assertEqual(cli(self.cfg, "audit", "verify").returncode, 0)
        self.assertIn("key rotate", cli(self.cfg, "audit", "show").stdout)
        # Events from before the rotation still open: the spool's key is held, not derived.
        self.assertIn('seq="1"', cli(self.cfg, "logs", "show").stdout)
        self.assertEqual(open(self.key_file, "rb").read(), open(self.new_file, "rb").read())
        self.assertEqual(files_holding(self.daemon.folder + "/data", [SMARTHOST_PASSWORD.encode()]), [])
        self.assertEqual(self.daemon.stop()[0], 0)
        self.assertIn('seq="1"', cli(self.cfg, "logs", "show").stdout)  # offline: the CLI reads the held key
        # The old key opens nothing any more.
        with open(self.key_file, "wb") as f:
            f.write(self.old_key)
        proc = subprocess.run([os.path.join(os.path.dirname(VAULTMX), "vaultmxd"), "-c", self.cfg],
                              capture_output=True, text=True, timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("does not match", proc.stderr)

    def test_rotation_under_load_then_a_restart_under_the_new_key(self):
        load = Load(self.daemon.ports["smtp"])
        time.sleep(1)
        r = cli(self.cfg, "key", "rotate", "--master", "--new-key-file", self.new_file)
        self.assertIn("master key rotated", r.stdout)
        self.assertNotIn(open(self.new_file).read().strip(), r.stdout + r.stderr)
        time.sleep(1)
        # Serving on under the new key: a new secret, new mail, both readable at once.
        cli(self.cfg, "secret", "set", "other", stdin="value-2\n")
        load.stop()
        self.assertGreater(len(load.acknowledged), 10)
        self.assertNotIn(open(self.new_file).read().strip(), self.daemon.log_text())
        self.assertEqual(self.daemon.stop()[0], 0)
        self.check_everything_after_restart(load)

    def test_a_rotation_cut_by_sigkill_is_finished_by_running_it_again(self):
        load = Load(self.daemon.ports["smtp"])
        time.sleep(1)
        rotation = subprocess.Popen([VAULTMX, "-c", self.cfg, "key", "rotate", "--master", "--new-key-file",
                                     self.new_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.01)
        self.daemon.proc.kill()  # before, during or after the rotation's transaction
        self.daemon.proc.communicate()
        rotation.communicate(timeout=60)
        load.stop()
        # With the daemon down the command finishes the job (rotates, or only installs the key file).
        r = cli(self.cfg, "key", "rotate", "--master", "--new-key-file", self.new_file, check=False)
        if r.returncode != 0:
            self.assertIn("already", r.stderr)  # the first run got as far as installing the file
        self.check_everything_after_restart(load)


class ApplianceKeyRotation(unittest.TestCase):
    def test_rotation_under_load_cut_by_sigkill_resumes_and_retires_the_old_version(self):
        with Daemon(init_args=("--self-signed",)) as d:
            cfg = d.config
            cli(cfg, "org", "add", "Example", "--plan", "starter")
            cli(cfg, "domain", "add", "example.test", "--org", "Example")
            for user in USERS:
                cli(cfg, "user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
            for i in range(40):  # a directory with some weight: users, their login history
                cli(cfg, "user", "add", f"u{i}@example.test")
            read_all(d.ports["pop3s"], USERS[0])
            load = Load(d.ports["smtp"])
            time.sleep(1)

            def appliance_versions():
                keys = json.loads(cli(cfg, "--json", "key", "status").stdout)
                return {k["version"]: k["state"] for k in keys if k["scope"] == "appliance"}

            r = cli(cfg, "key", "rotate", "--appliance")
            self.assertIn("version 2 is active", r.stdout)
            d.proc.kill()  # the rewrap has begun, or even finished
            d.proc.communicate()
            d.start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and appliance_versions().get(1) != "destroyed":
                time.sleep(0.2)
            self.assertEqual(appliance_versions(), {1: "destroyed", 2: "active"}, d.log_text()[-3000:])
            load.stop()
            self.assertGreater(len(load.acknowledged), 10)
            # Everything the appliance key sealed opens under version 2 alone.
            got = {u: read_all(d.ports["pop3s"], u) for u in USERS}
            for user, tag in load.acknowledged:
                self.assertTrue(any(tag in m for m in got[user]), tag)
            self.assertIn("u39@example.test", cli(cfg, "user", "list").stdout)
            self.assertIn("pop3", cli(cfg, "user", "logins", USERS[0]).stdout)
            self.assertEqual(cli(cfg, "audit", "verify").returncode, 0)
            self.assertNotIn("keys.rewrap_incomplete", d.log_text())
            # The walk ended cleanly (before the kill or after the restart: a resumed walk finds the
            # records it moved already under version 2). That the directory, the login history and
            # the audit chain read above, with version 1 destroyed, is what shows they moved.
            self.assertRegex(d.log_text(), r"event=keys.rewrap_finished .*destroyed=[1-9]")
            # And after one more restart (nothing left under the destroyed version).
            self.assertEqual(d.stop()[0], 0)
            d.start()
            self.assertIn(USERS[1], cli(cfg, "user", "list").stdout)
            self.assertEqual(len(read_all(d.ports["pop3s"], USERS[1])), len(got[USERS[1]]))


if __name__ == "__main__":
    unittest.main()
