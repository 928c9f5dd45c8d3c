#!/usr/bin/env python3
"""Interop check: another gRPC implementation (Python grpcio) against the real
`aftercare` binary on its embedded Postgres.

It starts `aftercare serve` in a fresh data directory, then: lists the services
by reflection (v1alpha, which grpcio's client speaks, and v1), passes a health
check, mints a token with `aftercare token`, records an order built from the
reflected descriptors, reads the google.rpc.BadRequest details of a bad
request, and stops the server with SIGTERM, expecting a clean exit.

Usage: grpc_python.py path/to/aftercare
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_status import rpc_status

ORDER_SERVICE = "aftercare.orders.v1.OrderService"
TIMEOUT = 120  # seconds; the first start runs initdb

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def list_services(channel, path):
    call = channel.stream_stream(
        path,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    response = next(call(iter([request]), timeout=TIMEOUT))
    return {s.name for s in response.list_services_response.service}


def main(binary):
    data_dir = tempfile.mkdtemp(prefix="aftercare-interop-")
    os.chmod(data_dir, 0o755)
    grpc_port, admin_port, http_port = free_port(), free_port(), free_port()
    common = [binary, "--data-dir", data_dir]
    log_path = os.path.join(data_dir, "server.log")
    log = open(log_path, "w")
    server = subprocess.Popen(
        common
        + [
            "serve",
            "--listen",
            f"127.0.0.1:{grpc_port}",
            "--admin-listen",
            f"127.0.0.1:{admin_port}",
            "--http-listen",
            f"127.0.0.1:{http_port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(
            health_pb2.HealthCheckRequest(service=ORDER_SERVICE), timeout=TIMEOUT, wait_for_ready=True
        ).status
        check("health check of OrderService", status == health_pb2.HealthCheckResponse.SERVING, status)

        v1alpha = list_services(channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        check("reflection v1alpha lists OrderService", ORDER_SERVICE in v1alpha, v1alpha)
        v1 = list_services(channel, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        check("reflection v1 lists OrderService", ORDER_SERVICE in v1, v1)

        token = subprocess.check_output(
            common + ["token", "--role", "service", "--subject", "storefront"], text=True
        ).strip()
        metadata = [("authorization", f"Bearer {token}")]

        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        method = pool.FindServiceByName(ORDER_SERVICE).methods_by_name["RecordOrder"]
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        record_order = channel.unary_unary(
            f"/{ORDER_SERVICE}/RecordOrder",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )

        def request(currency):
            return json_format.ParseDict(
                {
                    "orderId": "py-1",
                    "customerId": "c-py",
                    "placedAt": "2026-01-05T10:00:00Z",
                    "currencyCode": currency,
                    "channel": "CHANNEL_MOBILE_APP",
                    "lines": [
                        {
                            "lineId": "L1",
                            "sku": "KETTLE-1",
                            "productName": "Kettle",
                            "category": "kitchen",
                            "quantity": 2,
                            "unitPrice": {"currencyCode": currency, "amount": "24.95"},
                        }
                    ],
                    "shippingAmount": {"currencyCode": currency, "amount": "5.00"},
                },
                request_class(),
            )

        order = record_order(request("EUR"), metadata=metadata, timeout=TIMEOUT)
        check("RecordOrder answers the order with its total", order.total.amount == "54.90", order.total)

        try:
            record_order(request("XYZ"), metadata=metadata, timeout=TIMEOUT)
            check("bad currency is refused", False, "the call succeeded")
        except grpc.RpcError as error:
            check("bad currency is INVALID_ARGUMENT", error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.code())
            fields = []
            for detail in rpc_status.from_call(error).details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad_request = error_details_pb2.BadRequest()
                    detail.Unpack(bad_request)
                    fields += [v.field for v in bad_request.field_violations]
            check("BadRequest details name the field", "currency_code" in fields, fields)

        try:
            record_order(request("EUR"), timeout=TIMEOUT)
            check("a call without a token is refused", False, "the call succeeded")
        except grpc.RpcError as error:
            check("a call without a token is UNAUTHENTICATED", error.code() == grpc.StatusCode.UNAUTHENTICATED)
        channel.close()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            code = "killed"
        check("SIGTERM stops the server cleanly", code == 0, code)
        check(
            "the embedded Postgres stopped with it",
            not os.path.exists(os.path.join(data_dir, "postgres", "postmaster.pid")),
        )
        log.close()
        if failed:
            with open(log_path) as f:
                print("server log:\n" + f.read())
        shutil.rmtree(data_dir, ignore_errors=True)

    print(f"interop: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
