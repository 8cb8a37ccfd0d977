"""gRPC-Web, Connect and gRPC with JSON on the gRPC port, against independent peers:

- `buf curl` (the buf-bin package from PyPI: Go, connect-go's client) calls our Swift
  `person-server` ($PERSON_SERVER) and `interop-server` ($INTEROP_SERVER) with
  `--protocol connect`, `grpcweb` and `grpc`, resolving the schema through our server
  reflection; unary, server streaming and bidirectional streaming; errors.
- connect-python's client (ConnectClientSync over pyqwest) calls person-server with the
  Connect, gRPC-Web and gRPC protocols, each with protobuf and JSON messages.
- sonora (a gRPC-Web client on urllib3) calls person-server and interop-server.

Over HTTP/2 with prior knowledge (h2c), and over HTTP/1.1 for the web protocols (buf curl
then reads the schema from a descriptor set: reflection needs HTTP/2). Every server listens
on 127.0.0.1 only and is killed by PID when its module ends; every call has a timeout.
"""

import json
import os
import subprocess
import sys

import pytest

from test_cross_language import PROTO_DIR, Server, binary

BUF = os.environ.get("BUF", os.path.join(os.path.dirname(sys.executable), "buf"))
CALL_TIMEOUT = 30


def start(argv):
    server = Server(argv)
    try:
        server.wait_listening()
    except BaseException:
        server.kill()
        raise
    return server


@pytest.fixture(scope="module")
def person_server():
    server = start([binary("PERSON_SERVER"), "--host", "127.0.0.1", "--port", "0",
                    "--auth-token", "sekret"])
    yield server
    server.kill()


@pytest.fixture(scope="module")
def interop_server():
    server = start([binary("INTEROP_SERVER"), "--port", "0"])
    yield server
    server.kill()


def buf_curl(url, protocol, data, *extra, http2=True):
    if not os.access(BUF, os.X_OK):
        pytest.fail("buf is not installed at %s (pip install buf-bin)" % BUF)
    version = ["--http2-prior-knowledge"] if http2 else []
    argv = [BUF, "curl", "--protocol", protocol, *version, "-d", data, *extra, url]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CALL_TIMEOUT)


def documents(text):
    """The JSON documents buf curl printed, one after the other."""
    decoder = json.JSONDecoder()
    found, index, text = [], 0, text.strip()
    while index < len(text):
        document, end = decoder.raw_decode(text, index)
        found.append(document)
        index = end
        while index < len(text) and text[index].isspace():
            index += 1
    return found


AUTH = ("-H", "authorization: Bearer sekret", "--reflect-header", "authorization: Bearer sekret")


@pytest.mark.parametrize("protocol", ["connect", "grpcweb", "grpc"])
def test_buf_curl_unary(person_server, protocol):
    url = "http://%s/AsillaService/getInfor" % person_server.address
    result = buf_curl(url, protocol, '{"name": "Alice"}', *AUTH)
    assert result.returncode == 0, result.stderr
    (reply,) = documents(result.stdout)
    assert reply["name"] == "Alice"
    # The example draws the id at random and marries the even ones; false is not printed.
    assert 1 <= reply["id"] <= 1000
    assert reply.get("married", False) == (reply["id"] % 2 == 0)


@pytest.mark.parametrize("protocol", ["connect", "grpcweb", "grpc"])
def test_buf_curl_error_names_the_code(person_server, protocol):
    # Reflection gets the token, the call does not: UNAUTHENTICATED in every protocol.
    url = "http://%s/AsillaService/getInfor" % person_server.address
    result = buf_curl(url, protocol, '{"name": "Alice"}',
                      "--reflect-header", "authorization: Bearer sekret")
    assert result.returncode != 0
    (error,) = documents(result.stderr)
    assert error["code"] == "unauthenticated"
    assert "bearer token" in error["message"]


