"""The gRPC interop suite (grpc/grpc doc/interop-test-descriptions.md) between
grpcio and gRPC Simple -- the Python half (issue 4).

Pairings, each case its own pytest item:
(a) interop_client.py -> interop_server.py (Python <-> Python): proves both
    Python halves against each other;
(b) interop_client.py -> our Swift `interop-server` (path in $INTEROP_SERVER,
    started with `--port 0`, announcing `listening on HOST:PORT`);
(c) our Swift `interop-client` (path in $INTEROP_CLIENT), once per case ->
    interop_server.py.
(b) and (c) are skipped when their variable is unset.
Over TLS (certificates made by openssl at test time, tls_certs.py), once each:
(b-tls) interop_client.py --use_tls -> Swift `interop-server --use_tls true`;
(c-tls) Swift `interop-client --use_tls true` -> interop_server.py --use_tls.
The wire.py relays read HTTP/2 frames, which TLS hides, so there are none over
TLS: in (b-tls) the compressed flags of server_compressed_* responses are not
asserted (sizes and contents are), and in (c-tls) the grpcio server cannot
check `expect_compressed`, so client_compressed_unary and
client_compressed_streaming (whose probes need that check) are not run.

For (a) and (b) the Python client runs `--test_case all` once per server and
each item checks its case's `PASS name` / `FAIL name: why` line, so a failure
names its case and says why. The stubs are generated once per session (see
interop_stubs.py) and handed to every child through $INTEROP_STUBS_DIR.
Every process started here listens on 127.0.0.1 only and is ended by PID when
its fixture or test ends; every wait has a timeout.

Run: INTEROP_SERVER=.../interop-server INTEROP_CLIENT=.../interop-client \
         .venv/bin/python -m pytest Tests/Interop
"""

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import interop_stubs  # noqa: E402
import tls_certs  # noqa: E402

PYTHON_SERVER = os.path.join(HERE, "interop_server.py")
PYTHON_CLIENT = os.path.join(HERE, "interop_client.py")

START_TIMEOUT = float(os.environ.get("INTEROP_START_TIMEOUT", "30"))
CLIENT_TIMEOUT = float(os.environ.get("INTEROP_CLIENT_TIMEOUT", "120"))
SHUTDOWN_TIMEOUT = 10

CASES = ["empty_unary", "large_unary", "client_compressed_unary",
         "server_compressed_unary", "client_streaming", "client_compressed_streaming",
         "server_streaming", "server_compressed_streaming", "ping_pong", "empty_stream",
         "custom_metadata", "status_code_and_message", "special_status_message",
         "unimplemented_method", "unimplemented_service", "cancel_after_begin",
         "cancel_after_first_response", "timeout_on_sleeping_server", "rpc_soak",
         "channel_soak"]

# Children inherit ignored signals (a background job of a non-interactive
# shell ignores SIGINT); the shutdown tests need them delivered.
for _signum in (signal.SIGINT, signal.SIGTERM):
    if signal.getsignal(_signum) == signal.SIG_IGN:
        signal.signal(_signum, signal.default_int_handler
                      if _signum == signal.SIGINT else signal.SIG_DFL)

