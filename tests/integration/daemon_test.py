"""vaultmxd as an operator meets it: config checking, start-up errors, listeners, signals."""
import grp
import os
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from daemon_harness import VAULTMX, VAULTMXD, Daemon, free_port, init_instance, write_config


def run(args, timeout=20):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


class ConfigErrors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vmx-cfg-")
        self.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}

    def tearDown(self):
        self.tmp.cleanup()

    def config_with(self, extra):
        path = write_config(self.tmp.name, self.ports, extra=extra)
        if not os.path.exists(os.path.join(self.tmp.name, "master.key")):
            init_instance(path)
        return path

    def test_check_config_prints_effective_values(self):
        r = run([VAULTMXD, "-c", self.config_with(""), "--check-config"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("engine.shards = 2", r.stdout)
        self.assertIn("engine.idle_timeout_s = 300", r.stdout)
        self.assertIn(f'listen.smtp = "127.0.0.1:{self.ports["smtp"]}"', r.stdout)

    def test_cli_checks_config_too(self):
        r = run([VAULTMX, "-c", self.config_with(""), "config", "check"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("engine.shards = 2", r.stdout)

    def assert_one_line_error(self, result, *needles):
        self.assertEqual(result.returncode, 2, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        for n in needles:
            self.assertIn(n, lines[0])
        self.assertNotIn("terminate", result.stderr)  # no uncaught exception

    def test_unknown_key_names_key_and_line(self):
        path = self.config_with("")
        with open(path) as f:
            text = f.read().replace("shards = 2", "shards = 2\nshardz = 3")
        with open(path, "w") as f:
            f.write(text)
        line = text.splitlines().index("shardz = 3") + 1
        for args in ([VAULTMXD, "-c", path, "--check-config"], [VAULTMXD, "-c", path]):
            self.assert_one_line_error(run(args), "engine.shardz", f":{line}:")

    def test_bad_type(self):
        path = self.config_with("")
        with open(path) as f:
            text = f.read().replace("shards = 2", 'shards = "two"')
        with open(path, "w") as f:
            f.write(text)
        self.assert_one_line_error(run([VAULTMXD, "-c", path]), "engine.shards")

    def test_unreadable_file(self):
        self.assert_one_line_error(run([VAULTMXD, "-c", os.path.join(self.tmp.name, "missing.toml")]), "missing.toml")

    def test_syntax_error(self):
        path = os.path.join(self.tmp.name, "broken.toml")
        with open(path, "w") as f:
            f.write("[engine\nshards = 1\n")
        self.assert_one_line_error(run([VAULTMXD, "-c", path]), "broken.toml:1")

    def test_port_in_use_names_the_listener(self):
        with socket.socket() as taken:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            taken.bind(("127.0.0.1", self.ports["pop3s"]))
            taken.listen()
            self.assert_one_line_error(run([VAULTMXD, "-c", self.config_with("")]), "listen.pop3s",
                                       "in use")


class MasterKeyAndInit(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vmx-key-")
        self.folder = self.tmp.name
        self.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        self.config = write_config(self.folder, self.ports)
        self.key = os.path.join(self.folder, "master.key")

    def tearDown(self):
        self.tmp.cleanup()

    def test_missing_master_key_stops_start_up_with_a_hint(self):
        r = run([VAULTMXD, "-c", self.config])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("keys.master_key_file", r.stderr)
        self.assertIn("vaultmx -c FILE init", r.stderr)

    def test_master_key_readable_by_others_is_refused(self):
        init_instance(self.config)
        for mode in (0o640, 0o604, 0o644):
            os.chmod(self.key, mode)
            r = run([VAULTMXD, "-c", self.config])
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("readable by group or others", r.stderr)

    def write_random_key(self):
        fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, os.urandom(32).hex().encode() + b"\n")
        os.close(fd)

    def test_uninitialised_store_is_refused(self):
        self.write_random_key()
        r = run([VAULTMXD, "-c", self.config])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("paths.data", r.stderr)
        self.assertIn("vaultmx -c FILE init", r.stderr)

    def test_master_key_of_another_store_is_refused(self):
        init_instance(self.config)
        os.remove(self.key)
        self.write_random_key()
        r = run([VAULTMXD, "-c", self.config])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("does not match the store", r.stderr)
        # init does not paper over it either: it keeps the key and reports the mismatch.
        again = run([VAULTMX, "-c", self.config, "init"])
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("does not match the store", again.stderr)

    def test_init_creates_owner_only_folders_and_key_once(self):
        r = init_instance(self.config)
        self.assertIn("master key: created", r.stdout)
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(self.folder, "data")).st_mode & 0o777, 0o700)
        with open(self.key) as f:
            first = f.read()
        self.assertEqual(len(first.strip()), 64)
        again = init_instance(self.config)
        self.assertIn("master key: kept", again.stdout)
        with open(self.key) as f:
            self.assertEqual(f.read(), first)  # never overwritten

    def test_init_self_signed_certificate_for_localhost(self):
        init_instance(self.config, "--self-signed")
        cert = os.path.join(self.folder, "cert.pem")
        key = os.path.join(self.folder, "key.pem")
        # Root's, readable by the service group only: the daemon reads it again on SIGHUP.
        st = os.stat(key)
        self.assertEqual(st.st_mode & 0o777, 0o640)
        self.assertEqual((st.st_uid, st.st_gid), (0, grp.getgrnam("vaultmx").gr_gid))
        r = run(["openssl", "x509", "-in", cert, "-noout", "-subject", "-ext", "subjectAltName"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("DNS:localhost", r.stdout)
        self.assertIn("IP Address:127.0.0.1", r.stdout)
        with open(cert) as f:
            before = f.read()
        init_instance(self.config, "--self-signed")
        with open(cert) as f:
            self.assertEqual(f.read(), before)

    def test_logs_never_hold_the_master_key(self):
        init_instance(self.config)
        with open(self.key) as f:
            key_hex = f.read().strip()
        with Daemon(existing=(self.folder, self.ports, self.config)) as d:
            code, err = d.stop()
        self.assertEqual(code, 0, err)
        log = d.log_text()
        self.assertIn("event=keys.master_loaded", log)
        for text in (log, err):
            self.assertNotIn(key_hex, text)
            self.assertNotIn(key_hex[:16], text)


class RunningDaemon(unittest.TestCase):
    def test_smtp_listener_answers_and_sigterm_exits_zero(self):
        with Daemon() as d:
            smtp = smtplib.SMTP("127.0.0.1", d.ports["smtp"], timeout=5)
            code, banner = smtp.ehlo()
            self.assertEqual(code, 250)
            self.assertIn(b"PIPELINING", banner)
            smtp.quit()
            code, err = d.stop(signal.SIGTERM)
            self.assertEqual(code, 0, err)
            log = d.log_text()
            self.assertIn("event=vaultmxd.start", log)
            self.assertIn("event=engine.stopped", log)
            self.assertIn("shard=1 event=shard.start", log)

    def test_sigint_exits_zero(self):
        with Daemon(shards=1) as d:
            code, err = d.stop(signal.SIGINT)
            self.assertEqual(code, 0, err)

    def test_implicit_tls_listener_sends_no_plaintext(self):
        with Daemon() as d:
            with socket.create_connection(("127.0.0.1", d.ports["pop3s"]), timeout=5) as s:
                self.assertEqual(s.recv(100), b"")

    def test_second_instance_on_same_ports_is_refused(self):
        with Daemon() as d:
            r = run([VAULTMXD, "-c", d.config], timeout=20)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("listen.smtp", r.stderr)
            self.assertIsNone(d.proc.poll())  # the first keeps running
            self.assertEqual(d.stop()[0], 0)

    def test_hostile_clients_do_not_disturb_the_daemon(self):
        """Floods of connections, garbage, NUL bytes and abrupt resets; the daemon stays up."""
        with Daemon() as d:
            port = d.ports["smtp"]

            def hammer():
                for i in range(50):
                    try:
                        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                            if i % 3 == 0:
                                s.sendall(b"\x00" * 4096 + b"A" * 100000)
                            elif i % 3 == 1:
                                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    except OSError:
                        pass

            threads = [threading.Thread(target=hammer) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=5)  # still answering
            self.assertEqual(smtp.noop()[0], 250)
            smtp.quit()
            self.assertIsNone(d.proc.poll())
            self.assertEqual(d.stop()[0], 0)

    def test_log_holds_no_client_bytes(self):
        secret = b"AUTH PLAIN c2VjcmV0LXBhc3N3b3Jk\r\n"
        with Daemon() as d:
            with socket.create_connection(("127.0.0.1", d.ports["submission"]), timeout=5) as s:
                s.sendall(secret)
                time.sleep(0.1)
            d.stop()
            self.assertNotIn("c2VjcmV0", d.log_text())


if __name__ == "__main__":
    unittest.main()
