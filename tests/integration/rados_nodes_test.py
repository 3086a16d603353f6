"""Two vaultmxd nodes sharing one Ceph cluster ([store] backend = "rados"), on a real single-node
cluster from scripts/ceph-dev: mail sent to node A is read over POP3S from node B and the other way
round; node A killed with SIGKILL under load: every message it acknowledged is read from node B
while A is still dead, and after A started again every acknowledged message is read from node B
exactly once; no clear text in any object of the namespace (read with python's
rados module); the cluster refuses a node of another master key; one POP3 session per maildrop
across the nodes (the lock is a lease in the cluster), and a dead node's lock runs out after
[rados] lease_s, while a session whose lease was broken and taken deletes nothing; a purged user's
mail is gone from every object and their key is destroyed on every node; a stalled cluster (its
OSD stopped) stalls no shard: a RCPT waits for its look-up while another client of the same shard is
served; the admin's reads of a mailbox (export, support view) go through the store readers. Slow (a real cluster): the release pass runs it, with Debian's python (python3-rados)."""
import base64
import json
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ceph_dev_harness import CephDev  # noqa: E402
from daemon_harness import (VAULTMX, Daemon, free_port, init_instance, insecure_tls, pop3_login,  # noqa: E402
                            retrieve_all, vaultmx_cli, wait_for_pop3_messages, write_config)

import rados  # noqa: E402  (python3-rados, Debian's python only)

PASSWORD = "Correct-Horse-7"
USER = "ann@nodes.test"
LEASE_S = 3  # [rados] lease_s: how long a dead node's maildrop locks outlive it


def send_to(port, user, body_marker):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail("sender@remote.test", [user], f"From: sender@remote.test\r\nTo: {user}\r\nSubject: s\r\n\r\n{body_marker}\r\n")


