#!/usr/bin/env python3
"""The staff console in a real browser: headless Chromium (the system's,
through chromedriver) signs in, works the returns queue, and is attacked
from another site; every scenario leaves a screenshot in the output
directory (target/screenshots/console by default).

Usage: console.py path/to/aftercare [screenshot-dir]
"""

import functools
import http.server
import os
import sys
import threading

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser import browser
from server import Server, free_port

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    passed, failed = (passed + 1, failed) if condition else (passed, failed + 1)
    print(f"{'ok  ' if condition else 'FAIL'} {name} {'' if condition else detail}")


def new_return(server, order_id, customer):
    """A requested return of one unit of the order's line, as the customer asks for it."""
    server.record_delivered_order(order_id, customer)
    token = server.token("customer", customer)
    body = {
        "requestId": f"req-{order_id}",
        "channel": "CHANNEL_MOBILE_APP",
        "items": [{"lineId": "1", "quantity": 1, "reason": "RETURN_REASON_CHANGED_MIND", "resolution": "RESOLUTION_REFUND"}],
    }
    status, answer = server.call("POST", f"/v1/orders/{order_id}/returns", token, body)
    assert status == 200, (status, answer)
    return answer["returnId"], token


def cross_site_page(target, csrf_guess):
    """A page on another origin whose form posts to the console by itself."""
    return f"""<!doctype html><html><body>
<form id="f" method="post" action="{target}">
<input name="csrf" value="{csrf_guess}"><input name="request_id" value="x">
</form><script>document.getElementById('f').submit()</script></body></html>"""


