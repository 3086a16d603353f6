#!/usr/bin/env python3
"""Least privilege and abuse resistance on the real daemon: the privilege drop as /proc shows it,
the MX's per-client limits (one address flooded while another is served), the greeting wait, login
bans that survive a restart and the admin commands on them, and the last RFC 5321 cases (a bare
Postmaster, duplicate recipients, a mail loop)."""
import grp
import os
import poplib
import pwd
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from daemon_harness import VAULTMX, VAULTMXD, Daemon, free_port, init_instance, read_log, wait_for_port, write_config

CHEAP_ARGON2 = "\n[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n"
PASSWORD = "correct horse battery staple 7Qz"
ADDRESS = "alice@hard.test"
SANITIZED = "asan" in os.environ.get("VMX_BUILD_TYPE", "").lower()


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def status_of(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def connect_from(source, port, timeout=10):
    """A TCP connection to the daemon on 127.0.0.1 from another loopback address."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_reply(sock):
    """One whole SMTP reply (every line up to the one with a space after the code)."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data.decode()
        data += chunk
        lines = data.split(b"\r\n")
        for line in lines[:-1]:
            if len(line) >= 4 and line[3:4] == b" ":
                return data.decode()


class Pop3From(poplib.POP3_SSL):
    """POP3S from a chosen loopback address (poplib has no source_address)."""

    def __init__(self, source, port):
        self.source = source
        super().__init__("127.0.0.1", port, context=insecure(), timeout=30)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))
        return self.context.wrap_socket(sock, server_hostname=self.host)


class Instance:
    """A daemon with its own [limits] and admin helpers."""

    def __init__(self, limits, smtp_extra=""):
        self.tmp = tempfile.TemporaryDirectory(prefix="vmx-hard-")
        folder = self.tmp.name
        os.chmod(folder, 0o711)
        self.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        extra = CHEAP_ARGON2 + "\n[limits]\n" + limits + "\n" + smtp_extra
        self.config = write_config(folder, self.ports, extra=extra)
        init_instance(self.config, "--self-signed")
        self.daemon = Daemon(existing=(folder, self.ports, self.config)).start()

    def cli(self, *args, stdin=None):
        return subprocess.run([VAULTMX, "-c", self.config, *args], input=stdin, capture_output=True, text=True,
                              timeout=60)

    def ok(self, *args, stdin=None):
        r = self.cli(*args, stdin=stdin)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    def tenant(self):
        self.ok("org", "add", "Hard Org", "--plan", "pro")
        self.ok("domain", "add", "hard.test", "--org", "Hard Org")
        self.ok("user", "add", ADDRESS, "--password-stdin", stdin=PASSWORD + "\n")
        self.ok("user", "add", "pm@hard.test", "--password-stdin", stdin=PASSWORD + "\n")

    def restart(self):
        code, _ = self.daemon.stop()
        assert code == 0, code
        self.daemon = Daemon(existing=(self.tmp.name, self.ports, self.config)).start()

    def close(self):
        self.daemon.__exit__(None, None, None)
        self.tmp.cleanup()


