"""Mail authentication with real parts on loopback. unbound serves the test zones (SPF, DKIM and
DMARC records; a DKIM record printed by `vaultmx dkim` is added while it runs, exactly as printed).
Signing: mail submitted on 587 reaches a plain SMTP sink and verifies with dkimpy (Debian's
python3-dkim) against the record unbound serves, for rsa-sha256 and ed25519-sha256, 8-bit and long-line
bodies, and fails after one changed byte; `dkim show` and `dkim rotate`; no signature for a From: the
login may not use. Checks on the MX: dkimpy-signed mail passes, forged mail fails, p=reject is refused
with 550 5.7.1 (or marked, with dmarc_reject = "mark"), p=quarantine is marked, spoofed
Authentication-Results fields are removed, our own domains cannot be forged from outside; a vaultmx
signature passes another vaultmx's checks. Bounded cost: twenty chained SPF includes and a resolver
that never answers each cost a few seconds at most."""
import base64
import email.utils
import os
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

DEBIAN_PYTHON = "/usr/bin/python3"
try:
    import dkim  # python3-dkim: a Debian package, so only the system python has it
except ImportError:
    if __name__ == "__main__" and os.path.exists(DEBIAN_PYTHON) and \
            os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
        os.execve(DEBIAN_PYTHON, [DEBIAN_PYTHON, *sys.argv], env)
    raise ImportError("mailauth_test needs python3-dkim (dkimpy), python3-dnspython, python3-nacl and "
                      "python3-cryptography for /usr/bin/python3 (scripts/install-deps)")
import dns.exception
import dns.resolver
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from daemon_harness import VAULTMX, Daemon, free_port, init_instance, write_config

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""
PASSWORD = "mailauth secret 4Rt!"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
UNBOUND_CONTROL = shutil.which("unbound-control") or "/usr/sbin/unbound-control"
AUTHSERV_ID = "mx.vaultmx.test"      # daemon A's (signs, and checks on its MX)
MARK_AUTHSERV_ID = "b.vaultmx.test"  # daemon B's (dmarc_reject = "mark")
SLOW_AUTHSERV_ID = "c.vaultmx.test"  # daemon C's (its resolver never answers)
HELO = "client.outside.test"         # no SPF record: the HELO check is "none" and costs one look-up
ELAPSED_MAX_S = 15.0                 # "a few seconds", generous for a loaded 2-core CI machine


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_until(predicate, timeout=20.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def txt(name, text):
    """A TXT record for unbound's local-data, in <=255-byte strings (RFC 1035 3.3)."""
    strings = " ".join(f'"{text[i:i + 255]}"' for i in range(0, len(text), 255))
    return f"{name}. TXT {strings}"


class Unbound:
    """unbound on 127.0.0.1 answering only from local data (nothing is ever forwarded, so a name
    without data gets NXDOMAIN at once); records can be added while it runs. Stopped by pid."""

    def __init__(self, records):
        self.dir = tempfile.mkdtemp(prefix="vmx-unbound-")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "unbound.conf")
        # Single quotes around each record: TXT data carries double quotes.
        data = "".join(f"    local-data: '{r}'\n" for r in records)
        with open(self.conf, "w") as f:
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
    local-zone: "." static
    local-zone: "test." static
{data}remote-control:
    control-enable: yes
    control-interface: "{self.dir}/control.sock"
    control-use-cert: no
