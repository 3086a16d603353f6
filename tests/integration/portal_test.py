"""vaultmx-portal against a real daemon, driven over HTTPS as a browser would (cookies, forms, CSRF
tokens), plus the abuse a browser would not send:
- the redirect listener sends every GET to HTTPS; every response (redirects and errors too) has
  HSTS, the CSP, X-Frame-Options, nosniff, Referrer-Policy and no CORS header; a preflight is refused;
- `/` sends a signed-out visitor to /login; the form has username and password; a wrong password is
  refused and shows in the history as a `portal` failure next to a failed POP3 login;
- a POST without the token, with another origin, or cross-site is refused; a GET cannot change state;
- after sign-in /security lists the history and the live sessions, and "log out this device" ends a
  live POP3 session; an app password made on the page works on POP3; a message deleted over POP3 is
  restored from the trash page; the export is prepared (the page refreshes itself meanwhile), then
  downloads as mbox; a mailbox of several parts downloads byte for byte as `vaultmx user export`
  writes it, a new export replaces the old, a discard removes it, and the account's closure and purge
  erase it; TOTP enrolment by the page, then the next sign-in asks for a code (`totp`), refuses a
  wrong one and takes a right one;
- the session cookie is __Host-, Secure, HttpOnly, SameSite=Strict; sign-out ends the session;
- the portal process runs as vaultmx-portal with no capability and cannot read the data folder."""
import base64
import hashlib
import hmac
import json
import mailbox
import os
import poplib
import re
import smtplib
import struct
import subprocess
import tempfile
import time
import unittest

from daemon_harness import (Daemon, files_holding, free_port, init_instance, insecure_tls, pop3_login, read_log,
                            vaultmx_cli, wait_for_pop3_messages, write_config)
from portal_harness import Browser, Portal, pop3_session_ends, portal_config, portal_ports