@pytest.mark.parametrize("protocol", ["connect", "grpcweb", "grpc"])
def test_buf_curl_server_streaming(interop_server, protocol):
    url = "http://%s/grpc.testing.TestService/StreamingOutputCall" % interop_server.address
    result = buf_curl(url, protocol, '{"response_parameters": [{"size": 3}, {"size": 5}, {"size": 1}]}')
    assert result.returncode == 0, result.stderr
    replies = documents(result.stdout)
    assert [len(r["payload"]["body"]) for r in replies] == [4, 8, 4]  # base64 of 3, 5, 1 zero bytes


@pytest.mark.parametrize("protocol", ["connect", "grpc"])
def test_buf_curl_bidirectional_streaming(interop_server, protocol):
    url = "http://%s/grpc.testing.TestService/FullDuplexCall" % interop_server.address
    requests = '{"response_parameters": [{"size": 2}]}\n{"response_parameters": [{"size": 6}]}\n'
    # `-d @-`: the requests from standard input, one JSON document each.
    argv = [BUF, "curl", "--protocol", protocol, "--http2-prior-knowledge", "-d", "@-", url]
    result = subprocess.run(argv, input=requests, capture_output=True, text=True, timeout=CALL_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert [r["payload"]["body"] for r in documents(result.stdout)] == ["AAA=", "AAAAAAAA"]


GRPC_PROTO_DIR = os.environ.get("GRPC_PROTO_DIR", "/usr/share/grpc-proto")


@pytest.fixture(scope="module")
def schemas(tmp_path_factory):
    """Descriptor sets (buf's binpb image format) of person.proto and grpc.testing's
    test.proto, for buf curl over HTTP/1.1."""
    out = tmp_path_factory.mktemp("schemas")
    person = str(out / "person.binpb")
    testing = str(out / "testing.binpb")
    for include, proto, target in [
        (PROTO_DIR, os.path.join(PROTO_DIR, "person.proto"), person),
        (GRPC_PROTO_DIR, os.path.join(GRPC_PROTO_DIR, "grpc", "testing", "test.proto"), testing),
    ]:
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + include, "--include_imports",
                        "--descriptor_set_out=" + target, proto], check=True, timeout=120)
    return {"person": person, "testing": testing}


@pytest.mark.parametrize("protocol", ["connect", "grpcweb"])
def test_buf_curl_over_http1(person_server, interop_server, schemas, protocol):
    url = "http://%s/AsillaService/getInfor" % person_server.address
    result = buf_curl(url, protocol, '{"name": "Hal"}', "-v", "--schema", schemas["person"],
                      "-H", "authorization: Bearer sekret", http2=False)
    assert result.returncode == 0, result.stderr
    assert "HTTP/1.1 200 OK" in result.stderr
    assert documents(result.stdout)[0]["name"] == "Hal"
    # Server streaming over HTTP/1.1: a chunked response.
    url = "http://%s/grpc.testing.TestService/StreamingOutputCall" % interop_server.address
    result = buf_curl(url, protocol, '{"response_parameters": [{"size": 3}, {"size": 1}]}', "--schema",
                      schemas["testing"], http2=False)
    assert result.returncode == 0, result.stderr
    assert [r["payload"]["body"] for r in documents(result.stdout)] == ["AAAA", "AA=="]
    # An error.
    url = "http://%s/AsillaService/getInfor" % person_server.address
    result = buf_curl(url, protocol, '{"name": "Hal"}', "--schema", schemas["person"], http2=False)
    assert result.returncode != 0
    assert documents(result.stderr)[0]["code"] == "unauthenticated"


# --------------------------------------------------------------------------
# connect-python


@pytest.fixture(scope="module")
def person_messages(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("person_web_stubs"))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + PROTO_DIR, "--python_out=" + out,
                    os.path.join(PROTO_DIR, "person.proto")], check=True, timeout=120)
    sys.path.insert(0, out)
    import person_pb2
    yield person_pb2
    sys.path.remove(out)


def connect_client(address, protocol, json_messages, http2=True):
    from connectrpc.client import ConnectClientSync
    from pyqwest import HTTPVersion, SyncClient, SyncHTTPTransport

    version = HTTPVersion.HTTP2 if http2 else HTTPVersion.HTTP1
    http = SyncClient(SyncHTTPTransport(http_version=version))
    return ConnectClientSync("http://" + address, protocol=protocol, proto_json=json_messages,
                             http_client=http, timeout_ms=CALL_TIMEOUT * 1000)


