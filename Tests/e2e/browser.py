"""The dashboard in a real headless Chromium against a real `veil api` over a temporary SQLite
file, with a real SMTP listener (aiosmtpd) catching the mail Veil sends.

Usage: browser.py VEIL_BINARY SCREENSHOT_FOLDER
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from email import message_from_bytes

from aiosmtpd.controller import Controller
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

VEIL, SHOTS = sys.argv[1], sys.argv[2]
EMAIL, PASSWORD = "ada@example.com", "correct horse battery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step(text):
    print(f"\n== {text}", flush=True)


class Inbox:
    """Every message the SMTP listener accepted."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"

    def wait_for(self, pattern, to, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for rcpts, message in reversed(self.messages):
                if to in rcpts:
                    body = message.get_payload(decode=True) if not message.is_multipart() else \
                        b"".join(part.get_payload(decode=True) or b"" for part in message.walk())
                    found = re.search(pattern, body.decode("utf-8", "replace"))
                    if found:
                        return found.group(1)
            time.sleep(0.2)
        raise AssertionError(f"no mail to {to} matching {pattern}")


def totp(secret, counter):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def main():
    work = tempfile.mkdtemp(prefix="veil-browser.")
    os.makedirs(SHOTS, exist_ok=True)
    inbox = Inbox()
    smtp_port, api_port = free_port(), free_port()
    sink = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    sink.start()
    base = f"http://127.0.0.1:{api_port}"
    log = open(os.path.join(work, "veil.log"), "w")
    veil = subprocess.Popen(
        [VEIL, "api", "--database", os.path.join(work, "veil.sqlite"), "--alias-domains", "veil.test",
         "--port", str(api_port), "--relay", f"127.0.0.1:{smtp_port}", "--url", base],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "VEIL_ADMIN_EMAIL": "admin@veil.test"})
    driver = None
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("veil api did not start")

        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
        wait = WebDriverWait(driver, 15)

        def go(path):
            driver.get(base + path)

        def field(element_id, text):
            element = driver.find_element(By.ID, element_id)
            element.clear()
            element.send_keys(text)

        def click(element_id):
            driver.find_element(By.ID, element_id).click()

        def page_has(text):
            wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), text))

        def shoot(name):
            for label, width, height in (("desktop", 1280, 900), ("phone", 390, 844)):
                driver.set_window_size(width, height)
                driver.execute_script("window.scrollTo(0, 0)")
                height_needed = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(width, min(max(height, height_needed), 3000))
                driver.save_screenshot(os.path.join(SHOTS, f"{name}-{label}.png"))
            driver.set_window_size(1280, 900)

        step("register, then activate with the code caught by the SMTP listener")
        go("/auth/register")
        shoot("register")
        field("email", EMAIL)
        field("password", PASSWORD)
        click("register-submit")
        page_has("We sent a 6-digit code")
        code = inbox.wait_for(r"activation code is: ([0-9]{6})", EMAIL)
        field("code", code)
        click("activate-submit")
        page_has("Your account is active")

        step("log in")
        field("email", EMAIL)
        field("password", PASSWORD)
        shoot("login")
        click("login-submit")
        page_has("No alias yet")
        cookies = {c["name"]: c for c in driver.get_cookies()}
        session = cookies["veil_session"]
        assert session["httpOnly"] and session.get("sameSite") == "Lax", session

        step("a random alias and a custom one")
        click("new-random-word")
        page_has("Alias created.")
        random_alias = driver.find_element(By.CSS_SELECTOR, "code.email").text
        assert random_alias.endswith("@veil.test"), random_alias
        click("new-custom")
        page_has("New custom alias")
        field("prefix", "shopping")
        field("note", "the bookshop")
        click("create-custom")
        page_has("Alias created.")
        addresses = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "code.email")]
        custom_alias = next(a for a in addresses if a.startswith("shopping."))
        print("aliases:", random_alias, custom_alias)

        step("toggle without a reload")
        item = driver.find_element(By.XPATH, f"//li[.//code[text()='{custom_alias}']]")
        item.find_element(By.CSS_SELECTOR, "form.toggle button").click()
        wait.until(lambda d: "disabled" in d.find_element(By.XPATH, f"//li[.//code[text()='{custom_alias}']]").get_attribute("class"))
        go("/dashboard/?filter=disabled")
        assert [e.text for e in driver.find_elements(By.CSS_SELECTOR, "code.email")] == [custom_alias]
        go("/dashboard/")
        shoot("aliases")

        step("the alias page: a contact and its reverse-alias")
        driver.find_element(By.LINK_TEXT, random_alias).click()
        page_has("No contact yet.")
        field("contact", "Friend <friend@example.com>")
        click("create-contact")
        page_has("Contact created.")
        reverse_alias = driver.find_element(By.CSS_SELECTOR, "code.reverse-alias").text
        assert reverse_alias.endswith("@veil.test") and reverse_alias != random_alias, reverse_alias
        print("reverse-alias:", reverse_alias)
        alias_page = driver.current_url.split("?")[0]
        shoot("alias")

        step("two-factor login: sudo, the QR code and secret, a confirming code, recovery codes")
        go("/dashboard/setting")
        shoot("settings")
        click("mfa-enable")
        page_has("needs your password again")
        field("password", PASSWORD)
        click("sudo-submit")
        page_has("Scan this code")
        assert driver.find_element(By.CSS_SELECTOR, ".qr svg").is_displayed()
        secret = driver.find_element(By.ID, "mfa-secret").text.replace(" ", "")
        shoot("mfa-setup")
        counter = int(time.time() // 30)
        field("code", totp(secret, counter))
        click("mfa-confirm")
        page_has("Two-factor login is on.")
        recovery = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#recovery-codes code")]
        assert len(recovery) == 8, recovery

        step("log out, log in again with a TOTP code")
        driver.find_element(By.XPATH, "//button[text()='Log out']").click()
        page_has("You are logged out.")
        field("email", EMAIL)
        field("password", PASSWORD)
        click("login-submit")
        page_has("6-digit code")
        # The set-up spent this step's code; a code is accepted once, so use the next step's.
        field("code", totp(secret, max(counter, int(time.time() // 30)) + 1))
        click("mfa-submit")
        page_has("Aliases")

        step("an API key, used against the API")
        go("/dashboard/api_key")
        field("key-name", "browser test")
        click("create-key")
        page_has("Copy it now")
        key = driver.find_element(By.ID, "new-api-key").text
        assert len(key) == 60, key
        shoot("api-keys")
        request = urllib.request.Request(base + "/api/user_info", headers={"Authentication": key})
        info = json.load(urllib.request.urlopen(request))
        assert info["email"] == EMAIL, info

        step("the extension's sign-in: POST /api/api_key with the session cookie")
        answer = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/api/api_key', {method: 'POST', credentials: 'include',
                headers: {'X-Sl-Allowcookies': 'true', 'Content-Type': 'application/json'},
                body: JSON.stringify({device: 'Veil browser test'})})
              .then(r => r.json().then(body => done({status: r.status, body})))
              .catch(e => done({status: 0, body: String(e)}));
        """)
        assert answer["status"] == 201 and len(answer["body"]["api_key"]) == 60, answer
        request = urllib.request.Request(base + "/api/aliases?page_id=0", headers={"Authentication": answer["body"]["api_key"]})
        listed = json.load(urllib.request.urlopen(request))
        assert {a["email"] for a in listed["aliases"]} == {random_alias, custom_alias}, listed
        no_header = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/api/api_key', {method: 'POST', credentials: 'include', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({device: 'x'})}).then(r => done(r.status));
        """)
        assert no_header == 401, no_header

        step("delete the alias, restore it from the trash")
        driver.get(alias_page)
        click("delete-alias")
        page_has("moved to the trash")
        assert random_alias not in [e.text for e in driver.find_elements(By.CSS_SELECTOR, "code.email")]
        go("/dashboard/trash")
        shoot("trash")
        item = driver.find_element(By.XPATH, f"//li[.//code[text()='{random_alias}']]")
        item.find_element(By.CSS_SELECTOR, "button").click()
        page_has("Alias restored.")
        assert random_alias in [e.text for e in driver.find_elements(By.CSS_SELECTOR, "code.email")]

        step("a second mailbox, verified by the link the SMTP listener caught")
        go("/dashboard/mailbox")
        field("mailbox-email", "second@example.com")
        click("add-mailbox")
        page_has("Mailbox added.")
        link = inbox.wait_for(r"(http://\S+/mailbox/verify\?token=[A-Za-z0-9_-]+)", "second@example.com")
        driver.get(link)
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "can now receive mail"))
        go("/dashboard/mailbox")
        assert "not verified" not in driver.find_element(By.ID, "main").text
        shoot("mailboxes")

        step("a custom domain and the records to publish")
        go("/dashboard/custom_domain")
        field("domain", "ada.example")
        click("add-domain")
        page_has("Publish the records below")
        values = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "code.record")]
        assert len(values) == 5 and values[0].startswith("veil-verification="), values
        shoot("domain-dns")

        go("/dashboard/pricing")
        page_has("admin@veil.test")
        print(f"\nbrowser test passed; screenshots in {SHOTS}")
    except Exception:
        if driver is not None:
            driver.save_screenshot(os.path.join(SHOTS, "failure.png"))
            print("page at failure:", driver.current_url, file=sys.stderr)
            print(driver.find_element(By.TAG_NAME, "body").text[:2000], file=sys.stderr)
        log.flush()
        print(open(os.path.join(work, "veil.log")).read()[-4000:], file=sys.stderr)
        raise
    finally:
        if driver is not None:
            driver.quit()
        veil.terminate()
        veil.wait(timeout=10)
        sink.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