LISTENING = re.compile(r"^listening on (\S+):(\d+)$")
RESULT = re.compile(r"^(PASS|FAIL) (\w+)(?:: (.*))?$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


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
    """A server process; stdout read line by line on a thread, stderr to a
    temp file."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.stderr_file = tempfile.TemporaryFile()
        self.lines = queue.Queue()
        self.stdout_lines = []
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=self.stderr_file, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.host = self.port = None

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_listening(self, timeout=START_TIMEOUT):
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

    def stderr(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode("utf-8", "replace")

    def describe(self):
        return "%s\n--- server stdout ---\n%s\n--- server stderr (last 4000) ---\n%s" % (
            " ".join(self.argv), "\n".join(self.stdout_lines), self.stderr()[-4000:])

    def fail(self, why):
        program = self.argv[1] if self.argv[0] == sys.executable else self.argv[0]
        pytest.fail("%s: %s\n%s" % (os.path.basename(program), why, self.describe()))

    def signal_and_wait(self, signum, timeout=SHUTDOWN_TIMEOUT):
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
                self.proc.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.reader.join(timeout=5)
        if not self.reader.is_alive():
            self.proc.stdout.close()
        self.stderr_file.close()


def child_env(stubs_dir):
    return dict(os.environ, PYTHONUNBUFFERED="1", INTEROP_STUBS_DIR=stubs_dir)


def run(argv, env=None, timeout=CLIENT_TIMEOUT):
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=timeout, env=env)
    except subprocess.TimeoutExpired as error:
        out, err = ((d or b"").decode("utf-8", "replace") for d in (error.stdout, error.stderr))
        pytest.fail("%s did not finish within %.0f s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                    % (" ".join(argv), timeout, out, err))
    return subprocess.CompletedProcess(argv, result.returncode,
                                       result.stdout.decode("utf-8", "replace"),
                                       result.stderr.decode("utf-8", "replace"))


def describe(result):
    return "%s\nexit code %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
        " ".join(result.args), result.returncode, result.stdout, result.stderr)


class SuiteRun:
    """The output of one `interop_client.py --test_case all` run, by case."""

    def __init__(self, result, server):
        self.result, self.server = result, server
        self.cases, self.summary = {}, None
        for line in result.stdout.splitlines():
            match = RESULT.match(line)
            if match:
                self.cases[match.group(2)] = (match.group(1), match.group(3))
            elif SUMMARY.match(line):
                self.summary = tuple(int(n) for n in SUMMARY.match(line).groups())

    def check(self, case):
        details = "%s\n%s" % (describe(self.result), self.server.describe())
        assert case in self.cases, "no result line for %s\n%s" % (case, details)
        verdict, why = self.cases[case]
        assert verdict == "PASS", "%s: %s\n%s" % (case, why, details)


def start_python_server(stubs_dir, *extra):
    server = Server([sys.executable, PYTHON_SERVER, "--port", "0"] + list(extra),
                    env=child_env(stubs_dir))
    try:
        host, _ = server.wait_listening()
        assert host == "127.0.0.1", server.describe()
    except BaseException:
        server.kill()
        raise
    return server


def run_python_client(stubs_dir, host, port, *extra):
    return run([sys.executable, PYTHON_CLIENT, "--server_host", host,
                "--server_port", str(port)] + list(extra), env=child_env(stubs_dir))


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stubs_dir(tmp_path_factory):
    return interop_stubs.generate(str(tmp_path_factory.mktemp("interop_stubs")))


@pytest.fixture(scope="module")
def python_server(stubs_dir):
    server = start_python_server(stubs_dir)
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def python_suite(stubs_dir, python_server):
    """(a) interop_client.py --test_case all -> interop_server.py."""
    result = run_python_client(stubs_dir, python_server.host, python_server.port,
                               "--test_case", "all")
    return SuiteRun(result, python_server)


@pytest.fixture(scope="module")
def swift_server():
    server = Server([binary("INTEROP_SERVER"), "--port", "0"])
    try:
        server.wait_listening()
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def swift_server_suite(stubs_dir, swift_server):
    """(b) interop_client.py --test_case all -> Swift interop-server."""
    result = run_python_client(stubs_dir, swift_server.host, swift_server.port,
                               "--test_case", "all")
    return SuiteRun(result, swift_server)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return tls_certs.create(str(tmp_path_factory.mktemp("tls_certs")))


@pytest.fixture(scope="module")
def swift_tls_server(certs):
    server = Server([binary("INTEROP_SERVER"), "--port", "0", "--use_tls", "true",
                     "--tls_cert_file", certs.server_cert, "--tls_key_file", certs.server_key])
    try:
        server.wait_listening()
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def swift_tls_server_suite(stubs_dir, certs, swift_tls_server):
    """(b-tls) interop_client.py --use_tls --test_case all -> Swift interop-server over TLS."""
    result = run_python_client(stubs_dir, swift_tls_server.host, swift_tls_server.port,
                               "--test_case", "all", "--use_tls", "true", "--ca_file", certs.ca,
                               "--server_host_override", tls_certs.SERVER_NAME_OVERRIDE)
    return SuiteRun(result, swift_tls_server)


# Cases whose check needs the grpcio server's wire relay (expect_compressed).
NEEDS_SERVER_RELAY = ["client_compressed_unary", "client_compressed_streaming"]
TLS_CLIENT_CASES = [case for case in CASES if case not in NEEDS_SERVER_RELAY]


@pytest.fixture(scope="module")
def swift_tls_client_suite(stubs_dir, certs):
    """(c-tls) Swift interop-client --use_tls, every case but NEEDS_SERVER_RELAY in one
    run -> interop_server.py over TLS."""
    client = binary("INTEROP_CLIENT")
    server = start_python_server(stubs_dir, "--use_tls", "true", "--tls_cert_file",
                                 certs.server_cert, "--tls_key_file", certs.server_key)
    try:
        result = run([client, "--server_host", "127.0.0.1", "--server_port", str(server.port),
                      "--use_tls", "true", "--ca_file", certs.ca,
                      "--server_host_override", tls_certs.SERVER_NAME_OVERRIDE,
                      "--test_case", ",".join(TLS_CLIENT_CASES)])
        yield SuiteRun(result, server)
    finally:
        server.kill()


# --------------------------------------------------------------------------
# (a) Python client -> Python server
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_python_client_python_server(python_suite, case):
    python_suite.check(case)


def test_python_client_python_server_summary(python_suite):
    assert python_suite.summary == (len(CASES), 0), describe(python_suite.result)
    assert python_suite.result.returncode == 0, describe(python_suite.result)


# --------------------------------------------------------------------------
# (b) Python client -> Swift interop-server
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_python_client_swift_server(swift_server_suite, case):
    swift_server_suite.check(case)


def test_python_client_swift_server_summary(swift_server_suite):
    assert swift_server_suite.summary == (len(CASES), 0), describe(swift_server_suite.result)
    assert swift_server_suite.result.returncode == 0, describe(swift_server_suite.result)


# --------------------------------------------------------------------------
# (c) Swift interop-client -> Python server
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_swift_client_python_server(python_server, case):
    result = run([binary("INTEROP_CLIENT"), "--server_host", "127.0.0.1",
                  "--server_port", str(python_server.port), "--test_case", case])
    details = "%s\n%s" % (describe(result), python_server.describe())
    assert result.returncode == 0, details
    assert "FAIL" not in result.stdout, details
    assert re.search(r"^1 passed, 0 failed$", result.stdout, re.M), details


def test_swift_client_reads_grpcio_status_details(python_server):
    """Not an interop case: interop_server.py attaches the requested EchoStatus as a
    google.rpc.Status detail with grpcio-status; our client reads it."""
    result = run([binary("INTEROP_CLIENT"), "--server_host", "127.0.0.1",
                  "--server_port", str(python_server.port), "--test_case", "status_details"])
    details = "%s\n%s" % (describe(result), python_server.describe())
    assert result.returncode == 0, details
    assert re.search(r"^PASS status_details", result.stdout, re.M), details


SERVICE_CONFIG = """{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "grpc.testing.TestService"}],
    "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
  }]
}"""


def test_swift_client_takes_a_service_config(python_server):
    """grpc-go's --service_config_json: every case passes under a config with a retry policy
    and round_robin; a config whose timeout cannot be met fails the calls it names, which
    shows it applies; a malformed one is refused, naming its field."""
    base = [binary("INTEROP_CLIENT"), "--server_host", "127.0.0.1",
            "--server_port", str(python_server.port)]
    result = run(base + ["--test_case", "empty_unary,large_unary,ping_pong,custom_metadata",
                         "--service_config_json", SERVICE_CONFIG])
    assert result.returncode == 0 and "4 passed, 0 failed" in result.stdout, describe(result)

    hurried = ('{"methodConfig": [{"name": [{"service": "grpc.testing.TestService",'
               ' "method": "UnaryCall"}], "timeout": "0.000001s"}]}')
    result = run(base + ["--test_case", "large_unary,empty_unary", "--service_config_json", hurried])
    assert result.returncode == 1, describe(result)
    assert re.search(r"^FAIL large_unary: .*DEADLINE_EXCEEDED", result.stdout, re.M), describe(result)
    assert re.search(r"^PASS empty_unary$", result.stdout, re.M), describe(result)

    result = run(base + ["--test_case", "empty_unary", "--service_config_json",
                         '{"methodConfig": [{"name": [{"service": "x"}], "retryPolicy": {"maxAttempts": 1}}]}'])
    assert result.returncode != 0, describe(result)
    assert "--service_config_json" in result.stderr and "maxAttempts" in result.stderr, describe(result)


def test_grpcio_status_reads_swift_status_details(stubs_dir, swift_server):
    """grpcio-status's rpc_status.from_call reads the details our interop-server sends
    (the requested EchoStatus, packed in a google.rpc.Status)."""
    sys.path.insert(0, stubs_dir)
    import grpc
    from grpc_status import rpc_status
    import messages_pb2
    import test_pb2_grpc

    with grpc.insecure_channel("127.0.0.1:%d" % swift_server.port) as channel:
        stub = test_pb2_grpc.TestServiceStub(channel)
        requested = messages_pb2.EchoStatus(code=9, message="details please")
        for call in ("unary", "stream"):
            with pytest.raises(grpc.RpcError) as raised:
                if call == "unary":
                    stub.UnaryCall(messages_pb2.SimpleRequest(response_status=requested), timeout=10)
                else:
                    list(stub.FullDuplexCall(
                        iter([messages_pb2.StreamingOutputCallRequest(response_status=requested)]), timeout=10))
            error = raised.value
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, call
            assert error.details() == "details please", call
            status = rpc_status.from_call(error)
            assert status is not None, "%s: no grpc-status-details-bin" % call
            assert (status.code, status.message) == (9, "details please"), call
            assert len(status.details) == 1, call
            echoed = messages_pb2.EchoStatus()
            assert status.details[0].Unpack(echoed), call
            assert echoed == requested, call


# --------------------------------------------------------------------------
# (b-tls) Python client -> Swift interop-server, over TLS
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_python_client_swift_server_tls(swift_tls_server_suite, case):
    swift_tls_server_suite.check(case)


def test_python_client_swift_server_tls_summary(swift_tls_server_suite):
    assert swift_tls_server_suite.summary == (len(CASES), 0), describe(swift_tls_server_suite.result)
    assert swift_tls_server_suite.result.returncode == 0, describe(swift_tls_server_suite.result)


# --------------------------------------------------------------------------
# (c-tls) Swift interop-client -> Python server, over TLS
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", TLS_CLIENT_CASES)
def test_swift_client_python_server_tls(swift_tls_client_suite, case):
    swift_tls_client_suite.check(case)


def test_swift_client_python_server_tls_summary(swift_tls_client_suite):
    assert swift_tls_client_suite.summary == (len(TLS_CLIENT_CASES), 0), describe(swift_tls_client_suite.result)
    assert swift_tls_client_suite.result.returncode == 0, describe(swift_tls_client_suite.result)


def test_swift_tls_defaults_use_the_shared_test_certificates(tmp_path):
    """interop-server --use_tls true without files and interop-client --use_test_ca
    true agree on the test CA made at run time in $TMPDIR (here a fresh one)."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    server = Server([binary("INTEROP_SERVER"), "--port", "0", "--use_tls", "true"], env=env)
    try:
        server.wait_listening()
        result = run([binary("INTEROP_CLIENT"), "--server_port", str(server.port),
                      "--use_tls", "true", "--use_test_ca", "true",
                      "--server_host_override", tls_certs.SERVER_NAME_OVERRIDE,
                      "--test_case", "empty_unary,large_unary"], env=env)
        details = "%s\n%s" % (describe(result), server.describe())
        assert result.returncode == 0, details
        assert re.search(r"^2 passed, 0 failed$", result.stdout, re.M), details
        assert any(name.startswith("grpc-simple-test-certs-") for name in os.listdir(tmp_path))
    finally:
        server.kill()


