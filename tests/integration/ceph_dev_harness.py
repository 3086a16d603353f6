"""A single-node Ceph cluster from scripts/ceph-dev for the tests of the store on RADOS."""
import os
import re
import subprocess
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CEPH_DEV = os.path.join(ROOT, "scripts", "ceph-dev")


class CephDev:
    """Starts a cluster in a temporary folder; `conf` is its ceph.conf. stop() ends it."""

    def __init__(self):
        self.folder = tempfile.TemporaryDirectory(prefix="vmx-ceph-")
        started = subprocess.run([CEPH_DEV, "start", self.folder.name], capture_output=True, text=True, timeout=240)
        if started.returncode != 0:
            self.folder.cleanup()
            raise RuntimeError("ceph-dev start failed: " + started.stderr)
        self.conf = re.fullmatch(r"CEPH_CONF=(.+)", started.stdout.strip().splitlines()[-1]).group(1)

    def stop(self):
        subprocess.run([CEPH_DEV, "stop", self.folder.name], capture_output=True, timeout=120)
        self.folder.cleanup()