def pop3_refusal(port, user, password):
    """The server's answer to a login that is refused, or None when it is taken."""
    p = poplib.POP3_SSL("127.0.0.1", port, context=insecure_tls(), timeout=60)
    try:
        p.user(user)
        p.pass_(password)
    except poplib.error_proto as e:
        p.close()
        return e.args[0]
    p.quit()
    return None


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
        extra = (f'\n[store]\nbackend = "rados"\nsweep_interval_s = 1\n\n[rados]\nconf = "{cls.conf}"\n'
                 f'namespace = "{cls.namespace}"\nlease_s = {LEASE_S}\n')
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

    def objects(self):
        """The names of every object of the namespace."""
        cluster = rados.Rados(conffile=self.conf)
        cluster.connect(timeout=30)
        try:
            io = cluster.open_ioctx("vaultmx")
            io.set_namespace(self.namespace)
            names = {o.key for o in io.list_objects()}
            io.close()
        finally:
            cluster.shutdown()
        return names

    def omap(self):
        """Every omap entry of the namespace: {(object, key): value}."""
        cluster = rados.Rados(conffile=self.conf)
        cluster.connect(timeout=30)
        entries = {}
        try:
            io = cluster.open_ioctx("vaultmx")
            io.set_namespace(self.namespace)
            for name in [o.key for o in io.list_objects()]:
                with rados.ReadOpCtx() as op:
                    it, _ = io.get_omap_vals(op, "", "", 1000000)
                    io.operate_read_op(op, name)
                    for key, value in it:
                        entries[(name, key)] = value or b""
            io.close()
        finally:
            cluster.shutdown()
        return entries

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
        # Node A stays dead: what it acknowledged is in the cluster's mailboxes already (its 250
        # waits for them), so node B serves every such message now.
        with lock:
            acked_by_a = [m for m in acked if "-A-" in m]
        self.assertGreater(len(acked_by_a), 5)
        text = b"\n".join(retrieve_all(self.b.ports["pop3s"], USER, PASSWORD)).decode(errors="replace")
        self.assertEqual([m for m in acked_by_a if m not in text], [])
        self.a.start()  # its disk survived: what it had not acknowledged is delivered by it again
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

    def test_6_one_pop3_session_per_maildrop_across_nodes(self):
        send(self.b.ports["smtp"], "QZ-LOCK-1", "lock")
        held = pop3_login(self.a.ports["pop3s"], USER, PASSWORD)
        try:
            count = len(held.list()[1])
            self.assertGreater(count, 0)
            refused = pop3_refusal(self.b.ports["pop3s"], USER, PASSWORD)
            self.assertIsNotNone(refused)
            self.assertIn(b"[IN-USE]", refused)
            held.dele(1)
        finally:
            held.quit()  # the lease goes back with the lock: node B may take it at once
        again = pop3_login(self.b.ports["pop3s"], USER, PASSWORD, timeout=5)
        try:
            self.assertEqual(len(again.list()[1]), count - 1)  # the deletion made under the lease
            self.assertIn(b"[IN-USE]", pop3_refusal(self.a.ports["pop3s"], USER, PASSWORD))
        finally:
            again.quit()

    def test_7_a_dead_nodes_maildrop_lock_runs_out(self):
        held = pop3_login(self.b.ports["pop3s"], USER, PASSWORD)
        self.b.proc.send_signal(signal.SIGKILL)
        self.b.proc.communicate()
        killed = time.monotonic()
        held.sock.close()
        try:
            self.assertIn(b"[IN-USE]", pop3_refusal(self.a.ports["pop3s"], USER, PASSWORD))
            taken = pop3_login(self.a.ports["pop3s"], USER, PASSWORD, timeout=LEASE_S + 15)
            waited = time.monotonic() - killed
            taken.quit()
            self.assertLess(waited, LEASE_S + 15)
        finally:
            self.b.start()

    def test_8_a_purged_users_mail_and_key_are_gone_from_the_cluster(self):
        user = "bob@nodes.test"
        keys_before = {k["key_id"] for k in json.loads(vaultmx_cli(self.b.config, "--json", "key", "status").stdout)}
        before_user = self.omap()
        vaultmx_cli(self.a.config, "user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
        with_user = self.omap()
        self.assertTrue([k for k in with_user if k[0] == "global.keys" and k not in before_user])
        time.sleep(2)  # node B takes up the new key
        objects_before = self.objects()
        for i in range(3):
            noise = base64.b64encode(os.urandom(9000)).decode()  # 12 KiB that no codec shrinks: a body object
            send_to(self.b.ports["smtp"], user, f"QZ-PURGED-{i}\r\n" + "\r\n".join(noise[j:j + 76] for j in range(0, len(noise), 76)))
        wait_for_pop3_messages(self.a.ports["pop3s"], user, PASSWORD, 3)
        with_mail = self.omap()
        # The mailbox's index entries (its delivery markers belong to the queues, not to the user).
        mail = [k for k in with_mail if k[0].startswith("mail.") and k[1].startswith("mailboxes/") and k not in with_user]
        self.assertGreaterEqual(len(mail), 3)
        bodies = [name for name in self.objects() - objects_before if ".v." in name]
        self.assertGreaterEqual(len(bodies), 3)
        self.assertLessEqual(max(len(v) for v in with_mail.values()), 4097)  # indexes in omap, bodies beside
        user_keys = {k["key_id"] for k in json.loads(vaultmx_cli(self.b.config, "--json", "key", "status").stdout)}
        user_keys -= keys_before
        self.assertTrue(user_keys)

        vaultmx_cli(self.a.config, "user", "close", user)
        self.assertIn("purged", vaultmx_cli(self.a.config, "user", "purge", user, "--now").stdout)
        deadline = time.monotonic() + 30
        while True:
            after = self.omap()
            left = [k for k in mail if k in after] + sorted(set(bodies) & self.objects())
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(left, [])
        time.sleep(2)  # node B follows the key change
        for node in (self.a, self.b):
            keys = json.loads(vaultmx_cli(node.config, "--json", "key", "status").stdout)
            states = {k["state"] for k in keys if k["key_id"] in user_keys}
            self.assertTrue(states <= {"destroyed"}, keys)
            self.assertIsNotNone(pop3_refusal(node.ports["pop3s"], user, PASSWORD))

    def test_9_a_session_whose_lock_was_broken_deletes_nothing(self):
        send(self.a.ports["smtp"], "QZ-BROKEN-1", "broken")
        users = json.loads(vaultmx_cli(self.a.config, "--json", "user", "list").stdout)
        lease = f"pop3.{[u['id'] for u in users if u['address'] == USER][0]}"
        held = pop3_login(self.a.ports["pop3s"], USER, PASSWORD)
        count = len(held.list()[1])
        self.assertGreater(count, 0)
        # An operator breaks the lock in the cluster and a session on node B takes the maildrop (node
        # A may renew in between: then it is broken again).
        rados_cli = ["rados", "-c", self.conf, "-p", "vaultmx", "-N", self.namespace]

        def lockers(obj):
            info = subprocess.run(rados_cli + ["lock", "info", obj, lease, "--format=json"], capture_output=True, text=True)
            return json.loads(info.stdout)["lockers"] if info.returncode == 0 else []

        # The lease sits in the space of the mailbox's segment, "leases.<ssss>".
        holding = [name for name in sorted(self.objects()) if name.startswith("leases.") and lockers(name)]
        self.assertEqual(len(holding), 1, holding)
        other = None
        for _ in range(20):
            for locker in lockers(holding[0]):
                subprocess.run(rados_cli + ["lock", "break", holding[0], lease, locker["name"], "--lock-cookie",
                                            locker["cookie"]], capture_output=True, check=True)
            p = poplib.POP3_SSL("127.0.0.1", self.b.ports["pop3s"], context=insecure_tls(), timeout=60)
            try:
                p.user(USER)
                p.pass_(PASSWORD)
                other = p
                break
            except poplib.error_proto as e:
                p.close()
                self.assertIn(b"[IN-USE]", e.args[0])
        self.assertIsNotNone(other)
        try:
            # Node A's next renewal finds the lease taken: its session may no longer delete.
            deadline = time.monotonic() + LEASE_S + 10
            while "event=pop3.lock_lost" not in self.a.log_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertIn("event=pop3.lock_lost", self.a.log_text())
            held.dele(1)
            with self.assertRaises(poplib.error_proto):
                held.quit()  # -ERR: nothing deleted
            self.assertEqual(len(other.list()[1]), count)
        finally:
            other.quit()
        self.assertEqual(len(retrieve_all(self.a.ports["pop3s"], USER, PASSWORD)), count)

    def test_91_a_stalled_cluster_stalls_no_shard(self):
        namespace = "stall-" + uuid.uuid4().hex[:12]
        extra = f'\n[store]\nbackend = "rados"\n\n[rados]\nconf = "{self.conf}"\nnamespace = "{namespace}"\n'
        with Daemon(shards=1, extra=extra, init_args=("--self-signed",)) as node:
            vaultmx_cli(node.config, "org", "add", "Stall Org", "--plan", "pro")
            vaultmx_cli(node.config, "domain", "add", "stall.test", "--org", "Stall Org")
            vaultmx_cli(node.config, "user", "add", "bo@stall.test", "--password-stdin", stdin=PASSWORD + "\n")
            first = socket.create_connection(("127.0.0.1", node.ports["smtp"]), timeout=30)
            reader = first.makefile("rb")

            def reply():
                lines = [reader.readline()]
                while lines[-1][3:4] == b"-":
                    lines.append(reader.readline())
                return lines[-1]

            self.assertTrue(reply().startswith(b"220 "))
            first.sendall(b"EHLO first.test\r\n")
            self.assertTrue(reply().startswith(b"250 "))
            first.sendall(b"MAIL FROM:<someone@remote.test>\r\n")
            self.assertTrue(reply().startswith(b"250 "))
            # The cluster stalls: its one OSD stops answering (SIGSTOP), so every read waits.
            osd_pids = []
            for name in os.listdir(os.path.join(self.ceph.folder.name, "run")):
                if name.startswith("osd.") and name.endswith(".pid"):
                    with open(os.path.join(self.ceph.folder.name, "run", name)) as f:
                        osd_pids.append(int(f.read().strip()))
            self.assertTrue(osd_pids)
            for pid in osd_pids:
                os.kill(pid, signal.SIGSTOP)
            try:
                first.sendall(b"RCPT TO:<bo@stall.test>\r\n")
                time.sleep(1)
                # The one shard serves a second client while the first one's look-up waits (with
                # [rados] readers = 0 the shard itself waits, and this fails).
                began = time.monotonic()
                with smtplib.SMTP("127.0.0.1", node.ports["smtp"], timeout=10) as second:
                    self.assertEqual(second.ehlo("second.test")[0], 250)
                    self.assertEqual(second.noop()[0], 250)
                self.assertLess(time.monotonic() - began, 5)
                first.settimeout(0.5)
                try:
                    early = first.recv(200, socket.MSG_PEEK)
                except socket.timeout:
                    early = None
                self.assertIsNone(early, "a verdict while the cluster stalls")
            finally:
                for pid in osd_pids:
                    os.kill(pid, signal.SIGCONT)
            first.settimeout(30)
            self.assertTrue(reply().startswith(b"250 "))
            first.sendall(b"QUIT\r\n")
            first.close()

    def test_92_admin_reads_of_a_mailbox_on_the_other_node(self):
        before = self.count(self.b)
        send(self.a.ports["smtp"], "QZ-EXPORTED", "exported")
        wait_for_pop3_messages(self.b.ports["pop3s"], USER, PASSWORD, before + 1)
        count = self.count(self.b)
        with tempfile.TemporaryDirectory(prefix="vmx-export-") as folder:
            out = os.path.join(folder, "ann.mbox")
            exported = vaultmx_cli(self.b.config, "user", "export", USER, "--out", out)
            self.assertIn(f"{count} messages exported", exported.stdout)
            with open(out, "rb") as f:
                self.assertIn(b"QZ-EXPORTED", f.read())
        support = json.loads(vaultmx_cli(self.b.config, "support", "mailbox", USER, "--json").stdout)
        self.assertEqual(len(support["messages"]), count)


if __name__ == "__main__":
    unittest.main()