# A sanitizer build keeps the user change, no capabilities and no_new_privs, not the seccomp filter.
SANITIZED = "asan" in os.environ.get("VMX_BUILD_TYPE", "").lower()
CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""
PASSWORD = "portal secret 7Lk!"
ADDRESS = "pia@portal.test"
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000",
    "content-security-policy": "default-src 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def totp_now(secret_b32, at=None):
    """RFC 6238 code (SHA-1, 30 s, 6 digits), as an authenticator app computes it."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


class PortalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-portal-")
        folder = cls.tmp.name
        ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        https_port, redirect_port = portal_ports()
        config = write_config(folder, ports, extra=CHEAP_ARGON2 + portal_config(folder, https_port, redirect_port))
        init_instance(config, "--self-signed")
        cls.ports = ports
        cls.daemon = Daemon(existing=(folder, ports, config)).start()
        cls.portal = Portal(config, folder, https_port, redirect_port).start()
        for args in (["org", "add", "Portal Org", "--plan", "pro"], ["domain", "add", "portal.test", "--org", "Portal Org"]):
            vaultmx_cli(config, *args)
        vaultmx_cli(config, "user", "add", ADDRESS, "--password-stdin", stdin=PASSWORD + "\n")
        for n in range(3):
            with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=60) as s:
                s.sendmail("sender@remote.test", [ADDRESS],
                           f"From: sender@remote.test\r\nTo: {ADDRESS}\r\nSubject: note {n}\r\n\r\nFrom here on {n}\r\n".encode())
        wait_for_pop3_messages(ports["pop3s"], ADDRESS, PASSWORD, 3, 30)

    @classmethod
    def tearDownClass(cls):
        code, err = cls.portal.stop()
        cls.portal.__exit__(None, None, None)
        dcode, _ = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        cls.tmp.cleanup()
        assert code == 0, f"portal exit {code}: {err}"
        assert PASSWORD not in err, "the portal logged a password"
        assert dcode == 0, dcode

    def browser(self):
        return Browser(self.portal.https_port)

    def prepared_export(self, b, trash=False):
        """Prepare on the page, then look again (as its refresh does) until the export is ready."""
        r, _ = b.post("/export/prepare", {"trash": "1"} if trash else {})
        self.assertEqual((r.status, r.getheader("Location")), (303, "/export"))
        deadline = time.monotonic() + 60
        while True:
            r, text = b.get("/export")
            if "Your export is ready" in text:
                return text
            self.assertIn('<meta http-equiv="refresh"', text, "neither ready nor being prepared")
            self.assertLess(time.monotonic(), deadline, "the export was not ready in time")
            time.sleep(0.2)

    def downloaded(self, b):
        r, data = b.post("/export/download", {}, raw=True)
        self.assertEqual(r.status, 200, data[:200])
        self.assertEqual(r.getheader("Content-Type"), "application/mbox")
        self.assertEqual(int(r.getheader("Content-Length")), len(data))
        self.assert_headers(r)
        return data

    def mbox_of(self, data, name):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return mailbox.mbox(path)

    def assert_headers(self, response):
        headers = {k.lower(): v for k, v in response.getheaders()}
        for name, start in SECURITY_HEADERS.items():
            self.assertIn(name, headers, f"{name} missing on {response.status}")
            self.assertIn(start, headers[name])
        self.assertIn("frame-ancestors 'none'", headers["content-security-policy"])
        self.assertFalse([k for k in headers if k.startswith("access-control-")], "a CORS header was sent")

    def test_redirect_listener_sends_everything_to_https(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.portal.redirect_port, timeout=10)
        conn.request("GET", "/security?x=1", headers={"Host": "mail.portal.test"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 301)
        self.assertEqual(r.getheader("Location"), f"https://mail.portal.test:{self.portal.https_port}/security?x=1")
        self.assert_headers(r)
        conn.request("POST", "/login", body="a=b", headers={"Host": "mail.portal.test", "Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 405)
        conn.request("GET", "/", headers={"Host": "evil.test/x?"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 400)

    def test_signed_out_visitor_and_headers_everywhere(self):
        b = self.browser()
        r, _ = b.get("/")
        self.assertEqual((r.status, r.getheader("Location")), (303, "/login"))
        self.assert_headers(r)
        r, text = b.get("/login")
        self.assertEqual(r.status, 200)
        self.assert_headers(r)
        self.assertIn('name="username"', text)
        self.assertIn('name="password"', text)
        self.assertNotIn("<script>", text)
        for path in ("/security", "/app-passwords", "/trash"):
            r, _ = b.get(path)
            self.assertEqual((r.status, r.getheader("Location")), (303, "/login"), path)
        r, _ = b.get("/nowhere")
        self.assertEqual(r.status, 404)
        self.assert_headers(r)
        r, _ = b.request("OPTIONS", "/login", headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"})
        self.assertEqual(r.status, 405)
        self.assert_headers(r)
        r, _ = b.get("/static/portal.css")
        self.assertEqual(r.status, 200)
        self.assert_headers(r)

    def test_cross_site_posts_and_state_changing_gets_are_refused(self):
        b = self.browser()
        b.get("/login")
        r, _ = b.post("/login", {"username": ADDRESS, "password": PASSWORD, "csrf": ""})
        self.assertEqual(r.status, 403, "a POST without the form's token")
        r, _ = b.post("/login", {"username": ADDRESS, "password": PASSWORD}, headers={"Origin": "https://evil.test"})
        self.assertEqual(r.status, 403, "a POST from another origin")
        r, _ = b.post("/login", {"username": ADDRESS, "password": PASSWORD}, headers={"Sec-Fetch-Site": "cross-site"})
        self.assertEqual(r.status, 403, "a cross-site POST")
        r, _ = b.sign_in(ADDRESS, PASSWORD)
        self.assertEqual(r.status, 200)
        token = b.csrf
        r, _ = b.post("/sessions/end-all", {"csrf": "0" * 32})
        self.assertEqual(r.status, 403, "a signed-in POST with a wrong token")
        r, _ = b.get("/sessions/end-all")
        self.assertEqual(r.status, 405, "a state change by GET")
        r, _ = b.get("/logout")
        self.assertEqual(r.status, 405)
        r, text = b.get("/security")
        self.assertEqual(r.status, 200, "still signed in after the refused requests")
        self.assertEqual(b.csrf, token)

    def test_sign_in_history_sessions_and_remote_logout(self):
        with self.assertRaises(poplib.error_proto):
            pop3_login(self.ports["pop3s"], ADDRESS, "not the password")
        b = self.browser()
        r, text = b.sign_in(ADDRESS, "wrong password")
        self.assertIn("Wrong address or password", text)
        r, text = b.sign_in(ADDRESS, PASSWORD)
        self.assertEqual(r.status, 200)
        self.assertIn("__Host-vmx_session", b.cookies)
        self.assertIn("<h3>Sign-in history</h3>", text)
        self.assertIn('class="failure"', text)
        self.assertIn("pop3", text)
        self.assertIn("portal", text)
        # A live POP3 session, ended from the page.
        p = pop3_login(self.ports["pop3s"], ADDRESS, PASSWORD, timeout=30)
        deadline = time.monotonic() + 10
        while True:
            r, text = b.get("/security")
            ids = re.findall(r'name="id" value="(\d+-\d+)"', text)
            if ids or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(ids, "the POP3 session is not listed")
        r, _ = b.post("/sessions/end", {"id": ids[0]})
        self.assertEqual(r.status, 303)
        self.assertTrue(pop3_session_ends(p), "the POP3 session logged out from the page is still live")

    def test_cookie_attributes_and_sign_out(self):
        b = self.browser()
        b.get("/login")
        r, _ = b.post("/login", {"username": ADDRESS, "password": PASSWORD})
        cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie" and v.startswith("__Host-vmx_session=")]
        self.assertTrue(cookies)
        for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attribute, cookies[0])
        self.assertNotIn("Domain=", cookies[0])
        r, text = b.follow(r)
        self.assertEqual(r.status, 200)
        stolen = dict(b.cookies)
        r, _ = b.post("/logout", {})
        self.assertEqual(r.status, 303)
        thief = self.browser()
        thief.cookies = stolen
        r, _ = thief.get("/security")
        self.assertEqual((r.status, r.getheader("Location")), (303, "/login"), "a signed-out cookie still works")

    def test_app_password_trash_and_export(self):
        b = self.browser()
        b.sign_in(ADDRESS, PASSWORD)
        r, text = b.post("/app-passwords", {"label": "phone"})
        self.assertEqual(r.status, 200)
        shown = re.search(r'id="new-app-password">([^<]+)<', text)
        self.assertTrue(shown, text)
        p = pop3_login(self.ports["pop3s"], ADDRESS, shown.group(1), timeout=30)
        count = len(p.list()[1])
        p.dele(1)
        p.quit()
        r, text = b.get("/trash")
        ids = re.findall(r'name="id" value="(\d+)"', text)
        self.assertTrue(ids, text)
        r, text = b.post("/trash/restore", {"id": ids[0]})
        self.assertIn("back in your mailbox", text)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            p = pop3_login(self.ports["pop3s"], ADDRESS, PASSWORD, timeout=30)
            now = len(p.list()[1])
            p.quit()
            if now == count:
                break
            time.sleep(0.1)
        self.assertEqual(now, count)
        r, text = b.get("/export")
        self.assertIn("Prepare export", text)
        self.prepared_export(b)
        box = self.mbox_of(self.downloaded(b), "export.mbox")
        try:
            self.assertEqual(len(box), count)
            self.assertTrue(any("From here on" in m.get_payload() for m in box))
        finally:
            box.close()
        r, _ = b.post("/app-passwords/revoke", {"label": "phone"})
        with self.assertRaises(poplib.error_proto):
            pop3_login(self.ports["pop3s"], ADDRESS, shown.group(1), timeout=30)

    def test_export_in_parts_replaced_discarded_and_gone_with_the_account(self):
        address = "exa@portal.test"
        vaultmx_cli(self.daemon.config, "user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")
        line = "Staged line {} of a message long enough to need several parts.\r\n"
        for n in range(3):
            body = "".join(line.format(i) for i in range(10000))
            with smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=60) as s:
                s.sendmail("sender@remote.test", [address],
                           f"From: sender@remote.test\r\nTo: {address}\r\nSubject: big {n}\r\n\r\n{body}".encode())
        wait_for_pop3_messages(self.ports["pop3s"], address, PASSWORD, 3, 30)
        p = pop3_login(self.ports["pop3s"], address, PASSWORD, timeout=30)
        p.dele(3)
        p.quit()
        b = self.browser()
        b.sign_in(address, PASSWORD)
        self.prepared_export(b)
        first = self.downloaded(b)
        box = self.mbox_of(first, "live.mbox")
        try:
            self.assertEqual(len(box), 2, "the deleted message is not in it")
        finally:
            box.close()
        # A new export with the deleted mail replaces it; byte for byte what `user export --trash` writes.
        text = self.prepared_export(b, trash=True)
        self.assertIn("deleted mail included", text)
        data = self.downloaded(b)
        self.assertGreater(len(data), 1 << 20, "the export spans several parts")
        reference = os.path.join(self.tmp.name, "reference.mbox")
        vaultmx_cli(self.daemon.config, "user", "export", address, "--out", reference, "--trash")
        with open(reference, "rb") as f:
            self.assertEqual(data, f.read())
        box = self.mbox_of(data, "all.mbox")
        try:
            self.assertEqual(len(box), 3)
        finally:
            box.close()
        # Preparing and downloading are on the audit chain (by the portal's uid); the page's looks are not.
        audit = vaultmx_cli(self.daemon.config, "audit", "show").stdout
        for command in ("portal export-prepare", "portal export-download"):
            self.assertIn(f"{command} --address {address}", audit)
        self.assertNotIn("export-status", audit)
        # Sealed: no message text lies in the temp store in the clear.
        self.assertEqual(files_holding(os.path.join(self.tmp.name, "data"), [b"Staged line 4321"]), [])
        # A discard removes it; a download then has nothing to send.
        r, _ = b.post("/export/discard", {})
        self.assertEqual(r.getheader("Location"), "/export")
        r, text = b.get("/export")
        self.assertIn("Prepare export", text)
        r, text = b.post("/export/download", {})
        self.assertIn("no export ready", text)
        # Prepared again, then the account closed and purged: the export goes with it.
        self.prepared_export(b)
        user_id = next(u["id"] for u in json.loads(vaultmx_cli(self.daemon.config, "--json", "user", "list").stdout)
                       if u["address"] == address)
        vaultmx_cli(self.daemon.config, "user", "close", address)
        r, _ = b.post("/export/download", {})
        self.assertEqual((r.status, r.getheader("Location")), (303, "/login"), "a closed account's session downloads")
        vaultmx_cli(self.daemon.config, "user", "purge", address, "--now")
        deadline = time.monotonic() + 10
        while True:
            erased = re.findall(rf"event=export\.discarded user={user_id} records=(\d+)", read_log(self.daemon.config))
            if erased or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(erased and int(erased[-1]) >= 2, "the purge did not erase the staged export")

    def test_totp_enrolment_then_sign_in_asks_for_a_code(self):
        address = "tia@portal.test"
        vaultmx_cli(self.daemon.config, "user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")
        b = self.browser()
        b.sign_in(address, PASSWORD)
        r, text = b.get("/totp")
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', text)
        self.assertTrue(secret, text)
        self.assertIn("<svg", text)
        r, text = b.post("/totp/confirm", {"code": "000000" if totp_now(secret.group(1)) != "000000" else "111111"})
        self.assertIn("not right", text)
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', text).group(1)
        r, _ = b.post("/totp/confirm", {"code": totp_now(secret)})
        self.assertEqual((r.status, r.getheader("Location")), (303, "/security"))
        # The next sign-in owes a code; a wrong one is refused, the next step's code is taken.
        fresh = self.browser()
        r, text = fresh.sign_in(address, PASSWORD)
        self.assertIn('name="totp"', text)
        r, _ = fresh.get("/security")
        self.assertEqual(r.getheader("Location"), "/login", "a session owing its code reached a page")
        r, text = fresh.post("/login/code", {"totp": "12345x"})
        self.assertIn("not right", text)
        r, _ = fresh.post("/login/code", {"totp": totp_now(secret, time.time() + 30)})
        self.assertEqual((r.status, r.getheader("Location")), (303, "/security"))
        r, text = fresh.get("/security")
        self.assertIn("totp", text, "the second factor is in the history")

    def test_the_code_may_come_with_the_password(self):
        # Each user's codes are good once and within a step of now: a user of its own.
        address = "tom@portal.test"
        vaultmx_cli(self.daemon.config, "user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")
        b = self.browser()
        b.sign_in(address, PASSWORD)
        r, text = b.get("/totp")
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', text).group(1)
        r, _ = b.post("/totp/confirm", {"code": totp_now(secret)})
        self.assertEqual(r.getheader("Location"), "/security")
        once = self.browser()
        once.get("/login")
        r, _ = once.post("/login", {"username": address, "password": PASSWORD, "totp": "000000"})
        self.assertEqual(r.getheader("Location"), "/login", "a wrong code leaves the code owed")
        once = self.browser()
        once.get("/login")
        r, _ = once.post("/login", {"username": address, "password": PASSWORD, "totp": totp_now(secret, time.time() + 30)})
        self.assertEqual((r.status, r.getheader("Location")), (303, "/security"))
        r, _ = once.get("/security")
        self.assertEqual(r.status, 200)

    def test_closure_from_the_page_and_its_undo_by_signing_in_again(self):
        address = "cora@portal.test"
        vaultmx_cli(self.daemon.config, "user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")
        pop3_login(self.ports["pop3s"], address, PASSWORD, timeout=30).quit()
        b = self.browser()
        b.sign_in(address, PASSWORD)
        b.get("/close")
        r, text = b.post("/close", {"password": "not it"})
        self.assertIn("not right", text)
        r, text = b.post("/close", {"password": PASSWORD})
        self.assertIn("Your account is closed", text)
        with self.assertRaises(poplib.error_proto):
            pop3_login(self.ports["pop3s"], address, PASSWORD)
        # Signing in again leads to the undo, and to nothing else.
        again = self.browser()
        r, text = again.sign_in(address, PASSWORD)
        self.assertEqual((r.status, r.getheader("Location")), (303, "/reopen"))
        r, text = again.follow(r)
        self.assertIn("Reopen my account", text)
        for path in ("/security", "/app-passwords", "/trash"):
            r, _ = again.get(path)
            self.assertEqual(r.getheader("Location"), "/reopen", path)
        r, _ = again.post("/reopen", {})
        self.assertEqual((r.status, r.getheader("Location")), (303, "/security"))
        r, text = again.get("/security")
        self.assertEqual(r.status, 200)
        pop3_login(self.ports["pop3s"], address, PASSWORD, timeout=30).quit()
        # A wrong password never learns that an account is closed: the same refusal as ever.
        vaultmx_cli(self.daemon.config, "user", "close", address)
        r, text = self.browser().sign_in(address, "wrong password")
        self.assertIn("Wrong address or password", text)

    def test_portal_process_is_unprivileged(self):
        pid = self.portal.proc.pid
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        import pwd
        self.assertEqual(int(status["Uid"].split()[0]), pwd.getpwnam("vaultmx-portal").pw_uid)
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(status[cap].strip(), 16), 0, cap)
        self.assertEqual(status["NoNewPrivs"].strip(), "1")
        if not SANITIZED:
            self.assertEqual(status["Seccomp"].strip(), "2")
        data = os.path.join(self.tmp.name, "data")
        r = subprocess.run(["setpriv", "--reuid", "vaultmx-portal", "--regid", "vaultmx-portal", "--clear-groups",
                            "ls", data], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0, "vaultmx-portal can list the data folder")

    def test_zz_certificates_are_taken_up_after_the_privilege_drop(self):
        # The portal asks the daemon for certificates at once and builds its context again from
        # memory: [tls] key is not readable by vaultmx-portal, so a build from the files would fail.
        time.sleep(1)
        _, err = self.portal.stop()
        self.assertNotIn("portal.certificates_failed", err)
        self.assertIn("portal.certificates_loaded", err)


if __name__ == "__main__":
    unittest.main()
