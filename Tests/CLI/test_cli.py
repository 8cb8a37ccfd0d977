"""The `grpc-simple` command line ($GRPC_SIMPLE) against real servers of two
implementations, both serving grpc.testing.TestService with health checking and
reflection:

- grpcio: Tests/CLI/grpcio_server.py (grpcio-reflection, which serves only
  grpc.reflection.v1alpha, so every schema lookup against it goes through the
  v1 -> v1alpha fallback; grpcio-health-checking);
- ours: the Swift `interop-server` ($INTEROP_SERVER), reflection v1 and v1alpha.

Every subcommand, the four kinds of RPC (bidirectional interactively, a request
written only after the previous response was read), metadata both ways, TLS and
mutual TLS with a test CA, a Unix socket, schemas from --proto and --protoset
for a server without reflection, exit codes, and each bad-input case with its
one-line error.

Run: GRPC_SIMPLE=.../grpc-simple INTEROP_SERVER=.../interop-server \\
     .venv/bin/python -m pytest Tests/CLI
"""

import json
import os
import re
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Interop"))
import tls_certs  # noqa: E402

TIMEOUT = 60
PROTO_DIR = os.environ.get("GRPC_PROTO_DIR", "/usr/share/grpc-proto")
TEST_PROTO = os.path.join(PROTO_DIR, "grpc", "testing", "test.proto")
SERVICE = "grpc.testing.TestService"


def binary(name):
    path = os.environ.get(name)
    if not path or not os.access(path, os.X_OK):
        pytest.fail("set %s to the built binary (scripts/test does)" % name)
    return path


class Server:
    """A server process started by a test, stopped by its pid."""

    def __init__(self, argv):
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.address = None
        deadline = time.monotonic() + TIMEOUT
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout],
                         daemon=True).start()
        threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()
        while self.address is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                pytest.fail("%s printed no 'listening on' line within %d s" % (argv[0], TIMEOUT))
            if line.startswith("listening on "):
                self.address = line.split("listening on ", 1)[1].strip()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def python_server(*extra):
    return Server([sys.executable, os.path.join(HERE, "grpcio_server.py")] + list(extra))


def swift_server(*extra):
    return Server([binary("INTEROP_SERVER"), "--port", "0"] + list(extra))


@pytest.fixture(scope="module")
def stubs_dir(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("interop_stubs"))
    os.environ["INTEROP_STUBS_DIR"] = directory  # grpcio_server.py loads the stubs from here
    return directory


@pytest.fixture(scope="module", params=["grpcio", "swift"])
def server(request, stubs_dir):
    started = python_server() if request.param == "grpcio" else swift_server()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def swift():
    started = swift_server()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def grpcio(stubs_dir):
    started = python_server()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tls_certs.create(str(tmp_path_factory.mktemp("cli_certs")))


def cli(*args, stdin=None, env=None, timeout=TIMEOUT):
    return subprocess.run([binary("GRPC_SIMPLE")] + list(args), input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env)


def plain(server, *args):
    """A subcommand against `server`, plaintext: `plain(server, "list")`."""
    return cli(args[0], server.address, "--plaintext", *args[1:])