def main(binary, shots):
    os.makedirs(shots, exist_ok=True)
    server = Server(binary)
    driver = None
    stranger = None
    try:
        console = f"{server.base}/console"
        approve_id, customer_token = new_return(server, "con-1", "c-1")
        untouched_id, _ = new_return(server, "con-2", "c-2")
        driver = browser()
        driver.set_window_size(1280, 1000)
        # A page being replaced after a post leaves stale elements behind.
        wait = WebDriverWait(driver, 10, ignored_exceptions=[StaleElementReferenceException])

        def shot(name):
            driver.save_screenshot(os.path.join(shots, f"{name}.png"))

        # A customer's token does not open the console.
        driver.get(console)
        driver.find_element(By.ID, "token").send_keys(customer_token)
        driver.find_element(By.ID, "sign-in").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[role=alert]"))
        alert = driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
        check("a customer token cannot open the console", "support staff" in alert, alert)
        shot("01-customer-refused")

        # Sign in as an agent; the first Tab reaches the skip link.
        driver.get(console)
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        active = driver.switch_to.active_element
        check("keyboard: the first stop is the skip link", active.text == "Skip to content", active.text)
        driver.find_element(By.ID, "token").send_keys(server.token("agent", "agent-7"))
        driver.find_element(By.ID, "token").send_keys(Keys.ENTER)
        wait.until(lambda d: d.title.startswith("Returns to review"))
        queue = driver.find_element(By.TAG_NAME, "main").text
        check("signed in: the review queue lists both returns", approve_id in queue and untouched_id in queue, queue)
        shot("02-queue")

        # Approve from the queue and see the timeline move.
        driver.find_element(By.LINK_TEXT, approve_id).click()
        wait.until(lambda d: d.find_elements(By.ID, "do-approve"))
        driver.find_element(By.ID, "do-approve").click()
        wait.until(lambda d: d.find_element(By.ID, "status").text == "approved")
        timeline = driver.find_element(By.ID, "timeline-entries").text
        check("approved from the queue: the timeline shows it", "now approved" in timeline, timeline)
        shot("03-approved")

        # An internal note: marked on the page, absent from the customer's view.
        driver.find_element(By.ID, "message-text").send_keys("Customer sounded upset on the phone")
        driver.find_element(By.ID, "message-internal").click()
        driver.find_element(By.ID, "do-message").click()
        wait.until(
            lambda d: any(
                "upset" in li.text for li in d.find_elements(By.CSS_SELECTOR, "#timeline-entries li.internal")
            )
        )
        status, seen = server.call("GET", f"/v1/returns/{approve_id}", customer_token)
        texts = [e.get("text", "") for e in seen.get("timeline", [])]
        check(
            "an internal note never appears in the customer's view",
            status == 200 and not any("upset" in t for t in texts),
            texts,
        )
        shot("04-internal-note")

        # The customer sends it; receive, grade and refund.
        status, answer = server.call(
            "POST", f"/v1/returns/{approve_id}/shipment", customer_token, {"carrier": "DHL", "trackingNumber": "JD1"}
        )
        assert status == 200, (status, answer)
        driver.get(f"{console}/returns/{approve_id}")
        wait.until(lambda d: d.find_elements(By.ID, "do-receive"))
        driver.find_element(By.ID, "qty-0").send_keys("1")
        Select(driver.find_element(By.ID, "grade-0")).select_by_visible_text("resellable")
        driver.find_element(By.ID, "do-receive").click()
        wait.until(lambda d: d.find_element(By.ID, "status").text == "received")
        driver.find_element(By.ID, "do-refund").click()
        wait.until(lambda d: "pending" in d.find_element(By.ID, "refund").text)
        refund = driver.find_element(By.ID, "refund").text
        check("received and refunded through the console", "EUR" in refund and "pending" in refund, refund)
        shot("05-refunded")

        # Readable at 200% zoom: at half the width nothing scrolls sideways.
        driver.set_window_size(640, 1000)
        overflow = driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
        check("at 200% zoom the page reflows", not overflow)
        shot("06-zoomed")
        driver.set_window_size(1280, 1000)

        # A form on another site (localhost is another site than 127.0.0.1)
        # posting to the console, even with the page's real CSRF value,
        # arrives without the session: refused, nothing changes.
        driver.get(f"{console}/returns/{untouched_id}")
        real_csrf = driver.find_element(By.NAME, "csrf").get_attribute("value")
        handler = functools.partial(Page, html=cross_site_page(f"{console}/returns/{untouched_id}/approve", real_csrf))
        stranger = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=stranger.serve_forever, daemon=True).start()
        driver.get(f"http://localhost:{stranger.server_port}/")
        wait.until(lambda d: d.current_url.startswith(console))
        refused = driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
        status, still = server.call("GET", f"/v1/returns/{untouched_id}", server.token("agent", "agent-7"))
        check(
            "a cross-site form post is refused and changes nothing",
            refused == "Sign in first." and still.get("status") == "RETURN_STATUS_REQUESTED",
            (refused, still.get("status")),
        )
        shot("07-cross-site-refused")

        # The overview as charts, and a customer's page, by keyboard-reachable links.
        driver.get(f"{console}/overview")
        charts = driver.find_elements(By.CSS_SELECTOR, "svg[role=img] title")
        check("the overview draws its charts", len(charts) >= 1, driver.find_element(By.TAG_NAME, "main").text)
        shot("08-overview")
        driver.get(f"{console}/customers/c-1")
        sections = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "main h2")]
        check(
            "a customer's page has every service's section",
            sections == ["Orders", "Returns", "Claims", "Points", "Maintenance", "Feedback"],
            sections,
        )
        shot("09-customer")
    except Exception:
        if driver is not None:
            driver.save_screenshot(os.path.join(shots, "failure.png"))
        raise
    finally:
        if driver is not None:
            driver.quit()
        if stranger is not None:
            stranger.shutdown()
        server.stop(show_log=failed > 0)
    print(f"console: {passed} passed, {failed} failed; screenshots in {shots}")
    sys.exit(1 if failed else 0)


class Page(http.server.BaseHTTPRequestHandler):
    def __init__(self, *args, html="", **kwargs):
        self.html = html
        super().__init__(*args, **kwargs)

    def do_GET(self):
        data = self.html.encode()
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "target/screenshots/console")
