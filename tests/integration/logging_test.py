"""The sealed event log and its shipping, with a real collector: Debian's rsyslog with its GnuTLS
driver as an RFC 5425 syslog-over-TLS server on loopback, requiring our client certificate.

- every event the daemon keeps reaches the collector, once, in order, as RFC 5424 with our SD;
- the collector stopped (SIGTERM by pid) and started again mid-traffic: every event exactly once
  and in order at the end, nothing lost while it was away;
- no event text in any file under the data or log folders (the spool is sealed);
- `vaultmx logs show` filters by event and time, works offline (and records that it did), and
  refuses bad input; a collector whose certificate our CA did not sign gets nothing.
"""
import base64
import json
import os
import poplib
import re
import shutil
import signal
import smtplib
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from daemon_harness import VAULTMX, Daemon, files_holding, free_port

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
SEQ = re.compile(r'\[vaultmx@32473 seq="(\d+)"')
PASSWORD = "Canary-pass-5d0f-correct"
BODY_CANARY = "BODY-canary-91ab"



def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(folder):
    """A CA, the collector's certificate (localhost, 127.0.0.1) and a client certificate for vaultmxd."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=vaultmx test log CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=folder)
    for name, san in (("collector", "DNS:localhost,IP:127.0.0.1"), ("client", "DNS:mx.test")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=folder)
        with open(os.path.join(folder, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=folder)
    for f in os.listdir(folder):  # rsyslog reads its key as whatever user it runs as: root here
        os.chmod(os.path.join(folder, f), 0o644)


class Collector:
    """rsyslogd as its own instance: imtcp with gtls, x509/certvalid, every message's raw text to a file."""

    def __init__(self, folder, pki, ca=None):
        self.folder = folder
        self.port = free_port()
        self.out = os.path.join(folder, "received.log")
        self.pidfile = os.path.join(folder, "rsyslogd.pid")
        self.conf = os.path.join(folder, "rsyslog.conf")
        work = os.path.join(folder, "work")
        os.makedirs(work, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(f"""
global(workDirectory="{work}"
       defaultNetstreamDriver="gtls"
       defaultNetstreamDriverCAFile="{ca or os.path.join(pki, 'ca.pem')}"
       defaultNetstreamDriverCertFile="{os.path.join(pki, 'collector.pem')}"
       defaultNetstreamDriverKeyFile="{os.path.join(pki, 'collector.key')}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" port="{self.port}" address="127.0.0.1")
template(name="raw" type="string" string="%rawmsg%\\n")
action(type="omfile" file="{self.out}" template="raw" flushOnTXEnd="on" asyncWriting="off")
""")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rsyslogd ended: " + self.proc.stdout.read())
            if subprocess.run(["ss", "-ltn", f"sport = :{self.port}"], capture_output=True, text=True).stdout.count("LISTEN"):
                return self
            time.sleep(0.05)
        raise RuntimeError("rsyslogd did not listen")

    def stop(self):
        with open(self.pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGTERM)
        self.proc.wait(timeout=15)
        self.proc.stdout.close()

    def lines(self):
        try:
            with open(self.out, errors="replace") as f:
                return [l for l in f.read().splitlines() if l.strip()]
        except FileNotFoundError:
            return []


def spool_lines(config, *args):
    r = subprocess.run([VAULTMX, "-c", config, "logs", "show", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def send_mail(port, count, tag):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        for i in range(count):
            s.sendmail("sender@remote.test", ["ann@example.test"],
                       f"Subject: {tag} {i}\r\n\r\nbody {tag} {i}\r\n")


def wait_until(predicate, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Shipping(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vmx-logship-")
        self.pki = os.path.join(self.tmp, "pki")
        os.makedirs(self.pki)
        make_pki(self.pki)
        os.makedirs(os.path.join(self.tmp, "collector"))
        self.collector = Collector(os.path.join(self.tmp, "collector"), self.pki).start()
        extra = (f'ship_to = "localhost:{self.collector.port}"\n'
                 f'ship_ca = "{self.pki}/ca.pem"\n'
                 f'ship_cert = "{self.pki}/client.pem"\n'
                 f'ship_key = "{self.pki}/client.key"\n'
                 # A smarthost nobody answers at: every outbound message is deferred, an alarm at once.
                 f'\n[alarms]\ndelivery_failures_max = 0\nmail_to = "ops@example.test"\n'
                 # An admin's own rule, over a family of GET /metrics.
                 'rules = ["outbound_waiting: vaultmx_queue_messages{queue=\\"outbound\\"} > 0"]\n'
                 f'\n[delivery]\nrelayhost = "127.0.0.1:{free_port()}"\n')
        self.daemon = Daemon(extra=extra, init_args=("--self-signed",))  # POP3S and submission for the canaries
        self.daemon.start()
        for args in (("org", "add", "Example", "--plan", "starter"), ("domain", "add", "example.test", "--org", "Example"),
                     ("user", "add", "ann@example.test", "--password-stdin"),
                     ("user", "add", "ops@example.test", "--password-stdin")):
            r = subprocess.run([VAULTMX, "-c", self.daemon.config, *args], capture_output=True, text=True,
                               input=PASSWORD + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        self.daemon.__exit__(None, None, None)
        if self.collector.proc and self.collector.proc.poll() is None:
            self.collector.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_collector_has_the_spool(self, timeout=60):
        """Every event in the spool at the collector, exactly once, in order, byte for byte."""
        def caught_up():
            return len(self.collector.lines()) >= len(spool_lines(self.daemon.config))
        wait_until(caught_up, timeout, 0.25)
        spool = spool_lines(self.daemon.config)
        received = self.collector.lines()
        sequences = [int(SEQ.search(l).group(1)) for l in received if SEQ.search(l)]
        self.assertEqual(len(sequences), len(set(sequences)), "an event reached the collector twice")
        self.assertEqual(sequences, sorted(sequences), "events out of order")
        self.assertEqual(received[:len(spool)], spool[:len(received)])
        self.assertGreaterEqual(len(received), len(spool) - 5)  # the last few may be in flight
        return spool, received

    def test_every_event_reaches_the_collector_once_in_order(self):
        send_mail(self.daemon.ports["smtp"], 5, "first")
        spool, received = self.assert_collector_has_the_spool()
        self.assertTrue(any(" vaultmxd.start " in l for l in received))
        self.assertTrue(any(" log.ship_connected " in l for l in received))
        self.assertTrue(all(l.startswith("<") and ">1 " in l[:6] for l in received), received[:3])
        # Sequence numbers run from 1 without a gap.
        sequences = [int(SEQ.search(l).group(1)) for l in received]
        self.assertEqual(sequences, list(range(1, len(sequences) + 1)))

    def test_a_collector_restart_mid_traffic_loses_and_repeats_nothing(self):
        """Events keep coming (a session every few milliseconds, each an event) while the collector
        is stopped by pid and started again."""
        done = threading.Event()

        def traffic():
            while not done.is_set():
                send_mail(self.daemon.ports["smtp"], 1, "traffic")
                time.sleep(0.02)

        sender = threading.Thread(target=traffic)
        sender.start()
        try:
            time.sleep(1.5)
            self.collector.stop()
            time.sleep(1.5)
            self.collector.start()
            time.sleep(1.5)
        finally:
            done.set()
            sender.join()
        spool, received = self.assert_collector_has_the_spool(timeout=60)
        sequences = [int(SEQ.search(l).group(1)) for l in received]
        self.assertEqual(sequences, list(range(1, len(sequences) + 1)))
        self.assertGreater(sum(" smtp.session " in l for l in received), 20)
        self.assertTrue(any(" log.ship_failed " in l for l in received), "the outage is itself an event")

    def test_no_event_text_on_disk_and_logs_show_filters(self):
        send_mail(self.daemon.ports["smtp"], 2, "disk")
        lines = spool_lines(self.daemon.config)
        self.assertTrue(any(" vaultmxd.start " in l for l in lines))
        needles = [b"vaultmxd.start", b"privileges_dropped", b"log.ship_connected", b"vaultmx@32473"]
        self.assertEqual(files_holding(os.path.join(self.daemon.folder, "log"), needles), [])
        self.assertEqual(files_holding(os.path.join(self.daemon.folder, "data"), needles), [])
        only = spool_lines(self.daemon.config, "--event", "shard")
        self.assertTrue(only and all(" shard." in l for l in only), only)
        self.assertEqual(spool_lines(self.daemon.config, "--since", "2099-01-01"), [])
        self.assertEqual(spool_lines(self.daemon.config, "--until", "2000-01-01"), [])
        self.assertEqual(len(spool_lines(self.daemon.config, "--limit", "2")), 2)
        bad = subprocess.run([VAULTMX, "-c", self.daemon.config, "logs", "show", "--since", "yesterday"],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1, bad.stderr)
        # The reading is audited like every admin command.
        audit = subprocess.run([VAULTMX, "-c", self.daemon.config, "audit", "show"], capture_output=True, text=True)
        self.assertIn("logs show", audit.stdout)

    def test_no_credential_or_content_reaches_the_log_or_the_collector(self):
        """Canaries through every protocol and the CLI: passwords right and wrong (POP3 USER/PASS,
        submission AUTH PLAIN and LOGIN, the CLI's stdin), an app password as shown once, message
        text; none of them, nor their base64, in the spool or at the collector."""
        wrong = "Wr0ng-canary-7c1e"
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        for password in (wrong, PASSWORD):
            try:
                p = poplib.POP3_SSL("127.0.0.1", self.daemon.ports["pop3s"], context=tls, timeout=10)
                p.user("ann@example.test")
                p.pass_(password)
                p.quit()
            except poplib.error_proto:
                pass
        for mechanism in ("PLAIN", "LOGIN"):
            for password in (wrong, PASSWORD):
                with smtplib.SMTP_SSL("127.0.0.1", self.daemon.ports["submission_tls"], context=tls, timeout=10) as s:
                    try:
                        s.login("ann@example.test", password, initial_response_ok=mechanism == "PLAIN")
                    except smtplib.SMTPAuthenticationError:
                        continue
                    s.sendmail("ann@example.test", ["ann@example.test"],
                               f"From: ann@example.test\r\nSubject: {BODY_CANARY}\r\n\r\n{BODY_CANARY} body\r\n")
        send_mail(self.daemon.ports["smtp"], 1, BODY_CANARY)
        app = subprocess.run([VAULTMX, "-c", self.daemon.config, "user", "app-password", "add", "ann@example.test",
                              "--label", "phone"], capture_output=True, text=True)
        self.assertEqual(app.returncode, 0, app.stderr)
        app_password = app.stdout.split()[-1]
        spool, received = self.assert_collector_has_the_spool()
        text = "\n".join(spool + received)
        self.assertIn("pop3", text)  # the logins themselves are events
        for secret in (PASSWORD, wrong, BODY_CANARY, app_password):
            for form in (secret, base64.b64encode(secret.encode()).decode(),
                         base64.b64encode(f"\0ann@example.test\0{secret}".encode()).decode()):
                self.assertNotIn(form, text)

    def test_a_failing_delivery_raises_its_alarm_and_the_collector_hears_of_it(self):
        alarms = json.loads(subprocess.run([VAULTMX, "-c", self.daemon.config, "--json", "alarms"],
                                           capture_output=True, text=True, check=True).stdout)
        by_name = {a["name"]: a for a in alarms}
        self.assertEqual(by_name["delivery_failures"]["state"], "ok")
        self.assertEqual(by_name["store_commit_failures"]["state"], "ok")
        # Measured by the control thread, also where the service user cannot reach the folders by path.
        self.assertEqual(by_name["disk_low"]["state"], "ok")
        self.assertEqual(by_name["certificate_expiry"]["state"], "ok")
        self.assertEqual(by_name["login_failure_spike"]["state"], "ok")
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP_SSL("127.0.0.1", self.daemon.ports["submission_tls"], context=tls, timeout=10) as s:
            s.login("ann@example.test", PASSWORD)
            s.sendmail("ann@example.test", ["someone@remote.test"], "From: ann@example.test\r\nSubject: x\r\n\r\nx\r\n")
        self.assertTrue(wait_until(lambda: any(" alarm.firing " in l and "alarm=delivery_failures" in l
                                               for l in self.collector.lines()), 30),
                        "\n".join(spool_lines(self.daemon.config)[-20:]))
        alarms = json.loads(subprocess.run([VAULTMX, "-c", self.daemon.config, "--json", "alarms"],
                                           capture_output=True, text=True, check=True).stdout)
        firing = {a["name"] for a in alarms if a["state"] == "firing"}
        self.assertIn("delivery_failures", firing)
        self.assertIn("outbound_waiting", firing)  # the rule from the config
        text = subprocess.run([VAULTMX, "-c", self.daemon.config, "alarms"], capture_output=True, text=True).stdout
        self.assertRegex(text, r"delivery_failures\s+firing")
        self.assertIn("vaultmx_queue_messages{queue='outbound'} > 0", text)
        # The admin is mailed: a notice from the null sender in ops's mailbox, naming the alarm.
        def notices():
            p = poplib.POP3_SSL("127.0.0.1", self.daemon.ports["pop3s"], context=tls, timeout=10)
            try:
                p.user("ops@example.test")
                p.pass_(PASSWORD)
                count = len(p.list()[1])
                return [b"\r\n".join(p.retr(i)[1]).decode() for i in range(1, count + 1)]
            finally:
                p.quit()
        self.assertTrue(wait_until(lambda: len(notices()) > 0, 30), "\n".join(spool_lines(self.daemon.config)[-20:]))
        notice = notices()[0]
        self.assertRegex(notice, r"Subject: \[vaultmx [^\]]+\] (alarm (delivery_failures|outbound_waiting) firing|\d+ alarm changes)")
        self.assertIn("Auto-Submitted: auto-generated", notice)
        self.assertIn("From: vaultmx <MAILER-DAEMON@", notice)
        self.assertIn("FIRING", notice)
        self.assertNotIn("someone@remote.test", notice)  # names and numbers only, nothing of the mail
        self.assertTrue(wait_until(lambda: any(" alarm.mailed " in l for l in spool_lines(self.daemon.config)), 10))

    def test_logs_show_without_a_daemon_reads_the_spool_and_says_so(self):
        self.daemon.stop()
        lines = spool_lines(self.daemon.config)
        self.assertTrue(any(" engine.stopped " in l for l in lines))
        self.assertTrue(any(" logs.shown_offline " in l for l in spool_lines(self.daemon.config)))


class Refused(unittest.TestCase):
    def test_a_collector_our_ca_did_not_sign_gets_nothing(self):
        with tempfile.TemporaryDirectory(prefix="vmx-logship-") as tmp:
            ours, theirs = os.path.join(tmp, "ours"), os.path.join(tmp, "theirs")
            os.makedirs(ours)
            os.makedirs(theirs)
            make_pki(ours)
            make_pki(theirs)
            folder = os.path.join(tmp, "collector")
            os.makedirs(folder)
            collector = Collector(folder, theirs).start()
            try:
                extra = f'ship_to = "localhost:{collector.port}"\nship_ca = "{ours}/ca.pem"\n'
                with Daemon(extra=extra) as d:
                    self.assertTrue(wait_until(lambda: any(" log.ship_failed " in l for l in spool_lines(d.config)), 15))
                    time.sleep(1)
                self.assertEqual(collector.lines(), [])
            finally:
                collector.stop()


if __name__ == "__main__":
    unittest.main()
