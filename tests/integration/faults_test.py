"""Faults on the real daemon. A full disk (the data folder on a small tmpfs this test mounts): 452
4.3.1 on the MX and on submission, nothing acknowledged lost, service back once there is room.
Failed syncs and writes (strace injects EIO into the daemon's fdatasync, then its pwrite64 and
writev): no 250 for a message whose commit failed, each failed environment closed and reopened,
service back once the fault ends. Twenty SIGKILLs at random moments under mixed load (inbound
SMTP, submission, POP3 with DELE, admin commands): no acknowledged message lost, none delivered
twice, no acknowledged deletion undone, no acknowledged admin change lost. Every message carries a
unique token, which must never reach the daemon's log. Needs root (mount, ptrace) and strace."""
import errno
import json
import os
import poplib
import random
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
import uuid

from daemon_harness import VAULTMX, VAULTMXD, free_port, init_instance, read_log, wait_for_port, write_config

HELO = "client.example"
DOMAIN = "faults.test"
SENDER = f"sender@{DOMAIN}"  # the submission login
PASSWORD = "faults secret 4Rt!"
USERS = [f"u{i}@{DOMAIN}" for i in range(4)]
REMOTE_SENDER = "someone@remote.example"
TOKEN = re.compile(rb"X-Fault-Token: (\S+)")

# Cheap password hashing; deliveries retried after a second; a user may submit plenty per hour;
# the load comes from loopback, which no per-client limit may slow or refuse (not what is tested).
BASE = """
[limits]
exempt_networks = ["127.0.0.0/8", "::1/128"]

[auth]
argon2_memory_kib = 64
argon2_iterations = 1

[store]
segments = 4

[delivery]
retry_first_s = 1
retry_max_s = 2

[submission]
messages_per_hour = 100000
recipients_per_hour = 100000
"""


def have_root_tools():
    return os.geteuid() == 0 and shutil.which("strace") is not None and shutil.which("mount") is not None


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def new_token(kind):
    return f"tok-{kind}-{uuid.uuid4().hex[:16]}"


