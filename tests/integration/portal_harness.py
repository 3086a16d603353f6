"""vaultmx-portal beside a test daemon: the [portal] section of its config, the process, and a small
HTTPS client that keeps cookies and reads the CSRF token of a page's forms (what a browser does)."""
import http.client
import os
import re
import ssl
import subprocess
import time
import urllib.parse

from daemon_harness import BIN_DIR, free_port, wait_for_path, wait_for_port

VAULTMX_PORTAL = os.path.join(BIN_DIR, "vaultmx-portal")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def portal_config(folder, https_port, redirect_port):
    """The [portal] section for a daemon whose files live in `folder`."""
    return f"""
[portal]
listen = "127.0.0.1:{https_port}"
redirect_listen = "127.0.0.1:{redirect_port}"
socket = "{folder}/run/portal.sock"
"""


def pop3_session_ends(session, timeout=5.0):
    """Whether a live POP3 session is cut (a remote logout) within `timeout`; closes it either way."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                session.noop()
            except Exception:  # the server closed it: any error of a dead connection
                return True
            time.sleep(0.1)
        return False
    finally:
        session.close()


def portal_ports():
    return free_port(), free_port()


class Portal:
    """vaultmx-portal for a config; use as a context manager. It drops to vaultmx-portal, which must
    reach the socket: the test's folder is made passable (not readable) for others."""

    def __init__(self, config, folder, https_port, redirect_port):
        self.config, self.folder = config, folder
        self.https_port, self.redirect_port = https_port, redirect_port
        self.proc = None

    def start(self):
        os.chmod(self.folder, 0o711)
        self.proc = subprocess.Popen([VAULTMX_PORTAL, "-c", self.config], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        if not wait_for_port(self.https_port) or not wait_for_port(self.redirect_port):
            self.proc.kill()
            _, err = self.proc.communicate()
            raise RuntimeError(f"vaultmx-portal did not start: {err}")
        return self

    def stop(self):
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=15)
        return self.proc.returncode, err

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def unverified():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Browser:
    """Cookies by name, the last page's CSRF token, and requests as a same-origin browser sends them."""

    def __init__(self, port, host="127.0.0.1"):
        self.port, self.host = port, host
        self.cookies = {}
        self.csrf = None

    def request(self, method, path, form=None, headers=None, origin=True, raw=False):
        """The response and its body: text, or the bytes as they came with raw (a download)."""
        conn = http.client.HTTPSConnection(self.host, self.port, context=unverified(), timeout=30)
        body = urllib.parse.urlencode(form) if form is not None else None
        h = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
            if origin:
                h["Origin"] = f"https://{self.host}:{self.port}"
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        text = data.decode("utf-8", "replace")
        for name, value in r.getheaders():
            if name.lower() != "set-cookie":
                continue
            pair = value.split(";", 1)[0]
            k, _, v = pair.partition("=")
            if "Max-Age=0" in value:
                self.cookies.pop(k, None)
            else:
                self.cookies[k] = v
        conn.close()
        if raw:
            return r, data
        m = CSRF.search(text)
        if m:
            self.csrf = m.group(1)
        return r, text

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, fields, **kw):
        form = dict(fields)
        form.setdefault("csrf", self.csrf or "")
        return self.request("POST", path, form=form, **kw)

    def follow(self, response):
        """GET the Location of a 303 (same origin)."""
        return self.get(response.getheader("Location"))

    def sign_in(self, address, password, code=None):
        self.get("/login")
        r, text = self.post("/login", {"username": address, "password": password})
        if r.status == 303:
            r, text = self.follow(r)
        if code is not None and 'name="totp"' in text:
            r, text = self.post("/login/code", {"totp": code() if callable(code) else code})
            if r.status == 303:
                r, text = self.follow(r)
        return r, text
