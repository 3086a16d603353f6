"""The control plane as an admin meets it: the vaultmx CLI against the real daemon over the admin
socket. Organisations, domains, users, credentials, allowed senders, hourly submission limits, keys;
bad input gets one line and a non-zero exit with nothing half-written; a user the socket does not
admit is refused; no secret in any log."""
import json
import os
import pwd
import socket
import struct
import subprocess
import unittest

from daemon_harness import VAULTMX, Daemon, files_holding

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""

PASSWORD = "correct horse battery staple 7Qz"


def cli(daemon, *args, stdin=None, user=None):
    cmd = [VAULTMX, "-c", daemon.config, *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)


def raw_request(daemon, command, fields, secret=b""):
    """One request framed by hand, as a client other than the CLI may send it: (status, text)."""
    def text(b):
        return struct.pack("<H", len(b)) + b
    payload = bytes([1, 0]) + text(command.encode()) + struct.pack("<H", len(fields))
    for name, value in fields:
        payload += text(name.encode()) + text(value.encode())
    payload += text(secret)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(os.path.join(daemon.folder, "admin.sock"))
        s.sendall(struct.pack("<I", len(payload)) + payload)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply[5], reply[10:].decode()


class AdminCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(extra=CHEAP_ARGON2).start()

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        assert code == 0, code

    def ok(self, *args, stdin=None):
        r = cli(self.daemon, *args, stdin=stdin)
        self.assertEqual(r.returncode, 0, f"{args}: {r.stderr}")
        return r.stdout

    def refused(self, *args, code=1, stdin=None):
        r = cli(self.daemon, *args, stdin=stdin)
        self.assertEqual(r.returncode, code, f"{args}: {r.stdout} {r.stderr}")
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("vaultmx: "), r.stderr)
        return lines[0]

    def users(self):
        return json.loads(self.ok("--json", "user", "list"))

    def test_1_builds_an_organisation_with_domains_and_users(self):
        self.ok("org", "add", "Example Org", "--plan", "pro")
        self.ok("domain", "add", "example.test", "--org", "Example Org")
        self.ok("user", "add", "Ann@Example.test", "--password-stdin", "--quota", "2G", stdin=PASSWORD + "\n")
        self.ok("user", "add", "ben@example.test")
        users = {u["address"]: u for u in self.users()}
        self.assertEqual(set(users), {"ann@example.test", "ben@example.test"})
        self.assertEqual(users["ann@example.test"]["quota_bytes"], 2 << 30)
        self.assertEqual(users["ann@example.test"]["org"], "Example Org")
        orgs = json.loads(self.ok("org", "list", "--json"))
        self.assertEqual([o["plan"] for o in orgs if o["name"] == "Example Org"], ["pro"])
        domains = json.loads(self.ok("domain", "list", "--json"))
        self.assertIn({"id": domains[0]["id"], "domain": "example.test", "org": "Example Org"}, domains)
        keys = json.loads(self.ok("key", "status", "--json"))
        self.assertTrue(any(k["scope"] == "organisation" for k in keys), keys)

    def test_2_bad_input_is_one_line_and_writes_nothing(self):
        self.ok("org", "add", "Second Org", "--plan", "starter")
        self.ok("domain", "add", "second.test", "--org", "Second Org")
        before = self.users()
        self.assertIn("invalid address", self.refused("user", "add", "bad@@second.test", code=2))
        self.assertIn("unknown domain", self.refused("user", "add", "cat@unknown.test"))
        self.ok("user", "add", "dan@second.test")
        self.assertIn("already exists", self.refused("user", "add", "DAN@second.test"))
        self.assertIn("invalid plan", self.refused("org", "add", "Third Org", "--plan", "gold"))
        self.assertIn("unknown organisation", self.refused("domain", "add", "x.test", "--org", "Nobody"))
        self.assertIn("invalid network", self.refused("org", "policy", "Second Org", "--allow-net", "10.0.0.1/8", code=2))
        self.refused("frobnicate", code=2)
        self.refused("user", "add", code=2)
        self.refused("user", "passwd", "dan@second.test", "--password-stdin", stdin="", code=2)
        after = self.users()
        self.assertEqual(len(after), len(before) + 1)  # only dan

    def test_3_credentials_state_and_keys(self):
        self.ok("org", "add", "Cred Org", "--plan", "ultimate")
        self.ok("domain", "add", "cred.test", "--org", "Cred Org")
        self.ok("user", "add", "eve@cred.test", "--password-stdin", stdin=PASSWORD)
        out = self.ok("user", "app-password", "add", "eve@cred.test", "--label", "phone")
        self.assertIn("shown once", out)
        self.assertIn("already exists", self.refused("user", "app-password", "add", "eve@cred.test", "--label", "phone"))
        labels = json.loads(self.ok("--json", "user", "app-password", "list", "eve@cred.test"))
        self.assertEqual([a["label"] for a in labels], ["phone"])
        self.ok("user", "app-password", "revoke", "eve@cred.test", "--label", "phone")
        self.assertIn("otpauth://totp/", self.ok("user", "totp", "enroll", "eve@cred.test"))
        self.ok("user", "disable", "eve@cred.test")
        state = {u["address"]: u["state"] for u in self.users()}
        self.assertEqual(state["eve@cred.test"], "disabled")
        self.ok("user", "enable", "eve@cred.test")
        self.ok("user", "passwd", "eve@cred.test", "--password-stdin", stdin="another pass\n")
        self.ok("user", "logout", "eve@cred.test")
        keys = json.loads(self.ok("key", "status", "--json"))
        user_keys = [k for k in keys if k["scope"] == "user"]
        self.assertTrue(user_keys, keys)
        self.ok("key", "rotate", "--user", "eve@cred.test")
        keys = json.loads(self.ok("key", "status", "--json"))
        versions = {k["version"]: k["state"] for k in keys if k["scope"] == "user" and k["key_id"] == user_keys[0]["key_id"]}
        self.assertEqual(versions.get(2), "active", keys)
        self.assertIn("only pro organisations", self.refused("key", "rotate", "--org", "Cred Org"))
        self.assertIn("shard 0", self.ok("stats"))

    def test_4_no_secret_reaches_the_log(self):
        self.ok("org", "add", "Log Org", "--plan", "starter")
        self.ok("domain", "add", "log.test", "--org", "Log Org")
        self.ok("user", "add", "fay@log.test", "--password-stdin", stdin=PASSWORD)
        app = self.ok("user", "app-password", "add", "fay@log.test", "--label", "laptop")
        app_password = app.split(": ", 1)[1].splitlines()[0]
        log = self.daemon.log_text()
        self.assertIn("admin.command", log)
        self.assertNotIn(PASSWORD, log)
        self.assertNotIn(app_password, log)
        self.assertEqual(files_holding(self.daemon.folder, [PASSWORD.encode(), b"fay@log.test"]), [])

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run the CLI as another user")
    def test_5_the_socket_admits_only_permitted_users(self):
        nobody = pwd.getpwnam("nobody").pw_uid
        sock = os.path.join(self.daemon.folder, "admin.sock")
        self.assertEqual(os.stat(sock).st_mode & 0o777, 0o660)
        os.chmod(self.daemon.folder, 0o755)
        # The file mode keeps others out ...
        r = cli(self.daemon, "user", "list", user=nobody)
        self.assertNotEqual(r.returncode, 0)
        # ... and if the mode were opened up, the daemon's peer check still refuses them.
        os.chmod(sock, 0o666)
        try:
            r = cli(self.daemon, "org", "add", "Intruder Org", "--plan", "pro", user=nobody)
            self.assertEqual(r.returncode, 4, r.stderr)
            self.assertIn("permission denied", r.stderr)
        finally:
            os.chmod(sock, 0o660)
        orgs = json.loads(self.ok("org", "list", "--json"))
        self.assertNotIn("Intruder Org", [o["name"] for o in orgs])
        self.assertIn("admin.forbidden", self.daemon.log_text())

    def test_6_the_daemon_checks_each_request_against_its_command_row(self):
        refused = 1
        self.assertEqual(raw_request(self.daemon, "org add", [("name", "Raw Org"), ("plan", "pro"), ("colour", "red")]),
                         (refused, "unknown field colour (known: name, plan)"))
        self.assertEqual(raw_request(self.daemon, "org add", [("name", "Raw Org")]), (refused, "missing required field plan"))
        self.assertEqual(raw_request(self.daemon, "org add", [("name", "Raw Org"), ("name", "Other"), ("plan", "pro")]),
                         (refused, "field name given more than once"))
        self.assertEqual(raw_request(self.daemon, "org add", [("name", "Raw Org"), ("plan", "pro")], b"a secret"),
                         (refused, "this command takes no password"))
        self.assertEqual(raw_request(self.daemon, "org frobnicate", []), (refused, "unknown command: org frobnicate"))
        self.assertNotIn("Raw Org", [o["name"] for o in json.loads(self.ok("org", "list", "--json"))])
        self.assertIn("org add --name \"Raw Org\" --plan pro --colour red: error refused: unknown field colour",
                      self.ok("audit", "show"))
        self.assertEqual(raw_request(self.daemon, "org add", [("name", "Raw Org"), ("plan", "pro")])[0], 0)

    def test_7_allowed_senders_round_trip(self):
        self.ok("org", "add", "Sender Org", "--plan", "starter")
        self.ok("domain", "add", "sender.test", "--org", "Sender Org")
        self.ok("user", "add", "gil@sender.test")
        self.assertEqual(self.ok("user", "sender", "list", "gil@sender.test"), "gil@sender.test\t(own address)\n")
        self.assertIn("may now send as sales@sender.test", self.ok("user", "sender", "add", "gil@sender.test", "Sales@Sender.test"))
        self.ok("user", "sender", "add", "GIL@sender.test", "gil@other.test")
        self.assertEqual(self.ok("user", "sender", "list", "gil@sender.test").splitlines(),
                         ["gil@sender.test\t(own address)", "sales@sender.test", "gil@other.test"])
        listed = json.loads(self.ok("--json", "user", "sender", "list", "gil@sender.test"))
        self.assertEqual(listed, [{"address": "gil@sender.test", "own": True},
                                  {"address": "sales@sender.test", "own": False},
                                  {"address": "gil@other.test", "own": False}])
        self.assertIn("already send as", self.refused("user", "sender", "add", "gil@sender.test", "SALES@sender.test"))
        self.assertIn("own address", self.refused("user", "sender", "add", "gil@sender.test", "gil@sender.test"))
        self.assertIn("unknown user", self.refused("user", "sender", "add", "nobody@sender.test", "x@sender.test"))
        self.assertIn("sender bad@@x.test: invalid address",
                      self.refused("user", "sender", "add", "gil@sender.test", "bad@@x.test", code=2))
        self.assertIn("not an address the user may send as",
                      self.refused("user", "sender", "remove", "gil@sender.test", "info@sender.test"))
        self.assertIn("may no longer send as sales@sender.test",
                      self.ok("user", "sender", "remove", "gil@sender.test", "sales@sender.test"))
        self.assertEqual(self.ok("user", "sender", "list", "gil@sender.test").splitlines(),
                         ["gil@sender.test\t(own address)", "gil@other.test"])
        audit = self.ok("audit", "show")
        self.assertIn("user sender add", audit)
        self.assertIn("user sender remove", audit)

    def test_8_org_policy_hourly_submission_limits(self):
        self.ok("org", "add", "Limit Org", "--plan", "starter")

        def policy():
            return [o for o in json.loads(self.ok("org", "list", "--json")) if o["name"] == "Limit Org"][0]
        self.assertEqual((policy()["submission_messages_per_hour"], policy()["submission_recipients_per_hour"]), (0, 0))
        out = self.ok("org", "policy", "Limit Org", "--messages-per-hour", "250", "--recipients-per-hour", "1000000")
        self.assertIn("messages_per_hour=250\trecipients_per_hour=1000000", out)
        self.assertEqual((policy()["submission_messages_per_hour"], policy()["submission_recipients_per_hour"]),
                         (250, 1000000))
        line = [l for l in self.ok("org", "list").splitlines() if l.startswith("Limit Org\t")][0]
        self.assertIn("messages_per_hour=250", line)
        self.assertIn("invalid hourly limit",
                      self.refused("org", "policy", "Limit Org", "--recipients-per-hour", "1000001"))
        self.assertIn("invalid hourly limit", self.refused("org", "policy", "Limit Org", "--messages-per-hour", "lots"))
        self.ok("org", "policy", "Limit Org", "--messages-per-hour", "0")
        self.assertEqual((policy()["submission_messages_per_hour"], policy()["submission_recipients_per_hour"]),
                         (0, 1000000))
        line = [l for l in self.ok("org", "list").splitlines() if l.startswith("Limit Org\t")][0]
        self.assertIn("messages_per_hour=default", line)