def method(person_pb2, name):
    from connectrpc.method import IdempotencyLevel, MethodInfo

    return MethodInfo(name=name, service_name="AsillaService", input=person_pb2.RequestInforPerson,
                      output=person_pb2.Person, idempotency_level=IdempotencyLevel.UNKNOWN)


# gRPC itself needs HTTP/2; the web protocols run over both.
UNARY_CASES = [(protocol, http2) for protocol in ["CONNECT", "GRPC_WEB", "GRPC"] for http2 in [True, False]
               if http2 or protocol != "GRPC"]


@pytest.mark.parametrize("json_messages", [False, True], ids=["proto", "json"])
@pytest.mark.parametrize("protocol,http2", UNARY_CASES,
                         ids=["%s-%s" % (p, "h2" if h else "http1") for p, h in UNARY_CASES])
def test_connect_python_unary(person_server, person_messages, protocol, json_messages, http2):
    from connectrpc.protocol import ProtocolType

    client = connect_client(person_server.address, ProtocolType[protocol], json_messages, http2=http2)
    reply = client.execute_unary(request=person_messages.RequestInforPerson(name="Carol"),
                                 method=method(person_messages, "getInfor"),
                                 headers={"authorization": "Bearer sekret"})
    assert reply.name == "Carol"


@pytest.mark.parametrize("json_messages", [False, True], ids=["proto", "json"])
@pytest.mark.parametrize("protocol", ["CONNECT", "GRPC_WEB", "GRPC"])
def test_connect_python_errors(person_server, person_messages, protocol, json_messages):
    from connectrpc.code import Code
    from connectrpc.errors import ConnectError
    from connectrpc.protocol import ProtocolType

    client = connect_client(person_server.address, ProtocolType[protocol], json_messages)
    with pytest.raises(ConnectError) as raised:
        client.execute_unary(request=person_messages.RequestInforPerson(name="Carol"),
                             method=method(person_messages, "nope"),
                             headers={"authorization": "Bearer sekret"})
    assert raised.value.code == Code.UNIMPLEMENTED
    assert "unknown method nope for service AsillaService" in raised.value.message
    with pytest.raises(ConnectError) as raised:
        client.execute_unary(request=person_messages.RequestInforPerson(name="Carol"),
                             method=method(person_messages, "getInfor"))
    assert raised.value.code == Code.UNAUTHENTICATED


# --------------------------------------------------------------------------
# sonora: gRPC-Web over HTTP/1.1 (urllib3)


def test_sonora_grpc_web(person_server, person_messages):
    import sonora.client
    from sonora.protocol import WebRpcError

    pb = person_messages
    with sonora.client.insecure_web_channel("http://" + person_server.address) as channel:
        # sonora's channel predates grpcio's `_registered_method` stub argument: call by path.
        get_infor = channel.unary_unary("/AsillaService/getInfor", pb.RequestInforPerson.SerializeToString,
                                        pb.Person.FromString)
        reply = get_infor(pb.RequestInforPerson(name="Sonja"), metadata=[("authorization", "Bearer sekret")],
                          timeout=CALL_TIMEOUT)
        assert reply.name == "Sonja"
        with pytest.raises(WebRpcError) as raised:
            get_infor(pb.RequestInforPerson(name="Sonja"), timeout=CALL_TIMEOUT)
        assert raised.value.code().name == "UNAUTHENTICATED"
        nope = channel.unary_unary("/AsillaService/nope", pb.RequestInforPerson.SerializeToString,
                                   pb.Person.FromString)
        with pytest.raises(WebRpcError) as raised:
            nope(pb.RequestInforPerson(name="x"), metadata=[("authorization", "Bearer sekret")],
                 timeout=CALL_TIMEOUT)
        assert raised.value.code().name == "UNIMPLEMENTED"
        assert "unknown method nope" in raised.value.details()