class Privileges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vmx = Instance('exempt_networks = ["127.0.0.0/8"]')

    @classmethod
    def tearDownClass(cls):
        cls.vmx.close()

    def test_every_thread_runs_as_the_service_user_with_nothing(self):
        account = pwd.getpwnam("vaultmx")
        pid = self.vmx.daemon.proc.pid
        # The threads start right after the drop, once the admin socket is there.
        deadline = time.monotonic() + 10
        while len(os.listdir(f"/proc/{pid}/task")) <= 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        tasks = os.listdir(f"/proc/{pid}/task")
        self.assertGreater(len(tasks), 3)  # shards, store lanes, workers
        for tid in tasks:
            s = status_of(f"{pid}/task/{tid}")
            self.assertEqual(s["Uid"].split(), [str(account.pw_uid)] * 4, tid)
            self.assertEqual(s["Gid"].split(), [str(account.pw_gid)] * 4, tid)
            self.assertEqual(s["Groups"].split(), [str(account.pw_gid)], tid)
            for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                self.assertEqual(int(s[caps], 16), 0, f"{tid} {caps}")
            self.assertEqual(s["NoNewPrivs"], "1", tid)
            if not SANITIZED:
                self.assertEqual(s["Seccomp"], "2", tid)
        if not SANITIZED:
            # Not dumpable: /proc/PID's files belong to root, not to the service user.
            self.assertEqual(os.stat(f"/proc/{pid}/mem").st_uid, 0)
        # Still serves after the drop.
        with smtplib.SMTP("127.0.0.1", self.vmx.ports["smtp"], timeout=10) as s:
            self.assertEqual(s.ehlo()[0], 250)

    def test_init_hands_the_data_folder_to_the_service_user(self):
        account = pwd.getpwnam("vaultmx")
        data = os.path.join(self.vmx.tmp.name, "data")
        for root, dirs, files in os.walk(data):
            for name in dirs + files:
                st = os.lstat(os.path.join(root, name))
                self.assertEqual((st.st_uid, st.st_gid), (account.pw_uid, grp.getgrnam("vaultmx").gr_gid), name)
        # The master key stays root's: the daemon reads it before it drops.
        self.assertEqual(os.stat(os.path.join(self.vmx.tmp.name, "master.key")).st_uid, 0)

    def test_refuses_to_serve_as_root(self):
        with tempfile.TemporaryDirectory(prefix="vmx-root-") as folder:
            ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
            config = write_config(folder, ports, extra='\n[service]\nuser = "root"\ngroup = "root"\n')
            r = subprocess.run([VAULTMX, "-c", config, "init"], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("service.user", r.stderr)
            r = subprocess.run([VAULTMXD, "-c", config], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("service.user: root is root", r.stderr)


class SocketActivation(unittest.TestCase):
    """As under systemd's vaultmx.socket: the service manager binds the ports and starts the daemon as
    the service user from the first instant, with the master key as a credential; it serves without
    ever holding a capability."""

    def test_serves_on_passed_sockets_as_the_service_user(self):
        account = pwd.getpwnam("vaultmx")
        with tempfile.TemporaryDirectory(prefix="vmx-sa-") as folder:
            os.chmod(folder, 0o711)
            ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
            config = write_config(folder, ports, extra=CHEAP_ARGON2 + '\n[limits]\nexempt_networks = ["127.0.0.0/8"]\n')
            # The admin socket in a folder init makes (and so hands to the service user).
            with open(config) as f:
                text = f.read().replace(f'socket = "{folder}/admin.sock"', f'socket = "{folder}/run/admin.sock"')
            with open(config, "w") as f:
                f.write(text)
            init_instance(config, "--self-signed")
            credentials = os.path.join(folder, "credentials")
            os.mkdir(credentials, 0o700)
            with open(os.path.join(folder, "master.key"), "rb") as src:
                key = src.read()
            with open(os.path.join(credentials, "master.key"), "wb") as dst:
                dst.write(key)
            os.chmod(os.path.join(credentials, "master.key"), 0o600)
            for path in (credentials, os.path.join(credentials, "master.key"), os.path.join(folder, "cert.pem"),
                         os.path.join(folder, "key.pem")):
                os.chown(path, account.pw_uid, account.pw_gid)
            # systemd-socket-activate hands on only the variables named with -E.
            command = ["systemd-socket-activate", f"--setenv=CREDENTIALS_DIRECTORY={credentials}",
                       f"--listen=127.0.0.1:{ports['smtp']}", "--fdname=smtp",
                       f"--listen=127.0.0.1:{ports['pop3s']}", "--fdname=pop3s",
                       "setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
                       "--inh-caps=-all", "--bounding-set=-all", VAULTMXD, "-c", config]
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                # Like systemd, it starts the service at the first connection: that one waits in the
                # passed socket's queue and is served once the daemon runs.
                deadline = time.monotonic() + 10
                while True:
                    try:
                        first = socket.create_connection(("127.0.0.1", ports["smtp"]), timeout=20)
                        break
                    except OSError:
                        self.assertLess(time.monotonic(), deadline, "the socket was never bound")
                        time.sleep(0.05)
                socket_path = os.path.join(folder, "run", "admin.sock")
                deadline = time.monotonic() + 20
                while not os.path.exists(socket_path) and time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.05)
                self.assertTrue(os.path.exists(socket_path), proc.stderr.read() if proc.poll() is not None else "")
                self.assertTrue(read_reply(first).startswith("220"))
                first.close()
                daemon_pid = proc.pid  # systemd-socket-activate and setpriv exec the daemon in place
                with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=10) as s:
                    self.assertEqual(s.ehlo("c.example")[0], 250)
                st = status_of(daemon_pid)
                self.assertEqual(st["Uid"].split()[0], str(account.pw_uid))
                self.assertEqual(int(st["CapEff"], 16), 0)
                self.assertEqual(int(st["CapBnd"], 16), 0)
                self.assertEqual(st["NoNewPrivs"], "1")
                log = read_log(config)  # through the running daemon: the key is only its credential
            finally:
                proc.terminate()
                try:
                    proc.communicate(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
            self.assertEqual(proc.returncode, 0)
            self.assertIn("listen.passed listener=smtp", log)
            self.assertIn("from_root=no", log)
            self.assertIn("source=credential", log)

    def test_a_passed_socket_on_another_address_is_refused(self):
        with tempfile.TemporaryDirectory(prefix="vmx-sa-") as folder:
            ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
            config = write_config(folder, ports)
            init_instance(config)
            other = free_port()
            proc = subprocess.Popen(["systemd-socket-activate", f"--listen=127.0.0.1:{other}", "--fdname=smtp",
                                     VAULTMXD, "-c", config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertTrue(wait_for_port(other))
            _, err = proc.communicate(timeout=30)
            self.assertEqual(proc.returncode, 2, err)
            self.assertIn(f"listen.smtp: the socket the service manager passed is bound to 127.0.0.1:{other}", err)


class ClientLimits(unittest.TestCase):
    """127.0.0.1 floods; 127.0.0.3 is an ordinary other client; 127.0.0.2 is exempt."""

    @classmethod
    def setUpClass(cls):
        cls.vmx = Instance('exempt_networks = ["127.0.0.2/32"]\nclient_connections_max = 3\n'
                           'client_connections_per_minute = 12\nclient_messages_per_minute = 4\n'
                           'client_recipients_per_minute = 6\ngreet_wait_ms = 300\n')
        cls.vmx.tenant()
        cls.port = cls.vmx.ports["smtp"]

    @classmethod
    def tearDownClass(cls):
        cls.vmx.close()

    def greeted(self, source):
        s = connect_from(source, self.port)
        return s, read_reply(s)

    def test_a_client_that_talks_before_the_greeting_is_refused(self):
        s = connect_from("127.0.0.4", self.port)
        s.sendall(b"EHLO early.example\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertTrue(data.startswith(b"220-"), data)
        self.assertIn(b"521 5.5.1", data)
        self.assertNotIn(b"250", data)
        # A patient client reads the whole greeting and is served; an exempt one is greeted at once.
        s, greeting = self.greeted("127.0.0.4")
        self.assertRegex(greeting, r"^220-\S+ ESMTP\r\n220 \S+ ESMTP\r\n$")
        s.sendall(b"QUIT\r\n")
        self.assertTrue(read_reply(s).startswith("221"))
        s.close()
        s, greeting = self.greeted("127.0.0.2")
        self.assertRegex(greeting, r"^220 \S+ ESMTP\r\n$")
        s.close()

    def test_concurrent_connections_from_one_address(self):
        held = [self.greeted("127.0.0.5")[0] for _ in range(3)]
        extra = connect_from("127.0.0.5", self.port)
        refusal = read_reply(extra)
        self.assertTrue(refusal.startswith("421 4.7.0"), refusal)
        self.assertIn("too many connections", refusal)
        extra.close()
        # Another address is served meanwhile.
        other, greeting = self.greeted("127.0.0.6")
        self.assertTrue(greeting.startswith("220"))
        other.close()
        for s in held:
            s.close()
        # Closed connections free their places.
        deadline = time.monotonic() + 5
        while True:
            s, greeting = self.greeted("127.0.0.5")
            s.close()
            if greeting.startswith("220") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(greeting.startswith("220"), greeting)

    def test_connection_rate_per_address(self):
        replies = []
        for _ in range(14):
            s = connect_from("127.0.0.7", self.port)
            replies.append(read_reply(s))
            s.close()
        self.assertTrue(all(r.startswith("220") for r in replies[:12]), replies)
        self.assertTrue(all(r.startswith("421 4.7.0") for r in replies[12:]), replies)
        s, greeting = self.greeted("127.0.0.8")
        self.assertTrue(greeting.startswith("220"))
        s.close()
        # The exempt address is never counted.
        for _ in range(15):
            s, greeting = self.greeted("127.0.0.2")
            self.assertTrue(greeting.startswith("220 "), greeting)
            s.close()

    def smtp_from(self, source):
        s = smtplib.SMTP(timeout=10, source_address=(source, 0))
        s.connect("127.0.0.1", self.port)
        return s

    def test_messages_and_recipients_per_minute(self):
        s = self.smtp_from("127.0.0.9")
        s.ehlo("flood.example")
        codes = []
        for i in range(6):
            code, _ = s.mail("x@remote.test")
            codes.append(code)
            if code == 250:
                self.assertEqual(s.rcpt(ADDRESS)[0], 250)
                self.assertEqual(s.data(f"Subject: m{i}\r\n\r\nbody\r\n".encode())[0], 250)
        self.assertEqual(codes, [250, 250, 250, 250, 450, 450])
        s.quit()
        # Recipients: six a minute from 127.0.0.10, refused ones counted too (a dictionary attack).
        s = self.smtp_from("127.0.0.10")
        s.ehlo("flood.example")
        self.assertEqual(s.mail("x@remote.test")[0], 250)
        codes = [s.rcpt(f"guess{i}@hard.test")[0] for i in range(8)]
        self.assertEqual(codes, [550] * 6 + [450, 450])
        s.quit()
        # Others are served.
        s = self.smtp_from("127.0.0.11")
        s.ehlo("ok.example")
        self.assertEqual(s.sendmail("x@remote.test", [ADDRESS], b"Subject: fine\r\n\r\nok\r\n"), {})
        s.quit()


class Bans(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vmx = Instance('ban_failures = 3\nban_window_s = 600\nban_duration_s = 3600\n'
                           'exempt_networks = ["127.0.0.2/32"]\ngreet_wait_ms = 0')
        cls.vmx.tenant()

    @classmethod
    def tearDownClass(cls):
        cls.vmx.close()

    def pop3_login(self, source, password):
        p = Pop3From(source, self.vmx.ports["pop3s"])
        try:
            p.user(ADDRESS)
            p.pass_(password)
            return "ok"
        except poplib.error_proto as e:
            return e.args[0].decode()
        finally:
            try:
                p.quit()
            except Exception:
                pass

    def pop3_greeting(self, source):
        raw = socket.create_connection(("127.0.0.1", self.vmx.ports["pop3s"]), timeout=10,
                                       source_address=(source, 0))
        with insecure().wrap_socket(raw) as s:
            return s.recv(4096).decode()

    def submission_greeting(self, source):
        raw = socket.create_connection(("127.0.0.1", self.vmx.ports["submission_tls"]), timeout=10,
                                       source_address=(source, 0))
        with insecure().wrap_socket(raw) as s:
            return read_reply(s)

    def test_repeated_failures_ban_the_address_on_every_login_port_across_a_restart(self):
        for _ in range(3):
            self.assertIn("-ERR", self.pop3_login("127.0.0.20", "wrong password"))
        self.assertTrue(self.pop3_greeting("127.0.0.20").startswith("-ERR [SYS/TEMP]"))
        self.assertTrue(self.submission_greeting("127.0.0.20").startswith("421 4.7.0"))
        # Another address logs in; the exempt address is never banned whatever it does.
        self.assertEqual(self.pop3_login("127.0.0.21", PASSWORD), "ok")
        for _ in range(5):
            self.pop3_login("127.0.0.2", "wrong password")
        self.assertEqual(self.pop3_login("127.0.0.2", PASSWORD), "ok")

        listed = self.vmx.ok("bans", "list")
        self.assertIn("127.0.0.20", listed)
        self.assertNotIn("127.0.0.2\t", listed)
        self.assertIn('"address":"127.0.0.20"', self.vmx.ok("bans", "list", "--json"))

        self.vmx.restart()
        self.assertTrue(self.pop3_greeting("127.0.0.20").startswith("-ERR [SYS/TEMP]"))
        self.assertIn("127.0.0.20", self.vmx.ok("bans", "list"))
        # Nothing about the ban lies on disk in the clear.
        data = os.path.join(self.vmx.tmp.name, "data")
        for root, _, files in os.walk(data):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    self.assertNotIn(b"127.0.0.20", fh.read(), f)

        self.assertIn("lifted", self.vmx.ok("bans", "remove", "127.0.0.20"))
        self.assertEqual(self.pop3_login("127.0.0.20", PASSWORD), "ok")
        self.assertNotEqual(self.vmx.cli("bans", "remove", "127.0.0.20").returncode, 0)
        self.assertNotEqual(self.vmx.cli("bans", "remove", "not-an-address").returncode, 0)
        audit = self.vmx.ok("audit", "show")
        self.assertIn("bans remove", audit)
        self.assertIn("bans list", audit)


class Rfc5321(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vmx = Instance('exempt_networks = ["127.0.0.0/8"]',
                           '\n[smtp]\npostmaster = "pm@hard.test"\nhop_count_max = 50\nrecipients_max = 4\n')
        cls.vmx.tenant()

    @classmethod
    def tearDownClass(cls):
        cls.vmx.close()

    def mailbox_count(self, address):
        out = self.vmx.ok("user", "mailbox", address)
        return len([line for line in out.splitlines() if re.match(r"^\s*\d+\s", line)])

    def wait_count(self, address, n):
        deadline = time.monotonic() + 10
        while self.mailbox_count(address) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.mailbox_count(address)

    def test_bare_postmaster_reaches_the_configured_mailbox(self):
        before = self.mailbox_count("pm@hard.test")
        with smtplib.SMTP("127.0.0.1", self.vmx.ports["smtp"], timeout=10) as s:
            s.ehlo("c.example")
            self.assertEqual(s.mail("x@remote.test")[0], 250)
            self.assertEqual(s.rcpt("<Postmaster>")[0], 250)
            self.assertEqual(s.data(b"Subject: to postmaster\r\n\r\nhello\r\n")[0], 250)
        self.assertEqual(self.wait_count("pm@hard.test", before + 1), before + 1)

    def test_duplicate_recipients_count_toward_the_limit(self):
        with smtplib.SMTP("127.0.0.1", self.vmx.ports["smtp"], timeout=10) as s:
            s.ehlo("c.example")
            s.mail("x@remote.test")
            codes = [s.rcpt(ADDRESS)[0] for _ in range(6)]
            self.assertEqual(codes, [250] * 4 + [452, 452])

    def test_mail_loop_refused(self):
        hops = "".join(f"Received: from hop{i}.example by relay{i}.example; Sat, 5 Dec 2026 10:00:00 +0000\r\n"
                       for i in range(51))
        with smtplib.SMTP("127.0.0.1", self.vmx.ports["smtp"], timeout=10) as s:
            s.ehlo("c.example")
            s.mail("x@remote.test")
            s.rcpt(ADDRESS)
            code, text = s.data((hops + "Subject: loop\r\n\r\nbody\r\n").encode())
            self.assertEqual(code, 554)
            self.assertIn(b"5.4.6", text)
            # Fifty hops are still mail.
            s.mail("x@remote.test")
            s.rcpt(ADDRESS)
            code, _ = s.data((hops[hops.index("Received: from hop1."):] + "Subject: ok\r\n\r\nbody\r\n").encode())
            self.assertEqual(code, 250)


if __name__ == "__main__":
    unittest.main()
