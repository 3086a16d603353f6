"""Appliance secrets as an admin meets them: `vaultmx secret set` with the value on stdin against the
real daemon, `secret list` showing names and never values, the value nowhere on disk in the clear
(data folder and log), the audit log recording set and remove by name without the value, and the
refusals (no value, a bad name, a value too long, removing what is not set)."""
import json
import subprocess
import unittest

from daemon_harness import VAULTMX, Daemon, files_holding

VALUE = "smarthost-pass-Zq81!x"
NEW_VALUE = "rotated-smarthost-pass-Kd55?"


def cli(daemon, *args, stdin=None):
    return subprocess.run([VAULTMX, "-c", daemon.config, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


class Secrets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.daemon.stop()
        log = cls.daemon.log_text()
        folder = cls.daemon.folder
        found = files_holding(folder, [VALUE.encode(), NEW_VALUE.encode()])
        cls.daemon.__exit__(None, None, None)
        assert code == 0, code
        assert VALUE not in log and NEW_VALUE not in log, "a secret value reached the log"
        assert not found, found

    def ok(self, *args, stdin=None):
        r = cli(self.daemon, *args, stdin=stdin)
        self.assertEqual(r.returncode, 0, f"{args}: {r.stderr}")
        self.assertNotIn(VALUE, r.stdout + r.stderr)
        self.assertNotIn(NEW_VALUE, r.stdout + r.stderr)
        return r.stdout

    def refused(self, *args, stdin=None, code=1):
        r = cli(self.daemon, *args, stdin=stdin)
        self.assertEqual(r.returncode, code, f"{args}: {r.stdout} {r.stderr}")
        return r.stderr

    def test_1_set_list_and_nothing_in_the_clear(self):
        self.assertEqual(self.ok("secret", "set", "relayhost", stdin=VALUE + "\r\n"), "secret relayhost set\n")
        listed = self.ok("secret", "list")
        self.assertRegex(listed, r"^relayhost\tset=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$")
        self.assertEqual([s["name"] for s in json.loads(self.ok("secret", "list", "--json"))], ["relayhost"])
        # Sealed in the keys environment: no file of the data folder holds the value.
        self.assertEqual(files_holding(self.daemon.folder, [VALUE.encode()]), [])
        audit = self.ok("audit", "show")
        self.assertIn("secret set --name relayhost --value-stdin", audit)
        self.assertNotIn(VALUE, audit)

    def test_2_replace_then_remove(self):
        self.ok("secret", "set", "relayhost", stdin=NEW_VALUE + "\n")
        self.ok("secret", "set", "dkim.example", stdin="k\n")
        self.assertEqual([line.split("\t")[0] for line in self.ok("secret", "list").splitlines()],
                         ["dkim.example", "relayhost"])
        self.assertEqual(self.ok("secret", "remove", "dkim.example"), "secret dkim.example removed\n")
        self.assertIn("none is set", self.refused("secret", "remove", "dkim.example"))
        self.assertEqual([line.split("\t")[0] for line in self.ok("secret", "list").splitlines()], ["relayhost"])
        audit = self.ok("audit", "show")
        self.assertIn("secret remove --name dkim.example", audit)
        self.assertEqual(files_holding(self.daemon.folder, [NEW_VALUE.encode()]), [])

    def test_3_refusals(self):
        self.assertIn("value: none on stdin", self.refused("secret", "set", "relayhost", stdin="", code=2))
        self.assertIn("value: none on stdin", self.refused("secret", "set", "relayhost", stdin="\n", code=2))
        self.assertIn("longer than 4096 bytes", self.refused("secret", "set", "relayhost", stdin="x" * 4097, code=2))
        self.ok("secret", "set", "big", stdin="x" * 4096 + "\n")  # the limit itself is fine
        self.ok("secret", "remove", "big")
        self.assertIn("invalid", self.refused("secret", "set", "Relay/Host", stdin="v\n"))
        self.assertIn("invalid", self.refused("secret", "remove", "Relay/Host"))
        # A password flag is not part of this command: the value always comes from stdin.
        self.refused("secret", "set", "relayhost", "--password-stdin", stdin="v\n", code=2)


if __name__ == "__main__":
    unittest.main()