def documents(text):
    """The JSON documents printed one after another."""
    decoder = json.JSONDecoder()
    found, index = [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index == len(text):
            return found
        value, index = decoder.raw_decode(text, index)
        found.append(value)


def describe(result):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (result.returncode, result.stdout, result.stderr)


def failure(result, code, name, *fragments):
    """The command failed with `code` and one line `ERROR: NAME: ...` holding each fragment."""
    assert result.returncode == code, describe(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: %s: " % name), describe(result)
    for fragment in fragments:
        assert fragment in lines[0], describe(result)


def unused_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- list and describe -----------------------------------------------------------------

def test_list_shows_every_service(server):
    result = plain(server, "list")
    assert result.returncode == 0, describe(result)
    services = result.stdout.split()
    for name in (SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"):
        assert name in services, describe(result)
    assert services == sorted(services)


def test_grpcio_serves_only_reflection_v1alpha(grpcio):
    """So every lookup against it exercises the fallback from v1."""
    assert "grpc.reflection.v1.ServerReflection" not in plain(grpcio, "list").stdout.split()


def test_list_shows_a_services_methods(server):
    result = plain(server, "list", SERVICE)
    assert result.returncode == 0, describe(result)
    methods = result.stdout.split()
    for name in ("EmptyCall", "UnaryCall", "StreamingOutputCall", "StreamingInputCall", "FullDuplexCall"):
        assert "%s.%s" % (SERVICE, name) in methods


def test_list_takes_a_short_service_name(server):
    assert plain(server, "list", "TestService").stdout == plain(server, "list", SERVICE).stdout


def test_describe_a_service_in_proto_syntax(server):
    result = plain(server, "describe", SERVICE)
    assert result.returncode == 0, describe(result)
    # The file's name is the server's: grpc/testing/test.proto (ours), test.proto (the grpcio
    # stubs are generated from flat copies).
    assert re.match(r"// service grpc\.testing\.TestService \((grpc/testing/)?test\.proto\)\nservice TestService \{\n",
                    result.stdout), describe(result)
    assert "  rpc UnaryCall(SimpleRequest) returns (SimpleResponse);\n" in result.stdout
    assert ("  rpc FullDuplexCall(stream StreamingOutputCallRequest) returns "
            "(stream StreamingOutputCallResponse);\n") in result.stdout


@pytest.mark.parametrize("symbol, expected", [
    ("grpc.testing.TestService.StreamingInputCall",
     "rpc StreamingInputCall(stream StreamingInputCallRequest) returns (StreamingInputCallResponse);"),
    ("grpc.testing.TestService/UnaryCall", "rpc UnaryCall(SimpleRequest) returns (SimpleResponse);"),
    ("grpc.testing.SimpleRequest", "  int32 response_size = 2;\n"),
    ("grpc.testing.SimpleRequest", "  BoolValue response_compressed = 6;\n"),
    ("grpc.testing.PayloadType", "enum PayloadType {\n  COMPRESSABLE = 0;\n}"),
])
def test_describe_methods_messages_and_enums(server, symbol, expected):
    result = plain(server, "describe", symbol)
    assert result.returncode == 0, describe(result)
    assert expected in result.stdout, describe(result)


def test_describe_without_a_symbol_shows_every_service(server):
    result = plain(server, "describe")
    assert result.returncode == 0, describe(result)
    assert "service TestService {" in result.stdout and "service Health {" in result.stdout


# -- the four kinds of call -------------------------------------------------------------

def test_unary(server):
    result = plain(server, "call", SERVICE + "/UnaryCall", "-d",
                   '{"responseSize": 4, "fillUsername": false, "payload": {"body": "AQID"}}')
    assert result.returncode == 0, describe(result)
    assert documents(result.stdout) == [{"payload": {"body": "AAAAAA=="}}]
    assert result.stderr == ""


def test_unary_takes_proto_field_names_and_a_file(server, tmp_path):
    request = tmp_path / "request.json"
    request.write_text('{"response_size": 2, "response_type": "COMPRESSABLE"}')
    result = plain(server, "call", SERVICE + ".UnaryCall", "-d", "@%s" % request)
    assert result.returncode == 0, describe(result)
    assert documents(result.stdout) == [{"payload": {"body": "AAA="}}]


def test_unary_without_data_sends_an_empty_request(server):
    result = plain(server, "call", SERVICE + "/EmptyCall")
    assert result.returncode == 0, describe(result)
    assert documents(result.stdout) == [{}]


def test_emit_defaults(server):
    # Both servers answer {} with an empty payload: a message field that is set, to its defaults.
    bare = plain(server, "call", SERVICE + "/UnaryCall", "-d", "{}")
    full = plain(server, "call", SERVICE + "/UnaryCall", "-d", "{}", "--emit-defaults")
    assert documents(bare.stdout) == [{"payload": {}}], describe(bare)
    response = documents(full.stdout)[0]
    assert response["username"] == "" and response["oauthScope"] == "", describe(full)
    assert response["payload"] == {"type": "COMPRESSABLE", "body": ""}, describe(full)


def test_server_streaming(server):
    result = plain(server, "call", SERVICE + "/StreamingOutputCall", "-d",
                   '{"responseParameters": [{"size": 1}, {"size": 2}, {"size": 3}]}')
    assert result.returncode == 0, describe(result)
    assert documents(result.stdout) == [{"payload": {"body": "AA=="}}, {"payload": {"body": "AAA="}},
                                        {"payload": {"body": "AAAA"}}]


def test_client_streaming_from_standard_input(server):
    requests = '{"payload": {"body": "AAA="}}\n{"payload": {"body": "AAAA"}} {"payload": {}}'
    result = cli("call", server.address, SERVICE + "/StreamingInputCall", "--plaintext", "-d", "@-",
                 stdin=requests)
    assert result.returncode == 0, describe(result)
    assert documents(result.stdout) == [{"aggregatedPayloadSize": 5}]


def test_bidirectional_streaming_is_interactive(server):
    """Each request is written only once the previous response has been read: the
    command must send every document as soon as it is complete, and print every
    response as soon as it arrives."""
    process = subprocess.Popen(
        [binary("GRPC_SIMPLE"), "call", server.address, SERVICE + "/FullDuplexCall", "--plaintext",
         "-d", "@-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()

    def next_document():
        text = ""
        while True:
            try:
                text += lines.get(timeout=TIMEOUT)
            except queue.Empty:
                process.kill()
                pytest.fail("no response within %d s; so far: %r" % (TIMEOUT, text))
            try:
                found = documents(text)
            except ValueError:  # not a whole document yet
                continue
            if found:
                return found[0]

    try:
        for size, body in ((1, "AA=="), (2, "AAA="), (4, "AAAAAA==")):
            process.stdin.write('{"responseParameters": [{"size": %d}]}\n' % size)
            process.stdin.flush()
            assert next_document() == {"payload": {"body": body}}
        process.stdin.close()
        assert process.wait(timeout=TIMEOUT) == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_a_bad_request_ends_a_bidirectional_call_at_once(server):
    """Even while the server waits for more requests and has nothing to send."""
    process = subprocess.Popen(
        [binary("GRPC_SIMPLE"), "call", server.address, SERVICE + "/FullDuplexCall", "--plaintext", "-d", "@-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process.stdin.write('{"responseParameters": [{"size": 1}]}\n{"responseParameters": "x"}\n')
        process.stdin.flush()  # and standard input stays open
        assert process.wait(timeout=TIMEOUT) == 3
        stderr = process.stderr.read()
        assert stderr.startswith("ERROR: INVALID_ARGUMENT: request 2: field 'responseParameters'"), stderr
    finally:
        if process.poll() is None:
            process.kill()
        process.stdin.close()


# -- metadata, status, options -----------------------------------------------------------

def test_metadata_goes_out_and_comes_back(server):
    result = plain(server, "call", SERVICE + "/UnaryCall", "-d", "{}", "-v",
                   "-H", "x-grpc-test-echo-initial: hello there",
                   "-H", "x-grpc-test-echo-trailing-bin: AQID/w==")
    assert result.returncode == 0, describe(result)
    headers, trailers = result.stderr.split("Response trailers:")
    assert "Response headers:" in headers and "  x-grpc-test-echo-initial: hello there" in headers
    assert "  x-grpc-test-echo-trailing-bin: AQID/w==" in trailers


def test_the_exit_status_is_the_status_code(server):
    result = plain(server, "call", SERVICE + "/UnaryCall", "-d",
                   '{"responseStatus": {"code": 7, "message": "not for you"}}')
    failure(result, 7, "PERMISSION_DENIED", "not for you")
    assert result.stdout == ""


def test_trailers_of_a_failed_call_are_shown(swift):
    # (grpcio's abort_with_status sends only the status's own trailers, not the echoed ones.)
    result = plain(swift, "call", SERVICE + "/UnaryCall", "-v", "-d",
                   '{"responseStatus": {"code": 9, "message": "x"}}',
                   "-H", "x-grpc-test-echo-trailing-bin: BQY=")
    assert result.returncode == 9, describe(result)
    assert "  x-grpc-test-echo-trailing-bin: BQY=" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "ERROR: FAILED_PRECONDITION: x"


def test_an_unimplemented_method_is_the_servers_answer(server):
    failure(plain(server, "call", SERVICE + "/UnimplementedCall"), 12, "UNIMPLEMENTED")


def test_max_time_is_the_deadline(server):
    result = plain(server, "call", SERVICE + "/StreamingOutputCall", "--max-time", "0.5", "-d",
                   '{"responseParameters": [{"size": 1, "intervalUs": 30000000}]}')
    failure(result, 4, "DEADLINE_EXCEEDED")


def test_compressed_requests_and_authority(server):
    result = plain(server, "call", SERVICE + "/UnaryCall", "--compression", "gzip",
                   "--authority", "api.example.test", "-d",
                   '{"responseSize": 1, "payload": {"body": "%s"}}' % ("A" * 4000))
    assert result.returncode == 0, describe(result)
    assert documents(result.stdout) == [{"payload": {"body": "AA=="}}]


# -- health -----------------------------------------------------------------------------

def test_health_serving_exits_zero(server):
    for service in ([], [SERVICE]):
        result = cli("health", server.address, *service, "--plaintext")
        assert (result.returncode, result.stdout) == (0, "SERVING\n"), describe(result)


def test_health_not_serving_exits_unavailable(grpcio):
    result = cli("health", grpcio.address, "test.NotServing", "--plaintext")
    assert (result.returncode, result.stdout, result.stderr) == (14, "NOT_SERVING\n", ""), describe(result)


def test_health_of_an_unknown_service_is_not_found(server):
    failure(cli("health", server.address, "no.Such", "--plaintext"), 5, "NOT_FOUND")


def test_health_watch_prints_until_the_deadline(server):
    result = cli("health", server.address, "--watch", "--max-time", "1", "--plaintext")
    assert (result.returncode, result.stdout) == (0, "SERVING\n"), describe(result)


# -- bad input: one clear line -----------------------------------------------------------

def test_an_unknown_service_names_what_the_server_offers(server):
    failure(plain(server, "call", "grpc.testing.Nope/UnaryCall"), 5, "NOT_FOUND",
            "has no service 'grpc.testing.Nope'", "it offers: ", SERVICE)


def test_an_unknown_method_names_the_services_methods(server):
    failure(plain(server, "call", SERVICE + "/Nope"), 5, "NOT_FOUND",
            "service grpc.testing.TestService has no method 'Nope'", "its methods: EmptyCall, UnaryCall")


def test_describe_of_an_unknown_symbol(server):
    failure(plain(server, "describe", "grpc.testing.Nope"), 5, "NOT_FOUND", "has no symbol 'grpc.testing.Nope'")


@pytest.mark.parametrize("data, fragments", [
    ('{"responseSize": "big"}',
     ["the request: field 'responseSize' of grpc.testing.SimpleRequest: expected an integer (int32), got \"big\""]),
    ('{"payload": {"body": 5}}',
     ["field 'payload.body' of grpc.testing.SimpleRequest: expected base64 bytes in a JSON string, got the number 5"]),
    ('{"responseType": "SOMETIMES"}', ["is not a value of the enum grpc.testing.PayloadType (its values: COMPRESSABLE)"]),
    ('{"nope": 1}', ['grpc.testing.SimpleRequest has no field "nope" (its fields: responseType, responseSize']),
    ('{"responseSize": 1,}', ["the request: invalid JSON at line 1, column 20"]),
    ('{} {}', ["grpc.testing.TestService.UnaryCall takes one request, and 2 were given"]),
])
def test_a_request_that_does_not_fit_names_the_field_and_why(server, data, fragments):
    failure(plain(server, "call", SERVICE + "/UnaryCall", "-d", data), 3, "INVALID_ARGUMENT", *fragments)


def test_a_bad_request_in_a_stream_is_numbered(server):
    failure(plain(server, "call", SERVICE + "/StreamingInputCall", "-d", '{} {"payload": []}'),
            3, "INVALID_ARGUMENT", "request 2: field 'payload' of grpc.testing.StreamingInputCallRequest")


@pytest.mark.parametrize("args, fragment", [
    (["-H", "no colon"], "-H 'no colon' is not 'name: value'"),
    (["-H", "x-key-bin: ***"], "the value of a -bin header must be base64"),
    (["--compression", "brotli"], "--compression must be one of gzip, deflate, identity"),
    (["--cacert", "/nonexistent.pem"], "TLS option; it cannot go with --plaintext"),
])
def test_bad_options(server, args, fragment):
    failure(plain(server, "call", SERVICE + "/EmptyCall", *args), 3, "INVALID_ARGUMENT", fragment)


def test_an_unreachable_server_names_the_address_and_the_os_error():
    port = unused_port()
    result = cli("list", "127.0.0.1:%d" % port, "--plaintext")
    failure(result, 14, "UNAVAILABLE",
            "failed to connect to 127.0.0.1:%d: Connection refused (errno 111)" % port)


def test_a_bad_address():
    # A bare name is a DNS target on port 443 (grpc/grpc doc/naming.md); an address that
    # cannot be one is refused before anything is sent.
    failure(cli("list", "ipv4:300.1.2.3:50051", "--plaintext"), 3, "INVALID_ARGUMENT",
            "'300.1.2.3' is not an IPv4 or IPv6 address")


# -- schemas without reflection -----------------------------------------------------------

@pytest.fixture(scope="module")
def bare_server(stubs_dir):
    started = python_server("--no_reflection")
    yield started
    started.stop()


def test_a_server_without_reflection_says_so(bare_server):
    failure(plain(bare_server, "list"), 12, "UNIMPLEMENTED",
            "does not serve reflection (grpc.reflection.v1 or v1alpha); give the schema with --proto or --protoset")


def test_proto_files_compiled_at_run_time(bare_server):
    schema = ["--proto", TEST_PROTO, "--import-path", PROTO_DIR]
    listed = plain(bare_server, "list", *schema)
    assert SERVICE in listed.stdout.split() and "grpc.testing.ReconnectService" in listed.stdout.split(), \
        describe(listed)
    result = plain(bare_server, "call", SERVICE + "/UnaryCall", "-d", '{"responseSize": 1}', *schema)
    assert documents(result.stdout) == [{"payload": {"body": "AA=="}}], describe(result)


def test_a_protoset(bare_server, tmp_path):
    protoset = str(tmp_path / "test.protoset")
    subprocess.run(["protoc", "-I", PROTO_DIR, "--include_imports", "--descriptor_set_out=" + protoset,
                    TEST_PROTO], check=True, timeout=TIMEOUT)
    result = plain(bare_server, "describe", "grpc.testing.Payload", "--protoset", protoset)
    assert result.returncode == 0 and "message Payload {" in result.stdout, describe(result)
    result = plain(bare_server, "call", "grpc.testing.TestService/EmptyCall", "--protoset", protoset)
    assert documents(result.stdout) == [{}], describe(result)


def test_proto_files_need_protoc(bare_server, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    env.pop("PROTOC_PATH", None)
    result = cli("list", bare_server.address, "--plaintext", "--proto", TEST_PROTO, env=env)
    failure(result, 3, "INVALID_ARGUMENT", "--proto needs protoc, which is not on PATH",
            "apt-get install protobuf-compiler")


def test_a_proto_file_protoc_rejects(bare_server, tmp_path):
    broken = tmp_path / "broken.proto"
    broken.write_text('syntax = "proto3";\nmessage M { nope x = 1; }\n')
    failure(plain(bare_server, "list", "--proto", str(broken)), 3, "INVALID_ARGUMENT",
            "protoc could not compile", "\"nope\" is not defined")


# -- TLS, mutual TLS, Unix sockets ----------------------------------------------------------

@pytest.fixture(scope="module")
def swift_tls(certs):
    started = swift_server("--use_tls", "true", "--tls_cert_file", certs.server_cert,
                           "--tls_key_file", certs.server_key)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def grpcio_mutual_tls(certs, stubs_dir):
    started = python_server("--tls", certs.server_cert, certs.server_key, "--client_ca", certs.ca)
    yield started
    started.stop()


def test_tls_with_the_test_ca(swift_tls, certs):
    result = cli("call", swift_tls.address, SERVICE + "/EmptyCall", "--cacert", certs.ca)
    assert (result.returncode, documents(result.stdout)) == (0, [{}]), describe(result)


def test_tls_checks_the_server_name(swift_tls, certs):
    ok = cli("list", swift_tls.address, "--cacert", certs.ca, "--servername", "foo.test.google.fr")
    assert ok.returncode == 0 and SERVICE in ok.stdout.split(), describe(ok)
    failure(cli("list", swift_tls.address, "--cacert", certs.ca, "--servername", "other.example.com"),
            14, "UNAVAILABLE", "not valid for the name 'other.example.com'")


def test_tls_refuses_an_untrusted_server_unless_insecure(swift_tls):
    failure(cli("list", swift_tls.address), 14, "UNAVAILABLE", "TLS handshake failed")
    result = cli("list", swift_tls.address, "--insecure")
    assert result.returncode == 0 and SERVICE in result.stdout.split(), describe(result)


def test_tls_to_a_plaintext_server_suggests_plaintext(server):
    failure(cli("list", server.address), 14, "UNAVAILABLE", "add --plaintext")


def test_mutual_tls(grpcio_mutual_tls, certs):
    result = cli("call", grpcio_mutual_tls.address, SERVICE + "/UnaryCall", "-d", '{"responseSize": 1}',
                 "--cacert", certs.ca, "--cert", certs.client_cert, "--key", certs.client_key)
    assert (result.returncode, documents(result.stdout)) == (0, [{"payload": {"body": "AA=="}}]), describe(result)
    health = cli("health", grpcio_mutual_tls.address, "--cacert", certs.ca, "--cert", certs.client_cert,
                 "--key", certs.client_key)
    assert (health.returncode, health.stdout) == (0, "SERVING\n"), describe(health)


def test_mutual_tls_without_a_client_certificate_fails(grpcio_mutual_tls, certs):
    failure(cli("list", grpcio_mutual_tls.address, "--cacert", certs.ca), 14, "UNAVAILABLE")
    failure(cli("list", grpcio_mutual_tls.address, "--cacert", certs.ca, "--cert", certs.client_cert),
            3, "INVALID_ARGUMENT", "--cert and --key go together")


def test_a_unix_socket(stubs_dir, tmp_path):
    started = python_server("--unix", str(tmp_path / "grpc.sock"))
    try:
        result = cli("call", started.address, SERVICE + "/UnaryCall", "--plaintext", "-d", '{"responseSize": 2}')
        assert (result.returncode, documents(result.stdout)) == (0, [{"payload": {"body": "AAA="}}]), describe(result)
    finally:
        started.stop()
