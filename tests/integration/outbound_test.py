"""Outbound delivery with real parts on loopback: unbound serves the MX and A records, a second
vaultmx is the receiving MX on 127.0.0.2 (STARTTLS with a self-signed certificate), and the sending
vaultmx takes mail on 587 and delivers it. Covered: delivery over TLS with the receiver's TLS
Received: line; a 550 from the receiver and a null MX bounce back as RFC 3464 reports python's email
parses; a receiver down at first is reached after a retry, also across a restart of the sender; and
scripted hostile receivers (STARTTLS injection, an endless reply, a slow drip, a 421 mid-way) never
get a message counted as delivered nor stop other mail."""
import email
import email.policy
import json
import os
import poplib
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from daemon_harness import VAULTMX, Daemon, files_holding, free_port, init_instance, write_config

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""
PASSWORD = "outbound secret 9Lk!"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_until(predicate, timeout=30.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Unbound:
    """unbound on 127.0.0.1 with the test zones; stopped by pid."""

    def __init__(self, zones, records):
        self.dir = tempfile.mkdtemp(prefix="vmx-unbound-")
        self.port = free_port()
        zones = "".join(f'    local-zone: "{z}." static\n' for z in zones)
        data = "".join(f'    local-data: "{r}"\n' for r in records)
        conf = os.path.join(self.dir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
    interface: 127.0.0.1@{self.port}
    port: {self.port}
    do-ip6: no
    do-not-query-localhost: no
    num-threads: 1
    username: ""
    chroot: ""
    pidfile: ""
    directory: "{self.dir}"
    use-syslog: no
    logfile: ""
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
{zones}{data}remote-control:
    control-enable: no
""")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("unbound did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Instance:
    """A vaultmx of its own (sender or receiver) listening on `host`."""

    def __init__(self, host="127.0.0.1", extra="", smtp_port=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="vmx-out-")
        folder = self.tmp.name
        self.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        if smtp_port:
            self.ports["smtp"] = smtp_port
        self.host = host
        self.config = write_config(folder, self.ports, extra=CHEAP_ARGON2 + extra, host=host)
        init_instance(self.config, "--self-signed")
        self.daemon = None

    def start(self):
        self.daemon = Daemon(existing=(self.tmp.name, self.ports, self.config), host=self.host).start()
        return self

    def stop(self):
        code, _ = self.daemon.stop()
        self.daemon.__exit__(None, None, None)
        return code

    def close(self):
        if self.daemon and self.daemon.proc and self.daemon.proc.poll() is None:
            self.stop()
        self.tmp.cleanup()

    def cli(self, *args, stdin=None):
        return subprocess.run([VAULTMX, "-c", self.config, *args], input=stdin, capture_output=True, text=True,
                              timeout=60)

    def ok(self, *args, stdin=None):
        r = self.cli(*args, stdin=stdin)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    def tenant(self, domain, *users):
        self.ok("org", "add", f"Org {domain}", "--plan", "pro")
        self.ok("domain", "add", domain, "--org", f"Org {domain}")
        for user in users:
            self.ok("user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")

    def submit(self, sender, recipients, subject, body="Hello from the outbound test.\r\n"):
        message = (f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
                   f"Message-ID: <{subject.replace(' ', '.')}@test>\r\n\r\n{body}")
        with smtplib.SMTP(self.host, self.ports["submission"], timeout=30) as s:
            s.starttls(context=insecure())
            s.login(sender, PASSWORD)
            s.sendmail(sender, recipients, message)

    def mailbox(self, user):
        """Every message in the user's mailbox, as bytes."""
        p = poplib.POP3_SSL(self.host, self.ports["pop3s"], context=insecure(), timeout=30)
        try:
            p.user(user)
            p.pass_(PASSWORD)
            count, _ = p.stat()
            return [b"\r\n".join(p.retr(i)[1]) for i in range(1, count + 1)]
        finally:
            p.quit()

    def queue(self):
        return json.loads(self.ok("queue", "list", "--json"))

    def log(self):
        return self.daemon.log_text() if self.daemon else ""


class World:
    """unbound serving `zones`, a receiving vaultmx on 127.0.0.2 with carol@remote.test, and a sending
    vaultmx with ann@sub.test whose MX lookups go to that unbound and whose hostile.test route goes
    to `hostile_port`; `delivery` adds [delivery] rows."""

    def __init__(self, zones, records, delivery):
        self.receiver_port = free_port()
        self.hostile_port = free_port()
        self.dns = Unbound(zones, records)
        self.receiver = Instance(host="127.0.0.2", smtp_port=self.receiver_port).start()
        self.receiver.tenant("remote.test", "carol@remote.test")
        self.sender = Instance(extra=f"""
[delivery]
resolver = "127.0.0.1:{self.dns.port}"
mx_port = {self.receiver_port}
{delivery}
[delivery.routes]
"hostile.test" = "127.0.0.1:{self.hostile_port}"
""").start()
        self.sender.tenant("sub.test", "ann@sub.test")

    def close(self):
        self.sender.close()
        self.receiver.close()
        self.dns.stop()


def message_with(messages, needle):
    return [m for m in messages if needle in m]


class OutboundDelivery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.world = World(["remote.test", "later.test", "nullmx.test", "backup.test"], [
            "remote.test. IN MX 10 mx.remote.test.",
            "mx.remote.test. IN A 127.0.0.2",
            "later.test. IN MX 10 mx.later.test.",
            "mx.later.test. IN A 127.0.0.3",
            "nullmx.test. IN MX 0 .",
            "backup.test. IN MX 10 dead.backup.test.",
            "backup.test. IN MX 20 mx.remote.test.",
            "dead.backup.test. IN A 127.0.0.4",
        ], "retry_first_s = 2\nretry_max_s = 4\ndead_backoff_s = 1\nreply_timeout_s = 3\ndns_cache_s = 0\n")
        cls.sender, cls.receiver = cls.world.sender, cls.world.receiver
        cls.receiver.ok("domain", "add", "backup.test", "--org", "Org remote.test")
        cls.receiver.ok("user", "add", "bea@backup.test", "--password-stdin", stdin=PASSWORD + "\n")

    @classmethod
    def tearDownClass(cls):
        cls.world.close()

    def delivered_to(self, instance, user, needle, timeout=30):
        return wait_until(lambda: message_with(instance.mailbox(user), needle.encode()), timeout=timeout)

    def test_delivers_over_starttls_with_a_tls_received_line(self):
        self.sender.submit("ann@sub.test", ["carol@remote.test"], "over tls")
        found = self.delivered_to(self.receiver, "carol@remote.test", "Subject: over tls")
        self.assertTrue(found, "\n".join(l for l in self.sender.log().splitlines() if "pop3" not in l)[-3000:])
        headers = email.message_from_bytes(found[0], policy=email.policy.default)
        received = " ".join(str(h) for h in headers.get_all("Received"))
        self.assertIn("ESMTPS", received)
        self.assertIn("TLS", received)
        self.assertTrue(wait_until(lambda: not [e for e in self.sender.queue() if "over tls" in json.dumps(e)], 10))

    def test_next_mx_is_tried_when_the_first_does_not_answer(self):
        self.sender.submit("ann@sub.test", ["bea@backup.test"], "via backup mx")
        self.assertTrue(self.delivered_to(self.receiver, "bea@backup.test", "Subject: via backup mx"))

    def test_refused_recipient_bounces_to_the_local_sender(self):
        self.sender.submit("ann@sub.test", ["nobody@remote.test"], "to nobody")
        bounce = self.delivered_to(self.sender, "ann@sub.test", "nobody@remote.test")
        self.assertTrue(bounce, self.sender.log()[-3000:])
        report = email.message_from_bytes(bounce[0], policy=email.policy.default)
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        parts = [p.get_content_type() for p in report.iter_parts()]
        self.assertIn("message/delivery-status", parts)
        status = [p for p in report.iter_parts() if p.get_content_type() == "message/delivery-status"][0]
        text = status.as_string()
        self.assertIn("Action: failed", text)
        self.assertIn("Status: 5.1.1", text)
        self.assertIn("Final-Recipient: rfc822; nobody@remote.test", text)
        self.assertEqual(report["Auto-Submitted"], "auto-replied")

    def test_null_mx_bounces_at_once(self):
        self.sender.submit("ann@sub.test", ["x@nullmx.test"], "to null mx")
        bounce = self.delivered_to(self.sender, "ann@sub.test", "x@nullmx.test", timeout=15)
        self.assertTrue(bounce)
        self.assertIn(b"5.1.10", bounce[0])

    def test_receiver_down_then_up_across_a_sender_restart(self):
        self.sender.submit("ann@sub.test", ["dave@later.test"], "waits for later")
        # Deferred: the entry stays with the connection failure as its last reply.
        waiting = wait_until(lambda: [e for e in self.sender.queue()
                                      if any(r.get("state") == "deferred" for r in e.get("recipients", []))])
        self.assertTrue(waiting, json.dumps(self.sender.queue()))
        self.assertEqual(self.sender.stop(), 0)
        later = Instance(host="127.0.0.3", smtp_port=self.world.receiver_port).start()
        try:
            later.tenant("later.test", "dave@later.test")
            self.sender.start()
            self.assertTrue(self.delivered_to(later, "dave@later.test", "Subject: waits for later"),
                            self.sender.log()[-3000:])
        finally:
            later.close()

    def test_nothing_in_the_queue_is_plaintext(self):
        self.sender.submit("ann@sub.test", ["dave@later.test"], "sealed while waiting",
                           body="A sentence that must never lie on disk in the clear.\r\n")
        hits = files_holding(self.sender.tmp.name, [b"must never lie on disk", PASSWORD.encode()])
        self.assertEqual(hits, [])


class Relayhost(unittest.TestCase):
    """Everything through a smarthost with SMTP AUTH: the receiving vaultmx's own submission port.
    Its password is the appliance secret "relayhost", set while the sender runs; before that the
    smarthost refuses and the message waits."""

    def smarthost_pair(self, relayhost_tls):
        receiver = Instance(host="127.0.0.2").start()
        receiver.tenant("remote.test", "carol@remote.test", "relay@remote.test")
        receiver.ok("user", "sender", "add", "relay@remote.test", "ann@sub.test")
        sender = Instance(extra=f"""
[delivery]
relayhost = "127.0.0.2:{receiver.ports['submission']}"
relayhost_user = "relay@remote.test"
{relayhost_tls}
retry_first_s = 60
""").start()
        sender.tenant("sub.test", "ann@sub.test")
        return receiver, sender

    def deferred(self, sender):
        return wait_until(lambda: [e for e in sender.queue()
                                   if any(r.get("state") == "deferred" for r in e["recipients"])], 20)

    def test_relayhost_with_auth_from_the_appliance_secret(self):
        # The smarthost's certificate is self-signed for another name: only `encrypt` accepts it.
        receiver, sender = self.smarthost_pair('relayhost_tls = "encrypt"')
        try:
            self.assertIn("relay_secret_missing", sender.log())
            sender.submit("ann@sub.test", ["carol@remote.test"], "via the smarthost")
            self.assertTrue(self.deferred(sender), json.dumps(sender.queue()))
            self.assertFalse(message_with(receiver.mailbox("carol@remote.test"), b"via the smarthost"))
            sender.ok("secret", "set", "relayhost", stdin=PASSWORD + "\n")
            self.assertIn("will be tried now", sender.ok("queue", "retry", "--all"))
            found = wait_until(lambda: message_with(receiver.mailbox("carol@remote.test"), b"via the smarthost"), 20)
            self.assertTrue(found, sender.log()[-3000:])
            self.assertIn(b"ESMTPSA", found[0])  # the smarthost saw an authenticated, encrypted session
            self.assertIn("submission", receiver.ok("user", "logins", "relay@remote.test"))
            self.assertEqual(files_holding(sender.tmp.name, [PASSWORD.encode()]), [])
        finally:
            sender.close()
            receiver.close()

    def test_password_never_goes_to_a_smarthost_whose_certificate_fails(self):
        # By default the smarthost's certificate must verify: a self-signed one gets no password.
        receiver, sender = self.smarthost_pair("")
        try:
            sender.ok("secret", "set", "relayhost", stdin=PASSWORD + "\n")
            sender.submit("ann@sub.test", ["carol@remote.test"], "not to an unverified smarthost")
            self.assertTrue(self.deferred(sender), json.dumps(sender.queue()))
            logins = receiver.ok("user", "logins", "relay@remote.test")
            self.assertNotIn("submission", logins)  # no AUTH attempt reached it
            self.assertFalse(message_with(receiver.mailbox("carol@remote.test"), b"not to an unverified"))
        finally:
            sender.close()
            receiver.close()


def smtp_dialog(conn, name, on_data):
    """A scripted server's session: greeting, 250 to every command and 221 to QUIT; DATA is
    on_data(conn, reader)'s, which returns False to hang up."""
    conn.sendall(b"220 " + name + b" ESMTP\r\n")
    f = conn.makefile("rb")
    while line := f.readline():
        verb = line.split()[0].upper() if line.split() else b""
        if verb == b"DATA":
            if not on_data(conn, f):
                return
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"250 ok\r\n")


class SlowReceiver:
    """Accepts every message, a little slowly (delay_s at the final dot), and keeps their subjects."""

    def __init__(self, port, delay_s):
        self.subjects = []
        self.lock = threading.Lock()
        self.delay_s = delay_s
        self.server = HostileReceiver(port, self.script)

    def script(self, conn):
        def on_data(conn, f):
            conn.sendall(b"354 go\r\n")
            subject = b""
            while (body_line := f.readline()) not in (b".\r\n", b""):
                if body_line.startswith(b"Subject: "):
                    subject = body_line[9:].strip()
            time.sleep(self.delay_s)
            with self.lock:
                self.subjects.append(subject.decode())
            conn.sendall(b"250 2.0.0 queued\r\n")
            return True
        smtp_dialog(conn, b"slow", on_data)

    def close(self):
        self.server.close()


class CrashMidDelivery(unittest.TestCase):
    """SIGKILL while messages are going out: after a restart every message arrives, and at most the
    ones in flight at the kill (one per connection) arrive twice."""

    def test_kill_during_delivery_resends_at_most_the_messages_in_flight(self):
        port = free_port()
        receiver = SlowReceiver(port, 0.05)
        sender = Instance(extra=f"""
[delivery]
concurrency_initial = 2
concurrency_max = 2
[delivery.routes]
"slow.test" = "127.0.0.1:{port}"
""").start()
        try:
            sender.tenant("sub.test", "ann@sub.test")
            subjects = [f"crash-{i}" for i in range(40)]
            message = "From: ann@sub.test\r\nTo: x@slow.test\r\nSubject: {}\r\n\r\nbody\r\n"
            with smtplib.SMTP("127.0.0.1", sender.ports["submission"], timeout=30) as s:
                s.starttls(context=insecure())
                s.login("ann@sub.test", PASSWORD)
                for subject in subjects:
                    s.sendmail("ann@sub.test", ["x@slow.test"], message.format(subject))
            self.assertTrue(wait_until(lambda: len(receiver.subjects) >= 5, 20))
            sender.daemon.proc.kill()
            sender.daemon.proc.wait()
            received_at_kill = len(receiver.subjects)
            self.assertLess(received_at_kill, len(subjects), "everything went out before the kill: no test")
            sender.start()
            self.assertTrue(wait_until(lambda: set(receiver.subjects) >= set(subjects), 60),
                            f"missing: {sorted(set(subjects) - set(receiver.subjects))}")
            self.assertTrue(wait_until(lambda: not sender.queue(), 20))
            duplicates = len(receiver.subjects) - len(set(receiver.subjects))
            self.assertLessEqual(duplicates, 2, receiver.subjects)  # concurrency_max connections in flight
        finally:
            sender.close()
            receiver.close()


class HostileReceiver:
    """A scripted SMTP server on 127.0.0.1: `script(conn)` talks to each connection."""

    def __init__(self, port, script):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.script = script
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            self.script(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() so the port is free again
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


def read_line(f):
    return f.readline()


def injection_script(cert, key):
    """STARTTLS answered with 220 plus a forged '250' in the same packet, then real TLS; after that
    the server answers every command with 4xx, so nothing may be counted as delivered."""
    def script(conn):
        conn.sendall(b"220 hostile ESMTP\r\n")
        f = conn.makefile("rb")
        read_line(f)  # EHLO
        conn.sendall(b"250-hostile\r\n250 STARTTLS\r\n")
        read_line(f)  # STARTTLS
        conn.sendall(b"220 go ahead\r\n250 2.0.0 injected\r\n")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        tls = ctx.wrap_socket(conn, server_side=True)
        tf = tls.makefile("rb")
        while True:
            line = read_line(tf)
            if not line:
                return
            if line.upper().startswith(b"EHLO"):
                tls.sendall(b"250 hostile\r\n")
            elif line.upper().startswith(b"QUIT"):
                tls.sendall(b"221 bye\r\n")
                return
            else:
                tls.sendall(b"451 4.3.0 try later\r\n")
    return script


def endless_script(conn):
    conn.sendall(b"220 hostile ESMTP\r\n")
    conn.makefile("rb").readline()
    while True:
        conn.sendall(b"250-" + b"x" * 60 + b"\r\n")


def closing_421_script(conn):
    """Accepts the envelope, then answers DATA with 421 and hangs up."""
    def on_data(conn, _f):
        conn.sendall(b"421 4.3.2 shutting down\r\n")
        return False
    smtp_dialog(conn, b"hostile", on_data)


def drip_script(conn):
    for byte in b"220 hostile ESMTP slowly\r\n":
        conn.sendall(bytes([byte]))
        time.sleep(0.5)
    time.sleep(30)


class HostileReceivers(unittest.TestCase):
    """Each case: the message to hostile.test stays queued (never delivered), and mail to the
    well-behaved receiver still goes out meanwhile."""

    @classmethod
    def setUpClass(cls):
        cls.world = World(["remote.test"], ["remote.test. IN MX 10 mx.remote.test.", "mx.remote.test. IN A 127.0.0.2"],
                          "retry_first_s = 60\nreply_timeout_s = 3\ndead_backoff_s = 1\n")
        cls.sender, cls.receiver, cls.hostile_port = cls.world.sender, cls.world.receiver, cls.world.hostile_port

    @classmethod
    def tearDownClass(cls):
        cls.world.close()

    def run_case(self, script, subject):
        hostile = HostileReceiver(self.hostile_port, script)
        try:
            self.sender.submit("ann@sub.test", ["victim@hostile.test"], subject)
            self.assertTrue(wait_until(lambda: hostile.connections > 0, 10))
            self.sender.submit("ann@sub.test", ["carol@remote.test"], f"meanwhile {subject}")
            found = wait_until(lambda: message_with(self.receiver.mailbox("carol@remote.test"),
                                                    f"meanwhile {subject}".encode()), 20)
            self.assertTrue(found, "the hostile receiver held up other mail")
            entry = wait_until(lambda: [e for e in self.sender.queue() if "victim@hostile.test" in json.dumps(e)
                                        and any(r.get("state") == "deferred" for r in e["recipients"])], 20)
            self.assertTrue(entry, f"not deferred: {json.dumps(self.sender.queue())}")
            for r in entry[0]["recipients"]:
                self.assertNotEqual(r.get("state"), "delivered")
            self.assertNotIn("injected", json.dumps(entry))
        finally:
            hostile.close()
            self.sender.ok("queue", "delete", entry[0]["id"]) if entry else None

    def test_starttls_injection_is_never_read(self):
        folder = self.sender.tmp.name
        self.run_case(injection_script(os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")),
                      "injection")

    def test_endless_reply_is_cut(self):
        self.run_case(endless_script, "endless")

    def test_421_mid_transaction_defers(self):
        self.run_case(closing_421_script, "closing")

    def test_slow_drip_times_out(self):
        self.run_case(drip_script, "drip")


if __name__ == "__main__":
    unittest.main()
