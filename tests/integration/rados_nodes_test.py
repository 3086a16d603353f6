"""Two vaultmxd nodes sharing one Ceph cluster ([store] backend = "rados"), on a real single-node
cluster from scripts/ceph-dev: mail sent to node A is read over POP3S from node B and the other way
round; node A killed with SIGKILL under load and started again, then every acknowledged message is
read from node B exactly once; no clear text in any object of the namespace (read with python's
rados module); the cluster refuses a node of another master key. Slow (a real cluster): the release
pass runs it, with Debian's python (python3-rados)."""
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ceph_dev_harness import CephDev  # noqa: E402
from daemon_harness import (VAULTMX, Daemon, free_port, init_instance, retrieve_all, vaultmx_cli,  # noqa: E402
                            wait_for_pop3_messages, write_config)

import rados  # noqa: E402  (python3-rados, Debian's python only)

PASSWORD = "Correct-Horse-7"
USER = "ann@nodes.test"


def send(port, body_marker, subject):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail("sender@remote.test", [USER],
                   f"From: sender@remote.test\r\nTo: {USER}\r\nSubject: {subject}\r\n\r\n{body_marker}\r\n")


class TwoNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ceph = CephDev()
        cls.conf = cls.ceph.conf
        cls.namespace = "nodes-" + uuid.uuid4().hex[:12]
        extra = f'\n[store]\nbackend = "rados"\n\n[rados]\nconf = "{cls.conf}"\nnamespace = "{cls.namespace}"\n'
        cls.a = Daemon(extra=extra, init_args=("--self-signed",))
        # Node B: its own folder and ports, the same cluster, namespace and master key.
        cls.b_tmp = tempfile.TemporaryDirectory(prefix="vmx-it-")
        folder = cls.b_tmp.name
        for name in ("master.key", "cert.pem", "key.pem"):
            shutil.copy2(os.path.join(cls.a.folder, name), os.path.join(folder, name))
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        config = write_config(folder, ports, extra=extra)
        cls.b_init = init_instance(config)
        cls.b = Daemon(existing=(folder, ports, config))
        os.chmod(folder, 0o755)
        os.chmod(cls.a.folder, 0o755)
        cls.a.start()
        cls.b.start()
        vaultmx_cli(cls.a.config, "org", "add", "Nodes Org", "--plan", "pro")
        vaultmx_cli(cls.a.config, "domain", "add", "nodes.test", "--org", "Nodes Org")
        vaultmx_cli(cls.a.config, "user", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
        time.sleep(2)  # node B takes up the new user's key within a second

    @classmethod
    def tearDownClass(cls):
        for node in (cls.a, cls.b):
            if node.proc and node.proc.poll() is None:
                node.proc.kill()
                node.proc.communicate()
        cls.a.__exit__(None, None, None)
        cls.ceph.stop()
        cls.b_tmp.cleanup()

    def count(self, node):
        return len(retrieve_all(node.ports["pop3s"], USER, PASSWORD))

    def test_1_mail_to_one_node_is_read_from_the_other(self):
        with open(os.path.join(self.b.folder, "data", "meta")) as f:
            self.assertIn("node = 2", f.read())
        before = self.count(self.b)
        send(self.a.ports["smtp"], "QZ-BODY-VIA-A", "subject via a")
        wait_for_pop3_messages(self.b.ports["pop3s"], USER, PASSWORD, before + 1)
        send(self.b.ports["smtp"], "QZ-BODY-VIA-B", "subject via b")
        wait_for_pop3_messages(self.a.ports["pop3s"], USER, PASSWORD, before + 2)
        on_a = b"\n".join(retrieve_all(self.a.ports["pop3s"], USER, PASSWORD))
        on_b = b"\n".join(retrieve_all(self.b.ports["pop3s"], USER, PASSWORD))
        for text in (on_a, on_b):
            self.assertIn(b"QZ-BODY-VIA-A", text)
            self.assertIn(b"QZ-BODY-VIA-B", text)

    def test_2_sigkill_under_load_loses_and_doubles_nothing(self):
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def load(node, tag):
            n = 0
            while not stop.is_set() and n < 60:
                marker = f"QZ-LOAD-{tag}-{n}"
                try:
                    send(node.ports["smtp"], marker, "load")
                    with lock:
                        acked.append(marker)
                except (OSError, smtplib.SMTPException):
                    time.sleep(0.05)  # the node is down: only acknowledged messages count
                n += 1

        threads = [threading.Thread(target=load, args=(self.a, "A")), threading.Thread(target=load, args=(self.b, "B"))]
        for t in threads:
            t.start()
        time.sleep(1.0)
        self.a.proc.send_signal(signal.SIGKILL)
        self.a.proc.communicate()
        time.sleep(0.5)
        self.a.start()  # its disk survived: its queue is delivered by it again
        for t in threads:
            t.join(timeout=120)
        stop.set()
        self.assertGreater(len(acked), 20)
        deadline = time.monotonic() + 60
        while True:
            text = b"\n".join(retrieve_all(self.b.ports["pop3s"], USER, PASSWORD)).decode(errors="replace")
            seen = re.findall(r"QZ-LOAD-[AB]-\d+", text)
            missing = [m for m in acked if m not in seen]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(missing, [])
        doubled = sorted({m for m in seen if seen.count(m) > 1})
        self.assertEqual(doubled, [])

    def test_3_no_clear_text_in_any_object(self):
        send(self.a.ports["smtp"], "QZ-SECRET-BODY-7731", "QZ subject never stored in clear")
        wait_for_pop3_messages(self.a.ports["pop3s"], USER, PASSWORD, 1)
        time.sleep(0.5)
        needles = [b"QZ-SECRET-BODY-7731", b"QZ subject never", USER.encode(), b"Nodes Org", b"sender@remote.test",
                   PASSWORD.encode()]
        cluster = rados.Rados(conffile=self.conf)
        cluster.connect(timeout=30)
        try:
            io = cluster.open_ioctx("vaultmx")
            io.set_namespace(self.namespace)
            stored = []
            names = [o.key for o in io.list_objects()]
            self.assertIn("mail.0000", names)
            for name in names:
                size, _ = io.stat(name)
                if size:
                    stored.append(io.read(name, size))
                with rados.ReadOpCtx() as op:
                    it, _ = io.get_omap_vals(op, "", "", 100000)
                    io.operate_read_op(op, name)
                    for key, value in it:
                        stored.append(key.encode() if isinstance(key, str) else key)
                        stored.append(value or b"")
            blob = b"".join(stored)
            self.assertGreater(len(blob), 10000)
            for needle in needles:
                self.assertNotIn(needle, blob, needle)
            io.close()
        finally:
            cluster.shutdown()

    def test_4_a_node_of_another_master_key_is_refused(self):
        folder = tempfile.mkdtemp(prefix="vmx-it-")
        try:
            ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
            config = write_config(folder, ports,
                                  extra=f'\n[store]\nbackend = "rados"\n\n[rados]\nconf = "{self.conf}"\n'
                                        f'namespace = "{self.namespace}"\n')
            init = subprocess.run([VAULTMX, "-c", config, "init"], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(init.returncode, 0)
            self.assertIn("master key", init.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def test_5_both_nodes_append_to_one_audit_chain(self):
        def add(node, tag):
            for i in range(8):
                # Two nodes changing the directory at once: one may be told "changed meanwhile"
                # (nothing written) and runs the command again, as an admin would.
                for _ in range(10):
                    r = vaultmx_cli(node.config, "org", "add", f"Org {tag}{i}", "--plan", "starter", check=False)
                    if r.returncode == 0:
                        break
                    self.assertIn("changed meanwhile", r.stderr)

        threads = [threading.Thread(target=add, args=(self.a, "A")), threading.Thread(target=add, args=(self.b, "B"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        failed = [line for node in (self.a, self.b) for line in node.log_text().splitlines() if "audit.append_failed" in line]
        self.assertEqual(failed, [])
        shown = vaultmx_cli(self.b.config, "audit", "show").stdout
        for tag in ("A", "B"):
            for i in range(8):
                self.assertIn(f"Org {tag}{i}", shown)
        self.assertNotIn("audit failed", shown)
        names = [o["name"] for o in json.loads(vaultmx_cli(self.a.config, "org", "list", "--json").stdout)]
        for tag in ("A", "B"):
            for i in range(8):
                self.assertEqual(names.count(f"Org {tag}{i}"), 1)
        verified = vaultmx_cli(self.a.config, "audit", "verify", check=False)
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)


if __name__ == "__main__":
    unittest.main()
