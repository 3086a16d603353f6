"""The TLS the daemon offers, as testssl.sh (Debian's testssl) sees it: STARTTLS on the MX (25) and
on submission (587), TLS from the first byte on submission (465) and POP3S (995), on a real daemon
on loopback with the certificate `vaultmx init --self-signed` makes. Nothing of severity MEDIUM or
worse, apart from findings about the test certificate itself (listed below, each with its reason);
offered protocols exactly TLS 1.2 and 1.3; every offered suite AEAD with forward secrecy. The four
scans run at once; a slow test (ctest label "slow"), run once, in the release pass."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from daemon_harness import Daemon, free_port, init_instance, write_config

# Sections: protocols (-p), cipher categories (-s), forward secrecy (-f), server defaults and the
# certificate (-S), vulnerabilities (-U), and every suite each protocol offers (-E). No DNS (-n
# none): the target is an address on loopback and the machine may have no resolver.
SECTIONS = ["-p", "-s", "-f", "-S", "-U", "-E"]
OPTIONS = ["--quiet", "--color", "0", "--warnings", "batch", "-n", "none", "--connect-timeout", "10",
           "--openssl-timeout", "10"]

EXEMPT = """
[limits]
exempt_networks = ["127.0.0.0/8", "::1/128"]
"""

# (port name in the config, STARTTLS protocol or None for TLS from the first byte)
PORTS = [("smtp", "smtp"), ("submission_tls", None), ("submission", "smtp"), ("pop3s", None)]

# Findings about the certificate, not about the server's TLS: the test runs on a self-signed
# certificate for localhost (what `vaultmx init --self-signed` makes for a first start); a production
# appliance is given one from a CA, which these findings then judge. The certificate's key, signature
# algorithm, validity dates and names are still checked (cert_keySize, cert_signatureAlgorithm,
# cert_expirationStatus, cert_trust ... are not excluded).
CERTIFICATE_ONLY = {
    "cert_chain_of_trust": "self-signed: no CA to chain to",
    "cert_revocation": "a self-signed certificate has no CRL or OCSP responder to name",
    "cert_crlDistributionPoints": "a self-signed certificate has no CRL",
    "cert_ocspURL": "a self-signed certificate has no OCSP responder",
    "OCSP_stapling": "nothing to staple without a CA's OCSP responder",
    "cert_mustStapleExtension": "a CA's extension",
    "DNS_CAArecord": "a DNS record of the domain, not of the server (and there is no DNS here)",
}
# What testssl says about itself or what it skipped, not about the server.
SCANNER_NOTES = {"WARN", "DEBUG"}
FAILING = {"MEDIUM", "HIGH", "CRITICAL", "FATAL"}
AEAD = {"AESGCM", "ChaCha20", "AESCCM", "AESCCM8", "ARIAGCM", "CamelliaGCM"}


def have_testssl():
    return shutil.which("testssl") is not None


def scan(port, starttls, json_path, log_path):
    cmd = ["testssl", *OPTIONS, "--jsonfile", json_path, *SECTIONS]
    if starttls:
        cmd += ["-t", starttls]
    cmd.append(f"127.0.0.1:{port}")
    with open(log_path, "w") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=1500).returncode


def suites(findings):
    """(protocol, IANA name, key exchange, encryption) of each suite -E found offered."""
    out = []
    for f in findings:
        if not f["id"].startswith("cipher-tls") and not f["id"].startswith("cipher-ssl"):
            continue
        # "TLS 1.2   xc02b   ECDHE-ECDSA-AES128-GCM-SHA256   ECDH 253   AESGCM   128   TLS_ECDHE_..."
        parts = f["finding"].split()
        protocol = " ".join(parts[:2])
        kx = parts[4]
        enc_at = 6 if parts[5].isdigit() else 5  # "ECDH 253" vs a bare "RSA"
        out.append((protocol, parts[-1], kx, parts[enc_at]))
    return out


@unittest.skipUnless(have_testssl(), "needs testssl (Debian package testssl.sh)")
class TlsScan(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-tlsscan-")
        folder = cls.tmp.name
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        # The scanner opens hundreds of connections from loopback: no per-client limit or ban
        # may refuse them (that would be a scan of the limits, not of TLS).
        config = write_config(folder, ports, extra=EXEMPT)
        init_instance(config, "--self-signed")
        cls.daemon = Daemon(existing=(folder, ports, config)).start()
        cls.results = {}
        started = time.monotonic()
        threads = []
        for name, starttls in PORTS:
            json_path = os.path.join(folder, f"{name}.json")
            log_path = os.path.join(folder, f"{name}.txt")

            def run(name=name, starttls=starttls, json_path=json_path, log_path=log_path):
                t0 = time.monotonic()
                try:
                    rc = scan(ports[name], starttls, json_path, log_path)
                except subprocess.TimeoutExpired:
                    rc = "timeout"
                findings = []
                if os.path.exists(json_path):
                    with open(json_path) as f:
                        findings = json.load(f)
                with open(log_path) as f:
                    log = f.read()
                cls.results[name] = (rc, findings, time.monotonic() - t0, log)

            threads.append(threading.Thread(target=run))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cls.wall_s = time.monotonic() - started
        print(f"\ntlsscan: {len(PORTS)} ports scanned at once in {cls.wall_s:.0f} s ("
              + ", ".join(f"{n} {cls.results[n][2]:.0f} s" for n, _ in PORTS) + ")", flush=True)

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        cls.tmp.cleanup()
        assert code == 0, code

    def findings(self, name):
        rc, findings, _, log = self.results[name]
        self.assertTrue(findings, f"{name}: testssl wrote no findings (exit {rc}):\n{log[-3000:]}")
        ids = {f["id"] for f in findings}
        self.assertTrue({"TLS1_2", "TLS1_3"} <= ids, f"{name}: the protocols were not scanned:\n{log[-3000:]}")
        return findings

    def test_nothing_medium_or_worse(self):
        for name, _ in PORTS:
            with self.subTest(port=name):
                findings = self.findings(name)
                bad = [f"{f['severity']} {f['id']}: {f['finding']}" for f in findings
                       if f["severity"] in FAILING and f["id"] not in CERTIFICATE_ONLY]
                self.assertEqual(bad, [], f"{name}: findings of severity MEDIUM or worse")
                summary = {}
                for f in findings:
                    if f["severity"] not in SCANNER_NOTES:
                        summary[f["severity"]] = summary.get(f["severity"], 0) + 1
                excluded = sorted(f["id"] for f in findings if f["severity"] in FAILING)
                print(f"tlsscan: {name}: {summary}; excluded certificate findings: {excluded}", flush=True)

    def test_only_tls12_and_tls13(self):
        for name, _ in PORTS:
            with self.subTest(port=name):
                protocols = {f["id"]: f["finding"] for f in self.findings(name)
                             if f["id"] in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")}
                for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
                    self.assertEqual(protocols.get(old), "not offered", f"{name}: {old}")
                self.assertEqual(protocols.get("TLS1_2"), "offered")
                self.assertTrue(protocols.get("TLS1_3", "").startswith("offered"), protocols.get("TLS1_3"))

    def test_every_suite_aead_with_forward_secrecy(self):
        for name, _ in PORTS:
            with self.subTest(port=name):
                offered = suites(self.findings(name))
                self.assertEqual(sorted({p for p, *_ in offered}), ["TLS 1.2", "TLS 1.3"], offered)
                for protocol, iana, kx, enc in offered:
                    self.assertIn(enc, AEAD, f"{name}: {protocol} {iana} is not AEAD")
                    # TLS 1.3 has only (EC)DHE; in TLS 1.2 the name says it.
                    fs = protocol == "TLS 1.3" or iana.startswith(("TLS_ECDHE_", "TLS_DHE_"))
                    self.assertTrue(fs and kx in ("ECDH", "DH"), f"{name}: {protocol} {iana} ({kx}) lacks forward secrecy")
                print(f"tlsscan: {name}: " + ", ".join(f"{p} {i}" for p, i, _, _ in offered), flush=True)


if __name__ == "__main__":
    unittest.main()