def message(token, sender, to, body_bytes=0):
    lines = "".join(f"line {i:06d} " + "abcdefghij" * 6 + "\r\n" for i in range(body_bytes // 74))
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: fault test\r\nX-Fault-Token: {token}\r\n"
            f"Message-ID: <{token}@faults.test>\r\n\r\nbody\r\n{lines}").encode()


def quit_quietly(client):
    try:
        client.quit()
    except (OSError, smtplib.SMTPException, poplib.error_proto):
        pass
    try:
        client.close()
    except OSError:
        pass


def transaction(s, sender, rcpt, data):
    """MAIL, RCPT, DATA on an open session: the (code, text) that answers the message (or the
    refusal of MAIL or RCPT). Raises when the connection fails first."""
    code, text = s.mail(sender)
    if code != 250:
        return code, text
    code, text = s.rcpt(rcpt)
    if code != 250:
        return code, text
    try:
        return s.data(data)
    except smtplib.SMTPDataError as e:  # DATA itself refused
        return e.smtp_code, e.smtp_error


def send_mx(port, token, rcpt, body_bytes=0, timeout=30):
    s = smtplib.SMTP("127.0.0.1", port, timeout=timeout, local_hostname=HELO)
    try:
        s.ehlo()
        return transaction(s, REMOTE_SENDER, rcpt, message(token, REMOTE_SENDER, rcpt, body_bytes))
    finally:
        quit_quietly(s)


def send_submission(port, token, rcpt, body_bytes=0, timeout=30):
    s = smtplib.SMTP("127.0.0.1", port, timeout=timeout, local_hostname=HELO)
    try:
        s.ehlo()
        s.starttls(context=insecure())
        s.ehlo()
        s.login(SENDER, PASSWORD)
        return transaction(s, SENDER, rcpt, message(token, SENDER, rcpt, body_bytes))
    finally:
        quit_quietly(s)


def pop3_login(port, address, deadline_s=10):
    """A POP3S session; an [IN-USE] (the last session's lock on its way back) is retried."""
    end = time.monotonic() + deadline_s
    while True:
        p = poplib.POP3_SSL("127.0.0.1", port, context=insecure(), timeout=30)
        try:
            p.user(address)
            p.pass_(PASSWORD)
            return p
        except poplib.error_proto as e:
            quit_quietly(p)
            if "[IN-USE]" not in str(e.args[0]) or time.monotonic() > end:
                raise
            time.sleep(0.05)


def token_of(lines):
    for line in lines:
        m = TOKEN.match(line)
        if m:
            return m.group(1).decode()
    return None


class Instance:
    """A daemon of its own, optionally with its data folder on a tmpfs of `tmpfs_mib` MiB. Its output
    goes to files (a pipe nobody reads would stall it under load)."""

    def __init__(self, name, extra="", tmpfs_mib=0):
        self.tmp = tempfile.TemporaryDirectory(prefix=f"vmx-faults-{name}-")
        self.folder = self.tmp.name
        self.data = os.path.join(self.folder, "data")
        self.mounted = False
        self.proc = None
        self.starts = 0
        try:
            if tmpfs_mib:
                os.mkdir(self.data, 0o700)
                subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={tmpfs_mib}m,mode=0700", "vmx-faults", self.data],
                               check=True, capture_output=True, timeout=30)
                self.mounted = True
            self.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
            self.config = write_config(self.folder, self.ports, extra=BASE + extra)
            init_instance(self.config, "--self-signed")
            # The daemon serves as [service] user once started, and reopening an environment after
            # a fault opens its files by path again: that user must be able to pass through this
            # folder (init made it 0750 root:root, as the admin socket's folder).
            os.chmod(self.folder, 0o711)
            self.start()
            self.ok("org", "add", "Faults Org", "--plan", "pro")
            self.ok("domain", "add", DOMAIN, "--org", "Faults Org")
            for address in USERS + [SENDER]:
                self.ok("user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")
        except BaseException:
            self.close()
            raise

    def start(self):
        # A killed daemon leaves its socket behind, in a folder its service user cannot write.
        admin_socket = os.path.join(self.folder, "admin.sock")
        if os.path.exists(admin_socket):
            os.unlink(admin_socket)
        with open(os.path.join(self.folder, f"vaultmxd.{self.starts}.out"), "w") as out:
            self.proc = subprocess.Popen([VAULTMXD, "-c", self.config], stdout=out, stderr=subprocess.STDOUT)
        self.starts += 1
        # The listeners come first, then the admin socket: wait for an answer.
        end = time.monotonic() + 30
        if not wait_for_port(self.ports["smtp"], timeout=30):
            raise RuntimeError("vaultmxd did not start")
        while self.cli("stats", timeout=10).returncode != 0:
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError("vaultmxd's admin socket did not answer")
            time.sleep(0.05)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if self.mounted:
            if subprocess.run(["umount", self.data], capture_output=True, timeout=30).returncode != 0:
                subprocess.run(["umount", "-l", self.data], capture_output=True, timeout=30)
            self.mounted = False
        self.tmp.cleanup()

    def cli(self, *args, stdin=None, timeout=60):
        return subprocess.run([VAULTMX, "-c", self.config, *args], input=stdin, capture_output=True, text=True,
                              timeout=timeout)

    def ok(self, *args, stdin=None):
        r = self.cli(*args, stdin=stdin)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    def log_text(self):
        return read_log(self.config)

    def output_text(self):
        """What every start of the daemon wrote to its stdout and stderr."""
        text = ""
        for n in range(self.starts):
            with open(os.path.join(self.folder, f"vaultmxd.{n}.out"), errors="replace") as f:
                text += f.read()
        return text

    def mx(self, token, rcpt, body_bytes=0):
        return send_mx(self.ports["smtp"], token, rcpt, body_bytes)

    def submit(self, token, rcpt, body_bytes=0):
        return send_submission(self.ports["submission"], token, rcpt, body_bytes)

    def read_mailbox(self, address, known=None):
        """{uidl: token} of the maildrop; only messages whose UIDL `known` lacks are retrieved."""
        known = {} if known is None else known
        p = pop3_login(self.ports["pop3s"], address)
        try:
            out = {}
            for line in p.uidl()[1]:
                number, uidl = line.decode().split()
                if uidl not in known:
                    known[uidl] = token_of(p.retr(int(number))[1])
                out[uidl] = known[uidl]
            return out
        finally:
            quit_quietly(p)

    def tokens(self, addresses=USERS):
        """Every token in the given maildrops, with how many times it appears."""
        counts = {}
        for address in addresses:
            for token in self.read_mailbox(address).values():
                counts[token] = counts.get(token, 0) + 1
        return counts

    def wait_for_tokens(self, expected, timeout=45, addresses=USERS):
        end = time.monotonic() + timeout
        while True:
            counts = self.tokens(addresses)
            if set(expected) <= set(counts) or time.monotonic() > end:
                return counts
            time.sleep(0.3)


