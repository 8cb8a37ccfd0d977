#!/usr/bin/env python3
"""A grpcio AsillaService server, written the way the seed guide writes it,
used as the peer of our Swift `person-client` in test_cross_language.py.

Unlike the guide's server it is deterministic, so tests can assert on replies:

  getInfor(name)     -> Person(name=name, id=len(name), married=len(name) % 2 == 0)
  checkMarried(name) -> RespondGetMaritalStatus(married=len(name) % 2 == 0)

Usage: person_server.py [--port 50051] [--unix-abstract NAME] [--health STATUS]
  (--port 0 picks a free port)

--unix-abstract NAME listens on Linux's abstract socket NAME instead, and prints
`listening on unix-abstract:NAME`. --health SERVING|NOT_SERVING serves
grpc.health.v1.Health with that status for "AsillaService" (and ""); SIGUSR1 flips it
between SERVING and NOT_SERVING, and logs `health STATUS`.

Listens on 127.0.0.1 only, prints `listening on 127.0.0.1:PORT` to stdout
(flushed) once it accepts connections, logs one line per call to stderr, and
stops gracefully (exit code 0) on SIGTERM or SIGINT.

The person_pb2 / person_pb2_grpc stubs are imported from sys.path (the tests
put the directory they generated them into on PYTHONPATH); when they are not
importable, they are generated into a temporary directory with
`python -m grpc_tools.protoc` from Examples/person/Sources/PersonService/person.proto.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent import futures

import grpc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTO_DIR = os.path.join(ROOT, "Examples", "person", "Sources", "PersonService")


def generate_stubs(out_dir):
    """Runs `python -m grpc_tools.protoc` on person.proto into out_dir."""
    subprocess.run(
        [
            sys.executable, "-m", "grpc_tools.protoc",
            "-I" + PROTO_DIR,
            "--python_out=" + out_dir,
            "--grpc_python_out=" + out_dir,
            os.path.join(PROTO_DIR, "person.proto"),
        ],
        check=True,
        timeout=120,
    )
    return out_dir


try:
    import person_pb2  # noqa: F401
except ImportError:
    _stubs_dir = tempfile.mkdtemp(prefix="person-stubs-")
    generate_stubs(_stubs_dir)
    sys.path.insert(0, _stubs_dir)
    import atexit
    atexit.register(shutil.rmtree, _stubs_dir, True)

from person_pb2 import Person, RespondGetMaritalStatus  # noqa: E402
import person_pb2_grpc  # noqa: E402


def log(message):
    print(message, file=sys.stderr, flush=True)


class PersonServer(person_pb2_grpc.AsillaServiceServicer):
    def __init__(self):
        super(person_pb2_grpc.AsillaServiceServicer, self).__init__()

    def getInfor(self, request, context):
        name = request.name
        log("getInfor name=%r" % name)
        id_ = len(name)
        return Person(name=name, id=id_, married=id_ % 2 == 0)

    def checkMarried(self, request, context):
        name = request.name
        log("checkMarried name=%r" % name)
        return RespondGetMaritalStatus(married=len(name) % 2 == 0)


COMPRESSION = {"identity": grpc.Compression.NoCompression,
               "gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}


def serve(port, compression="identity", unix_abstract=None, health=None, host="127.0.0.1"):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10),
                         compression=COMPRESSION[compression])
    person_pb2_grpc.add_AsillaServiceServicer_to_server(PersonServer(), server)
    if health is not None:
        from grpc_health.v1 import health as health_lib, health_pb2, health_pb2_grpc
        servicer = health_lib.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        current = [health]

        def set_health(status):
            current[0] = status
            value = health_pb2.HealthCheckResponse.ServingStatus.Value(status)
            for service in ("", "AsillaService"):
                servicer.set(service, value)
            log("health %s" % status)

        def flip(signum, frame):
            set_health("NOT_SERVING" if current[0] == "SERVING" else "SERVING")

        set_health(health)
        signal.signal(signal.SIGUSR1, flip)
    if unix_abstract is not None:
        address = "unix-abstract:%s" % unix_abstract
        if server.add_insecure_port(address) == 0:
            log("error: cannot listen on %s" % address)
            return 1
        listening = address
    else:
        bound = server.add_insecure_port("%s:%d" % (host, port))
        if bound == 0:
            log("error: cannot listen on %s:%d" % (host, port))
            return 1
        listening = "%s:%d" % (host, bound)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server.start()
    print("listening on %s" % listening, flush=True)
    # Wait in short slices so the signal handlers get to run.
    while not stop.wait(0.5):
        pass
    log("shutting down")
    server.stop(grace=5).wait(10)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="AsillaService test server (grpcio)")
    parser.add_argument("--port", default=50051, type=int,
                        help="port to listen on (0 = pick a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address to listen on (127.0.0.1, 127.0.0.2, ...)")
    parser.add_argument("--compression", default="identity", choices=sorted(COMPRESSION),
                        help="compress every response with this algorithm")
    parser.add_argument("--unix-abstract", metavar="NAME",
                        help="listen on this abstract Unix socket instead")
    parser.add_argument("--health", choices=["SERVING", "NOT_SERVING"],
                        help="serve grpc.health.v1.Health with this status (SIGUSR1 flips it)")
    args = parser.parse_args()
    sys.exit(serve(args.port, args.compression, args.unix_abstract, args.health, args.host))
