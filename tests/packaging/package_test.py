#!/usr/bin/env python3
"""Packaging test: builds the .deb and .rpm from an already-built release tree with cpack, checks
their metadata, file lists, unit hardening and lintian, then installs the .deb in a throwaway root
(a copy-on-write overlay of this machine's / in a private mount namespace, so nothing reaches the
machine), upgrades it, removes and purges it, and checks what is left; then runs the .rpm's scripts
the same way (install, upgrade, erase). Needs root (skips with exit 77 otherwise). Stdlib only. Env: VMX_BUILD_DIR, VMX_SOURCE_DIR, VMX_CPACK."""

import argparse
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

SKIP = 77
EXPOSURE_MAX = 1.5
UNIT = "usr/lib/systemd/system/vaultmx.service"
SOCKET_UNIT = "usr/lib/systemd/system/vaultmx.socket"
PORTAL_UNIT = "usr/lib/systemd/system/vaultmx-portal.service"
CONFIG = "etc/vaultmx/vaultmx.toml"
KEY = "var/lib/vaultmx/keys/master.key"

# Paths every package must hold (relative, as dpkg-deb -c and rpm -qlp show them without "./" or "/").
EXPECTED_FILES = [
    "usr/sbin/vaultmxd", "usr/sbin/vaultmx-portal", "usr/bin/vaultmx", "usr/bin/vaultmx-bench", CONFIG, UNIT,
    SOCKET_UNIT, PORTAL_UNIT,
    "usr/lib/sysusers.d/vaultmx.conf", "usr/lib/tmpfiles.d/vaultmx.conf", "usr/libexec/vaultmx/vaultmx-setup",
    "usr/share/man/man8/vaultmxd.8.gz", "usr/share/man/man8/vaultmx.8.gz",
    "usr/share/man/man1/vaultmx-bench.1.gz", "usr/share/man/man5/vaultmx.toml.5.gz",
    "usr/share/doc/vaultmx/README.md", "usr/share/doc/vaultmx/operations.md",
    "usr/share/doc/vaultmx/copyright", "usr/share/doc/vaultmx/changelog.gz",
]
# Sandbox settings the unit must carry, exactly (SystemCallFilter and ReadWritePaths are checked apart).
UNIT_REQUIRED = {
    "User": "vaultmx", "CapabilityBoundingSet": "", "Sockets": "vaultmx.socket", "Requires": "vaultmx.socket",
    "NoNewPrivileges": "yes", "ProtectSystem": "strict",
    "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "MemoryDenyWriteExecute": "yes",
    "LockPersonality": "yes", "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes",
}
RUNTIME_LIBS_DEB = ["libc6", "libstdc++6", "libwolfssl", "liburing2", "liblmdb0", "libipsec-mb", "libisal",
                    "libargon2", "libmimalloc", "libopendkim", "libspf2", "libopendmarc", "publicsuffix", "systemd"]
RUNTIME_LIBS_RPM = ["libc.so.6", "libwolfssl.so", "liburing.so", "liblmdb.so", "libIPSec_MB.so", "libisal.so",
                    "libopendkim.so", "libspf2.so", "libopendmarc.so", "publicsuffix-list", "systemd"]
# What a purge may leave in the throwaway root: the kept data, the user database (Debian keeps
# system users), dpkg's and man-db's own state, and the test's own files (systemd-analyze verify
# leaves a marker in /run/systemd).
LEFT_ALLOWED = ("var/lib/vaultmx", "var/lib/dpkg/", "var/cache/man/", "var/cache/debconf/", "var/log/dpkg.log",
                "etc/passwd", "etc/group", "etc/shadow", "etc/gshadow", "etc/.pwd.lock",
                "var/tmp/vaultmx-package-test", "usr/sbin/policy-rc.d", "var/lib/man-db/auto-update",
                "run/systemd/systemd-units-load")


class Checks:
    def __init__(self):
        self.failures = []

    def ok(self, condition, what, detail=""):
        print(("ok   " if condition else "FAIL ") + what + ("" if condition or not detail else f": {detail}"),
              flush=True)
        if not condition:
            self.failures.append(what)
        return condition


