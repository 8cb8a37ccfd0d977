"""Cross-language tests: grpcio (Python) <-> gRPC Simple (Swift).

(a) a grpcio client, with stubs generated from person.proto, calls our Swift
    `person-server` (path in $PERSON_SERVER);
(b) our Swift `person-client` (path in $PERSON_CLIENT) calls person_server.py,
    a grpcio server written the way the seed guide writes it.

The Python stubs are generated at test time with `python -m grpc_tools.protoc`
into a temporary directory. Every process started here listens on 127.0.0.1
only and is killed by PID when its test or fixture ends; every wait has a
timeout. Tests of a direction whose binary is not given are skipped.

Run: PERSON_SERVER=.../person-server PERSON_CLIENT=.../person-client \
         .venv/bin/python -m pytest Tests/CrossLanguage
"""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROTO_DIR = os.path.join(ROOT, "Examples", "person", "Sources", "PersonService")
PYTHON_SERVER = os.path.join(HERE, "person_server.py")

# Seconds to wait for a server's `listening on` line, and for one client run.
START_TIMEOUT = float(os.environ.get("CROSS_LANGUAGE_START_TIMEOUT", "30"))
CLIENT_TIMEOUT = float(os.environ.get("CROSS_LANGUAGE_CLIENT_TIMEOUT", "30"))
RPC_TIMEOUT = 10  # deadline of each grpcio call
SHUTDOWN_TIMEOUT = 10  # a server must exit this soon after SIGTERM/SIGINT

# A child inherits ignored signals: if whoever started pytest ignores SIGINT
# or SIGTERM (a background job of a non-interactive shell ignores SIGINT), the
# servers started here would too, and the shutdown tests would mean nothing.
for _signum in (signal.SIGINT, signal.SIGTERM):
    if signal.getsignal(_signum) == signal.SIG_IGN:
        signal.signal(_signum, signal.default_int_handler
                      if _signum == signal.SIGINT else signal.SIG_DFL)

LISTENING = re.compile(r"^listening on (\S+):(\d+)$")
# No proxies for loopback, whatever the environment says.
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def binary(env_var):
    """The executable named by env_var; skips the test when it is unset."""
    path = os.environ.get(env_var)
    if not path:
        pytest.skip("%s is not set" % env_var)
    assert os.path.isfile(path) and os.access(path, os.X_OK), (
        "%s=%s is not an executable file" % (env_var, path))
    return path


class Server:
    """A server process whose stdout is read line by line on a thread (so it
    never blocks on a full pipe) and whose stderr goes to a temp file."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.stderr_file = tempfile.TemporaryFile()
        self.lines = queue.Queue()
        self.stdout_lines = []
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self.stderr_file, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.host = self.port = None

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            self.lines.put(line)
        self.lines.put(None)  # EOF

    def wait_listening(self, timeout=START_TIMEOUT):
        """Waits for the `listening on HOST:PORT` line; returns (host, port)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail("no `listening on` line within %.0f s" % timeout)
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                self.fail("exited with code %s before `listening on`"
                          % self.proc.returncode)
            match = LISTENING.match(line.strip())
            if match:
                self.host, self.port = match.group(1), int(match.group(2))
                return self.host, self.port

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def stderr(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode("utf-8", "replace")

    def describe(self):
        return "%s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            " ".join(self.argv), "\n".join(self.stdout_lines), self.stderr())

    def fail(self, why):
        pytest.fail("%s: %s\n%s" % (os.path.basename(self.argv[0]), why,
                                    self.describe()))

    def signal_and_wait(self, signum, timeout=SHUTDOWN_TIMEOUT):
        """Sends signum; returns the exit code, or None if still running."""
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        """Ends the process by PID (SIGTERM, then SIGKILL) and reaps it."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.reader.join(timeout=5)
        # Closing the pipe while the reader thread still blocks on it (a
        # grandchild holding it open) would hang: then leave it to the thread.
        if not self.reader.is_alive():
            self.proc.stdout.close()
        self.stderr_file.close()


def start_swift_server():
    server = Server([binary("PERSON_SERVER"), "--host", "127.0.0.1",
                     "--port", "0"])
    try:
        host, _ = server.wait_listening()
        assert host == "127.0.0.1", server.describe()
    except BaseException:
        server.kill()
        raise
    return server


def run_client(args, timeout=CLIENT_TIMEOUT):
    argv = [binary("PERSON_CLIENT")] + args
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=timeout)
        return subprocess.CompletedProcess(
            argv, result.returncode, result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired as error:
        # subprocess.run has already killed (SIGKILL) and reaped the client.
        timed_out = error
    out, err = (
        (data or b"").decode("utf-8", "replace")
        for data in (timed_out.stdout, timed_out.stderr))
    pytest.fail("%s did not finish within %.0f s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(argv), timeout, out, err))


def unused_port():
    """A port on 127.0.0.1 where nothing listens (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def describe(result):
    return "exit code %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
        result.returncode, result.stdout, result.stderr)


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stubs_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("person_stubs"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I" + PROTO_DIR,
         "--python_out=" + out, "--grpc_python_out=" + out,
         os.path.join(PROTO_DIR, "person.proto")],
        check=True, timeout=120)
    return out


