"""The store on a real single-node Ceph cluster from scripts/ceph-dev: the storage seam's conformance
tests (tests/store/backend_conformance_test.cc, Rados/*), and the store's own tests (mailbox, queues,
temp store, keyring, rewrap job, lane) on environments that live in RADOS objects, with their checks
that no clear text reaches storage reading the objects' omaps. Slow (a real cluster): the release
pass runs it."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ceph_dev_harness import ROOT, CephDev  # noqa: E402

BIN = os.environ.get("VMX_BIN_DIR", os.path.join(ROOT, "build", "bin"))


class StoreOnRados(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = CephDev()
        cls.conf = cls.cluster.conf

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

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