def run(cmd, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def unit_settings(text):
    """Key -> list of values, in file order (repeated keys accumulate, as systemd reads them)."""
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def config_value(text, section, key):
    current = None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            current = line.strip("[] ")
        elif current == section and "=" in line:
            k, v = (part.strip() for part in line.split("=", 1))
            if k == key:
                return v.strip('"')
    return None


# ---- the packages themselves ----------------------------------------------------------------------

def build_packages(checks, build_dir, out_dir, cpack, version):
    started = time.monotonic()
    r = run(["cmake", "--build", build_dir, "--target", "vmx_package_inputs"])
    if not checks.ok(r.returncode == 0, "the packaged targets are built", r.stdout[-2000:] + r.stderr[-2000:]):
        return None
    r = run([cpack, "--config", os.path.join(build_dir, "CPackConfig.cmake"), "-B", out_dir])
    checks.ok(r.returncode == 0, "cpack builds the .deb and the .rpm", r.stdout[-3000:] + r.stderr[-3000:])
    bumped_version = version + "+pkgtest1"
    bumped_dir = os.path.join(out_dir, "bumped")
    r = run([cpack, "-G", "DEB", "--config", os.path.join(build_dir, "CPackConfig.cmake"), "-B", bumped_dir,
             "-D", f"CPACK_PACKAGE_VERSION={bumped_version}"])
    checks.ok(r.returncode == 0, "cpack builds a .deb with a bumped version", r.stderr[-2000:])
    print(f"info packages built in {time.monotonic() - started:.1f} s")
    deb = os.path.join(out_dir, f"vaultmx_{version}_amd64.deb")
    rpm = os.path.join(out_dir, f"vaultmx-{version}.x86_64.rpm")
    bumped = os.path.join(bumped_dir, f"vaultmx_{bumped_version}_amd64.deb")
    for path in (deb, rpm, bumped):
        checks.ok(os.path.isfile(path), f"{os.path.basename(path)} exists")
    for path in (deb, rpm):
        if os.path.isfile(path):
            print(f"info size {os.path.basename(path)}: {os.path.getsize(path)} bytes")
    return deb, rpm, bumped, bumped_version


def check_deb(checks, deb, version):
    fields = {}
    for name in ("Package", "Version", "Architecture", "Depends", "Maintainer", "Section", "Description"):
        fields[name] = run(["dpkg-deb", "-f", deb, name]).stdout.strip()
    checks.ok(fields["Package"] == "vaultmx" and fields["Version"] == version and fields["Architecture"] == "amd64",
              "deb: package, version, architecture", str(fields))
    checks.ok(bool(fields["Maintainer"]) and fields["Section"] == "mail" and len(fields["Description"]) > 100,
              "deb: maintainer, section, long description")
    missing = [lib for lib in RUNTIME_LIBS_DEB if lib not in fields["Depends"]]
    checks.ok(not missing, "deb: Depends names the runtime libraries (dpkg-shlibdeps)", f"missing {missing}")
    print(f"info Depends: {fields['Depends']}")
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    checks.ok(conffiles == ["/etc/vaultmx/vaultmx.toml"], "deb: the config is the one conffile", str(conffiles))
    for script in ("postinst", "prerm", "postrm"):
        checks.ok(run(["dpkg-deb", "-I", deb, script]).returncode == 0, f"deb: has {script}")

    listing = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
    entries = {}
    for line in listing:
        parts = line.split()
        entries[parts[-1].lstrip("./").rstrip("/")] = (parts[0], parts[1])
    missing = [f for f in EXPECTED_FILES if f not in entries]
    checks.ok(not missing, "deb: holds every expected file", str(missing))
    programs = sorted(p for p in entries if re.match(r"usr/s?bin/.", p))
    checks.ok(programs == ["usr/bin/vaultmx", "usr/bin/vaultmx-bench", "usr/sbin/vaultmx-portal", "usr/sbin/vaultmxd"],
              "deb: exactly the four programs (no other benchmark binary)", str(programs))
    checks.ok(not any(p.startswith(("usr/local", "var/", "run/")) for p in entries),
              "deb: nothing under /usr/local, /var or /run (made at install time)")
    bad_owner = [p for p, (_, owner) in entries.items() if owner != "root/root"]
    checks.ok(not bad_owner, "deb: every file is root's", str(bad_owner))
    for program in programs:
        checks.ok(entries[program][0] == "-rwxr-xr-x", f"deb: {program} is 0755")


def extract_from_deb(deb, member, dest_dir):
    """Writes one file of the package's data into dest_dir; its path, or None when absent."""
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        for info in tar:
            if info.name.lstrip("./") == member:
                path = os.path.join(dest_dir, os.path.basename(member))
                with open(path, "wb") as f:
                    f.write(tar.extractfile(info).read())
                return path
    return None


def check_unit(checks, deb, work_dir):
    unit_path = extract_from_deb(deb, UNIT, work_dir)
    config_path = extract_from_deb(deb, CONFIG, work_dir)
    if not checks.ok(unit_path is not None and config_path is not None, "unit and config extracted from the deb"):
        return
    settings = unit_settings(open(unit_path).read())
    config = open(config_path).read()
    for key, want in UNIT_REQUIRED.items():
        checks.ok(settings.get(key) == [want], f"unit: {key}={want}", str(settings.get(key)))
    checks.ok("AmbientCapabilities" not in settings, "unit: no ambient capability", str(settings.get("AmbientCapabilities")))
    # The socket unit binds exactly the config's [listen] addresses (the daemon matches them by address).
    socket_path = extract_from_deb(deb, SOCKET_UNIT, work_dir)
    if checks.ok(socket_path is not None, "socket unit extracted from the deb"):
        listens = set(unit_settings(open(socket_path).read()).get("ListenStream", []))
        want = {config_value(config, "listen", k) for k in ("smtp", "submission_tls", "submission", "pop3s")}
        checks.ok(listens == want, "socket unit: ListenStream= are the config's [listen] addresses",
                  f"{sorted(listens)} vs {sorted(want)}")
    filters = settings.get("SystemCallFilter", [])
    allowed = filters[0].split() if filters else []
    checks.ok("@system-service" in allowed and all(s in allowed for s in
              ("io_uring_setup", "io_uring_enter", "io_uring_register")),
              "unit: SystemCallFilter=@system-service plus io_uring_setup/enter/register", str(filters))
    # The writable folders must be exactly the config's data, backup, log and run folders.
    socket = config_value(config, "admin", "socket") or ""
    want_rw = {config_value(config, "paths", "data"), config_value(config, "backup", "dir"), config_value(config, "log", "dir"),
               os.path.dirname(socket)}
    got_rw = set(" ".join(settings.get("ReadWritePaths", [])).split())
    checks.ok(got_rw == want_rw, "unit: ReadWritePaths are exactly the config's data, backup, log and run folders",
              f"{sorted(got_rw)} vs {sorted(want_rw)}")
    credential = settings.get("LoadCredential", [""])[0]
    checks.ok(credential == "master.key:" + (config_value(config, "keys", "master_key_file") or ""),
              "unit: the master key credential comes from the config's key file", credential)

    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("info systemd-analyze not installed: exposure not measured")
        return
    r = run([analyze, "security", "--offline=yes", unit_path])
    m = re.search(r"Overall exposure level for vaultmx\.service: ([0-9.]+)", r.stdout)
    exposure = float(m.group(1)) if m else 99.0
    print(f"info systemd-analyze security exposure: {exposure}")
    checks.ok(exposure <= EXPOSURE_MAX, f"unit: systemd-analyze security exposure at most {EXPOSURE_MAX}",
              r.stdout[-1500:] + r.stderr[-500:])


def check_lintian(checks, deb):
    r = run(["lintian", "--tag-display-limit", "0", deb])
    tags = [line for line in r.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
    for line in tags:
        print(f"info lintian: {line}")
    errors = [line for line in tags if line.startswith("E: ")]
    checks.ok(r.returncode in (0, 1) and not errors, "lintian: no errors", "\n".join(errors) + r.stderr[-500:])
    print(f"info lintian: {len(errors)} errors, {sum(t.startswith('W: ') for t in tags)} warnings")


def check_rpm(checks, rpm, version):
    info = run(["rpm", "-qip", rpm]).stdout
    fields = dict(re.findall(r"^(\w[\w ]*?)\s*: (.*)$", info, re.MULTILINE))
    checks.ok(fields.get("Name") == "vaultmx" and fields.get("Version") == version and
              fields.get("Architecture") == "x86_64", "rpm: name, version, architecture", str(fields))
    checks.ok(bool(fields.get("License")) and bool(fields.get("Summary")) and "io_uring" in info,
              "rpm: licence, summary, description")
    listed = {p.lstrip("/") for p in run(["rpm", "-qlp", rpm]).stdout.split()}
    missing = [f for f in EXPECTED_FILES if f not in listed]
    checks.ok(not missing, "rpm: holds every expected file", str(missing))
    foreign = sorted(p for p in listed if p in ("usr/sbin", "usr/bin", "usr/lib/systemd/system", "usr/share/man/man8"))
    checks.ok(not foreign, "rpm: owns no system folder", str(foreign))
    config = run(["rpm", "-qp", "--configfiles", rpm]).stdout.split()
    checks.ok(config == ["/etc/vaultmx/vaultmx.toml"], "rpm: the config is the one %config file", str(config))
    flags = dict(line.rsplit(" ", 1) for line in
                 run(["rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", rpm]).stdout.splitlines()
                 if " " in line)
    checks.ok(set("cn") <= set(flags.get("/etc/vaultmx/vaultmx.toml", "")), "rpm: the config is %config(noreplace)",
              flags.get("/etc/vaultmx/vaultmx.toml", ""))
    requires = run(["rpm", "-qp", "--requires", rpm]).stdout
    missing = [lib for lib in RUNTIME_LIBS_RPM if lib not in requires]
    checks.ok(not missing, "rpm: requires the runtime libraries and systemd", str(missing))
    scripts = run(["rpm", "-qp", "--scripts", rpm]).stdout
    checks.ok(all(s in scripts for s in ("postinstall", "preuninstall", "postuninstall", "vaultmx-setup")),
              "rpm: %post, %preun and %postun are present")


# ---- the throwaway root (runs inside its own mount namespace) -------------------------------------

class Root:
    def __init__(self, base):
        self.upper = os.path.join(base, "upper")
        self.merged = os.path.join(base, "merged")
        work = os.path.join(base, "work")
        for d in (self.upper, work, self.merged):
            os.mkdir(d)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir=/,upperdir={self.upper},workdir={work}", self.merged], check=True)
        subprocess.run(["mount", "-t", "proc", "proc", self.path("proc")], check=True)
        subprocess.run(["mount", "--bind", "/dev", self.path("dev")], check=True)

        # man-db's trigger rebuilds the whole manual index after each dpkg run; not needed here.
        if os.path.exists(self.path("var/lib/man-db/auto-update")):
            os.unlink(self.path("var/lib/man-db/auto-update"))

    def path(self, rel):
        return os.path.join(self.merged, rel)

    def run(self, *cmd):
        env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"]
        return run(["chroot", self.merged, *env, *cmd])

    def read(self, rel, mode="r"):
        with open(self.path(rel), mode) as f:
            return f.read()

    def ids(self, name, db):
        for line in self.read(db).splitlines():
            parts = line.split(":")
            if parts[0] == name:
                return int(parts[2])
        return None


def check_install(checks, root, deb, version):
    r = root.run("dpkg", "-i", deb)
    checks.ok(r.returncode == 0, "install: dpkg -i succeeds", r.stdout[-3000:] + r.stderr[-3000:])
    print("info postinst says:\n" + "\n".join("     " + l for l in r.stdout.splitlines() if "vaultmx" in l))
    checks.ok("NOT started" in r.stdout, "install: postinst says the service is enabled but not started")
    status = root.run("dpkg-query", "-W", "-f=${Status}|${Version}|${Conffiles}", "vaultmx").stdout
    checks.ok(status.startswith(f"install ok installed|{version}|"), "install: dpkg reports it installed", status)
    checks.ok("/etc/vaultmx/vaultmx.toml" in status, "install: dpkg lists the config as a conffile", status)

    for program in ("/usr/sbin/vaultmxd", "/usr/bin/vaultmx"):
        r = root.run(program, "--version")
        checks.ok(r.returncode == 0 and r.stdout.strip() == version, f"installed {program} --version", r.stdout)
    for program in ("/usr/sbin/vaultmxd", "/usr/bin/vaultmx", "/usr/bin/vaultmx-bench"):
        r = root.run(program, "--help")
        checks.ok(r.returncode == 0 and "Usage" in r.stdout, f"installed {program} --help")
    for unit in (UNIT, PORTAL_UNIT):
        r = root.run("systemd-analyze", "verify", "/" + unit)
        checks.ok(r.returncode == 0 and not r.stderr.strip(), f"installed {unit} passes systemd-analyze verify",
                  r.stdout + r.stderr)
    r = root.run("/usr/sbin/vaultmxd", "-c", "/etc/vaultmx/vaultmx.toml", "--check-config")
    checks.ok(r.returncode == 0, "installed vaultmxd --check-config accepts the installed config", r.stderr)
    checks.ok('listen.smtp = "0.0.0.0:25"' in r.stdout and 'listen.pop3s = "0.0.0.0:995"' in r.stdout,
              "installed config listens on the real ports")
    r = root.run("setpriv", "--reuid=vaultmx", "--regid=vaultmx", "--init-groups",
                 "/usr/sbin/vaultmxd", "-c", "/etc/vaultmx/vaultmx.toml", "--check-config")
    checks.ok(r.returncode == 0, "the vaultmx user can read the installed config", r.stderr)


def check_state(checks, root):
    uid = root.ids("vaultmx", "etc/passwd")
    admin_gid = root.ids("vaultmx-admin", "etc/group")
    checks.ok(uid is not None and admin_gid is not None, "sysusers: user vaultmx and group vaultmx-admin exist")
    passwd = [l for l in root.read("etc/passwd").splitlines() if l.startswith("vaultmx:")]
    checks.ok(bool(passwd) and passwd[0].endswith("/usr/sbin/nologin"), "sysusers: vaultmx has no login shell")

    def mode_owner(rel):
        st = os.lstat(root.path(rel))
        return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid

    key_mode, key_uid, _ = mode_owner(KEY)
    checks.ok(key_mode == 0o400 and key_uid == 0, "postinst: master key is 0400 and root's",
              f"{oct(key_mode)} uid {key_uid}")
    checks.ok(re.fullmatch(r"[0-9a-f]{64}\n", root.read(KEY)) is not None, "postinst: master key is 64 hex digits")
    checks.ok(mode_owner("var/lib/vaultmx/keys")[:2] == (0o700, 0), "tmpfiles: key folder is 0700 root")
    checks.ok(mode_owner("var/lib/vaultmx/data")[:2] == (0o700, uid), "tmpfiles: data folder is 0700 vaultmx")
    not_service = [dirpath + "/" + n for dirpath, dirs, files in os.walk(root.path("var/lib/vaultmx/data"))
                   for n in dirs + files if os.lstat(os.path.join(dirpath, n)).st_uid != uid]
    checks.ok(not not_service, "postinst: the whole store belongs to vaultmx", str(not_service[:5]))
    checks.ok(mode_owner("var/lib/vaultmx/tls/key.pem")[:2] == (0o600, uid),
              "postinst: self-signed TLS key is 0600 vaultmx")
    checks.ok(mode_owner("run/vaultmx") == (0o2751, uid, admin_gid),
              "tmpfiles: /run/vaultmx is 2751 vaultmx:vaultmx-admin", str(mode_owner("run/vaultmx")))
    portal_gid = root.ids("vaultmx-portal", "etc/group")
    checks.ok(root.ids("vaultmx-portal", "etc/passwd") is not None and portal_gid is not None,
              "sysusers: user and group vaultmx-portal exist")
    checks.ok(mode_owner("run/vaultmx/portal") == (0o2750, uid, portal_gid),
              "tmpfiles: /run/vaultmx/portal is 2750 vaultmx:vaultmx-portal", str(mode_owner("run/vaultmx/portal")))
    checks.ok(mode_owner("var/log/vaultmx")[:2] == (0o750, uid), "tmpfiles: /var/log/vaultmx is 0750 vaultmx")
    checks.ok(os.path.islink(root.path("etc/systemd/system/multi-user.target.wants/vaultmx.service")),
              "postinst: the service is enabled")
    daemon = root.path("usr/sbin/vaultmxd")
    running = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe") == daemon:
                running.append(pid)
        except OSError:
            pass
    checks.ok(not running, "postinst: the service is not started", str(running))


def check_daemon_starts(checks, root):
    """The installed daemon as the vaultmx user, less systemd's mount sandbox: given
    CAP_NET_BIND_SERVICE here to bind the real ports itself (under systemd, vaultmx.socket binds
    them and the daemon gets no capability at all; the hardening integration test runs that way),
    the key as a credential (a copy owned by the service, mode 0400, as systemd makes it), in a
    private network namespace so the real ports are free. It must start, bind 25/465/587/995, hold
    no capability once serving, and drain on SIGTERM with exit 0."""
    credentials = root.path("run/credentials/vaultmx.service")
    os.makedirs(credentials)
    shutil.copy(root.path(KEY), os.path.join(credentials, "master.key"))
    os.chown(os.path.join(credentials, "master.key"), root.ids("vaultmx", "etc/passwd"), 0)
    os.chmod(os.path.join(credentials, "master.key"), 0o400)
    command = ["unshare", "--net", "chroot", root.merged, "setpriv", "--reuid=vaultmx", "--regid=vaultmx",
               "--init-groups", "--inh-caps=-all,+net_bind_service", "--ambient-caps=-all,+net_bind_service",
               "--bounding-set=-all,+net_bind_service", "--no-new-privs", "env", "-i",
               "CREDENTIALS_DIRECTORY=/run/credentials/vaultmx.service", "/usr/sbin/vaultmxd", "-c",
               "/etc/vaultmx/vaultmx.toml"]
    daemon = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)

    def events():  # the sealed spool, through the running daemon's admin socket
        r = subprocess.run(["chroot", root.merged, "/usr/bin/vaultmx", "-c", "/etc/vaultmx/vaultmx.toml", "logs", "show"],
                           capture_output=True, text=True)
        return r.stdout

    started = False
    text = ""
    for _ in range(100):
        text = events() if os.path.exists(root.path("run/vaultmx/admin.sock")) else ""
        started = " vaultmxd.start " in text and "source=credential" in text
        if started or daemon.poll() is not None:
            break
        time.sleep(0.1)
    checks.ok(started, "the installed daemon starts with the key credential and binds the real ports",
              text + (daemon.stdout.read() if daemon.poll() is not None else ""))
    status = open(f"/proc/{daemon.pid}/status").read() if daemon.poll() is None else ""
    uid = root.ids("vaultmx", "etc/passwd")
    checks.ok(f"Uid:\t{uid}\t" in status and "CapEff:\t0000000000000000" in status and
              "CapPrm:\t0000000000000000" in status and "CapAmb:\t0000000000000000" in status,
              "the daemon runs as vaultmx and drops the capability it was given once its ports are bound",
              "\n".join(l for l in status.splitlines() if l.startswith(("Uid", "Cap"))))
    daemon.terminate()
    try:
        code = daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        code = daemon.wait()
    checks.ok(code == 0, "the daemon drains and exits 0 on SIGTERM", f"exit {code}")
    shutil.rmtree(root.path("run/credentials"))


def key_digest(root):
    st = os.lstat(root.path(KEY))
    return hashlib.sha256(root.read(KEY, "rb")).hexdigest(), stat.S_IMODE(st.st_mode), st.st_uid


def check_upgrades(checks, root, deb, bumped, bumped_version):
    key_before = key_digest(root)
    meta_before = root.read("var/lib/vaultmx/data/meta", "rb")
    with open(root.path(CONFIG), "a") as f:
        f.write("# changed by the admin\n")
    for package, label in ((deb, "reinstall of the same version"), (bumped, f"upgrade to {bumped_version}")):
        r = root.run("dpkg", "-i", package)
        checks.ok(r.returncode == 0, f"{label}: dpkg -i succeeds", r.stdout[-2000:] + r.stderr[-2000:])
        checks.ok(key_digest(root) == key_before, f"{label}: master key byte-identical, same mode and owner")
        checks.ok(root.read("var/lib/vaultmx/data/meta", "rb") == meta_before, f"{label}: store kept")
        checks.ok(root.read(CONFIG).endswith("# changed by the admin\n"), f"{label}: the admin's config kept")
    version = root.run("dpkg-query", "-W", "-f=${Version}", "vaultmx").stdout
    checks.ok(version == bumped_version, "upgrade: the bumped version is installed", version)
    return key_before


def check_remove_purge(checks, root, key_before):
    r = root.run("dpkg", "-r", "vaultmx")
    checks.ok(r.returncode == 0, "remove: dpkg -r succeeds", r.stderr[-2000:])
    checks.ok(not os.path.exists(root.path("usr/sbin/vaultmxd")), "remove: the programs are gone")
    checks.ok(os.path.exists(root.path(CONFIG)), "remove: the config stays")
    checks.ok(key_digest(root) == key_before, "remove: the master key stays, byte-identical")
    r = root.run("dpkg", "-P", "vaultmx")
    checks.ok(r.returncode == 0, "purge: dpkg -P succeeds", r.stderr[-2000:])
    checks.ok("/var/lib/vaultmx is KEPT" in r.stdout, "purge: says /var/lib/vaultmx is kept and how to remove it")
    status = root.run("dpkg-query", "-W", "-f=${Status}", "vaultmx").stdout
    checks.ok("installed" not in status.replace("not-installed", ""), "purge: dpkg forgets the package", status)
    for rel in ("etc/vaultmx", "var/log/vaultmx", "run/vaultmx", "etc/systemd/system/vaultmx.service",
                "etc/systemd/system/multi-user.target.wants/vaultmx.service"):
        checks.ok(not os.path.lexists(root.path(rel)), f"purge: /{rel} is gone")
    checks.ok(key_digest(root) == key_before, "purge: the master key stays, byte-identical")


def check_nothing_left(checks, root):
    """Everything the overlay's upper layer holds is a change to the machine; after a purge only
    the allowed ones may remain."""
    left = []
    for dirpath, dirs, files in os.walk(root.upper):
        for name in dirs + files:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root.upper)
            if rel.startswith(LEFT_ALLOWED):
                continue
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode) and os.path.isdir("/" + rel):
                continue  # a folder of the machine copied up when something inside it changed
            whiteout = stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
            left.append(("removed " if whiteout else "left ") + "/" + rel)
    checks.ok(not left, "purge: nothing is left outside /var/lib/vaultmx (and the user database)",
              "\n  ".join([""] + left[:40]))