class AuditChain(unittest.TestCase):
    def test_audit_verify_passes_then_detects_an_offline_change(self):
        d = Daemon(extra=CHEAP_ARGON2).start()
        try:
            for name in ("Audit One", "Audit Two", "Audit Three"):
                r = cli(d, "org", "add", name, "--plan", "starter")
                self.assertEqual(r.returncode, 0, r.stderr)
            r = cli(d, "audit", "verify")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("audit: ok", r.stdout)
            shown = cli(d, "audit", "show").stdout
            self.assertIn("org add", shown)
            self.assertIn("Audit Two", shown)
            self.assertEqual(d.stop()[0], 0)
            # Offline, one byte inside a sealed entry changes (after the sealed-record magic).
            path = os.path.join(d.folder, "data", "global", "audit", "data.mdb")
            with open(path, "r+b") as f:
                data = bytearray(f.read())
                # Stale copies of pages hold old versions too, so change it wherever a record starts.
                at = data.find(b"\x76\x78\x02\x03")
                self.assertGreaterEqual(at, 0)
                while at >= 0:
                    data[at + 80] ^= 0x01
                    at = data.find(b"\x76\x78\x02\x03", at + 1)
                f.seek(0)
                f.write(data)
            d.start()
            r = cli(d, "audit", "verify")
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertIn("FAILED", r.stdout + r.stderr)
        finally:
            d.__exit__(None, None, None)


class NoDaemon(unittest.TestCase):
    def test_cli_says_the_daemon_is_not_running(self):
        d = Daemon(extra=CHEAP_ARGON2)
        try:
            r = cli(d, "user", "list")
            self.assertEqual(r.returncode, 3)
            self.assertIn("is vaultmxd running?", r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        finally:
            d.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
