"""vaultmx-portal in a real browser: Debian's chromium (headless) driven by selenium, codes from pyotp.
One user's day: a failed POP3 login shows in the history; sign in with the password, enrol TOTP from
the QR page, sign out, sign in with password and code; log out a live POP3 session from the page
(the session ends); create an app password and send with it through swaks on 587; restore a message
deleted over POP3; prepare the export, then download it; and no page breaks the CSP (the browser's
log would say).
Then a security key: registered through chromium's virtual authenticator (WebAuthn needs a host
name, so this part runs on https://localhost), and the next sign-in takes it in place of a code.
Debian's selenium and pyotp are visible to /usr/bin/python3 only: ctest runs this file with it."""
import glob
import mailbox
import os
import poplib
import smtplib
import subprocess
import tempfile
import time
import unittest

import pyotp
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import Protocol, Transport, VirtualAuthenticatorOptions
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

from daemon_harness import Daemon, free_port, init_instance, pop3_login, vaultmx_cli, wait_for_pop3_messages, write_config
from portal_harness import Portal, pop3_session_ends, portal_config, portal_ports

CHEAP_ARGON2 = """
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
"""
PASSWORD = "browser secret 3Vx!"
ADDRESS = "bea@browser.test"
FRIEND = "fred@browser.test"
KEYED = "kim@browser.test"