@pytest.fixture(scope="session")
def pb(stubs_dir):
    """The generated modules: pb.person_pb2, pb.person_pb2_grpc."""
    sys.path.insert(0, stubs_dir)
    try:
        import person_pb2
        import person_pb2_grpc
    finally:
        sys.path.remove(stubs_dir)

    class Stubs:
        pass

    Stubs.person_pb2 = person_pb2
    Stubs.person_pb2_grpc = person_pb2_grpc
    return Stubs


@pytest.fixture(scope="module")
def swift_server():
    server = start_swift_server()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def channel_to(request):
    """channel_to(address) -> a grpc channel, closed at the end of the test."""
    channels = []

    def make(address):
        channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        channels.append(channel)
        return channel

    yield make
    for channel in channels:
        channel.close()


@pytest.fixture
def swift_stub(swift_server, channel_to, pb):
    return pb.person_pb2_grpc.AsillaServiceStub(channel_to(swift_server.address))


def start_python_server(stubs_dir, *extra):
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(
                   [stubs_dir] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return Server([sys.executable, PYTHON_SERVER, "--port", "0"] + list(extra), env=env)


@pytest.fixture(scope="module")
def python_server(stubs_dir):
    server = start_python_server(stubs_dir)
    try:
        server.wait_listening()
        yield server
    finally:
        server.kill()


# --------------------------------------------------------------------------
# (a) grpcio client -> Swift person-server
# --------------------------------------------------------------------------

NAMES = ["trung", "Nguyễn Văn Trung", "a", "x" * 4096, ""]


@pytest.mark.parametrize("name", NAMES, ids=["trung", "unicode", "one-char",
                                             "4KiB", "empty"])
def test_swift_server_get_infor(swift_stub, pb, name):
    for _ in range(5):
        reply = swift_stub.getInfor(pb.person_pb2.RequestInforPerson(name=name),
                                    timeout=RPC_TIMEOUT)
        assert reply.name == name
        assert 1 <= reply.id <= 1000, reply
        assert reply.married == (reply.id % 2 == 0), reply


def test_swift_server_get_infor_ids_are_random(swift_stub, pb):
    ids = {swift_stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"),
                               timeout=RPC_TIMEOUT).id for _ in range(20)}
    assert len(ids) > 1, "20 calls all returned id %s" % ids


def test_swift_server_check_married(swift_stub, pb):
    seen = set()
    for _ in range(64):
        reply = swift_stub.checkMarried(
            pb.person_pb2.RequestCheckMaritalStatus(name="trung"),
            timeout=RPC_TIMEOUT)
        assert isinstance(reply.married, bool)
        seen.add(reply.married)
    # A random bool: 64 equal replies in a row has odds of 1 in 2**63.
    assert seen == {True, False}


def test_swift_server_concurrent_calls(swift_stub, pb):
    calls = [swift_stub.getInfor.future(
        pb.person_pb2.RequestInforPerson(name="name-%d" % i), timeout=RPC_TIMEOUT)
        for i in range(32)]
    for i, call in enumerate(calls):
        reply = call.result(timeout=RPC_TIMEOUT)
        assert reply.name == "name-%d" % i
        assert reply.married == (reply.id % 2 == 0)


def test_swift_server_accepts_metadata(swift_stub, pb):
    reply, call = swift_stub.getInfor.with_call(
        pb.person_pb2.RequestInforPerson(name="trung"), timeout=RPC_TIMEOUT,
        metadata=(("x-client", "grpcio-python"), ("x-trace-bin", b"\x00\x01\xff")))
    assert reply.name == "trung"
    assert call.code() == grpc.StatusCode.OK