def check_rpm_install(checks, base, rpm):
    """The .rpm's scripts on this machine's userland: rpm's database knows none of the Debian
    libraries, so dependencies are not checked here (check_rpm lists them)."""
    root = Root(base)
    stage = root.path("var/tmp/vaultmx-package-test")
    os.makedirs(stage, exist_ok=True)
    shutil.copy(rpm, stage)
    package = "/var/tmp/vaultmx-package-test/" + os.path.basename(rpm)
    r = root.run("rpm", "-i", "--nodeps", package)
    checks.ok(r.returncode == 0 and "NOT started" in r.stdout, "rpm install: %post sets up, enables, does not start",
              r.stdout[-2000:] + r.stderr[-2000:])
    checks.ok(os.path.exists(root.path(KEY)) and key_digest(root)[1:] == (0o400, 0),
              "rpm install: master key is 0400 and root's")
    checks.ok(os.path.islink(root.path("etc/systemd/system/multi-user.target.wants/vaultmx.service")),
              "rpm install: the service is enabled")
    r = root.run("/usr/sbin/vaultmxd", "-c", "/etc/vaultmx/vaultmx.toml", "--check-config")
    checks.ok(r.returncode == 0, "rpm install: vaultmxd --check-config accepts the installed config", r.stderr)
    key_before = key_digest(root)
    r = root.run("rpm", "-U", "--replacepkgs", "--nodeps", package)
    checks.ok(r.returncode == 0 and key_digest(root) == key_before, "rpm upgrade: master key byte-identical",
              r.stderr[-2000:])
    r = root.run("rpm", "-e", "--nodeps", "vaultmx")
    checks.ok(r.returncode == 0, "rpm erase: succeeds", r.stderr[-2000:])
    checks.ok(not os.path.exists(root.path("usr/sbin/vaultmxd")) and
              not os.path.lexists(root.path("etc/systemd/system/multi-user.target.wants/vaultmx.service")),
              "rpm erase: programs gone, service disabled")
    checks.ok(key_digest(root) == key_before, "rpm erase: the master key stays, byte-identical")



