"""SIGHUP: the configuration is read again while the daemon serves. New TLS sessions get the new
certificate on every TLS port while an open session goes on with the old one; a certificate that
does not load changes nothing; the log level follows the file; every other changed key is named as
waiting for a restart; nothing is dropped."""
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import time
import unittest

from daemon_harness import Daemon, read_log


def fingerprint(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def new_certificate(cert, key, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", f"/CN={name}", "-keyout", key + ".new", "-out", cert + ".new"],
                   check=True, capture_output=True)
    st = os.stat(key)  # as init made it: root, the service group, 0640
    os.chown(key + ".new", st.st_uid, st.st_gid)
    os.chmod(key + ".new", 0o640)
    os.replace(key + ".new", key)
    os.replace(cert + ".new", cert)


def wait_for_event(config, name, count=1, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_log(config).count(f"event={name}") >= count:
            return True
        time.sleep(0.1)
    return False


class Reload(unittest.TestCase):
    def test_sighup_swaps_the_certificate_for_new_sessions_only(self):
        d = Daemon(init_args=("--self-signed",))
        os.chmod(d.folder, 0o711)  # the service user reaches the certificate to read it again
        with d:
            cert, key = os.path.join(d.folder, "cert.pem"), os.path.join(d.folder, "key.pem")
            first = fingerprint(d.ports["pop3s"])
            self.assertEqual(first, fingerprint(d.ports["submission_tls"]))
            # A session opened before the reload.
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            old = ctx.wrap_socket(socket.create_connection(("127.0.0.1", d.ports["pop3s"]), timeout=10))
            self.assertTrue(old.recv(512).startswith(b"+OK"))

            new_certificate(cert, key, "reloaded.test")
            d.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for_event(d.config, "tls.reloaded"), read_log(d.config)[-2000:])
            second = fingerprint(d.ports["pop3s"])
            self.assertNotEqual(second, first)
            self.assertEqual(second, fingerprint(d.ports["submission_tls"]))
            # STARTTLS on the MX too.
            import smtplib
            with smtplib.SMTP("127.0.0.1", d.ports["smtp"], timeout=10) as s:
                s.starttls(context=ctx)
                self.assertEqual(hashlib.sha256(s.sock.getpeercert(binary_form=True)).hexdigest(), second)
            # The old session is untouched.
            old.sendall(b"CAPA\r\n")
            self.assertTrue(old.recv(512).startswith(b"+OK"))
            old.close()

            # A certificate that does not load: the reload says so and the previous one stays.
            with open(cert, "w") as f:
                f.write("not a certificate\n")
            d.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for_event(d.config, "tls.reload_failed"))
            self.assertEqual(fingerprint(d.ports["pop3s"]), second)

            # Other keys: the level applies, the rest is named.
            with open(d.config) as f:
                text = f.read()
            with open(d.config, "w") as f:
                f.write(text.replace('level = "info"', 'level = "warn"').replace("grace_period_s = 5", "grace_period_s = 6"))
            d.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for_event(d.config, "config.reloaded", count=3), read_log(d.config)[-2000:])
            last = [l for l in read_log(d.config).splitlines() if "event=config.reloaded" in l][-1]
            self.assertIn("log_level=warn", last)
            self.assertIn("restart_needed=engine.grace_period_s", last)
            self.assertIsNone(d.proc.poll())
            code, _ = d.stop()
            self.assertEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
