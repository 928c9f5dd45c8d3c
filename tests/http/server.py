"""The real `aftercare` binary on its embedded Postgres in a fresh data
directory, on free loopback ports, for the HTTP checks beside it: start it,
wait until it is ready, mint tokens, call its REST gateway, stop it."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

TIMEOUT = 120  # seconds; the first start runs initdb


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, extra_args=()):
        self.data_dir = tempfile.mkdtemp(prefix="aftercare-http-")
        os.chmod(self.data_dir, 0o755)
        self.common = [binary, "--data-dir", self.data_dir]
        ports = [free_port() for _ in range(3)]
        self.grpc, self.admin, self.http = (f"127.0.0.1:{p}" for p in ports)
        self.base = f"http://{self.http}"
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.log = open(self.log_path, "w")
        args = ["serve", "--listen", self.grpc, "--admin-listen", self.admin, "--http-listen", self.http]
        self.process = subprocess.Popen(
            self.common + args + list(extra_args), stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"http://{self.admin}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)  # polling the process we started until it listens
        raise SystemExit(f"the server did not become ready:\n{self.tail()}")

    def token(self, role, subject):
        return subprocess.check_output(self.common + ["token", "--role", role, "--subject", subject], text=True).strip()

    def call(self, method, path, token, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("content-type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def record_delivered_order(self, order_id, customer_id):
        """An order of one line, recorded and delivered by the storefront."""
        storefront = self.token("service", "storefront")
        order = {
            "orderId": order_id,
            "customerId": customer_id,
            "placedAt": "2026-01-10T10:00:00Z",
            "currencyCode": "EUR",
            "channel": "CHANNEL_WEB",
            "lines": [
                {
                    "lineId": "1",
                    "sku": "KETTLE-1",
                    "productName": "Kettle",
                    "category": "kitchen",
                    "quantity": 2,
                    "unitPrice": {"currencyCode": "EUR", "amount": "24.95"},
                }
            ],
            "shippingAmount": {"currencyCode": "EUR", "amount": "4.99"},
            "orderDiscount": {"currencyCode": "EUR", "amount": "0.00"},
        }
        status, body = self.call("POST", "/v1/orders", storefront, order)
        assert status == 200, (status, body)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        status, body = self.call("POST", f"/v1/orders/{order_id}:recordDelivery", storefront, {"deliveredAt": now})
        assert status == 200, (status, body)

    def tail(self):
        self.log.flush()
        return open(self.log_path).read()[-5000:]

    def stop(self, show_log=False):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if show_log:
            print(self.tail())
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)