def inside(args):
    checks = Checks()
    os.mkdir(os.path.join(args.base, "deb"))
    os.mkdir(os.path.join(args.base, "rpm"))
    try:
        root = Root(os.path.join(args.base, "deb"))
    except subprocess.CalledProcessError as e:
        checks.ok(False, "an overlay of / can be mounted for the throwaway root (needs CAP_SYS_ADMIN)", str(e))
        return 1
    stage = root.path("var/tmp/vaultmx-package-test")
    os.makedirs(stage)
    for package in (args.deb, args.bumped):
        shutil.copy(package, stage)
    # Belt and braces: no service may start from the throwaway root.
    if not os.path.exists(root.path("usr/sbin/policy-rc.d")):
        with open(root.path("usr/sbin/policy-rc.d"), "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(root.path("usr/sbin/policy-rc.d"), 0o755)
    if root.run("dpkg-query", "-W", "vaultmx").returncode == 0 and \
            "not-installed" not in root.run("dpkg-query", "-W", "-f=${Status}", "vaultmx").stdout:
        checks.ok(False, "vaultmx is not already installed on this machine")
        return 1
    if os.path.exists("/var/lib/vaultmx"):
        checks.ok(False, "/var/lib/vaultmx does not exist on this machine (the test compares against it)")
        return 1
    in_root = "/var/tmp/vaultmx-package-test/"
    check_install(checks, root, in_root + os.path.basename(args.deb), args.version)
    check_state(checks, root)
    check_daemon_starts(checks, root)
    key_before = check_upgrades(checks, root, in_root + os.path.basename(args.deb),
                                in_root + os.path.basename(args.bumped), args.bumped_version)
    check_remove_purge(checks, root, key_before)
    check_nothing_left(checks, root)
    check_rpm_install(checks, os.path.join(args.base, "rpm"), args.rpm)
    return 1 if checks.failures else 0


# ---- driver ---------------------------------------------------------------------------------------

def outside():
    if os.geteuid() != 0:
        print("SKIP: the packaging test needs root (it installs the .deb into a throwaway root); run it as root")
        return SKIP
    build_dir = os.environ.get("VMX_BUILD_DIR", "build")
    source_dir = os.environ.get("VMX_SOURCE_DIR", ".")
    cpack = os.environ.get("VMX_CPACK", "cpack")
    checks = Checks()
    tools = ["cmake", cpack, "dpkg-deb", "dpkg-shlibdeps", "lintian", "rpm", "rpmbuild", "unshare", "chroot",
             "setpriv", "gzip"]
    missing = [t for t in tools if not shutil.which(t)]
    if not checks.ok(not missing, "packaging tools installed (scripts/install-deps)", str(missing)):
        return 1
    version = re.search(r"project\(vaultmx VERSION ([0-9.]+)",
                        open(os.path.join(source_dir, "CMakeLists.txt")).read()).group(1)
    work = tempfile.mkdtemp(prefix="packaging-test-", dir=build_dir)
    try:
        built = build_packages(checks, build_dir, os.path.join(work, "out"), cpack, version)
        if built is None or checks.failures:
            return 1
        deb, rpm, bumped, bumped_version = built
        check_deb(checks, deb, version)
        check_unit(checks, deb, work)
        check_lintian(checks, deb)
        check_rpm(checks, rpm, version)
        # The throwaway root: a tmpfs and an overlay, both private to a new mount namespace.
        base = os.path.join(work, "root")
        os.mkdir(base)
        script = (f"mount -t tmpfs -o size=2g,mode=0755 tmpfs {base} && exec {sys.executable} "
                  f"{os.path.abspath(__file__)} --inside --base {base} --deb {deb} --rpm {rpm} --bumped {bumped} "
                  f"--version {version} --bumped-version {bumped_version}")
        started = time.monotonic()
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                           stdin=subprocess.DEVNULL)
        print(f"info install, upgrades and purge took {time.monotonic() - started:.1f} s")
        checks.ok(r.returncode == 0, "install, upgrade, remove and purge in throwaway roots")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'FAILED' if checks.failures else 'PASSED'}: {len(checks.failures)} failed check(s)")
    return 1 if checks.failures else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--inside", action="store_true")
    for name in ("--base", "--deb", "--rpm", "--bumped", "--version", "--bumped-version"):
        parser.add_argument(name)
    args = parser.parse_args()
    return inside(args) if args.inside else outside()


if __name__ == "__main__":
    sys.exit(main())
