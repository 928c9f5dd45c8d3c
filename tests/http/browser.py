#!/usr/bin/env python3
"""A real browser against the real binary: headless Chromium (the system's,
driven through chromedriver) opens `page.html`, served from another
loopback origin, which calls the REST gateway with fetch and the gRPC port
with gRPC-Web (frames built by hand), across CORS; the check reads what the
page shows.

Usage: browser.py path/to/aftercare
"""

import functools
import http.server
import os
import sys
import threading
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from server import Server, free_port

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    passed, failed = (passed + 1, failed) if condition else (passed, failed + 1)
    print(f"{'ok  ' if condition else 'FAIL'} {name} {'' if condition else detail}")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_page():
    """This directory on a loopback port of its own: the page's origin."""
    handler = functools.partial(Quiet, directory=os.path.dirname(os.path.abspath(__file__)))
    page_server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=page_server.serve_forever, daemon=True).start()
    return page_server


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main(binary):
    page_server = serve_page()
    origin = f"http://127.0.0.1:{page_server.server_port}"
    server = Server(binary, ["--cors-origin", origin])
    driver = None
    try:
        server.record_delivered_order("web-1", "c-1")
        fragment = urllib.parse.urlencode(
            {
                "rest": server.base,
                "grpc": f"http://{server.grpc}",
                "token": server.token("customer", "c-1"),
                "order": "web-1",
            }
        )
        driver = browser()
        driver.get(f"{origin}/page.html#{fragment}")
        WebDriverWait(driver, 60).until(lambda d: d.title == "done")
        text = {id: driver.find_element("id", id).text for id in ["points", "order", "grpcweb", "error"]}
        check("REST from the browser: the customer's points", text["points"] == "points 0", text)
        check("REST from the browser: their order", text["order"] == "order web-1 lines 1", text)
        check("gRPC-Web from the browser: the same order", text["grpcweb"] == "order web-1 grpc-status 0", text)
        check("an error reads as AIP-193 JSON in the browser", text["error"] == "404 NOT_FOUND", text)

        # Another origin is not let in: the browser refuses to hand over the answer.
        stranger = serve_page()
        driver.get(f"http://127.0.0.1:{stranger.server_port}/page.html#{fragment}")
        WebDriverWait(driver, 60).until(lambda d: d.title == "done")
        shown = driver.find_element("id", "error").text
        check(
            "a page from an origin not configured cannot read answers",
            shown.startswith("failed:") and "fetch" in shown.lower(),
            shown,
        )
        stranger.shutdown()
    finally:
        if driver is not None:
            driver.quit()
        server.stop(show_log=failed > 0)
        page_server.shutdown()
    print(f"browser: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1])
