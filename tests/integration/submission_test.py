"""Submission as mail clients meet it: the real daemon with a self-signed certificate on 465 (TLS
from the first byte) and 587 (STARTTLS), driven by swaks, python's smtplib, msmtp and openssl
s_client. A message to a local user is read back over POP3S with the headers submission adds; a
message to a remote address waits sealed in smtp-out. Then the hostile cases: AUTH before TLS and
on the MX, malformed SASL, a second and a pipelined AUTH, sender spoofing in envelope and header,
AUTH= injection, smuggling on 587, remote logout, brute force (known and unknown users alike) and
the hourly limit."""
import base64
import json
import os
import poplib
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import uuid

from daemon_harness import VAULTMX, Daemon, files_holding, free_port, init_instance, write_config

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""
HELO = "client.example"

DOMAIN = "sub.test"
ANN = f"ann@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
PASSWORD = "submission secret 7Yq!"
BOB_PASSWORD = "bob's own pw 3Kd#"
WRONG = "not-the-password-5521"
REMOTE = "someone@elsewhere.example"


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Instance:
    """A daemon of its own, with the organisation, domain and users every test class needs."""

    def __init__(self, extra="", auth=""):
        self.tmp = tempfile.TemporaryDirectory(prefix="vmx-sub-")
        folder = self.tmp.name
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        config = write_config(folder, ports, extra=CHEAP_ARGON2 + auth + extra)
        init_instance(config, "--self-signed")
        self.daemon = Daemon(existing=(folder, ports, config)).start()
        self.ports = ports
        self.ok("org", "add", "Sub Org", "--plan", "pro")
        self.ok("domain", "add", DOMAIN, "--org", "Sub Org")
        self.ok("user", "add", ANN, "--password-stdin", stdin=PASSWORD + "\n")
        self.ok("user", "add", BOB, "--password-stdin", stdin=BOB_PASSWORD + "\n")

    def close(self):
        code, _ = self.daemon.stop()
        self.daemon.__exit__(None, None, None)
        self.tmp.cleanup()
        assert code == 0, code

    def cli(self, *args, stdin=None):
        return subprocess.run([VAULTMX, "-c", self.daemon.config, *args], input=stdin, capture_output=True,
                              text=True, timeout=60)

    def ok(self, *args, stdin=None):
        r = self.cli(*args, stdin=stdin)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    def smtps(self):
        return smtplib.SMTP_SSL("127.0.0.1", self.ports["submission_tls"], context=insecure(), timeout=30,
                                local_hostname=HELO)

    def starttls(self):
        s = smtplib.SMTP("127.0.0.1", self.ports["submission"], timeout=30, local_hostname=HELO)
        s.ehlo()
        s.starttls(context=insecure())
        s.ehlo()
        return s

    def mailbox(self, address, password):
        """Every message in the mailbox, raw, over POP3S."""
        p = poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], context=insecure(), timeout=30)
        p.user(address)
        p.pass_(password)
        n, _ = p.stat()
        out = [b"\r\n".join(p.retr(i)[1]) + b"\r\n" for i in range(1, n + 1)]
        p.quit()
        return out

    def wait_for(self, address, password, marker, timeout=15):
        end = time.monotonic() + timeout
        while True:
            for raw in self.mailbox(address, password):
                if marker.encode() in raw:
                    return raw
            if time.monotonic() > end:
                raise AssertionError(f"{marker} never reached {address}")
            time.sleep(0.1)


def message(sender, to, marker, extra=""):
    return (f"From: Ann <{sender}>\r\nTo: {to}\r\nSubject: {marker}\r\n{extra}\r\n"
            f"body of {marker}\r\n").encode()


