#!/usr/bin/env python3
"""Contract check of the REST gateway: schemathesis against `/openapi.json`
of the real `aftercare` binary on its embedded Postgres, once per role.

It starts `aftercare serve` in a fresh data directory (rate limits off, so
the fuzzer's volume is not refused), records and delivers an order through
REST so some reads find something, then for each role (customer, service,
agent, admin, partner) mints a token and runs schemathesis's coverage and
fuzzing phases on every operation with two checks: no answer is a server
error (5xx), and every answer matches the document's schema for its status.

Usage: openapi_fuzz.py path/to/aftercare path/to/schemathesis
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TIMEOUT = 120  # seconds; the first start runs initdb
ROLES = ["customer", "service", "agent", "admin", "partner"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
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


def wait_ready(admin, server):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://{admin}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling a process we started, not a test's wait
    raise SystemExit("the server did not become ready")


def seed(base, token_of):
    storefront, customer = token_of("service", "storefront"), token_of("customer", "c-1")
    order = {
        "orderId": "fuzz-1",
        "customerId": "c-1",
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
    status, body = call(base, "POST", "/v1/orders", storefront, order)
    assert status == 200, (status, body)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status, body = call(base, "POST", "/v1/orders/fuzz-1:recordDelivery", storefront, {"deliveredAt": now})
    assert status == 200, (status, body)
    print("seeded order fuzz-1, delivered")


def real_answers_conform(base, token_of):
    """The fuzzer's requests mostly miss (random ids): real objects' answers
    are checked against the document here."""
    from jsonschema import Draft202012Validator

    with urllib.request.urlopen(base + "/openapi.json", timeout=30) as answer:
        doc = json.loads(answer.read())
    storefront, customer = token_of("service", "storefront"), token_of("customer", "c-1")
    reads = [
        ("/v1/orders/{order_id}", "/v1/orders/fuzz-1", storefront),
        ("/v1/me/orders", "/v1/me/orders", customer),
        ("/v1/me/points", "/v1/me/points", customer),
        ("/v1/me/returns", "/v1/me/returns", customer),
        ("/v1/me/overview", "/v1/me/overview", customer),
        ("/v1/return-policies", "/v1/return-policies", storefront),
        ("/v1/loyalty/program", "/v1/loyalty/program", customer),
    ]
    bad = []
    for key, path, token in reads:
        status, body = call(base, "GET", path, token)
        schema = doc["paths"][key]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        errors = list(Draft202012Validator({**schema, "components": doc["components"]}).iter_errors(body))
        if status != 200 or errors:
            bad.append(f"GET {path}: {status} {[e.message for e in errors][:3]} {json.dumps(body)[:300]}")
        else:
            print(f"ok   GET {path} matches its schema")
    return bad


def main(binary, schemathesis):
    data_dir = tempfile.mkdtemp(prefix="aftercare-openapi-")
    os.chmod(data_dir, 0o755)
    grpc_port, admin_port, http_port = free_port(), free_port(), free_port()
    admin, base = f"127.0.0.1:{admin_port}", f"http://127.0.0.1:{http_port}"
    common = [binary, "--data-dir", data_dir]
    log = open(os.path.join(data_dir, "server.log"), "w")
    server = subprocess.Popen(
        common
        + [
            "serve",
            "--listen",
            f"127.0.0.1:{grpc_port}",
            "--admin-listen",
            admin,
            "--http-listen",
            f"127.0.0.1:{http_port}",
            "--rate-limit-caller",
            "off",
            "--rate-limit-ip",
            "off",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    failures = []
    try:
        wait_ready(admin, server)

        def token_of(role, subject):
            return subprocess.check_output(
                common + ["token", "--role", role, "--subject", subject], text=True
            ).strip()

        seed(base, token_of)
        for problem in real_answers_conform(base, token_of):
            print(f"FAIL {problem}")
            failures.append("real answers")
        for role in ROLES:
            token = token_of(role, "c-1")
            print(f"== schemathesis as {role}", flush=True)
            run = subprocess.run(
                [
                    schemathesis,
                    "run",
                    f"{base}/openapi.json",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "not_a_server_error,response_schema_conformance",
                    "--phases",
                    "coverage,fuzzing",
                    "--max-examples",
                    "5",
                    "--workers",
                    "2",
                    "--seed",
                    "20261123",
                    "--no-color",
                ],
            )
            if run.returncode != 0:
                failures.append(role)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if failures:
            print(open(os.path.join(data_dir, "server.log")).read()[-5000:])
        shutil.rmtree(data_dir, ignore_errors=True)
    if failures:
        raise SystemExit(f"schemathesis failed for: {', '.join(failures)}")
    print("schemathesis passed for every role")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
