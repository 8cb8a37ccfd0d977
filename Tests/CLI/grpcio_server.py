#!/usr/bin/env python3
"""A grpcio server for the command line's tests: grpc.testing.TestService (the interop
servicer of Tests/Interop/interop_server.py: all four kinds of RPC, echoed metadata,
requested statuses), health checking (grpcio-health-checking) and server reflection
(grpcio-reflection, which serves grpc.reflection.v1alpha).

Usage: grpcio_server.py [--port 0 | --unix PATH] [--tls CERT KEY [--client_ca CA]]
                        [--no_reflection]

Prints `listening on ADDRESS` (flushed) once it serves, and stops on SIGTERM/SIGINT.
Health: "" and grpc.testing.TestService are SERVING, test.NotServing is NOT_SERVING.
With --client_ca, clients must present a certificate that CA signed (mutual TLS).
"""

import argparse
import os
import signal
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Interop"))
import interop_server  # noqa: E402  (loads the grpc.testing stubs too)
# grpcio's reflection answers from the default descriptor pool, where a file is only once its
# _pb2 module is imported; test_pb2_grpc does not import test_pb2 (the service's file), so
# without this the service would be listed but "Symbol not found" to every client.
import test_pb2  # noqa: E402,F401

NOT_SERVING = "test.NotServing"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--unix", default=None, help="listen on this Unix socket instead")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), default=None)
    parser.add_argument("--client_ca", default=None, help="require client certificates signed by this CA")
    parser.add_argument("--no_reflection", action="store_true")
    args = parser.parse_args()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    interop_server.test_pb2_grpc.add_TestServiceServicer_to_server(interop_server.TestService(None), server)
    checker = health.HealthServicer()
    checker.set("", health_pb2.HealthCheckResponse.SERVING)
    checker.set("grpc.testing.TestService", health_pb2.HealthCheckResponse.SERVING)
    checker.set(NOT_SERVING, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    if not args.no_reflection:
        reflection.enable_server_reflection(
            ["grpc.testing.TestService", "grpc.health.v1.Health", reflection.SERVICE_NAME], server)

    address = "unix:" + args.unix if args.unix else "127.0.0.1:%d" % args.port
    if args.tls:
        with open(args.tls[0], "rb") as chain, open(args.tls[1], "rb") as key:
            pair = (key.read(), chain.read())
        root = None
        if args.client_ca:
            with open(args.client_ca, "rb") as ca:
                root = ca.read()
        credentials = grpc.ssl_server_credentials(
            [pair], root_certificates=root, require_client_auth=root is not None)
        bound = server.add_secure_port(address, credentials)
    else:
        bound = server.add_insecure_port(address)
    server.start()
    print("listening on %s" % (address if args.unix else "127.0.0.1:%d" % bound), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.stop(grace=2).wait(5)


if __name__ == "__main__":
    main()