class Strace:
    """strace attached to every thread of a running process, injecting a fault into some system
    calls and logging them (with file paths) plus every openat, until stop(). strace skips a call
    by turning it into syscall -1, which the daemon's seccomp allow-list answers with SIGSYS (the
    filter runs after the tracer): it is turned into gettid instead, a call without effects that
    the list allows, whose result strace then replaces with the error."""

    def __init__(self, pid, out_path, inject):
        self.out_path = out_path
        self.proc = subprocess.Popen(
            ["strace", "-f", "-y", "-o", out_path, "-e", "trace=fdatasync,fsync,msync,pwrite64,writev,openat",
             "-e", f"inject={inject}:syscall=gettid", "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.attached = threading.Event()
        self.errors = []
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if not self.attached.wait(20):
            self.stop()
            raise RuntimeError(f"strace did not attach: {self.errors}")

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.errors.append(line)
            if "attached" in line:  # "Process N attached with K threads": every thread is traced
                self.attached.set()

    def stop(self):
        """Detaches (SIGINT); the traced process runs on untouched. Returns the trace's lines."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        with open(self.out_path) as f:
            return f.read().splitlines()


CALL = re.compile(r"^(\d+) +(\w+)\((\d+)<([^>]*/data\.mdb)>")
RESUMED = re.compile(r"^(\d+) +<\.\.\. (\w+) resumed>")
OPENED = re.compile(r'^\d+ +openat\([^"]*"([^"]*/data\.mdb)", O_RDWR\|O_CREAT')


def failed_then_reopened(lines):
    """From a trace: the shards' environments (data.mdb of a segment, written through a store lane)
    whose sync or write failed, and those of them opened again (read-write, as Env::reopen does)
    after their first failure. The global environments, which the control thread writes without a
    lane, are left out. A call strace shows "<unfinished ...>" ends on a "resumed" line."""
    failed, reopened, pending = {}, set(), {}
    for i, line in enumerate(lines):
        path = None
        m = CALL.match(line)
        if m:
            if "<unfinished ...>" in line:
                pending[m.group(1)] = m.group(4)
            else:
                path = m.group(4)
        else:
            m = RESUMED.match(line)
            if m:
                path = pending.pop(m.group(1), None)
        if path and "(INJECTED)" in line and "/global/" not in path:
            failed.setdefault(path, i)
            continue
        m = OPENED.match(line)
        if m and m.group(1) in failed and failed[m.group(1)] < i:
            reopened.add(m.group(1))
    return set(failed), reopened


@unittest.skipUnless(have_root_tools(), "needs root (mount, ptrace) and strace")
class Faults(unittest.TestCase):
    def check_log_clean(self, vmx, tokens):
        log = vmx.log_text() + vmx.output_text()
        self.assertNotIn(PASSWORD, log)
        leaked = [t for t in tokens if t in log]
        self.assertEqual(leaked, [], "message content reached the log")

    # ---- a full disk ------------------------------------------------------------------------------

    def fill(self, folder):
        """Writes a file until the file system refuses more (ENOSPC)."""
        path = os.path.join(folder, "filler")
        with open(path, "wb", buffering=0) as f:
            for size in (1 << 20, 4096):
                block = b"\0" * size
                while True:
                    try:
                        f.write(block)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
        st = os.statvfs(folder)
        self.assertLess(st.f_bavail * st.f_frsize, 4096 * 2)
        return path

    def test_1_full_disk_452_nothing_lost_then_resumes(self):
        vmx = Instance("full", tmpfs_mib=24)
        try:
            acked, refused = [], []
            for i in range(4):
                token = new_token("before")
                code, text = vmx.mx(token, USERS[i % 2], body_bytes=2000) if i % 2 == 0 else \
                    vmx.submit(token, USERS[i % 2], body_bytes=2000)
                self.assertEqual(code, 250, text)
                acked.append(token)
            counts = vmx.wait_for_tokens(acked, addresses=USERS[:2])
            self.assertEqual(set(counts), set(acked))

            filler = self.fill(vmx.data)
            # A message needs new pages now: the MX and submission both answer 452 4.3.1, as often
            # as they are asked, and the daemon lives on.
            attempts = [("mx", USERS[0]), ("mx", USERS[1]), ("submission", USERS[0]), ("mx", USERS[0]),
                        ("submission", USERS[1])]
            for kind, rcpt in attempts:
                token = new_token(f"full-{kind}")
                send = vmx.mx if kind == "mx" else vmx.submit
                code, text = send(token, rcpt, body_bytes=256 * 1024)
                self.assertEqual((code, text[:5]), (452, b"4.3.1"), f"{kind}: {code} {text!r}")
                refused.append(token)
            self.assertIsNone(vmx.proc.poll())
            # What was acknowledged before is still there, and readable while the disk is full.
            self.assertEqual(set(vmx.tokens(USERS[:2])), set(acked))

            os.unlink(filler)
            for kind, rcpt in (("mx", USERS[0]), ("submission", USERS[1]), ("mx", USERS[1])):
                token = new_token(f"after-{kind}")
                send = vmx.mx if kind == "mx" else vmx.submit
                code, text = send(token, rcpt, body_bytes=64 * 1024)
                self.assertEqual(code, 250, f"{kind} after room returned: {code} {text!r}")
                acked.append(token)
            counts = vmx.wait_for_tokens(acked, addresses=USERS[:2])
            self.assertEqual(sorted(t for t in acked if counts.get(t) != 1), [], "acknowledged but not delivered once")
            self.assertEqual([t for t in refused if t in counts], [], "a refused message was delivered")

            log = vmx.log_text()
            self.assertIn('error="disk full"', log)  # the enqueue's failure names its cause
            self.assertRegex(log, r'event=store\.reopened lane=\S+ env=\S+ cause="disk full"')
            self.assertIn("event=store.recovered", log)
            self.check_log_clean(vmx, acked + refused)
            self.assertEqual(vmx.stop(), 0)
        finally:
            vmx.close()

    # ---- failed syncs and writes ------------------------------------------------------------------

    def faulty_window(self, vmx, inject, trace_path):
        """Sends while strace fails `inject`: every message must be refused 451 4.3.0 (a failure
        that is not a full disk), every failed environment opened again. Returns the tokens."""
        refused = []
        strace = Strace(vmx.proc.pid, trace_path, inject)
        try:
            for kind, rcpt in (("mx", USERS[0]), ("submission", USERS[1]), ("mx", USERS[1])):
                token = new_token(f"eio-{kind}")
                send = vmx.mx if kind == "mx" else vmx.submit
                code, text = send(token, rcpt, body_bytes=8000)
                self.assertEqual((code, text[:5]), (451, b"4.3.0"), f"{inject}, {kind}: {code} {text!r}")
                refused.append(token)
            # The lane posts the failures first, then reopens: wait (bounded) for the reopens.
            end = time.monotonic() + 15
            while time.monotonic() < end:
                with open(trace_path) as f:
                    failed, reopened = failed_then_reopened(f.read().splitlines())
                if failed and failed <= reopened:
                    break
                time.sleep(0.1)
        finally:
            lines = strace.stop()
        failed, reopened = failed_then_reopened(lines)
        self.assertTrue(failed, f"{inject}: no injected failure reached an environment")
        self.assertEqual(failed - reopened, set(), f"{inject}: environments not reopened after their failure")
        return refused

    def test_2_failed_sync_or_write_never_acknowledged_env_reopened(self):
        vmx = Instance("eio")
        try:
            acked, refused = [], []
            for i, send in enumerate((vmx.mx, vmx.submit)):
                token = new_token("before")
                code, text = send(token, USERS[i], body_bytes=8000)
                self.assertEqual(code, 250, text)
                acked.append(token)
            vmx.wait_for_tokens(acked, addresses=USERS[:2])

            windows = ("fdatasync:error=EIO", "pwrite64,writev:error=EIO")
            for n, inject in enumerate(windows):
                refused += self.faulty_window(vmx, inject, os.path.join(vmx.folder, f"strace.{n}.txt"))
                # The fault is over: the next messages are accepted at once.
                for i, send in enumerate((vmx.mx, vmx.submit)):
                    token = new_token("after")
                    code, text = send(token, USERS[i], body_bytes=8000)
                    self.assertEqual(code, 250, f"after {inject}: {code} {text!r}")
                    acked.append(token)

            counts = vmx.wait_for_tokens(acked, addresses=USERS[:2])
            self.assertEqual(sorted(t for t in acked if counts.get(t) != 1), [], "acknowledged but not delivered once")
            # A refused message's commit never became visible: a client's retry makes no duplicate.
            self.assertEqual([t for t in refused if t in counts], [], "a refused message was delivered")
            log = vmx.log_text()
            self.assertRegex(log, r'event=store\.reopened lane=\S+ env=\S+ cause="I/O error"')
            self.assertIn("event=store.recovered", log)
            self.check_log_clean(vmx, acked + refused)
            self.assertEqual(vmx.stop(), 0)
        finally:
            vmx.close()

    # ---- twenty SIGKILLs under mixed load ---------------------------------------------------------

    def test_3_twenty_sigkills_under_mixed_load(self):
        kills = 20
        vmx = Instance("kill")
        stop = threading.Event()
        lock = threading.Lock()
        sent = {}             # token -> recipient, every message attempted
        acked = {}            # token -> recipient, answered 250
        uidl_token = {}       # (address, uidl) -> token, from every retrieval
        deleted_acked = set() # (address, uidl) deleted by a DELE whose QUIT was answered +OK
        admin_acked = []      # users added by an admin command that exited 0
        counters = {"mx": 0, "submission": 0, "pop3_sessions": 0, "deleted": 0, "admin": 0, "errors": 0}

        def sender(kind, seed):
            rng = random.Random(seed)
            send = vmx.mx if kind == "mx" else vmx.submit
            while not stop.is_set():
                token, rcpt = new_token(kind), rng.choice(USERS)
                with lock:
                    sent[token] = rcpt
                try:
                    code, _ = send(token, rcpt, body_bytes=rng.choice((500, 4000, 20000)))
                except Exception:  # noqa: BLE001 (refused, reset, TLS cut short: the daemon died)
                    with lock:
                        counters["errors"] += 1
                    time.sleep(0.05)  # the daemon is down or going down: the message is in doubt
                    continue
                if code == 250:
                    with lock:
                        acked[token] = rcpt
                        counters[kind] += 1

        def pop3_reader(seed):
            rng = random.Random(seed)
            while not stop.is_set():
                address = rng.choice(USERS)
                deleting = []
                try:
                    p = pop3_login(vmx.ports["pop3s"], address, deadline_s=2)
                except Exception:  # noqa: BLE001
                    with lock:
                        counters["errors"] += 1
                    time.sleep(0.05)
                    continue
                try:
                    listing = [l.decode().split() for l in p.uidl()[1]]
                    for number, uidl in listing[:6]:
                        token = token_of(p.retr(int(number))[1])
                        with lock:
                            uidl_token[(address, uidl)] = token
                        if rng.random() < 0.5:
                            p.dele(int(number))
                            deleting.append(uidl)
                    reply = p.quit()
                    if reply.startswith(b"+OK"):
                        with lock:
                            deleted_acked.update((address, u) for u in deleting)
                            counters["pop3_sessions"] += 1
                            counters["deleted"] += len(deleting)
                except Exception:  # noqa: BLE001 (the deletions are in doubt: the final count reads the trash)
                    with lock:
                        counters["errors"] += 1
                finally:
                    try:
                        p.close()
                    except OSError:
                        pass
                time.sleep(0.05)

        def admin(seed):
            n = 0
            while not stop.is_set():
                address = f"adm{seed}-{n}@{DOMAIN}"
                n += 1
                try:
                    r = vmx.cli("user", "add", address, "--password-stdin", stdin=PASSWORD + "\n", timeout=30)
                    vmx.cli("stats", timeout=30)
                    vmx.cli("queue", "list", timeout=30)
                except subprocess.TimeoutExpired:
                    continue
                if r.returncode == 0:
                    with lock:
                        admin_acked.append(address)
                        counters["admin"] += 1
                time.sleep(0.05)

        workers = [threading.Thread(target=sender, args=("mx", 1)), threading.Thread(target=sender, args=("mx", 2)),
                   threading.Thread(target=sender, args=("submission", 3)),
                   threading.Thread(target=pop3_reader, args=(4,)), threading.Thread(target=admin, args=(5,))]
        rng = random.Random(int(os.environ.get("VMX_FAULTS_SEED", "0")) or None)
        try:
            for w in workers:
                w.start()
            for _ in range(kills):
                time.sleep(rng.uniform(0.4, 2.0))
                vmx.kill()
                vmx.start()
            time.sleep(1.0)
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=60)
        try:
            self.assertFalse(any(w.is_alive() for w in workers), "a load thread hung")
            self.assertGreater(len(acked), 50, f"too little load to mean anything: {counters}")
            for kind in ("submission", "pop3_sessions", "deleted", "admin"):
                self.assertGreater(counters[kind], kills // 2, f"too little {kind}: {counters}")

            # Deliveries of what was acknowledged finish (the queue retries after a second).
            end = time.monotonic() + 60
            while True:
                live = {a: vmx.read_mailbox(a, known={u: t for (b, u), t in uidl_token.items() if b == a})
                        for a in USERS}
                for a, box in live.items():
                    for u, t in box.items():
                        uidl_token[(a, u)] = t
                trash = {}
                for a in USERS:
                    listed = json.loads(vmx.ok("user", "mailbox", a, "--trash", "--json"))
                    trash[a] = [m["uidl"] for m in listed if m["state"] == "trash"]
                where = {}  # token -> [(address, uidl, state)]
                for a in USERS:
                    for u, t in live[a].items():
                        where.setdefault(t, []).append((a, u, "live"))
                    for u in trash[a]:
                        where.setdefault(uidl_token.get((a, u)), []).append((a, u, "trash"))
                lost = sorted(t for t in acked if t not in where)
                if not lost or time.monotonic() > end:
                    break
                time.sleep(0.5)

            twice = {t: w for t, w in where.items() if len(w) > 1}
            came_back = sorted((a, u) for (a, u) in deleted_acked if u in live[a])
            misrouted = {t: w for t, w in where.items() if t in sent and any(a != sent[t] for a, _, _ in w)}
            print(f"\nfaults: {kills} SIGKILLs; acknowledged {len(acked)} (mx {counters['mx']}, submission "
                  f"{counters['submission']}); found {sum(1 for t in acked if t in where)}; in doubt and delivered "
                  f"{sum(1 for t in where if t in sent and t not in acked)}; duplicated {len(twice)}; POP3 sessions "
                  f"{counters['pop3_sessions']} deleting {counters['deleted']}; admin adds {counters['admin']}; "
                  f"client errors {counters['errors']}", flush=True)
            self.assertEqual(lost, [], "acknowledged messages lost")
            self.assertEqual(twice, {}, "messages delivered twice")
            self.assertEqual(came_back, [], "acknowledged deletions undone")
            self.assertNotIn(None, where, "a message in the trash that no session deleted")
            self.assertEqual(misrouted, {}, "messages in the wrong mailbox")
            self.assertEqual([t for t in where if t not in sent], [], "a message nobody sent")
            users = {u["address"] for u in json.loads(vmx.ok("user", "list", "--json"))}
            self.assertEqual([a for a in admin_acked if a not in users], [], "acknowledged admin changes lost")
            self.check_log_clean(vmx, list(sent))
            self.assertEqual(vmx.stop(), 0)
        finally:
            vmx.close()


if __name__ == "__main__":
    unittest.main()
