#!/usr/bin/env python3
"""Contract check of the REST gateway: schemathesis against `/openapi.json`
of the real `aftercare` binary on its embedded Postgres, once per role.

It starts `aftercare serve` (rate limits off, so the fuzzer's volume is not
refused), records and delivers an order through REST, checks real objects'
answers against the document, then for each role (customer, service,
agent, admin, partner) runs schemathesis's coverage and fuzzing phases on
every operation with two checks: no answer is a server error (5xx), and
every answer matches the document's schema for its status.

Usage: openapi_fuzz.py path/to/aftercare path/to/schemathesis
"""

import json
import subprocess
import sys
import urllib.request

from jsonschema import Draft202012Validator

from server import Server

ROLES = ["customer", "service", "agent", "admin", "partner"]


def real_answers_conform(server):
    """The fuzzer's requests mostly miss (random ids): real objects' answers
    are checked against the document here."""
    with urllib.request.urlopen(server.base + "/openapi.json", timeout=30) as answer:
        doc = json.loads(answer.read())
    storefront, customer = server.token("service", "storefront"), server.token("customer", "c-1")
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
        status, body = server.call("GET", path, token)
        schema = doc["paths"][key]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        errors = list(Draft202012Validator({**schema, "components": doc["components"]}).iter_errors(body))
        if status != 200 or errors:
            bad.append(f"GET {path}: {status} {[e.message for e in errors][:3]} {json.dumps(body)[:300]}")
        else:
            print(f"ok   GET {path} matches its schema")
    return bad


def main(binary, schemathesis):
    server = Server(binary, ["--rate-limit-caller", "off", "--rate-limit-ip", "off"])
    failures = []
    try:
        server.record_delivered_order("fuzz-1", "c-1")
        for problem in real_answers_conform(server):
            print(f"FAIL {problem}")
            failures.append("real answers")
        for role in ROLES:
            token = server.token(role, "c-1")
            print(f"== schemathesis as {role}", flush=True)
            run = subprocess.run(
                [
                    schemathesis,
                    "run",
                    f"{server.base}/openapi.json",
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
        server.stop(show_log=bool(failures))
    if failures:
        raise SystemExit(f"schemathesis failed for: {', '.join(failures)}")
    print("schemathesis passed for every role")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