class Submission(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Remote mail goes to a port where nothing listens: it stays queued (deferred) for the checks.
        cls.vmx = Instance(f"\n[delivery]\nretry_first_s = 3600\n[delivery.routes]\n\"elsewhere.example\" = \"127.0.0.1:{free_port()}\"\n")

    @classmethod
    def tearDownClass(cls):
        cls.vmx.close()

    def raw_session(self, port, implicit):
        """A TLS socket past the greeting (and STARTTLS on 587), reading replies line by line."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if implicit:
            sock = insecure().wrap_socket(sock, server_hostname="localhost")
            f = sock.makefile("rb")
            assert f.readline().startswith(b"220")
        else:
            f = sock.makefile("rb")
            assert f.readline().startswith(b"220")
            sock.sendall(b"EHLO c.example\r\n")
            self.read_reply(f)
            sock.sendall(b"STARTTLS\r\n")
            assert f.readline().startswith(b"220")
            sock = insecure().wrap_socket(sock, server_hostname="localhost")
            f = sock.makefile("rb")
        sock.sendall(b"EHLO c.example\r\n")
        self.read_reply(f)
        return sock, f

    @staticmethod
    def read_reply(f):
        lines = []
        while True:
            line = f.readline()
            assert line, "connection closed"
            lines.append(line.decode())
            if line[3:4] != b"-":
                return "".join(lines)

    def send(self, sock, f, line):
        sock.sendall(line.encode() + b"\r\n")
        return self.read_reply(f)

    # ---- real clients -------------------------------------------------------------------------

    def test_01_swaks_plain_and_login_on_465_and_587(self):
        for flags, auth, name in ((["--tlsc", "--port", str(self.vmx.ports["submission_tls"])], "PLAIN", "465"),
                                  (["--tls", "--port", str(self.vmx.ports["submission"])], "LOGIN", "587")):
            marker = f"swaks-{name}-{uuid.uuid4().hex[:8]}"
            r = subprocess.run(["swaks", "--server", "127.0.0.1", *flags, "--auth", auth, "--auth-user", ANN,
                                "--auth-password", PASSWORD, "--from", ANN, "--to", BOB, "--header", f"Subject: {marker}",
                                "--body", f"hello {marker}"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("235 2.7.0", r.stdout)
            self.assertNotIn(PASSWORD, r.stdout.replace(b64(PASSWORD), ""))
            raw = self.vmx.wait_for(BOB, BOB_PASSWORD, marker)
            self.assertIn(b"ESMTPSA", raw)

    def test_02_python_smtplib_ssl_and_starttls(self):
        for connect in (self.vmx.smtps, self.vmx.starttls):
            marker = f"py-{uuid.uuid4().hex[:8]}"
            with connect() as s:
                s.ehlo()
                self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
                s.login(ANN, PASSWORD)
                refused = s.sendmail(ANN, [BOB], message(ANN, BOB, marker))
                self.assertEqual(refused, {})
            self.vmx.wait_for(BOB, BOB_PASSWORD, marker)

    def test_03_msmtp_as_a_mail_client(self):
        if shutil.which("msmtp") is None:
            self.skipTest("msmtp is not installed (scripts/install-deps installs it)")
        marker = f"msmtp-{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory() as d:
            rc = os.path.join(d, "msmtprc")
            with open(rc, "w") as f:
                f.write(f"account vmx\nhost 127.0.0.1\nport {self.vmx.ports['submission']}\ntls on\n"
                        f"tls_starttls on\ntls_certcheck off\nauth on\nuser {ANN}\npassword {PASSWORD}\n"
                        f"from {ANN}\naccount default : vmx\n")
            os.chmod(rc, 0o600)
            r = subprocess.run(["msmtp", "-C", rc, BOB], input=message(ANN, BOB, marker), capture_output=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.vmx.wait_for(BOB, BOB_PASSWORD, marker)

    def test_04_openssl_s_client_sees_auth_only_under_tls(self):
        for args in (["-connect", f"127.0.0.1:{self.vmx.ports['submission_tls']}"],
                     ["-connect", f"127.0.0.1:{self.vmx.ports['submission']}", "-starttls", "smtp"]):
            r = subprocess.run(["openssl", "s_client", "-quiet", *args], input=b"EHLO c.example\r\nQUIT\r\n",
                               capture_output=True, timeout=30)
            self.assertIn(b"250-AUTH PLAIN LOGIN", r.stdout, r.stdout)
        with socket.create_connection(("127.0.0.1", self.vmx.ports["submission"]), timeout=10) as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"EHLO c.example\r\n")
            ehlo = self.read_reply(f)
            self.assertIn("STARTTLS", ehlo)
            self.assertNotIn("AUTH", ehlo)

    def test_05_local_message_gets_message_id_date_and_a_private_received(self):
        marker = f"hdr-{uuid.uuid4().hex[:8]}"
        with self.vmx.smtps() as s:
            s.login(ANN, PASSWORD)
            s.sendmail(ANN, [BOB], f"From: {ANN}\r\nTo: {BOB}\r\nSubject: {marker}\r\n\r\nno id, no date\r\n".encode())
        raw = self.vmx.wait_for(BOB, BOB_PASSWORD, marker)
        head = raw.split(b"\r\n\r\n", 1)[0]
        self.assertIn(b"\r\nMessage-ID: <", head)
        self.assertIn(b"\r\nDate: ", head)
        self.assertIn(b"ESMTPSA", head)
        self.assertIn(b"authenticated", head)
        self.assertIn(b"TLSv1.", head)
        self.assertNotIn(b"127.0.0.1", head, head)  # [submission] hide_client_address defaults to true
        self.assertNotIn(HELO.encode(), head, head)

    def test_06_remote_recipient_waits_sealed_in_smtp_out_while_its_host_is_down(self):
        marker = f"remote-{uuid.uuid4().hex}"
        with self.vmx.starttls() as s:
            s.login(ANN, PASSWORD)
            code, reply = s.docmd("MAIL FROM:<%s>" % ANN)
            self.assertEqual(code, 250)
            self.assertEqual(s.docmd(f"RCPT TO:<{REMOTE}>")[0], 250)
            self.assertEqual(s.docmd(f"RCPT TO:<{BOB}>")[0], 250)  # one local, one remote: both queues
            code, reply = s.data(message(ANN, REMOTE, marker))
            self.assertEqual(code, 250, reply)
        self.vmx.wait_for(BOB, BOB_PASSWORD, marker)
        deadline = time.monotonic() + 10
        while True:
            stats = json.loads(self.vmx.ok("--json", "stats"))
            if sum(s.get("outbound_queue", 0) for s in stats) >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertGreaterEqual(sum(s.get("outbound_queue", 0) for s in stats), 1, stats)
        queued = json.loads(self.vmx.ok("--json", "queue", "list"))
        mine = [q for q in queued if q.get("queue") == "smtp-out" and
                any(r["address"] == REMOTE for r in q.get("recipients", []))]
        self.assertTrue(mine, queued)
        self.assertTrue(mine[0]["id"].startswith("O"), mine[0])
        self.assertEqual(mine[0]["sender"], ANN)
        self.assertEqual([r["address"] for r in mine[0]["recipients"]], [REMOTE])  # the local part went to smtp-in
        shown = self.vmx.ok("queue", "show", mine[0]["id"])
        self.assertRegex(shown, f"recipient: <{REMOTE}> (pending|deferred)")
        self.assertNotIn(marker, shown + self.vmx.ok("queue", "list"))  # never the content
        self.assertNotEqual(self.vmx.cli("queue", "show", "O99FFFFFFFF").returncode, 0)
        smtp_out = [os.path.join(root, f) for root, _, files in os.walk(self.vmx.daemon.folder)
                    for f in files if "smtp-out" in root]
        self.assertTrue(smtp_out, "no smtp-out environment")
        self.assertEqual(files_holding(self.vmx.daemon.folder, [marker.encode(), PASSWORD.encode()]), [])

    # ---- hostile ------------------------------------------------------------------------------

    def test_07_auth_before_tls_and_on_the_mx(self):
        with smtplib.SMTP("127.0.0.1", self.vmx.ports["submission"], timeout=10) as s:
            s.ehlo("c.example")
            self.assertEqual(s.docmd("AUTH", "PLAIN " + b64(f"\0{ANN}\0{PASSWORD}"))[0], 530)
            self.assertEqual(s.docmd("MAIL FROM:<%s>" % ANN)[0], 530)
        with smtplib.SMTP("127.0.0.1", self.vmx.ports["smtp"], timeout=10) as s:
            s.ehlo("c.example")
            self.assertNotIn("auth", s.esmtp_features)
            self.assertEqual(s.docmd("AUTH", "PLAIN " + b64(f"\0{ANN}\0{PASSWORD}"))[0], 503)
        with self.vmx.smtps() as s:
            s.ehlo("c.example")
            for command in ("MAIL FROM:<%s>" % ANN, f"RCPT TO:<{BOB}>", "DATA"):
                code, reply = s.docmd(command)
                self.assertEqual(code, 530, reply)

    def test_08_malformed_sasl_second_and_pipelined_auth(self):
        sock, f = self.raw_session(self.vmx.ports["submission_tls"], implicit=True)
        self.assertTrue(self.send(sock, f, "AUTH PLAIN %%%").startswith("501 5.5.2"))
        self.assertTrue(self.send(sock, f, "AUTH PLAIN " + b64(f"{BOB}\0{ANN}\0{PASSWORD}")).startswith("535"))
        self.assertTrue(self.send(sock, f, "AUTH PLAIN " + b64(f"\0{ANN}\0pass\0word")).startswith("501"))
        self.assertTrue(self.send(sock, f, "AUTH PLAIN").startswith("334"))
        self.assertTrue(self.send(sock, f, "*").startswith("501 5.7.0"))
        self.assertTrue(self.send(sock, f, "AUTH LOGIN " + "A" * 4000).startswith("500"))
        # Pipelined: AUTH, then MAIL and RCPT in the same packet; they are read under the login.
        sock.sendall(("AUTH PLAIN " + b64(f"\0{ANN}\0{PASSWORD}") + f"\r\nMAIL FROM:<{ANN}>\r\nRCPT TO:<{BOB}>\r\n").encode())
        self.assertTrue(self.read_reply(f).startswith("235"))
        self.assertTrue(self.read_reply(f).startswith("250"))
        self.assertTrue(self.read_reply(f).startswith("250"))
        self.assertTrue(self.send(sock, f, "AUTH PLAIN " + b64(f"\0{ANN}\0{PASSWORD}")).startswith("503"))
        sock.close()

    def test_09_sender_spoofing_and_auth_param(self):
        sock, f = self.raw_session(self.vmx.ports["submission"], implicit=False)
        self.assertTrue(self.send(sock, f, "AUTH PLAIN " + b64(f"\0{ANN}\0{PASSWORD}")).startswith("235"))
        self.assertTrue(self.send(sock, f, f"MAIL FROM:<{BOB}>").startswith("553 5.7.1"))
        self.assertTrue(self.send(sock, f, "MAIL FROM:<>").startswith("553 5.7.1"))
        self.assertTrue(self.send(sock, f, f"MAIL FROM:<{ANN}> AUTH={BOB}=x").startswith("501"))
        self.assertTrue(self.send(sock, f, f"MAIL FROM:<{ANN}> AUTH=<>").startswith("250"))
        self.assertTrue(self.send(sock, f, f"RCPT TO:<{BOB}>").startswith("250"))
        self.assertTrue(self.send(sock, f, "DATA").startswith("354"))
        sock.sendall(f"From: {BOB}\r\nSubject: spoof\r\n\r\nI am bob\r\n.\r\n".encode())
        self.assertTrue(self.read_reply(f).startswith("553 5.7.1"))
        # Smuggling on 587: a bare-LF "." never ends the message, the whole message is refused.
        self.assertTrue(self.send(sock, f, f"MAIL FROM:<{ANN}>").startswith("250"))
        self.assertTrue(self.send(sock, f, f"RCPT TO:<{BOB}>").startswith("250"))
        self.assertTrue(self.send(sock, f, "DATA").startswith("354"))
        sock.sendall(f"From: {ANN}\r\n\r\nx\n.\nMAIL FROM:<{ANN}>\r\nRCPT TO:<{BOB}>\r\nDATA\r\nsmuggled\r\n.\r\n".encode())
        self.assertTrue(self.read_reply(f).startswith("550 5.5.2"))
        self.assertTrue(self.send(sock, f, "QUIT").startswith("221"))
        sock.close()

    def test_10_allowed_senders_from_the_cli(self):
        alias = f"sales@{DOMAIN}"
        self.vmx.ok("user", "sender", "add", ANN, alias)
        self.assertIn(alias, self.vmx.ok("user", "sender", "list", ANN))
        marker = f"alias-{uuid.uuid4().hex[:8]}"
        with self.vmx.smtps() as s:
            s.login(ANN, PASSWORD)
            self.assertEqual(s.sendmail(alias, [BOB], message(alias, BOB, marker)), {})
        self.vmx.wait_for(BOB, BOB_PASSWORD, marker)
        self.vmx.ok("user", "sender", "remove", ANN, alias)
        self.assertNotIn(alias, self.vmx.ok("user", "sender", "list", ANN))
        with self.vmx.smtps() as s:
            s.login(ANN, PASSWORD)
            with self.assertRaises(smtplib.SMTPSenderRefused):
                s.sendmail(alias, [BOB], message(alias, BOB, marker))

    def test_11_logins_are_in_the_history_with_protocol_and_method(self):
        with self.vmx.smtps() as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login(ANN, WRONG)
        deadline = time.monotonic() + 10
        while True:
            history = json.loads(self.vmx.ok("--json", "user", "logins", ANN))
            failed = json.loads(self.vmx.ok("--json", "user", "logins", ANN, "--failed"))
            if any("submission" in json.dumps(e) for e in failed) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        text = json.dumps(history)
        self.assertIn("submission", text)
        self.assertIn("password", text)
        self.assertTrue(any("submission" in json.dumps(e) for e in failed), failed)
        self.assertNotIn(WRONG, json.dumps(failed))
        self.assertNotIn(WRONG, self.vmx.daemon.log_text())
        self.assertNotIn(PASSWORD, self.vmx.daemon.log_text())

    def test_12_remote_logout_ends_a_live_submission_session(self):
        s = self.vmx.smtps()
        s.login(ANN, PASSWORD)
        deadline = time.monotonic() + 10
        while True:
            sessions = json.loads(self.vmx.ok("--json", "user", "sessions", ANN))
            if any(x.get("protocol") == "submission" for x in sessions) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(any(x.get("protocol") == "submission" for x in sessions), sessions)
        self.vmx.ok("user", "logout", ANN)
        ended = False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not ended:
            try:
                code, reply = s.noop()
                ended = code == 421
            except (smtplib.SMTPServerDisconnected, OSError):
                ended = True
            time.sleep(0.1)
        self.assertTrue(ended)
        s.close()


    def test_13_policy_account_state_and_session_length(self):
        self.vmx.ok("org", "add", "Strict Org", "--plan", "starter")
        self.vmx.ok("domain", "add", "strict.test", "--org", "Strict Org")
        carol = "carol@strict.test"
        self.vmx.ok("user", "add", carol, "--password-stdin", stdin=PASSWORD + "\n")
        app = self.vmx.ok("user", "app-password", "add", carol, "--label", "laptop").split(": ", 1)[1].splitlines()[0]

        def attempt(password):
            with self.vmx.smtps() as s:
                s.ehlo()
                return s.docmd("AUTH", "PLAIN " + b64(f"\0{carol}\0{password}"))

        self.assertEqual(attempt(PASSWORD)[0], 235)
        self.assertEqual(attempt(app)[0], 235)
        self.vmx.ok("org", "policy", "Strict Org", "--require-mfa")
        code, reply = attempt(PASSWORD)  # a mail client must use an app password now
        self.assertEqual(code, 535)
        self.assertIn(b"policy", reply)
        self.assertEqual(attempt(app)[0], 235)
        self.vmx.ok("org", "policy", "Strict Org", "--allow-net", "10.0.0.0/8")
        self.assertIn(b"policy", attempt(app)[1])
        self.vmx.ok("org", "policy", "Strict Org", "--allow-any-net", "--no-require-mfa", "--session-max", "1s")
        s = self.vmx.smtps()
        s.login(carol, PASSWORD)
        time.sleep(1.5)
        with self.assertRaises((smtplib.SMTPServerDisconnected, OSError)):
            code, reply = s.noop()
            self.assertEqual(code, 421, reply)  # smtplib closes after a 421; the next call raises
            s.noop()
        s.close()
        self.vmx.ok("org", "policy", "Strict Org", "--session-max", "0")
        self.vmx.ok("user", "disable", carol)
        self.assertEqual(attempt(PASSWORD)[0], 525)  # said only once the password was right
        self.assertEqual(attempt(WRONG)[0], 535)
        failed = json.dumps(json.loads(self.vmx.ok("--json", "user", "logins", carol, "--failed")))
        for reason in ("mfa_required", "network_not_allowed", "account_disabled", "bad_credentials"):
            self.assertIn(reason, failed)
        history = json.loads(self.vmx.ok("--json", "user", "logins", carol))
        successes = [json.dumps(e) for e in history if "success" in json.dumps(e)]
        self.assertTrue(any("app_password" in e and "submission" in e for e in successes), history)
        self.assertNotIn(app, json.dumps(history))


class Abuse(unittest.TestCase):
    """A daemon of its own: the throttle and the hourly limit must not spill into other tests."""

    @classmethod
    def setUpClass(cls):
        # Small throttle steps so the refusal threshold is reached in seconds.
        cls.vmx = Instance("\n[submission]\nmessages_per_hour = 3\nhide_client_address = false\n",
                           auth="address_free_failures = 2\naddress_refuse_failures = 12\n"
                                "delay_base_ms = 10\ndelay_max_ms = 50\n")

    @classmethod
    def tearDownClass(cls):
        cls.vmx.close()

    def test_1_hourly_limit(self):
        codes = []
        with self.vmx.smtps() as s:
            s.login(ANN, PASSWORD)
            for i in range(5):
                s.docmd("MAIL FROM:<%s>" % ANN)
                s.docmd(f"RCPT TO:<{BOB}>")
                codes.append(s.data(message(ANN, BOB, f"rate-{i}"))[0])
        self.assertEqual(codes, [250, 250, 250, 450, 450])
        # This instance shows the client in Received: ([submission] hide_client_address = false).
        head = self.vmx.wait_for(BOB, BOB_PASSWORD, "rate-0").split(b"\r\n\r\n", 1)[0]
        self.assertIn(b"(unknown [127.0.0.1])", head)
        self.assertIn(HELO.encode(), head)
        self.assertIn(b"(authenticated sender)", head)

    def test_2_brute_force_looks_the_same_for_known_and_unknown_users(self):
        def attempts(user, n):
            replies = []
            for _ in range(n):
                with self.vmx.smtps() as s:
                    s.ehlo("c.example")
                    code, reply = s.docmd("AUTH", "PLAIN " + b64(f"\0{user}\0{WRONG}"))
                    replies.append(code)
            return replies
        known = attempts(ANN, 4)
        unknown = attempts(f"nobody@{DOMAIN}", 4)
        self.assertEqual(known, unknown)
        self.assertTrue(all(c == 535 for c in known), known)
        # Past the address's refusal threshold every attempt is refused without a check, the right
        # password included, for known and unknown users alike.
        for _ in range(40):
            with self.vmx.smtps() as s:
                s.ehlo("c.example")
                last = s.docmd("AUTH", "PLAIN " + b64(f"\0{ANN}\0{WRONG}"))[0]
            if last == 454:
                break
        self.assertEqual(last, 454)
        with self.vmx.smtps() as s:
            s.ehlo("c.example")
            self.assertEqual(s.docmd("AUTH", "PLAIN " + b64(f"\0{ANN}\0{PASSWORD}"))[0], 454)
        with self.vmx.smtps() as s:
            s.ehlo("c.example")
            self.assertEqual(s.docmd("AUTH", "PLAIN " + b64(f"\0nobody@{DOMAIN}\0{PASSWORD}"))[0], 454)


if __name__ == "__main__":
    unittest.main()