@pytest.mark.parametrize("form", [["--use_tls"], ["--use_tls=true"], ["--use_tls", "true"],
                                  ["--use_tls=false"], ["--use_tls", "false"]])
def test_swift_binaries_take_every_boolean_flag_form(form, tmp_path):
    """grpc's interop runners pass boolean flags every way grpc-go reads them; both
    interop binaries take each form, and the pair agrees on TLS or plaintext."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    server = Server([binary("INTEROP_SERVER"), "--port", "0"] + form, env=env)
    try:
        server.wait_listening()
        tls = form in (["--use_tls"], ["--use_tls=true"], ["--use_tls", "true"])
        extra = ["--use_test_ca", "--server_host_override", tls_certs.SERVER_NAME_OVERRIDE] if tls else []
        result = run([binary("INTEROP_CLIENT"), "--server_port", str(server.port)] + form + extra
                     + ["--test_case", "empty_unary"], env=env)
        details = "%s\n%s" % (describe(result), server.describe())
        assert result.returncode == 0, details
        assert re.search(r"^1 passed, 0 failed$", result.stdout, re.M), details
    finally:
        server.kill()


def test_swift_client_rejects_an_untrusted_server(stubs_dir, certs, tmp_path):
    """A CA that did not sign the server's certificate: UNAVAILABLE, saying TLS and why."""
    other = tmp_path / "other"
    other.mkdir()
    untrusted = tls_certs.create(str(other))
    server = start_python_server(stubs_dir, "--use_tls", "true", "--tls_cert_file",
                                 certs.server_cert, "--tls_key_file", certs.server_key)
    try:
        result = run([binary("INTEROP_CLIENT"), "--server_port", str(server.port),
                      "--use_tls", "true", "--ca_file", untrusted.ca,
                      "--server_host_override", tls_certs.SERVER_NAME_OVERRIDE,
                      "--test_case", "empty_unary"])
        assert result.returncode == 1, describe(result)
        assert re.search(r"^FAIL empty_unary: .*unavailable.*TLS handshake failed: the server's "
                         r"certificate is not trusted", result.stdout, re.M | re.I), describe(result)
    finally:
        server.kill()


