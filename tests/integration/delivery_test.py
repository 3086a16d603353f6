"""Local delivery under pressure, against the real daemon: a store lane that refuses writes must turn
into temporary SMTP failures (never a crash, never a lost or doubled message), and the delivery
markers the queue leaves behind are cleaned up, so they stay bounded however much mail goes through."""
import json
import smtplib
import subprocess
import sys
import threading
import time
import unittest

from daemon_harness import VAULTMX, Daemon, init_instance

EXTRA = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1

[smtp]
hostname = "mx.example.test"
"""

USERS = ["ann", "ben", "cat", "dan"]


def cli(daemon, *args):
    r = subprocess.run([VAULTMX, "-c", daemon.config, *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"vaultmx {' '.join(args)}: {r.stderr}")
    return r.stdout


def count(daemon, user):
    return len(json.loads(cli(daemon, "--json", "user", "mailbox", f"{user}@example.test")))


def counts(daemon):
    return {u: count(daemon, u) for u in USERS}


def stats(daemon):
    """`vaultmx stats --json`: one object per shard."""
    return json.loads(cli(daemon, "stats", "--json"))


def marker_totals(daemon):
    """(markers kept by the last clean-up pass, markers removed in all), summed over the shards."""
    shards = stats(daemon)
    return sum(s["markers"] for s in shards), sum(s["markers_removed"] for s in shards)


def wait_for(predicate, timeout=15.0, interval=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def make_daemon(extra):
    d = Daemon(extra=EXTRA + extra)
    init_instance(d.config, "--self-signed")
    d.start()
    cli(d, "org", "add", "Example", "--plan", "pro")
    cli(d, "domain", "add", "example.test", "--org", "Example")
    for u in USERS:
        cli(d, "user", "add", f"{u}@example.test")
    return d


def addr(user):
    return f"{user}@example.test"


def tail(daemon, lines=40):
    return "\n".join(daemon.log_text().splitlines()[-lines:])


class LaneOverload(unittest.TestCase):
    """[store] lane_queue_capacity = 1: nearly every concurrent write finds the lane full."""

    SENDERS = 40
    PER_SENDER = 5

    def setUp(self):
        self.d = make_daemon("\n[store]\nlane_queue_capacity = 1\n")

    def tearDown(self):
        self.d.__exit__(None, None, None)

    def burst(self):
        """SENDERS threads, each on its own connection (a fresh one after a 421), PER_SENDER messages
        each to one or two users. Returns (acknowledged recipients, temporary refusals, failures)."""
        port = self.d.ports["smtp"]
        acknowledged, temporary, failures = [], [], []
        lock = threading.Lock()

        def sender(n):
            s = None
            try:
                for i in range(self.PER_SENDER):
                    rcpts = [addr(USERS[(n + i) % len(USERS)])]
                    if (n + i) % 2:
                        rcpts.append(addr(USERS[(n + i + 1) % len(USERS)]))
                    body = f"Subject: burst {n}-{i}\r\nFrom: b{n}@remote.test\r\n\r\nbody {n} {i}\r\n".encode()
                    try:
                        if s is None:
                            s = smtplib.SMTP("127.0.0.1", port, timeout=30)
                            s.ehlo("burst.remote.test")
                        refused = s.sendmail(f"b{n}@remote.test", rcpts, body)
                        bad = {r: c for r, (c, _) in refused.items() if not 400 <= c < 500}
                        with lock:
                            acknowledged.extend(r for r in rcpts if r not in refused)
                            temporary.extend((n, i, c) for (c, _) in refused.values() if 400 <= c < 500)
                            if bad:
                                failures.append((n, i, "refused", bad))
                    except smtplib.SMTPRecipientsRefused as e:
                        codes = [c for (c, _) in e.recipients.values()]
                        with lock:
                            if all(400 <= c < 500 for c in codes):
                                temporary.append((n, i, codes))
                            else:
                                failures.append((n, i, "recipients", e.recipients))
                        if 421 in codes:
                            s = None  # smtplib closed it
                    except smtplib.SMTPResponseException as e:  # sender refused, data error, banner
                        with lock:
                            if 400 <= e.smtp_code < 500:
                                temporary.append((n, i, e.smtp_code))
                            else:
                                failures.append((n, i, type(e).__name__, e.smtp_code, e.smtp_error))
                        if e.smtp_code == 421 or isinstance(e, smtplib.SMTPConnectError):
                            if s is not None:
                                s.close()
                            s = None
                    except (smtplib.SMTPException, OSError) as e:  # a reset, a refused connect, a close without 421
                        with lock:
                            failures.append((n, i, type(e).__name__, str(e)))
                        if s is not None:
                            s.close()
                        s = None
            finally:
                if s is not None:
                    try:
                        s.quit()
                    except (smtplib.SMTPException, OSError):
                        s.close()

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(self.SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
            self.assertFalse(t.is_alive(), "a sender hung")
        return acknowledged, temporary, failures

    def test_full_lane_answers_4xx_and_loses_nothing(self):
        """Concurrent senders against a one-request lane: every message gets 250 or a 4xx (no 5xx, no
        reset), the daemon survives (it used to die of std::bad_function_call when the lane refused the
        queue write), and each user's mailbox ends up holding exactly the messages acknowledged to it."""
        acknowledged, temporary, failures = self.burst()
        print(f"\n  lane overload: {len(acknowledged)} recipients acknowledged, {len(temporary)} temporary "
              f"refusals, {len(failures)} failures", file=sys.stderr)
        self.assertIsNone(self.d.proc.poll(), "vaultmxd died during the burst:\n" + tail(self.d))
        self.assertEqual(failures, [], tail(self.d))
        self.assertGreater(len(acknowledged), 0)
        self.assertGreater(len(temporary), 0, "the lane never refused a write: the test proved nothing")
        expected = {u: acknowledged.count(addr(u)) for u in USERS}
        self.assertTrue(wait_for(lambda: counts(self.d) == expected, timeout=30, interval=0.25),
                        (counts(self.d), expected, tail(self.d)))
        time.sleep(0.5)  # and nothing arrives late, twice
        self.assertEqual(counts(self.d), expected)
        self.assertIsNone(self.d.proc.poll(), tail(self.d))
        code, err = self.d.stop()
        self.assertEqual(code, 0, err)


