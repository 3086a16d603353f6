#!/usr/bin/env python3
"""Micro-benchmarks as JSON: runs `scripts/bench --quick` into a temporary folder of the build and
checks that core_bench, crypto_bench, store_bench and tls_bench each wrote a JSON file that parses
and holds the expected top-level keys with numbers where figures belong. Stdlib only.
Env: VMX_BUILD_DIR, VMX_SOURCE_DIR."""

import json
import numbers
import os
import subprocess
import tempfile
import unittest

BUILD_DIR = os.environ["VMX_BUILD_DIR"]
SOURCE_DIR = os.environ["VMX_SOURCE_DIR"]
RUN_TIMEOUT_S = 120

STORE_ROW_KEYS = ["workload", "value_kib", "writers", "group_commit_appends_per_s", "group_commit_requests_per_txn",
                  "one_per_txn_appends_per_s", "group_over_one_per_txn_ratio"]
TLS_FIGURE_KEYS = ["transfer_mib", "write_bytes", "software_cpu_mb_per_s", "software_wall_mb_per_s",
                   "device_cpu_mb_per_s", "device_wall_mb_per_s", "device_over_software_cpu_ratio",
                   "device_over_software_wall_ratio", "device_seals", "device_opens", "device_fallbacks"]


class MicroJsonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # In the build folder, not /tmp: the store benchmark fsyncs there, and a tmpfs makes it warn.
        cls.tmp = tempfile.TemporaryDirectory(prefix="bench-json-test-", dir=BUILD_DIR)
        cls.out = os.path.join(cls.tmp.name, "results")
        cls.bench = subprocess.run(
            [os.path.join(SOURCE_DIR, "scripts", "bench"), "--quick", "--build-dir", BUILD_DIR, "--out", cls.out],
            capture_output=True, text=True, timeout=RUN_TIMEOUT_S)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def load(self, name):
        self.assertEqual(self.bench.returncode, 0, self.bench.stdout + self.bench.stderr)
        with open(os.path.join(self.out, name + ".json")) as f:
            return json.load(f)

    def check_google_benchmark(self, name):
        doc = self.load(name)
        self.assertIsInstance(doc.get("context"), dict)
        self.assertIsInstance(doc.get("benchmarks"), list)
        self.assertTrue(doc["benchmarks"], f"{name}: no benchmarks")
        for case in doc["benchmarks"]:
            self.assertIn("name", case)
            self.assertFalse(case.get("error_occurred", False), case)

    def test_core_bench(self):
        self.check_google_benchmark("core_bench")

    def test_crypto_bench(self):
        self.check_google_benchmark("crypto_bench")

    def test_store_bench(self):
        doc = self.load("store_bench")
        self.assertEqual(doc.get("benchmark"), "store_bench")
        self.assertIsInstance(doc.get("seconds_per_run"), numbers.Real)
        self.assertEqual(len(doc.get("rows", [])), 18)  # raw and sealed, 3 sizes x 3 writer counts
        for row in doc["rows"]:
            for key in STORE_ROW_KEYS[1:]:
                self.assertIsInstance(row.get(key), numbers.Real, f"{key} in {row}")
            if row["workload"] == "sealed":
                self.assertIsInstance(row.get("stored_bytes_per_body_byte"), numbers.Real, row)
                self.assertIsInstance(row.get("prepare_per_append_us"), numbers.Real, row)

    def test_tls_bench(self):
        doc = self.load("tls_bench")
        self.assertEqual(doc.get("benchmark"), "tls_bench")
        self.assertIsInstance(doc.get("cipher"), str)
        for key in TLS_FIGURE_KEYS:
            self.assertIsInstance(doc.get(key), numbers.Real, key)
        self.assertGreater(doc["device_cpu_mb_per_s"], 0)

    def test_scratch_removed(self):
        self.assertEqual(self.bench.returncode, 0, self.bench.stdout + self.bench.stderr)
        left = [n for n in os.listdir(self.out) if n.startswith("store-scratch")]
        self.assertEqual(left, [], "the store benchmark's scratch folder was left behind")


if __name__ == "__main__":
    unittest.main()
