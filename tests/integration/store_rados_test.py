"""The store on a real single-node Ceph cluster from scripts/ceph-dev: the storage seam's conformance
tests (tests/store/backend_conformance_test.cc, Rados/*), and the store's own tests (mailbox, queues,
temp store, keyring, rewrap job, lane) on environments that live in RADOS objects, with their checks
that no clear text reaches storage reading the objects' omaps. Slow (a real cluster): the release
pass runs it."""
import os
import re
import subprocess
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CEPH_DEV = os.path.join(ROOT, "scripts", "ceph-dev")
BIN = os.environ.get("VMX_BIN_DIR", os.path.join(ROOT, "build", "bin"))


class StoreOnRados(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="vmx-rados-")
        started = subprocess.run([CEPH_DEV, "start", cls.folder.name], capture_output=True, text=True, timeout=240)
        if started.returncode != 0:
            raise RuntimeError("ceph-dev start failed: " + started.stderr)
        m = re.fullmatch(r"CEPH_CONF=(.+)", started.stdout.strip().splitlines()[-1])
        cls.conf = m.group(1)

    @classmethod
    def tearDownClass(cls):
        subprocess.run([CEPH_DEV, "stop", cls.folder.name], capture_output=True, timeout=120)
        cls.folder.cleanup()

    def run_tests(self, binary, gtest_filter, at_least):
        env = dict(os.environ, VMX_CEPH_CONF=self.conf)
        r = subprocess.run([os.path.join(BIN, binary), "--gtest_filter=" + gtest_filter], env=env,
                           capture_output=True, text=True, timeout=500)
        print(r.stdout[-3000:])
        self.assertEqual(r.returncode, 0, r.stdout[-4000:] + r.stderr[-2000:])
        self.assertNotIn("SKIPPED", r.stdout)
        passed = re.search(r"\[  PASSED  \] (\d+) test", r.stdout)
        self.assertTrue(passed and int(passed.group(1)) >= at_least, r.stdout[-2000:])

    def test_conformance_on_rados(self):
        self.run_tests("store_backend_test", "Rados/*", 14)

    def test_the_store_on_rados(self):
        # The map's growth is LMDB's alone.
        self.run_tests("store_space_test",
                       "-LaneTest.MapGrowsUntilItsMaximumThenMapFullAndStillUsable:"
                       "LaneTest.TaskWithOpsIsRefusedAndTaskGrowsTheMap", 45)


if __name__ == "__main__":
    unittest.main()
