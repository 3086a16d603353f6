"""vaultmx-bench, the load harness: its argument errors, bounded runs against its own discard
server (including a dead port, a silent server and paced --rate runs), and short runs against the
real daemon whose acknowledged messages must all be in the store and come back over POP3S."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from daemon_harness import BIN_DIR, VAULTMX, Daemon, free_port, init_instance, wait_for_port, write_config  # noqa: E402

BENCH = os.path.join(BIN_DIR, "vaultmx-bench")
CHEAP_ARGON2 = "\n[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n"
SCENARIO_KEYS = {"scenario", "target", "tls", "connections", "threads", "wall_s", "messages", "messages_per_s",
                 "bytes", "mb_per_s", "transactions", "transactions_per_s", "sessions", "recipients",
                 "client_cpu_s", "latency_ms", "errors", "errors_total"}
LATENCY_KEYS = {"count", "p50", "p90", "p99", "p999", "max"}


def bench(*args, timeout=120):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=timeout)


def bench_json(testcase, *args, timeout=120):
    r = bench(*args, "--json", timeout=timeout)
    testcase.assertEqual(r.returncode, 0, r.stderr)
    return json.loads(r.stdout)


def write_file(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def check_scenario_shape(testcase, result, steps):
    testcase.assertTrue(SCENARIO_KEYS <= set(result), SCENARIO_KEYS - set(result))
    testcase.assertEqual(set(result["latency_ms"]), set(steps))
    for step, figures in result["latency_ms"].items():
        testcase.assertEqual(set(figures), LATENCY_KEYS, step)
        ordered = [figures[k] for k in ("p50", "p90", "p99", "p999", "max")]
        testcase.assertEqual(ordered, sorted(ordered), step)
        testcase.assertGreater(figures["count"], 0, step)
    testcase.assertEqual(result["errors_total"], sum(result["errors"].values()))
    testcase.assertGreaterEqual(result["client_cpu_s"], 0)


class Sink:
    """`vaultmx-bench sink` on a free port; stop() returns what it says it discarded."""

    def __init__(self, *extra):
        self.port = free_port()
        self.proc = subprocess.Popen([BENCH, "sink", "--listen", f"127.0.0.1:{self.port}", "--shards", "1", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening "), line + self.proc.stderr.read()

    def stop(self):
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return err


class Arguments(unittest.TestCase):
    """Bad arguments: exit status 2 and one line that names the problem, before any connection."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-bench-")
        cls.users = write_file(cls.tmp.name, "users", "a@x.test pw\nb@x.test pw\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def refused(self, *args, mentions):
        r = bench(*args, timeout=30)
        self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(mentions, lines[0])
        self.assertTrue(lines[0].startswith("vaultmx-bench: "), lines[0])

    def test_smtp_argument_errors(self):
        t = ["--target", "127.0.0.1:1"]
        self.refused("smtp", "--messages", "1", "--rcpt", "a@x.test", mentions="--target")
        self.refused("smtp", *t, "--rcpt", "a@x.test", mentions="--messages")
        self.refused("smtp", *t, "--messages", "1", "--duration", "1", "--rcpt", "a@x.test", mentions="excludes")
        self.refused("smtp", *t, "--messages", "1", mentions="recipient")
        self.refused("smtp", *t, "--messages", "1", "--rcpt", "not-an-address", mentions="not-an-address")
        self.refused("smtp", *t, "--messages", "1", "--rcpt", "a@x.test", "--from", "a b@x.test", mentions="--from")
        self.refused("smtp", *t, "--messages", "1", "--rcpt", "a@x.test", "--size", "10q", mentions="--size")
        self.refused("smtp", *t, "--messages", "1", "--rcpt", "a@x.test", "--size", "100g", mentions="--size")
        self.refused("smtp", *t, "--messages", "1", "--rcpt-file", "/nonexistent/rcpts", mentions="/nonexistent/rcpts")
        self.refused("smtp", *t, "--messages", "1", "--rcpt", "a@x.test", "--auth", "u:p", mentions="--auth")
        self.refused("smtp", *t, "--messages", "1", "--rcpt", "a@x.test", "--connections", "0", mentions="--connections")
        self.refused("smtp", "--target", "localhost", "--messages", "1", "--rcpt", "a@x.test", mentions="HOST:PORT")
        dist = write_file(self.tmp.name, "dist", "10k 5\n20k\n")
        self.refused("smtp", *t, "--messages", "1", "--rcpt", "a@x.test", "--size-dist", dist, mentions="line 2")
        self.refused("smtp", *t, "--messages", "1", "--rcpt", "a@x.test", "--starttls", "--tls", mentions="excludes")
        for rate in ("0", "-5", "abc", "nan", "inf", "1e9", "10/s", ""):
            self.refused("smtp", *t, "--messages", "1", "--rcpt", "a@x.test", "--rate", rate, mentions="--rate")

    def test_pop3_mixed_and_sink_argument_errors(self):
        t = ["--target", "127.0.0.1:1"]
        self.refused("pop3", *t, "--users", self.users, mentions="--sessions")
        self.refused("pop3", *t, "--users", self.users, "--sessions", "1", "--rate", "10", mentions="--rate")
        self.refused("pop3", *t, "--users", self.users, "--sessions", "1", "--connections", "3", mentions="2 users")
        bad = write_file(self.tmp.name, "bad-users", "lonely@x.test\n")
        self.refused("pop3", *t, "--users", bad, "--sessions", "1", "--connections", "1", mentions="address password")
        self.refused("mixed", "--smtp-target", "127.0.0.1:1", "--pop3-target", "127.0.0.1:2", "--users", self.users,
                     "--rcpt", "a@x.test", "--duration", "1", "--ratio", "4-1", mentions="--ratio")
        self.refused("sink", "--listen", "127.0.0.1:1", "--tls-cert", "c.pem", mentions="--tls-key")
        self.refused("nonsense", mentions="subcommand")


class AgainstTheSink(unittest.TestCase):
    """Bounded runs against the discard server: JSON shape, counts that agree with the server's,
    and the failure paths (nobody listening, a server that never speaks)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-bench-")
        cert, key = os.path.join(cls.tmp.name, "cert.pem"), os.path.join(cls.tmp.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=sink.test"],
                       check=True, capture_output=True, timeout=60)
        cls.cert, cls.key = cert, key

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_plain_run_by_count(self):
        sink = Sink()
        ack_log = os.path.join(self.tmp.name, "acks")
        result = bench_json(self, "smtp", "--target", f"127.0.0.1:{sink.port}", "--connections", "8",
                            "--messages", "300", "--rcpt", "a@x.test", "--rcpt", "b@x.test", "--rcpts-per-msg", "2",
                            "--msgs-per-conn", "7", "--size", "4k", "--ack-log", ack_log)
        said = sink.stop()
        check_scenario_shape(self, result, {"connect", "transaction", "end_of_data"})
        self.assertEqual((result["scenario"], result["tls"]), ("smtp", "none"))
        self.assertEqual(result["messages"], 300)
        self.assertEqual(result["recipients"], 600)
        self.assertEqual(result["errors_total"], 0, result["errors"])
        self.assertNotIn("late_starts", result)
        self.assertIn("300 messages", said)
        with open(ack_log) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 300)
        self.assertEqual(len({line.split()[0] for line in lines}), 300)  # every Message-ID unique
        self.assertTrue(all(line.split()[1] in ("a@x.test,b@x.test", "b@x.test,a@x.test") for line in lines))

    def test_starttls_pipelined_run_by_duration(self):
        sink = Sink("--tls-cert", self.cert, "--tls-key", self.key)
        result = bench_json(self, "smtp", "--target", f"127.0.0.1:{sink.port}", "--connections", "4",
                            "--duration", "1", "--rcpt", "a@x.test", "--starttls", "--pipelining", "--size", "20k")
        sink.stop()
        check_scenario_shape(self, result, {"connect", "tls_handshake", "transaction", "end_of_data"})
        self.assertEqual(result["tls"], "starttls")
        self.assertGreater(result["messages"], 0)
        self.assertEqual(result["errors_total"], 0, result["errors"])
        self.assertLess(result["wall_s"], 60)

    def check_paced(self, result, rate):
        # Loose on purpose: a shared machine's noise must not fail the test, a harness that
        # ignores --rate (thousands a second against the sink) or stalls must.
        self.assertEqual(result["rate_per_s"], rate)
        self.assertGreaterEqual(result["messages_per_s"], 0.5 * rate, result)
        self.assertLessEqual(result["messages_per_s"], 1.5 * rate, result)
        self.assertEqual(result["errors_total"], 0, result["errors"])
        self.assertLessEqual(result["late_starts"], result["messages"])
        self.assertLess(result["wall_s"], 10)

    def test_paced_sessions_keep_the_rate(self):
        sink = Sink()
        result = bench_json(self, "smtp", "--target", f"127.0.0.1:{sink.port}", "--connections", "10",
                            "--duration", "2", "--rate", "200", "--msgs-per-conn", "1", "--threads", "2",
                            "--rcpt", "a@x.test")
        sink.stop()
        check_scenario_shape(self, result, {"connect", "transaction", "end_of_data"})
        self.check_paced(result, 200)
        self.assertEqual(result["latency_ms"]["connect"]["count"], result["messages"])  # one session a message
        eod, transaction = result["latency_ms"]["end_of_data"], result["latency_ms"]["transaction"]
        self.assertEqual(eod["count"], result["messages"])
        self.assertLessEqual(eod["p50"], transaction["p50"])  # a part of the transaction

    def test_paced_transactions_keep_the_rate(self):
        sink = Sink()
        result = bench_json(self, "smtp", "--target", f"127.0.0.1:{sink.port}", "--connections", "4",
                            "--duration", "1.5", "--rate", "100.5", "--msgs-per-conn", "5", "--rcpt", "a@x.test")
        sink.stop()
        check_scenario_shape(self, result, {"connect", "transaction", "end_of_data"})
        self.check_paced(result, 100.5)
        self.assertLess(result["latency_ms"]["connect"]["count"], result["messages"])  # connections reused

    def test_paced_text_report(self):
        sink = Sink()
        r = bench("smtp", "--target", f"127.0.0.1:{sink.port}", "--messages", "20", "--rate", "40",
                  "--msgs-per-conn", "1", "--rcpt", "a@x.test")
        sink.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        for words in ("paced at", "40.0/s asked", "late starts", "end_of_data"):
            self.assertIn(words, r.stdout)

    def test_text_report(self):
        sink = Sink()
        r = bench("smtp", "--target", f"127.0.0.1:{sink.port}", "--messages", "20", "--rcpt", "a@x.test")
        sink.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        for words in ("acknowledged", "latency ms", "p99.9", "errors         none", "client CPU"):
            self.assertIn(words, r.stdout)
        self.assertNotIn("late starts", r.stdout)  # closed loop: nothing is scheduled

    def test_nobody_listening_is_counted_not_fatal(self):
        result = bench_json(self, "smtp", "--target", f"127.0.0.1:{free_port()}", "--connections", "2",
                            "--duration", "0.5", "--rcpt", "a@x.test")
        self.assertEqual(result["messages"], 0)
        self.assertGreater(result["errors"].get("connect", 0), 0, result["errors"])

    def test_wrong_protocol_is_counted_by_kind(self):
        sink = Sink()  # plain SMTP: a TLS client fails its handshake, a POP3 client its greeting
        target = f"127.0.0.1:{sink.port}"
        tls = bench_json(self, "smtp", "--target", target, "--connections", "2", "--messages", "4",
                         "--rcpt", "a@x.test", "--tls")
        users = write_file(self.tmp.name, "users", "a@x.test pw\n")
        pop3 = bench_json(self, "pop3", "--target", target, "--users", users, "--connections", "1",
                          "--sessions", "2")
        sink.stop()
        self.assertEqual((tls["messages"], tls["errors"]), (0, {"tls": 4}))
        self.assertEqual((pop3["messages"], pop3["errors"]), (0, {"protocol": 2}))

    def test_silent_server_times_out(self):
        with socket.socket() as listener:  # the kernel completes the handshake; nobody ever speaks
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
            port = listener.getsockname()[1]
            result = bench_json(self, "smtp", "--target", f"127.0.0.1:{port}", "--connections", "2",
                                "--messages", "2", "--rcpt", "a@x.test", "--timeout-s", "1")
        self.assertEqual(result["messages"], 0)
        self.assertEqual(result["errors"].get("timeout"), 2, result["errors"])


class ScriptedServer:
    """A loopback server that runs `script(conn)` for every connection, on a thread of its own."""

    def __init__(self, script):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.run_one, args=(conn,), daemon=True).start()

    def run_one(self, conn):
        try:
            with conn:
                self.script(conn)
        except OSError:
            pass

    def close(self):
        self.listener.close()


def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data


class HostileServers(unittest.TestCase):
    """Servers that break off, never end a line, or never end a message: each run ends within its
    bounds, exit status 0, the failure counted by kind, nothing counted as done."""

    def run_against(self, script, *args):
        server = ScriptedServer(script)
        try:
            return bench_json(self, *args[:1], "--target", f"127.0.0.1:{server.port}", *args[1:], timeout=60)
        finally:
            server.close()

    def test_server_closing_mid_transaction(self):
        def script(conn):
            conn.sendall(b"220 mx\r\n")
            read_line(conn)
            conn.sendall(b"250-mx\r\n250 PIPELINING\r\n")
            read_line(conn)
            conn.sendall(b"250 ok\r\n")  # MAIL accepted, then the server is gone
        result = self.run_against(script, "smtp", "--messages", "3", "--rcpt", "a@x.test", "--connections", "1")
        self.assertEqual(result["messages"], 0)
        self.assertEqual(result["errors"], {"closed": 3})

    def test_endless_reply_line(self):
        def script(conn):
            conn.sendall(b"220 " + b"x" * 100000)
            time.sleep(2)
        result = self.run_against(script, "smtp", "--messages", "1", "--rcpt", "a@x.test", "--connections", "1")
        self.assertEqual(result["errors"], {"protocol": 1})

    def test_endless_message_is_cut_at_the_time_limit(self):
        def script(conn):
            conn.sendall(b"+OK ready\r\n")
            for reply in (b"+OK\r\n", b"+OK\r\n", b"+OK 1 100\r\n", b"+OK\r\n1 a\r\n.\r\n", b"+OK\r\n"):
                read_line(conn)
                conn.sendall(reply)
            while True:  # the message of RETR 1 never ends
                conn.sendall(b"more text\r\n" * 1000)
        with tempfile.TemporaryDirectory(prefix="vmx-bench-") as folder:
            users = write_file(folder, "users", "a@x.test pw\n")
            started = time.monotonic()
            result = self.run_against(script, "pop3", "--users", users, "--connections", "1", "--sessions", "1",
                                      "--time-limit-s", "2")
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(result["messages"], 0)
        self.assertEqual(result["errors"], {"unfinished": 1})


class AgainstTheDaemon(unittest.TestCase):
    """Short runs against vaultmxd: every acknowledged message is in the store, once, and POP3S
    retrieves them all; refused recipients are counted by code; mixed reports both sides."""

    USERS = [f"load{i}@bench.test" for i in range(4)]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-bench-")
        folder = cls.tmp.name
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        config = write_config(folder, ports, extra=CHEAP_ARGON2)
        init_instance(config, "--self-signed")
        cls.daemon = Daemon(existing=(folder, ports, config)).start()
        assert wait_for_port(ports["pop3s"])
        cls.cli("org", "add", "Bench Org", "--plan", "pro")
        cls.cli("domain", "add", "bench.test", "--org", "Bench Org")
        lines = []
        for i, address in enumerate(cls.USERS):
            cls.cli("user", "add", address, "--password-stdin", stdin=f"load password {i}\n")
            lines.append(f"{address} load password {i}")
        cls.users_file = write_file(folder, "users", "\n".join(lines) + "\n")
        cls.rcpt_file = write_file(folder, "rcpts", "\n".join(cls.USERS) + "\n")

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        cls.tmp.cleanup()
        assert code == 0, code

    @classmethod
    def cli(cls, *args, stdin=None):
        r = subprocess.run([VAULTMX, "-c", cls.daemon.config, *args], input=stdin, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return r.stdout

    def mailbox_counts(self):
        return {a: sum(1 for m in json.loads(self.cli("user", "mailbox", a, "--json")) if m["state"] == "live")
                for a in self.USERS}

    def wait_for_counts(self, expected, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            counts = self.mailbox_counts()
            if counts == expected:
                return counts
            time.sleep(0.2)
        return self.mailbox_counts()

    def test_1_smtp_acknowledged_messages_are_stored_and_retrieved(self):
        before = self.mailbox_counts()
        ack_log = os.path.join(self.tmp.name, "acks")
        result = bench_json(self, "smtp", "--target", f"127.0.0.1:{self.daemon.ports['smtp']}", "--connections",
                            "6", "--messages", "120", "--rcpt-file", self.rcpt_file, "--starttls", "--pipelining",
                            "--ack-log", ack_log)
        check_scenario_shape(self, result, {"connect", "tls_handshake", "transaction", "end_of_data"})
        self.assertEqual(result["messages"], 120, result["errors"])
        expected = dict(before)
        with open(ack_log) as f:
            for line in f:
                for rcpt in line.split()[1].split(","):
                    expected[rcpt] += 1
        self.assertEqual(sum(expected.values()) - sum(before.values()), 120)
        self.assertEqual(self.wait_for_counts(expected), expected)

        result = bench_json(self, "pop3", "--target", f"127.0.0.1:{self.daemon.ports['pop3s']}", "--tls",
                            "--users", self.users_file, "--connections", "4", "--sessions", "4")
        check_scenario_shape(self, result, {"connect", "tls_handshake", "login", "retr"})
        self.assertEqual(result["errors_total"], 0, result["errors"])
        self.assertEqual(result["transactions"], 4)
        self.assertEqual(result["messages"], sum(expected.values()))

    def test_2_refused_recipients_are_counted_by_code(self):
        result = bench_json(self, "smtp", "--target", f"127.0.0.1:{self.daemon.ports['smtp']}", "--messages", "5",
                            "--rcpt", "nobody@bench.test", "--rcpt", "someone@elsewhere.test")
        self.assertEqual(result["messages"], 0)
        self.assertEqual(result["errors"], {"550": 5}, result["errors"])

    def test_3_mixed_reports_both_sides(self):
        result = bench_json(self, "mixed", "--smtp-target", f"127.0.0.1:{self.daemon.ports['smtp']}",
                            "--pop3-target", f"127.0.0.1:{self.daemon.ports['pop3s']}", "--pop3-tls",
                            "--users", self.users_file, "--rcpt-file", self.rcpt_file, "--connections", "6",
                            "--ratio", "2:1", "--duration", "1", "--dele")
        self.assertEqual(result["scenario"], "mixed")
        self.assertEqual((result["smtp"]["connections"], result["pop3"]["connections"]), (4, 2))
        self.assertGreater(result["smtp"]["messages"], 0)
        self.assertGreater(result["pop3"]["transactions"], 0)
        self.assertEqual(result["smtp"]["errors_total"] + result["pop3"]["errors_total"], 0,
                         (result["smtp"]["errors"], result["pop3"]["errors"]))


if __name__ == "__main__":
    unittest.main()
