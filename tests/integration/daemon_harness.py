"""Starts the real vaultmxd on loopback ports in a scratch folder, for integration tests."""
import os
import poplib
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import time

BIN_DIR = os.environ.get("VMX_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))
VAULTMXD = os.path.join(BIN_DIR, "vaultmxd")
VAULTMX = os.path.join(BIN_DIR, "vaultmx")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


EXEMPT_LOOPBACK = """
[limits]
exempt_networks = ["127.0.0.0/8", "::1/128"]
"""


# An event as the spool keeps it (RFC 5424), and as the tests read it: "TIME level=L [shard=S ]event=NAME FIELDS".
LOG_LINE = re.compile(r'^<(\d+)>1 (\S+) \S+ \S+ \S+ (\S+) \[vaultmx@32473 seq="(\d+)" shard="(-?\d+)"\](?: (.*))?$')
SEVERITY = {7: "debug", 6: "info", 4: "warn", 3: "error"}


def read_log(config):
    """Every event in the daemon's sealed spool, through `vaultmx logs show` (the daemon when it
    runs, the spool itself with the master key when it does not)."""
    r = subprocess.run([VAULTMX, "-c", config, "logs", "show"], capture_output=True, text=True, errors="replace")
    lines = []
    for line in r.stdout.splitlines():
        m = LOG_LINE.match(line)
        if not m:
            lines.append(line)
            continue
        pri, stamp, name, _seq, shard, fields = m.groups()
        where = "" if shard == "-1" else f"shard={shard} "
        lines.append(f"{stamp} level={SEVERITY.get(int(pri) % 8, 'info')} {where}event={name} {fields or ''}".rstrip())
    return "".join(line + "\n" for line in lines)


def write_config(folder, ports, extra="", shards=2, host="127.0.0.1"):
    """A complete config with every path inside `folder`, listening on `host`; returns its path."""
    text = f"""
[engine]
shards = {shards}
grace_period_s = 5

[paths]
data = "{folder}/data"

[keys]
master_key_file = "{folder}/master.key"

[tls]
cert = "{folder}/cert.pem"
key = "{folder}/key.pem"

[listen]
smtp = "{host}:{ports['smtp']}"
submission_tls = "{host}:{ports['submission_tls']}"
submission = "{host}:{ports['submission']}"
pop3s = "{host}:{ports['pop3s']}"

[admin]
socket = "{folder}/admin.sock"

[metrics]
listen = "127.0.0.1:{ports['metrics']}"

[log]
dir = "{folder}/log"
level = "info"
{extra}
"""
    # Tests drive the daemon from loopback far faster than any one client may: exempt it from the
    # per-client limits and bans, unless a test sets [limits] itself (the hardening tests do).
    if "[limits]" not in extra:
        text += EXEMPT_LOOPBACK
    path = os.path.join(folder, "vaultmx.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def init_instance(config, *extra):
    """`vaultmx init`: folders and master key (and a certificate with --self-signed)."""
    r = subprocess.run([VAULTMX, "-c", config, "init", *extra], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"vaultmx init failed: {r.stderr}")
    return r


def files_holding(folder, needles):
    """The files under `folder` (sockets aside) that contain any of `needles` (bytes): the check
    that no password or message text lies on disk in the clear."""
    found = []
    for root, _, files in os.walk(folder):
        for f in files:
            path = os.path.join(root, f)
            if not os.path.isfile(path) or f.endswith(".sock"):
                continue
            with open(path, "rb") as fh:
                data = fh.read()
            found += [f"{path}: {n!r}" for n in needles if n in data]
    return found


def insecure_tls():
    """A client context for the tests' self-signed certificates."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def pop3_login(port, address, password, timeout=5.0):
    """A POP3S login, maybe right after the last session ended: the lock's release reaches the
    mailbox's owner shard a moment after the connection closed, so an [IN-USE] in that window is
    retried (as mail clients do)."""
    deadline = time.monotonic() + timeout
    while True:
        p = poplib.POP3_SSL("127.0.0.1", port, context=insecure_tls(), timeout=60)
        try:
            p.user(address)
            p.pass_(password)
            return p
        except poplib.error_proto as e:
            p.close()
            if b"[IN-USE]" not in e.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def retrieve_all(port, address, password):
    """Every message of the maildrop as POP3 RETR gives it, in order."""
    p = pop3_login(port, address, password)
    try:
        count = len(p.list()[1])
        return [b"\r\n".join(p.retr(i)[1]) for i in range(1, count + 1)]
    finally:
        p.quit()


def vaultmx_cli(config, *args, check=True, stdin=None, timeout=300):
    """`vaultmx -c CONFIG ARGS...`; with check, a failing command fails the test with its stderr."""
    r = subprocess.run([VAULTMX, "-c", config, *args], capture_output=True, text=True, input=stdin, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"vaultmx {' '.join(args)}: {r.returncode}: {r.stderr}")
    return r


def wait_for_pop3_messages(port, address, password, count, timeout=30.0):
    """Waits (bounded) until the maildrop holds at least `count` messages: delivery is
    asynchronous after the 250."""
    end = time.monotonic() + timeout
    while True:
        p = pop3_login(port, address, password)
        n, _ = p.stat()
        p.quit()
        if n >= count or time.monotonic() > end:
            assert n >= count, f"{n} messages, expected {count}"
            return
        time.sleep(0.1)


def wait_for_port(port, timeout=10.0, host="127.0.0.1"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def wait_for_path(path, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


class Daemon:
    """vaultmxd in a temporary folder; use as a context manager."""

    def __init__(self, shards=2, extra="", existing=None, host="127.0.0.1", init_args=()):
        """A fresh instance, or with existing=(folder, ports, config) one a test prepared itself."""
        self.proc = None
        self.host = host
        if existing:
            self.tmp = None
            self.folder, self.ports, self.config = existing
            return
        self.tmp = tempfile.TemporaryDirectory(prefix="vmx-it-")
        self.folder = self.tmp.name
        self.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        self.config = write_config(self.folder, self.ports, extra=extra, shards=shards)
        init_instance(self.config, *init_args)  # ("--self-signed",): a certificate in the same run

    def start(self):
        # The daemon serves as an unprivileged user that may not be able to remove its socket from
        # a root-owned folder when it stops: a stale one must not pass for the new daemon's.
        admin_socket = os.path.join(self.folder, "admin.sock")
        if os.path.exists(admin_socket):
            os.unlink(admin_socket)
        self.proc = subprocess.Popen([VAULTMXD, "-c", self.config], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        # The ports are bound before the admin socket opens: wait for both, or an admin command
        # sent at once finds no socket (seen under the sanitizers' slower start).
        if not wait_for_port(self.ports["smtp"], host=self.host) or not wait_for_path(admin_socket):
            self.proc.kill()
            out, err = self.proc.communicate()
            raise RuntimeError(f"vaultmxd did not start: {err}")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def log_text(self):
        return read_log(self.config)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        if self.tmp:
            self.tmp.cleanup()