@pytest.mark.parametrize("method", ["/AsillaService/nope", "/NoSuchService/getInfor"])
def test_swift_server_unknown_method_is_unimplemented(swift_server, channel_to, method):
    call = channel_to(swift_server.address).unary_unary(
        method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as raised:
        call(b"", timeout=RPC_TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED, raised.value


def test_swift_server_still_serves_after_errors(swift_server, swift_stub, channel_to, pb):
    bad = channel_to(swift_server.address).unary_unary("/AsillaService/nope")
    with pytest.raises(grpc.RpcError):
        bad(b"", timeout=RPC_TIMEOUT)
    reply = swift_stub.getInfor(pb.person_pb2.RequestInforPerson(name="after"),
                                timeout=RPC_TIMEOUT)
    assert reply.name == "after"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_swift_server_graceful_shutdown(pb, channel_to, signum):
    server = start_swift_server()
    try:
        stub = pb.person_pb2_grpc.AsillaServiceStub(channel_to(server.address))
        reply = stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"),
                              timeout=RPC_TIMEOUT)
        assert reply.name == "trung"
        code = server.signal_and_wait(signum)
        if code is None:
            server.fail("still running %d s after %s"
                        % (SHUTDOWN_TIMEOUT, signal.Signals(signum).name))
        assert code == 0, server.describe()
        server.reader.join(timeout=5)
        listening = [l for l in server.stdout_lines if l.startswith("listening on")]
        assert len(listening) == 1, server.describe()
    finally:
        server.kill()


# --------------------------------------------------------------------------
# The Python server itself (keeps direction (b) honest)
# --------------------------------------------------------------------------


def test_python_server_is_deterministic(python_server, channel_to, pb):
    stub = pb.person_pb2_grpc.AsillaServiceStub(channel_to(python_server.address))
    reply = stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"),
                          timeout=RPC_TIMEOUT)
    assert (reply.name, reply.id, reply.married) == ("trung", 5, False)
    reply = stub.checkMarried(pb.person_pb2.RequestCheckMaritalStatus(name="hoa!"),
                              timeout=RPC_TIMEOUT)
    assert reply.married is True


# --------------------------------------------------------------------------
# (b) Swift person-client -> grpcio person_server.py
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["trung", "hoa"])
def test_swift_client_calls_python_server(python_server, name):
    before = python_server.stderr()
    result = run_client(["--ip", "127.0.0.1", "--port", str(python_server.port),
                         "--name", name])
    assert result.returncode == 0, describe(result)
    assert name in result.stdout, describe(result)
    assert "married" in result.stdout.lower(), describe(result)
    # The Python server logged checkMarried, then getInfor, for this name.
    calls = [line for line in python_server.stderr()[len(before):].splitlines()
             if line.endswith("name=%r" % name)]
    assert calls == ["checkMarried name=%r" % name, "getInfor name=%r" % name], (
        describe(result) + "\n--- python server stderr ---\n" + python_server.stderr())


def test_swift_client_reports_unreachable_server():
    port = unused_port()
    result = run_client(["--ip", "127.0.0.1", "--port", str(port),
                         "--name", "trung"])
    assert result.returncode != 0, describe(result)
    assert any(line.startswith("error:") for line in result.stderr.splitlines()), (
        describe(result))
    assert "UNAVAILABLE" in result.stderr, describe(result)
    assert "127.0.0.1:%d" % port in result.stderr, describe(result)


# --------------------------------------------------------------------------
# (c) compression (grpc/grpc doc/compression.md), both directions
# --------------------------------------------------------------------------

COMPRESSIONS = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}


@pytest.mark.parametrize("algorithm", sorted(COMPRESSIONS))
def test_python_client_sends_compressed_requests_to_swift_server(swift_stub, pb, algorithm):
    name = "compressible " * 300
    reply = swift_stub.getInfor(pb.person_pb2.RequestInforPerson(name=name),
                                timeout=RPC_TIMEOUT, compression=COMPRESSIONS[algorithm])
    assert reply.name == name


@pytest.mark.parametrize("algorithm", sorted(COMPRESSIONS))
def test_swift_client_reads_compressed_responses_and_sends_compressed_requests(stubs_dir, algorithm):
    server = start_python_server(stubs_dir, "--compression", algorithm)
    try:
        server.wait_listening()
        name = "squeeze" * 100
        result = run_client(["--ip", "127.0.0.1", "--port", str(server.port),
                             "--name", name, "--compression", algorithm])
        assert result.returncode == 0, describe(result) + "\n--- python server ---\n" + server.stderr()
        assert "married" in result.stdout.lower(), describe(result)
        assert name in result.stdout, describe(result)
    finally:
        server.kill()


# --------------------------------------------------------------------------
# (d) health checking: grpcio-health-checking's client -> person-server
# --------------------------------------------------------------------------

def test_python_health_client_reads_swift_server_health(swift_server, channel_to):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    stub = health_pb2_grpc.HealthStub(channel_to(swift_server.address))
    for service in ["", "AsillaService"]:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, (service, reply)
    with pytest.raises(grpc.RpcError) as error:
        stub.Check(health_pb2.HealthCheckRequest(service="NoSuchService"), timeout=RPC_TIMEOUT)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND, error.value
    watch = stub.Watch(health_pb2.HealthCheckRequest(service="AsillaService"), timeout=RPC_TIMEOUT)
    try:
        first = next(watch)
        assert first.status == health_pb2.HealthCheckResponse.SERVING, first
    finally:
        watch.cancel()