# --------------------------------------------------------------------------
# The Python halves themselves: that the checks can fail, flags, shutdown
# --------------------------------------------------------------------------


def test_probes_fail_without_wire_relay(stubs_dir):
    """Without its relay the grpcio server cannot see request compression, so
    it cannot reject the uncompressed probes: the client must say so (i.e.
    those two cases really assert INVALID_ARGUMENT)."""
    server = start_python_server(stubs_dir, "--no_wire_relay")
    try:
        for case in ("client_compressed_unary", "client_compressed_streaming"):
            result = run_python_client(stubs_dir, server.host, server.port,
                                       "--test_case", case)
            assert result.returncode == 1, describe(result)
            assert re.search(r"^FAIL %s: probe .*INVALID_ARGUMENT" % case,
                             result.stdout, re.M), describe(result)
            assert "0 passed, 1 failed" in result.stdout, describe(result)
    finally:
        server.kill()


@pytest.mark.parametrize("script", [PYTHON_SERVER, PYTHON_CLIENT])
def test_use_tls_without_certificates_fails_clearly(stubs_dir, script):
    argv = [sys.executable, script, "--use_tls", "true"]
    if script == PYTHON_CLIENT:
        argv += ["--server_port", "1", "--test_case", "empty_unary"]
    result = run(argv, env=child_env(stubs_dir), timeout=60)
    assert result.returncode == 2, describe(result)
    expected = "--use_tls needs --ca_file" if script == PYTHON_CLIENT else "--use_tls needs --tls_cert_file"
    assert expected in result.stderr, describe(result)