def spki_hash(cert_path):
    """base64(SHA-256(SubjectPublicKeyInfo)) of a certificate: chromium then trusts it as valid
    (--ignore-certificate-errors-spki-list), which WebAuthn requires of the page."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, capture_output=True, check=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, capture_output=True, check=True).stdout
    return subprocess.run(["base64"], input=digest, capture_output=True, check=True).stdout.decode().strip()


class PortalInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vmx-browser-")
        folder = cls.tmp.name
        cls.ports = {k: free_port() for k in ("smtp", "submission_tls", "submission", "pop3s", "metrics")}
        https_port, redirect_port = portal_ports()
        config = write_config(folder, cls.ports, extra=CHEAP_ARGON2 + portal_config(folder, https_port, redirect_port))
        init_instance(config, "--self-signed")
        cls.daemon = Daemon(existing=(folder, cls.ports, config)).start()
        cls.portal = Portal(config, folder, https_port, redirect_port).start()
        vaultmx_cli(config, "org", "add", "Browser Org", "--plan", "pro")
        vaultmx_cli(config, "domain", "add", "browser.test", "--org", "Browser Org")
        for address in (ADDRESS, FRIEND, KEYED):
            vaultmx_cli(config, "user", "add", address, "--password-stdin", stdin=PASSWORD + "\n")
        for n in range(2):
            with smtplib.SMTP("127.0.0.1", cls.ports["smtp"], timeout=60) as s:
                s.sendmail("sender@remote.test", [ADDRESS],
                           f"From: sender@remote.test\r\nTo: {ADDRESS}\r\nSubject: browser {n}\r\n\r\nbody {n}\r\n".encode())
        wait_for_pop3_messages(cls.ports["pop3s"], ADDRESS, PASSWORD, 2, 30)
        cls.downloads = os.path.join(folder, "downloads")
        os.makedirs(cls.downloads)
        options = webdriver.ChromeOptions()
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
                     "--disable-dev-shm-usage", f"--user-data-dir={folder}/chromium",
                     f"--ignore-certificate-errors-spki-list={spki_hash(os.path.join(folder, 'cert.pem'))}"):
            options.add_argument(flag)
        options.add_experimental_option("prefs", {"download.default_directory": cls.downloads,
                                                  "download.prompt_for_download": False})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        cls.driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"),
                                      options=options)
        cls.driver.set_page_load_timeout(30)
        cls.base = f"https://127.0.0.1:{https_port}"
        cls.named_base = f"https://localhost:{https_port}"

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.portal.stop()
        cls.portal.__exit__(None, None, None)
        cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        cls.tmp.cleanup()

    def open(self, path):
        self.driver.get(self.base + path)

    def fill(self, name, value):
        box = self.driver.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)

    def submit(self, form_action, navigates=True):
        """Clicks the form's button and, unless the answer is a download, waits for the next page
        (a click returns before the navigation; a security key's form is sent by the script later)."""
        # A mark on this page's window: the next document has a window of its own, without it.
        self.driver.execute_script("window.vmxOldPage = true;")
        self.driver.find_element(By.CSS_SELECTOR, f'form[action="{form_action}"] button[type="submit"]').click()
        if navigates:
            WebDriverWait(self.driver, 20, ignored_exceptions=(WebDriverException,)).until(
                lambda d: d.execute_script("return window.vmxOldPage !== true && document.readyState === 'complete';"))

    def sign_in(self, code=None, address=ADDRESS):
        self.open("/")
        self.assertTrue(self.driver.current_url.endswith("/login"))
        self.fill("username", address)
        self.fill("password", PASSWORD)
        self.submit("/login")
        if code is not None:
            self.fill("totp", code())
            self.submit("/login/code")
        self.assertTrue(self.driver.current_url.endswith("/security"), self.driver.current_url + self.driver.page_source[-600:])

    def csp_violations(self):
        return [e for e in self.driver.get_log("browser") if "Content Security Policy" in e.get("message", "")]

    def test_a_users_day_in_the_browser(self):
        with self.assertRaises(poplib.error_proto):
            pop3_login(self.ports["pop3s"], ADDRESS, "a wrong password")
        self.sign_in()
        history = self.driver.find_element(By.CSS_SELECTOR, "table.history").text
        self.assertIn("pop3", history)
        self.assertIn("failed", history)

        # TOTP enrolment: the secret beside the QR code, confirmed with a code; then a new sign-in.
        self.open("/totp")
        self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, "svg.qr"))
        totp = pyotp.TOTP(self.driver.find_element(By.ID, "totp-secret").text)
        self.fill("code", totp.now())
        self.submit("/totp/confirm")
        self.assertTrue(self.driver.current_url.endswith("/security"))
        self.submit("/logout")
        self.assertTrue(self.driver.current_url.endswith("/login"))
        # A code is good once: the next sign-in takes the next step's code.
        self.sign_in(code=lambda: totp.at(time.time() + 30))

        # A live POP3 session, ended from the page.
        p = pop3_login(self.ports["pop3s"], ADDRESS, PASSWORD, timeout=30)
        deadline = time.monotonic() + 10
        while not self.driver.find_elements(By.CSS_SELECTOR, 'form[action="/sessions/end"]'):
            self.assertLess(time.monotonic(), deadline, "the POP3 session is not listed")
            time.sleep(0.2)
            self.open("/security")
        self.submit("/sessions/end")
        self.assertTrue(pop3_session_ends(p), "the POP3 session logged out from the page is still live")

        # An app password, shown once, used by swaks on 587.
        self.open("/app-passwords")
        self.fill("label", "laptop")
        self.submit("/app-passwords")
        app_password = self.driver.find_element(By.ID, "new-app-password").text
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.ports["submission"]), "--tls",
                            "--auth", "PLAIN", "--auth-user", ADDRESS, "--auth-password", app_password,
                            "--from", ADDRESS, "--to", FRIEND, "--header", "Subject: from the laptop"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for_pop3_messages(self.ports["pop3s"], FRIEND, PASSWORD, 1, 30)

        # A message deleted over POP3 comes back from the trash page.
        p = pop3_login(self.ports["pop3s"], ADDRESS, PASSWORD, timeout=30)
        p.dele(1)
        p.quit()
        self.open("/trash")
        self.submit("/trash/restore")
        self.assertIn("back in your mailbox", self.driver.page_source)
        wait_for_pop3_messages(self.ports["pop3s"], ADDRESS, PASSWORD, 2, 30)

        # The export is prepared (while it is, the page loads itself again), then downloads as an mbox
        # file python reads.
        self.open("/export")
        self.submit("/export/prepare")
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.driver.find_elements(By.CSS_SELECTOR, 'form[action="/export/download"]'):
                    break
            except WebDriverException:
                pass  # the page was being replaced by its refresh
            self.assertLess(time.monotonic(), deadline, "the export page never offered the download")
            time.sleep(0.3)
        self.submit("/export/download", navigates=False)
        deadline = time.monotonic() + 30
        while not glob.glob(os.path.join(self.downloads, "*.mbox")):
            self.assertLess(time.monotonic(), deadline, "no export was downloaded")
            time.sleep(0.2)
        box = mailbox.mbox(glob.glob(os.path.join(self.downloads, "*.mbox"))[0])
        try:
            self.assertEqual(len(box), 2)
        finally:
            box.close()
        self.assertEqual(self.csp_violations(), [])


    def test_security_key_registered_then_used_to_sign_in(self):
        options = VirtualAuthenticatorOptions()
        options.protocol = Protocol.CTAP2
        options.transport = Transport.USB
        options.has_resident_key = True
        options.has_user_verification = True
        options.is_user_consenting = True
        options.is_user_verified = True
        self.driver.add_virtual_authenticator(options)
        try:
            self.base, saved = self.named_base, self.base
            self.sign_in(address=KEYED)
            self.open("/security-keys")
            self.fill("label", "virtual")
            self.submit("/security-keys")
            deadline = time.monotonic() + 20
            while "The security key was added" not in self.driver.page_source:
                error = self.driver.find_elements(By.ID, "key-error")
                self.assertFalse(error and error[0].is_displayed(), error[0].text if error else "")
                self.assertLess(time.monotonic(), deadline, self.driver.page_source[-800:])
                time.sleep(0.2)
            self.assertIn("virtual", self.driver.find_element(By.CSS_SELECTOR, "table.security-keys").text)
            self.submit("/logout")
            # The password, then the key instead of a code.
            self.open("/")
            self.fill("username", KEYED)
            self.fill("password", PASSWORD)
            self.submit("/login")
            self.submit("/login/key")
            deadline = time.monotonic() + 20
            while not self.driver.current_url.endswith("/security"):
                self.assertLess(time.monotonic(), deadline, self.driver.page_source[-800:])
                time.sleep(0.2)
            self.assertIn("security_key", self.driver.find_element(By.CSS_SELECTOR, "table.history").text)
            self.assertEqual(self.csp_violations(), [])
        finally:
            self.base = saved
            self.driver.remove_virtual_authenticator()


if __name__ == "__main__":
    unittest.main()
