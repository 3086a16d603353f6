"""scripts/ceph-dev: a single-node Ceph cluster on loopback starts (its last line names the config),
takes and gives back an object through `rados`, and stops with every daemon gone. Slow (a real
cluster): the release pass runs it."""
import os
import re
import subprocess
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CEPH_DEV = os.path.join(ROOT, "scripts", "ceph-dev")


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=180, **kw)


def pids(folder):
    run_dir = os.path.join(folder, "run")
    out = []
    for name in os.listdir(run_dir):
        if name.endswith(".pid"):
            with open(os.path.join(run_dir, name)) as f:
                out.append(int(f.read().strip()))
    return out


class CephDevTest(unittest.TestCase):
    def test_start_object_round_trip_stop(self):
        with tempfile.TemporaryDirectory(prefix="vmx-ceph-") as folder:
            started = run(CEPH_DEV, "start", folder)
            self.assertEqual(started.returncode, 0, started.stderr)
            last = started.stdout.strip().splitlines()[-1]
            m = re.fullmatch(r"CEPH_CONF=(.+)", last)
            self.assertTrue(m, last)
            conf = m.group(1)
            self.assertTrue(os.path.isfile(conf))
            try:
                data = os.urandom(100000)
                put = subprocess.run(["rados", "-c", conf, "-p", "vaultmx", "put", "round-trip", "-"], input=data,
                                     capture_output=True, timeout=60)
                self.assertEqual(put.returncode, 0, put.stderr)
                got = subprocess.run(["rados", "-c", conf, "-p", "vaultmx", "get", "round-trip", "-"],
                                     capture_output=True, timeout=60)
                self.assertEqual(got.stdout, data)
                daemons = pids(folder)
                self.assertEqual(len(daemons), 2)  # the monitor and the OSD
            finally:
                stopped = run(CEPH_DEV, "stop", folder)
            self.assertEqual(stopped.returncode, 0, stopped.stderr)
            for pid in daemons:
                self.assertFalse(os.path.exists(f"/proc/{pid}"), f"pid {pid} still runs")


if __name__ == "__main__":
    unittest.main()