def test_unknown_test_case(stubs_dir):
    result = run([sys.executable, PYTHON_CLIENT, "--server_port", "1",
                  "--test_case", "no_such_case"], env=child_env(stubs_dir), timeout=60)
    assert result.returncode == 2, describe(result)
    assert "unknown test case" in result.stderr, describe(result)


def test_client_reports_unreachable_server(stubs_dir):
    """A server that is not there: every case fails, exit code 1."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_python_client(stubs_dir, "127.0.0.1", port, "--test_case", "empty_unary",
                               "--rpc_timeout", "2")
    assert result.returncode == 1, describe(result)
    assert re.search(r"^FAIL empty_unary: unexpected status UNAVAILABLE", result.stdout,
                     re.M), describe(result)
    assert "0 passed, 1 failed" in result.stdout, describe(result)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_python_server_stops_on_signal(stubs_dir, signum):
    server = start_python_server(stubs_dir)
    try:
        code = server.signal_and_wait(signum)
        assert code == 0, "exit code %s after %s\n%s" % (code, signum, server.describe())
    finally:
        server.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_swift_server_stops_on_signal(signum):
    server = Server([binary("INTEROP_SERVER"), "--port", "0"])
    try:
        server.wait_listening()
        code = server.signal_and_wait(signum)
        assert code == 0, "exit code %s after %s\n%s" % (code, signum, server.describe())
    finally:
        server.kill()
