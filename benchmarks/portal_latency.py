"""Page latency of vaultmx-portal with many signed-in users: a test daemon and portal (the
integration harness), USERS users signed in, then one client thread per user loading /security (the
heaviest page: three questions to the daemon) over its own keep-alive HTTPS connection, ROUNDS
times, pausing THINK_MS between pages (a person reading; 0: as fast as it can, which measures
throughput and queueing rather than a page's time). Prints p50, p99 and the slowest in ms. Sign-in
(Argon2id, deliberately slow) is not timed.
Run from build/: VMX_BIN_DIR=$PWD/bin python3 ../benchmarks/portal_latency.py [USERS] [ROUNDS] [THINK_MS]"""
import random
import http.client
import os
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from daemon_harness import Daemon, free_port, init_instance, vaultmx_cli, write_config  # noqa: E402
from portal_harness import Browser, Portal, portal_config, portal_ports, unverified  # noqa: E402

CHEAP_ARGON2 = "\n[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n"
PASSWORD = "bench secret 1Qa!"


def main():
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    think_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    with tempfile.TemporaryDirectory(prefix="vmx-portal-bench-") as folder:
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        https_port, redirect_port = portal_ports()
        config = write_config(folder, ports, extra=CHEAP_ARGON2 + portal_config(folder, https_port, redirect_port))
        init_instance(config, "--self-signed")
        with Daemon(existing=(folder, ports, config)) as daemon, Portal(config, folder, https_port, redirect_port):
            vaultmx_cli(config, "org", "add", "Bench Org", "--plan", "pro")
            vaultmx_cli(config, "domain", "add", "bench.test", "--org", "Bench Org")
            cookies = []
            for n in range(users):
                address = f"user{n}@bench.test"
                vaultmx_cli(config, "user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")
                b = Browser(https_port)
                r, _ = b.sign_in(address, PASSWORD)
                assert r.status == 200, r.status
                cookies.append("; ".join(f"{k}={v}" for k, v in b.cookies.items()))
            latencies = []
            lock = threading.Lock()
            start = threading.Barrier(users)

            def client(cookie):
                conn = http.client.HTTPSConnection("127.0.0.1", https_port, context=unverified(), timeout=30)
                mine = []
                start.wait()
                for _ in range(rounds):
                    if think_ms:
                        time.sleep(random.uniform(0, 2 * think_ms) / 1000)
                    t0 = time.perf_counter()
                    conn.request("GET", "/security", headers={"Host": f"127.0.0.1:{https_port}", "Cookie": cookie})
                    r = conn.getresponse()
                    r.read()
                    mine.append((time.perf_counter() - t0) * 1000)
                    assert r.status == 200, r.status
                conn.close()
                with lock:
                    latencies.extend(mine)

            threads = [threading.Thread(target=client, args=(c,)) for c in cookies]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            latencies.sort()
            p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
            print(f"portal /security: {users} signed-in users x {rounds} pages (think {think_ms} ms) = {len(latencies)} pages in "
                  f"{elapsed:.1f} s ({len(latencies) / elapsed:.0f}/s); p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, "
                  f"max {latencies[-1]:.1f} ms")
            daemon.stop()


if __name__ == "__main__":
    main()