""")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    if os.path.exists(os.path.join(self.dir, "control.sock")):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("unbound did not start")

    def add(self, record):
        r = subprocess.run([UNBOUND_CONTROL, "-c", self.conf, "local_data", record], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 0 and "ok" in r.stdout, f"unbound-control local_data {record}: {r.stdout}{r.stderr}"

    def txt_of(self, name, timeout=5):
        """dkimpy's dnsfunc: the TXT record through this server, as the world would see it."""
        name = name.decode() if isinstance(name, bytes) else name
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = timeout
        try:
            answer = resolver.resolve(name, "TXT")
        except dns.exception.DNSException:
            return None
        return b"".join(answer[0].strings)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Sink:
    """A plain SMTP receiver on 127.0.0.1 (8BITMIME and SMTPUTF8, no TLS) that keeps each message's
    bytes exactly as the sending vaultmx wrote them: what dkimpy verifies."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            f = conn.makefile("rb")
            conn.sendall(b"220 sink ESMTP\r\n")
            while line := f.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    lines = []
                    while (data := f.readline()) not in (b".\r\n", b""):
                        lines.append(data[1:] if data.startswith(b".") else data)  # RFC 5321 4.5.2
                    with self.lock:
                        self.messages.append(b"".join(lines))
                    conn.sendall(b"250 2.0.0 kept\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def wait_for(self, marker, timeout=20):
        def found():
            with self.lock:
                return [m for m in self.messages if marker.encode() in m]
        hits = wait_until(found, timeout)
        return hits[0] if hits else None

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


class Vmx:
    """A vaultmxd of its own in a scratch folder, with the CLI and the clients the cases use."""

    def __init__(self, extra, smtp_port=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="vmx-ma-")
        self.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        if smtp_port:
            self.ports["smtp"] = smtp_port
        self.config = write_config(self.tmp.name, self.ports, extra=CHEAP_ARGON2 + extra)
        init_instance(self.config, "--self-signed")
        self.daemon = Daemon(existing=(self.tmp.name, self.ports, self.config)).start()

    def close(self):
        if self.daemon.proc and self.daemon.proc.poll() is None:
            self.daemon.stop()
        self.daemon.__exit__(None, None, None)  # kills it if SIGTERM did not end it
        self.tmp.cleanup()

    def cli(self, *args, stdin=None):
        return subprocess.run([VAULTMX, "-c", self.config, *args], input=stdin, capture_output=True, text=True,
                              timeout=60)

    def ok(self, *args, stdin=None):
        r = self.cli(*args, stdin=stdin)
        assert r.returncode == 0, f"vaultmx {' '.join(args)}: {r.stdout}{r.stderr}"
        return r.stdout

    def tenant(self, domain, *users):
        self.ok("org", "add", f"Org {domain}", "--plan", "pro")
        self.ok("domain", "add", domain, "--org", f"Org {domain}")
        for user in users:
            self.ok("user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")

    def submit(self, user, recipients, message, mail_options=()):
        """On 587 with STARTTLS and AUTH, as a mail client would."""
        with smtplib.SMTP("127.0.0.1", self.ports["submission"], timeout=30) as s:
            s.starttls(context=insecure())
            s.login(user, PASSWORD)
            s.sendmail(user, recipients, message, mail_options=list(mail_options))

    def mx(self, mail_from, rcpt, message, helo=HELO):
        """One message to port 25 from outside: (code, reply, seconds from the end of data to the reply)."""
        with smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=60, local_hostname=helo) as s:
            s.ehlo()
            code, reply = s.mail(mail_from)
            assert code == 250, reply
            code, reply = s.rcpt(rcpt)
            assert code == 250, reply
            start = time.monotonic()
            code, reply = s.data(message)
            return code, reply, time.monotonic() - start

    def mailbox(self, user):
        p = poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], context=insecure(), timeout=30)
        try:
            p.user(user)
            p.pass_(PASSWORD)
            count, _ = p.stat()
            return [b"\r\n".join(p.retr(i)[1]) + b"\r\n" for i in range(1, count + 1)]
        finally:
            p.quit()

    def stored(self, user, marker, timeout=15):
        found = wait_until(lambda: [m for m in self.mailbox(user) if marker.encode() in m], timeout)
        assert found, f"{marker} never reached {user}; log: {self.daemon.log_text()[-2000:]}"
        return found[0]

    def cpu_s(self):
        """The daemon's user+system CPU time so far."""
        with open(f"/proc/{self.daemon.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- messages, keys and what the headers say ----------------------------------------------------

def marker():
    return f"ma-{uuid.uuid4().hex[:12]}"


def message(from_addr, to, subject, body="A short body.\r\n", headers=""):
    domain = from_addr.rsplit("@", 1)[1].rstrip(">")
    return (f"From: {from_addr}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {email.utils.formatdate()}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@{domain}>\r\n{headers}\r\n{body}").encode()


def rsa_key():
    """(PEM private key, DKIM record) for a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, f"v=DKIM1; k=rsa; p={base64.b64encode(spki).decode()}"


def ed25519_key():
    """(dkimpy's base64 seed, DKIM record) for a fresh ed25519 key (RFC 8463)."""
    key = nacl.signing.SigningKey.generate()
    return base64.b64encode(bytes(key)), f"v=DKIM1; k=ed25519; p={base64.b64encode(bytes(key.verify_key)).decode()}"


def dkimpy_signed(raw, domain, selector, key, algorithm=b"rsa-sha256"):
    return dkim.sign(raw, selector.encode(), domain.encode(), key, canonicalize=(b"relaxed", b"relaxed"),
                     signature_algorithm=algorithm,
                     include_headers=[b"from", b"to", b"subject", b"date", b"message-id"]) + raw


def header_fields(raw):
    """[(name, unfolded value)] of the header section, in order."""
    fields = []
    for line in raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += " " + line.strip()
        else:
            name, _, value = line.partition(":")
            fields.append([name, value.strip()])
    return fields


def auth_results(raw):
    return [v for n, v in header_fields(raw) if n.lower() == "authentication-results"]


def methods(value):
    """{method: result} of one Authentication-Results value (the first result of each method)."""
    out = {}
    for part in value.split(";")[1:]:
        m = re.match(r"\s*([a-z0-9-]+)\s*=\s*([a-z]+)", part, re.I)
        if m:
            out.setdefault(m.group(1).lower(), m.group(2).lower())
    return out


def ours(raw, authserv_id):
    """Our Authentication-Results: the first in the message, and the only one with our authserv-id."""
    found = auth_results(raw)
    assert found, f"no Authentication-Results in {raw[:600]!r}"
    assert found[0].startswith(f"{authserv_id};"), found
    assert len([v for v in found if v.lower().startswith(authserv_id.lower())]) == 1, found
    return found[0]


def published(output):
    """[(name, line as printed after the name, record text)] from `vaultmx dkim keygen|show|rotate`."""
    out = []
    for line in output.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        name, kind, rest = line.split(None, 2)
        assert kind == "TXT", line
        strings = re.findall(r'"([^"]*)"', rest)
        assert strings and all(len(s) <= 255 for s in strings), line
        out.append((name, rest, "".join(strings)))
    return out


def signature_tags(raw):
    value = " ".join(v for n, v in header_fields(raw) if n.lower() == "dkim-signature")
    return {k.strip(): re.sub(r"\s+", "", v) for k, _, v in (t.partition("=") for t in value.split(";")) if k.strip()}


def changed_byte(raw, at):
    """`raw` with the letter at `at` replaced by another letter."""
    assert chr(raw[at]).isalpha(), raw[at:at + 20]
    return raw[:at] + (b"b" if raw[at:at + 1] == b"a" else b"a") + raw[at + 1:]


# ---- the world: unbound, the sink, daemon A (signs; checks on its MX) and daemon B (marks) --------

W = None


class World:
    def __init__(self):
        self.closers = []
        try:
            self.start()
        except BaseException:
            self.close()
            raise

    def start(self):
        self.rsa_pem, rsa_record = rsa_key()
        self.ed_seed, ed_record = ed25519_key()
        chain = [txt(f"{i}.chain.test", f"v=spf1 include:{i + 1}.chain.test -all") for i in range(1, 20)]
        self.dns = Unbound([
            # rsa.test is daemon A's own domain; its mail leaves from loopback (for daemon B's checks).
            txt("rsa.test", "v=spf1 ip4:127.0.0.0/8 -all"),
            txt("_dmarc.rsa.test", "v=DMARC1; p=reject"),
            txt("good.test", "v=spf1 ip4:127.0.0.1 -all"),
            txt("_dmarc.good.test", "v=DMARC1; p=reject"),
            txt("mx1._domainkey.good.test", rsa_record),
            txt("ed1._domainkey.good.test", ed_record),
            txt("forged.test", "v=spf1 ip4:192.0.2.1 -all"),
            txt("_dmarc.forged.test", "v=DMARC1; p=none"),
            txt("mx1._domainkey.forged.test", rsa_record),
            txt("reject.test", "v=spf1 ip4:192.0.2.1 -all"),
            txt("_dmarc.reject.test", "v=DMARC1; p=reject"),
            txt("quar.test", "v=spf1 ip4:192.0.2.1 -all"),
            txt("_dmarc.quar.test", "v=DMARC1; p=quarantine"),
            txt("chain.test", "v=spf1 include:1.chain.test -all"),
            *chain,
            txt("20.chain.test", "v=spf1 ip4:127.0.0.1 -all"),
        ])
        self.closers.append(self.dns.stop)
        self.sink = Sink()
        self.closers.append(self.sink.close)
        mark_smtp = free_port()
        self.a = Vmx(f"""
[delivery]
resolver = "127.0.0.1:{self.dns.port}"
retry_first_s = 2
[delivery.routes]
"remote.test" = "127.0.0.1:{self.sink.port}"
"mark.test" = "127.0.0.1:{mark_smtp}"
[mailauth]
authserv_id = "{AUTHSERV_ID}"
""")
        self.closers.append(self.a.close)
        self.a.tenant("rsa.test", "ann@rsa.test", "bob@rsa.test")
        self.a.tenant("ed.test", "eve@ed.test")
        self.a.tenant("rot.test", "rob@rot.test")
        self.b = Vmx(f"""
[delivery]
resolver = "127.0.0.1:{self.dns.port}"
[mailauth]
authserv_id = "{MARK_AUTHSERV_ID}"
dmarc_reject = "mark"
""", smtp_port=mark_smtp)
        self.closers.append(self.b.close)
        self.b.tenant("mark.test", "mia@mark.test")
        # The keys daemon A signs with, published as printed.
        self.keygen = {d: self.a.ok("dkim", "keygen", d, "--algorithm", alg, *extra)
                       for d, alg, extra in (("rsa.test", "rsa", ()), ("ed.test", "ed25519", ("--selector", "edsel")))}
        for output in self.keygen.values():
            self.publish(output)

    def publish(self, output):
        for name, rest, _ in published(output):
            self.dns.add(f"{name}. TXT {rest}")

    def close(self):
        for close in reversed(self.closers):
            try:
                close()
            except Exception as e:  # the others must still stop
                print(f"teardown: {e}", file=sys.stderr)
        self.closers = []


def setUpModule():
    global W
    W = World()
    unittest.addModuleCleanup(W.close)


class Signing(unittest.TestCase):
    """Daemon A signs what its users submit; dkimpy verifies what the next hop receives."""

    def submit_and_catch(self, user, from_header, subject, body="A short body.\r\n", headers="", mail_options=()):
        W.a.submit(user, ["carol@remote.test"], message(from_header, "carol@remote.test", subject, body, headers),
                   mail_options)
        raw = W.sink.wait_for(subject)
        self.assertIsNotNone(raw, W.a.daemon.log_text()[-2000:])
        self.assertEqual(auth_results(raw), [])  # the MX's checks never run on submission
        return raw

    def assert_verifies(self, raw, domain, algorithm):
        d = dkim.DKIM(raw, minkey=1024)
        self.assertTrue(d.verify(dnsfunc=W.dns.txt_of), raw[:1500])
        tags = signature_tags(raw)
        self.assertEqual(tags["a"], algorithm)
        self.assertEqual(tags["d"].lower(), domain)
        self.assertEqual(tags.get("c"), "relaxed/relaxed")
        self.assertNotIn("l", tags)  # the body hash covers the whole body
        # From once more than it appears: nobody can add a From: the signature does not cover.
        self.assertEqual(tags["h"].lower().split(":").count("from"), 2, tags["h"])
        return tags

    def assert_one_byte_breaks_it(self, raw, subject):
        header_at = raw.index(b"\r\nSubject: " + subject.encode()) + len(b"\r\nSubject: ")
        self.assertFalse(dkim.verify(changed_byte(raw, header_at), dnsfunc=W.dns.txt_of))
        body_at = raw.index(b"\r\n\r\n") + 4
        while not chr(raw[body_at]).isalpha():
            body_at += 1
        self.assertFalse(dkim.verify(changed_byte(raw, body_at), dnsfunc=W.dns.txt_of))

    def test_rsa_sha256_verifies_and_one_byte_breaks_it(self):
        subject = marker()
        raw = self.submit_and_catch("ann@rsa.test", "Ann <ann@rsa.test>", subject)
        self.assertTrue(raw.startswith(b"DKIM-Signature:"), raw[:300])
        (name, _, record), = published(W.keygen["rsa.test"])
        tags = self.assert_verifies(raw, "rsa.test", "rsa-sha256")
        self.assertEqual(name, f"{tags['s']}._domainkey.rsa.test")
        self.assertIn("k=rsa", record)
        spki = base64.b64decode(record.split("p=", 1)[1])
        self.assertEqual(serialization.load_der_public_key(spki).key_size, 2048)
        self.assert_one_byte_breaks_it(raw, subject)

    def test_ed25519_sha256_verifies_and_one_byte_breaks_it(self):
        subject = marker()
        raw = self.submit_and_catch("eve@ed.test", "eve@ed.test", subject)
        tags = self.assert_verifies(raw, "ed.test", "ed25519-sha256")
        self.assertEqual(tags["s"], "edsel")
        self.assert_one_byte_breaks_it(raw, subject)

    def test_8bit_body(self):
        subject = marker()
        body = "Grüße aus Köln, naïve café, 東京の天気は晴れ.\r\n" * 3
        raw = self.submit_and_catch("ann@rsa.test", "ann@rsa.test", subject, body,
                                    headers="MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                            "Content-Transfer-Encoding: 8bit\r\n",
                                    mail_options=["BODY=8BITMIME"])
        self.assertIn("東京".encode(), raw)  # arrived as 8-bit, not re-encoded
        self.assert_verifies(raw, "rsa.test", "rsa-sha256")
        self.assert_one_byte_breaks_it(raw, subject)

    def test_utf8_header_with_smtputf8(self):
        subject = marker()
        raw = self.submit_and_catch("eve@ed.test", "Ève Müller <eve@ed.test>", subject, "Ünïcödé body\r\n",
                                    headers="Comments: écrit à Zürich\r\n", mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        self.assertIn("Ève Müller".encode(), raw)
        self.assert_verifies(raw, "ed.test", "ed25519-sha256")

    def test_long_lines_trailing_space_and_blank_lines(self):
        # Relaxed canonicalisation's corners: runs of blanks, blanks at line ends, empty lines at the end.
        subject = marker()
        body = ("word " * 180)[:900] + "\r\n" + "y" * 900 + "\r\n" + "tabs\t and  spaces   \r\n" + "\r\n" * 3
        raw = self.submit_and_catch("ann@rsa.test", "Ann <Ann@RSA.test>", subject, body)
        self.assertIn(b"y" * 900, raw)
        self.assert_verifies(raw, "rsa.test", "rsa-sha256")
        self.assert_one_byte_breaks_it(raw, subject)

    def test_show_prints_the_record_again(self):
        self.assertEqual(published(W.a.ok("dkim", "show", "rsa.test")), published(W.keygen["rsa.test"]))
        self.assertNotEqual(W.a.cli("dkim", "show", "nokey.test").returncode, 0)

    def test_rotate_signs_with_the_new_selector_and_keeps_the_old_one_listed(self):
        old = published(W.a.ok("dkim", "keygen", "rot.test"))
        rotated = W.a.ok("dkim", "rotate", "rot.test", "--algorithm", "ed25519")
        new = published(rotated)
        self.assertEqual(len(old), 1)
        self.assertEqual(len(new), 2, rotated)
        self.assertNotEqual(new[0][0], old[0][0])        # a new selector, listed first...
        self.assertEqual(new[1], old[0])                 # ...and the old record still to be published
        self.assertIn("k=ed25519", new[0][2])
        self.assertIn("retired", rotated)
        self.assertEqual(published(W.a.ok("dkim", "show", "rot.test")), new)
        W.publish(rotated)
        raw = self.submit_and_catch("rob@rot.test", "rob@rot.test", marker())
        tags = self.assert_verifies(raw, "rot.test", "ed25519-sha256")
        self.assertEqual(f"{tags['s']}._domainkey.rot.test", new[0][0])

    def test_no_signature_for_a_from_the_login_may_not_use(self):
        # Another user's address: refused at end of data, so nothing leaves signed in their name.
        subject = marker()
        with self.assertRaises(smtplib.SMTPDataError) as refused:
            W.a.submit("ann@rsa.test", ["carol@remote.test"], message("bob@rsa.test", "carol@remote.test", subject))
        self.assertEqual(refused.exception.smtp_code, 553)
        # An address ann may use, in a domain without a key: delivered, unsigned.
        W.a.ok("user", "sender", "add", "ann@rsa.test", "ann@nokey.test")
        raw = self.submit_and_catch("ann@rsa.test", "ann@nokey.test", marker())
        self.assertNotIn(b"DKIM-Signature", raw)
        self.assertIsNone(W.sink.wait_for(subject, timeout=0.5))

    def test_signature_passes_another_vaultmx(self):
        # Daemon A signs, delivers to daemon B's MX over loopback; B's own checks pass it.
        subject = marker()
        W.a.submit("ann@rsa.test", ["mia@mark.test"], message("ann@rsa.test", "mia@mark.test", subject))
        raw = W.b.stored("mia@mark.test", subject, timeout=30)
        got = methods(ours(raw, MARK_AUTHSERV_ID))
        self.assertEqual((got.get("spf"), got.get("dkim"), got.get("dmarc")), ("pass", "pass", "pass"), auth_results(raw))


class MxChecks(unittest.TestCase):
    """Daemon A's MX (refuses DMARC p=reject failures), mail for bob@rsa.test from outside."""

    def deliver(self, from_domain, raw, mail_from=None):
        code, reply, _ = W.a.mx(mail_from or f"sender@{from_domain}", "bob@rsa.test", raw)
        return code, reply

    def stored_results(self, subject):
        raw = W.a.stored("bob@rsa.test", subject)
        return raw, ours(raw, AUTHSERV_ID)

    def test_aligned_dkimpy_signature_passes(self):
        subject = marker()
        raw = dkimpy_signed(message("sender@good.test", "bob@rsa.test", subject), "good.test", "mx1", W.rsa_pem)
        self.assertEqual(self.deliver("good.test", raw)[0], 250)
        stored, value = self.stored_results(subject)
        got = methods(value)
        self.assertEqual((got.get("spf"), got.get("dkim"), got.get("dmarc")), ("pass", "pass", "pass"), value)
        self.assertIn("header.d=good.test", value)
        self.assertIn("header.from=good.test", value)
        # Ours is on top of what the sender wrote (only our own Received: line may come before it).
        names = [n.lower() for n, _ in header_fields(stored)]
        self.assertLess(names.index("authentication-results"), names.index("dkim-signature"), names)
        self.assertLessEqual(names.index("authentication-results"), 1, names)

    def test_ed25519_signature_passes(self):
        subject = marker()
        raw = dkimpy_signed(message("sender@good.test", "bob@rsa.test", subject), "good.test", "ed1", W.ed_seed,
                            b"ed25519-sha256")
        self.assertEqual(self.deliver("good.test", raw)[0], 250)
        got = methods(self.stored_results(subject)[1])
        self.assertEqual(got.get("dkim"), "pass")
        self.assertEqual(got.get("dmarc"), "pass")

    def test_forged_signature_and_spf_fail(self):
        subject = marker()
        raw = dkimpy_signed(message("sender@forged.test", "bob@rsa.test", subject, "the original text\r\n"),
                            "forged.test", "mx1", W.rsa_pem)
        raw = raw.replace(b"the original text", b"the altered text")
        self.assertEqual(self.deliver("forged.test", raw)[0], 250)  # p=none: marked, not refused
        value = self.stored_results(subject)[1]
        got = methods(value)
        self.assertEqual((got.get("spf"), got.get("dkim"), got.get("dmarc")), ("fail", "fail", "fail"), value)

    def test_dmarc_reject_is_refused_with_550_5_7_1(self):
        subject = marker()
        with smtplib.SMTP("127.0.0.1", W.a.ports["smtp"], timeout=60, local_hostname=HELO) as s:
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                s.sendmail("sender@reject.test", ["bob@rsa.test"],
                           message("sender@reject.test", "bob@rsa.test", subject))
        self.assertEqual(refused.exception.smtp_code, 550)
        self.assertTrue(refused.exception.smtp_error.startswith(b"5.7.1"), refused.exception.smtp_error)
        self.assertFalse([m for m in W.a.mailbox("bob@rsa.test") if subject.encode() in m])

    def test_dmarc_quarantine_is_accepted_and_marked(self):
        subject = marker()
        self.assertEqual(self.deliver("quar.test", message("sender@quar.test", "bob@rsa.test", subject))[0], 250)
        value = self.stored_results(subject)[1]
        self.assertEqual(methods(value).get("dmarc"), "fail", value)
        self.assertIn("p=quarantine", value)

    def test_spoofed_authentication_results_are_removed_and_others_kept(self):
        subject = marker()
        spoofed = (f"Authentication-Results: {AUTHSERV_ID}; spf=pass smtp.mailfrom=forged.test\r\n"
                   f"Authentication-Results:  {AUTHSERV_ID.upper()} ;\r\n\tdkim=pass header.d=forged.test\r\n"
                   f"Authentication-Results: other.example; dkim=pass header.d=forged.test\r\n").encode()
        raw = spoofed + message("sender@forged.test", "bob@rsa.test", subject)
        self.assertEqual(self.deliver("forged.test", raw)[0], 250)
        stored, value = self.stored_results(subject)
        self.assertEqual(methods(value).get("spf"), "fail", value)  # ours says what really happened
        self.assertEqual(len(auth_results(stored)), 2, auth_results(stored))
        self.assertIn("other.example; dkim=pass header.d=forged.test", auth_results(stored))

    def test_own_domain_from_outside_without_passing_is_refused(self):
        # ed.test (daemon A's) publishes no DMARC record: only the own-domain rule can refuse this.
        subject = marker()
        code, reply = self.deliver("forged.test", message("ceo@ed.test", "bob@rsa.test", subject))
        self.assertEqual(code, 550, reply)
        self.assertTrue(reply.startswith(b"5.7.1"), reply)


    def test_a_from_that_cannot_be_read_for_certain_is_refused(self):
        # RFC 7489 6.6.1: two From: fields, two From: domains, or a From: after a line no parser
        # agrees on could each show the reader a domain whose policy was never checked.
        for headers in (b"From: a@good.test\r\nFrom: ceo@reject.test\r\n",
                        b"From: a@good.test, ceo@reject.test\r\n",
                        b"not a header line\r\nFrom: ceo@reject.test\r\n"):
            raw = headers + f"To: bob@rsa.test\r\nSubject: {marker()}\r\n\r\nbody\r\n".encode()
            code, reply = self.deliver("good.test", raw)
            self.assertEqual(code, 550, (headers, reply))
            self.assertTrue(reply.startswith(b"5.7.1"), reply)


class MarkOnly(unittest.TestCase):
    """Daemon B: dmarc_reject = "mark" accepts what A refuses, and says so."""

    def test_dmarc_reject_is_marked_not_refused(self):
        subject = marker()
        code, reply, _ = W.b.mx("sender@reject.test", "mia@mark.test",
                                message("sender@reject.test", "mia@mark.test", subject))
        self.assertEqual(code, 250, reply)
        value = ours(W.b.stored("mia@mark.test", subject), MARK_AUTHSERV_ID)
        self.assertEqual(methods(value).get("dmarc"), "fail", value)
        self.assertIn("p=reject", value)


class BoundedCost(unittest.TestCase):
    """A hostile domain cannot make one message cost more than a bounded time (and CPU)."""

    def test_twenty_chained_spf_includes_end_in_permerror_quickly(self):
        subject = marker()
        cpu_before = W.a.cpu_s()
        code, reply, elapsed = W.a.mx("sender@chain.test", "bob@rsa.test",
                                      message("sender@chain.test", "bob@rsa.test", subject))
        cpu_s = W.a.cpu_s() - cpu_before
        print(f"\n  chain of 20 includes: answered in {elapsed:.2f} s, daemon CPU {cpu_s:.2f} s", file=sys.stderr)
        self.assertEqual(code, 250, reply)
        self.assertLess(elapsed, ELAPSED_MAX_S)
        self.assertLess(cpu_s, 5.0)
        value = ours(W.a.stored("bob@rsa.test", subject), AUTHSERV_ID)
        self.assertEqual(methods(value).get("spf"), "permerror", value)

    def test_dns_that_never_answers_costs_at_most_time_max(self):
        # A resolver that never replies: a UDP socket nobody reads (and TCP to it is refused).
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        c = None
        try:
            c = Vmx(f"""
[delivery]
resolver = "127.0.0.1:{silent.getsockname()[1]}"
[mailauth]
authserv_id = "{SLOW_AUTHSERV_ID}"
time_max_ms = 2000
dns_timeout_ms = 500
""")
            c.tenant("slow.example.test", "sam@slow.example.test")
            subject = marker()
            raw = dkimpy_signed(message("sender@silent.test", "sam@slow.example.test", subject), "silent.test",
                                "mx1", W.rsa_pem)
            code, reply, elapsed = c.mx("sender@silent.test", "sam@slow.example.test", raw)
            print(f"\n  silent resolver: answered in {elapsed:.2f} s (time_max_ms = 2000)", file=sys.stderr)
            self.assertEqual(code, 250, reply)
            self.assertLess(elapsed, ELAPSED_MAX_S)
            value = ours(c.stored("sam@slow.example.test", subject), SLOW_AUTHSERV_ID)
            for method in ("spf", "dkim", "dmarc"):
                self.assertIn(methods(value).get(method), ("temperror", "none"), value)
        finally:
            if c:
                c.close()
            silent.close()


if __name__ == "__main__":
    unittest.main()