class MarkerCleanupBound(unittest.TestCase):
    """[delivery] marker_sweep_s = 1: a clean-up pass every second."""

    ROUNDS = 5
    MESSAGES = 40      # per round
    CONNECTIONS = 4    # per round, MESSAGES / CONNECTIONS messages each
    RECIPIENTS = 2     # per message: one delivery marker each

    def setUp(self):
        self.d = make_daemon("\n[delivery]\nmarker_sweep_s = 1\n")

    def tearDown(self):
        self.d.__exit__(None, None, None)

    def send_round(self, r):
        """MESSAGES messages, each to two users; returns each user's share."""
        per_user = {u: 0 for u in USERS}
        errors = []
        lock = threading.Lock()

        def sender(c):
            try:
                with smtplib.SMTP("127.0.0.1", self.d.ports["smtp"], timeout=30) as s:
                    s.ehlo("rounds.remote.test")
                    for i in range(c, self.MESSAGES, self.CONNECTIONS):
                        users = [USERS[i % len(USERS)], USERS[(i + 1) % len(USERS)]]
                        s.sendmail("r@remote.test", [addr(u) for u in users],
                                   f"Subject: round {r} message {i}\r\n\r\nx\r\n".encode())
                        with lock:
                            for u in users:
                                per_user[u] += 1
            except (smtplib.SMTPException, OSError) as e:
                with lock:
                    errors.append(repr(e))

        threads = [threading.Thread(target=sender, args=(c,)) for c in range(self.CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [], tail(self.d))
        return per_user

    def test_markers_are_removed_and_stay_bounded(self):
        """Round after round of steady traffic, the markers a clean-up pass keeps never exceed two
        rounds' worth (they do not grow with the total), the removed count never exceeds the deliveries
        made; once traffic stops every marker goes (kept 0, removed = every recipient delivery) and
        every message is in its mailbox."""
        per_round = self.MESSAGES * self.RECIPIENTS
        bound = 2 * per_round
        expected = {u: 0 for u in USERS}
        samples = []
        stop = threading.Event()

        def sample():  # markers while mail flows, not only between rounds
            while not stop.wait(0.25):
                try:
                    samples.append(marker_totals(self.d))
                except AssertionError:
                    pass

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            for r in range(self.ROUNDS):
                for u, n in self.send_round(r).items():
                    expected[u] += n
                self.assertTrue(wait_for(lambda: counts(self.d) == expected, timeout=20, interval=0.2),
                                (r, counts(self.d), expected))
                time.sleep(1.2)  # a clean-up pass runs between rounds
                kept, removed = marker_totals(self.d)
                delivered = (r + 1) * per_round
                self.assertLessEqual(kept, bound, (r, kept, removed))
                self.assertLessEqual(removed, delivered, (r, kept, removed))
        finally:
            stop.set()
            sampler.join()
        total = self.ROUNDS * per_round
        self.assertTrue(samples)
        self.assertLessEqual(max(k for k, _ in samples), bound, samples)
        removed_seen = [rm for _, rm in samples]
        self.assertEqual(removed_seen, sorted(removed_seen), "markers_removed went backwards")
        self.assertTrue(wait_for(lambda: marker_totals(self.d) == (0, total), timeout=15, interval=0.25),
                        (marker_totals(self.d), total, stats(self.d)))
        time.sleep(1.5)  # another pass: nothing more is removed, nothing comes back
        self.assertEqual(marker_totals(self.d), (0, total))
        self.assertEqual(counts(self.d), expected)
        self.assertEqual(sum(expected.values()), total)
        self.assertIsNone(self.d.proc.poll(), tail(self.d))
        code, err = self.d.stop()
        self.assertEqual(code, 0, err)


if __name__ == "__main__":
    unittest.main()
