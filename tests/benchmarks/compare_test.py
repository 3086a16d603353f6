"""benchmarks/compare's own logic, without installing anything: the ack log it reads from the
harness, the Maildir check that decides whether Postfix kept every acknowledged message, the
configurations it writes for Postfix and Dovecot (loopback only, no relay), and the users files."""
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "compare")


def load_compare():
    loader = importlib.machinery.SourceFileLoader("compare", SCRIPT)
    spec = importlib.util.spec_from_loader("compare", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


sys.dont_write_bytecode = True  # no __pycache__ beside the script
compare = load_compare()


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


class AckLogAndMaildirs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vmx-compare-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_ack_log_as_the_harness_writes_it(self):
        path = os.path.join(self.dir, "acks")
        write(path, "<1.0.ab@vaultmx-bench.invalid> a@bench.test\n"
                    "<2.0.ab@vaultmx-bench.invalid> a@bench.test,B@bench.test\n\n")
        acks = compare.read_ack_log(path)
        self.assertEqual(acks, [("1.0.ab@vaultmx-bench.invalid", ["a@bench.test"]),
                                ("2.0.ab@vaultmx-bench.invalid", ["a@bench.test", "B@bench.test"])])
        self.assertEqual(compare.acked_per_user(acks), {"a@bench.test": 2, "b@bench.test": 1})
        self.assertEqual(compare.deliveries(acks), 3)

    def test_every_acknowledged_message_must_be_in_its_maildir(self):
        maildirs = os.path.join(self.dir, "maildirs")
        # Postfix writes LF files; a folded Message-ID header still counts; cur/ counts as well as new/.
        write(os.path.join(maildirs, "a@bench.test", "new", "1"), "From: x\nMessage-ID: <m1@h>\n\nbody\n")
        write(os.path.join(maildirs, "a@bench.test", "cur", "2:2,S"), "Message-ID:\n <m2@h>\nTo: a\n\nbody\n")
        write(os.path.join(maildirs, "b@bench.test", "new", "3"), "Subject: no id\n\nMessage-ID: <m3@h>\n")
        acks = [("m1@h", ["a@bench.test"]), ("m2@h", ["a@bench.test"]), ("m3@h", ["b@bench.test"]),
                ("m1@h", ["b@bench.test"])]
        result = compare.verify_postfix(acks, maildirs)
        # m3's id is in the body, not the header; m1 never reached b's box.
        self.assertEqual(result, {"acknowledged": 4, "found": 2})
        self.assertEqual(compare.verify_postfix(acks[:2], maildirs), {"acknowledged": 2, "found": 2})


class Configurations(unittest.TestCase):
    def test_postfix_listens_on_loopback_and_relays_nothing(self):
        main_cf = compare.postfix_main_cf("/scratch", "/scratch/cert.pem", "/scratch/key.pem", 100)
        settings = {name.strip(): value.strip() for name, _, value in
                    (line.partition("=") for line in main_cf.splitlines() if "=" in line and not line.startswith("#"))}
        self.assertEqual(settings["inet_interfaces"], "loopback-only")
        self.assertEqual(settings["relay_domains"], "")
        self.assertEqual(settings["mydestination"], "")
        self.assertEqual(settings["virtual_mailbox_domains"], compare.DOMAIN)
        self.assertIn("reject_unauth_destination", settings["smtpd_recipient_restrictions"])
        self.assertTrue(settings["queue_directory"].startswith("/scratch/"))
        master_cf = compare.POSTFIX_MASTER_CF.format(port=2525)
        self.assertIn("127.0.0.1:2525 inet", master_cf)

    def test_dovecot_serves_pop3s_on_loopback_only(self):
        conf = compare.dovecot_conf("/scratch", "/scratch/cert.pem", "/scratch/key.pem", 9995, 2)
        self.assertIn("protocols = pop3\n", conf)
        self.assertIn("listen = 127.0.0.1\n", conf)
        self.assertIn("ssl = required\n", conf)
        self.assertIn("port = 9995", conf)
        self.assertIn("base_dir = /scratch/dovecot/run", conf)

    def test_users_files(self):
        with tempfile.TemporaryDirectory(prefix="vmx-compare-") as scratch:
            users, paths = compare.make_users(scratch, 3, 2, 2)
            self.assertEqual(len(users), 7)
            self.assertIn("source1@bench.test", users)
            self.assertIn("source2@bench.test", users)
            with open(paths["rcpts"]) as f:
                self.assertEqual(f.read().split(), [f"user{i}@bench.test" for i in (1, 2, 3)])
            with open(paths["pop3_users"]) as f:
                lines = [line.split() for line in f]
            self.assertEqual([a for a, _ in lines], ["pop1@bench.test", "pop2@bench.test"])
            self.assertTrue(all(users[a] == p for a, p in lines))
            self.assertEqual(os.stat(paths["pop3_users"]).st_mode & 0o777, 0o600)  # passwords


if __name__ == "__main__":
    unittest.main()
