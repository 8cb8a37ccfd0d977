"""grpcio clients reach our Swift `person-server` over TLS with a bearer token:
the seed's AsillaService, health checking and server reflection.

person-server runs with --tls-cert-file/--tls-key-file (a CA and a server
certificate for 127.0.0.1 and localhost, made with openssl when the test
starts by Tests/Interop/tls_certs.py; no key is committed) and --auth-token. The grpcio channel combines
ssl_channel_credentials (trusting that CA) with access_token_call_credentials,
which grpcio only sends over a secure channel.

Run: PERSON_SERVER=.../person-server .venv/bin/python -m pytest Tests/CrossLanguage
"""

import os
import shutil
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from test_cross_language import (  # noqa: F401 (pb and stubs_dir are fixtures)
    CHANNEL_OPTIONS,
    RPC_TIMEOUT,
    Server,
    binary,
    describe,
    pb,
    run_client,
    stubs_dir,
)

# The interop suite's certificate maker (openssl at test time).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Interop"))
import tls_certs  # noqa: E402

from test_reflection import SERVED  # noqa: E402 (person-server's services)

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A fresh CA and a server certificate it signed (localhost, 127.0.0.1)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed (scripts/test installs it)")
    return tls_certs.create(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def secure_server(certificates):
    server = Server([binary("PERSON_SERVER"), "--host", "127.0.0.1", "--port", "0",
                     "--tls-cert-file", certificates.server_cert,
                     "--tls-key-file", certificates.server_key,
                     "--auth-token", TOKEN])
    try:
        server.wait_listening()
        yield server
    finally:
        server.kill()


def tls_credentials(certificates):
    with open(certificates.ca, "rb") as f:
        return grpc.ssl_channel_credentials(root_certificates=f.read())


@pytest.fixture
def secure_channel(secure_server, certificates):
    """TLS and the right token."""
    credentials = grpc.composite_channel_credentials(
        tls_credentials(certificates), grpc.access_token_call_credentials(TOKEN))
    channel = grpc.secure_channel(secure_server.address, credentials, options=CHANNEL_OPTIONS)
    yield channel
    channel.close()


def test_grpcio_with_tls_and_a_token_calls_reads_health_and_lists_services(secure_channel, pb):
    stub = pb.person_pb2_grpc.AsillaServiceStub(secure_channel)
    person = stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"), timeout=RPC_TIMEOUT)
    assert person.name == "trung"

    health = health_pb2_grpc.HealthStub(secure_channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service="AsillaService"), timeout=RPC_TIMEOUT)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING

    assert set(ProtoReflectionDescriptorDatabase(secure_channel).get_services()) == SERVED


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_grpcio_without_the_right_token_is_unauthenticated_but_health_stays_open(
        secure_server, certificates, pb, token):
    credentials = tls_credentials(certificates)
    if token is not None:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token))
    with grpc.secure_channel(secure_server.address, credentials, options=CHANNEL_OPTIONS) as channel:
        stub = pb.person_pb2_grpc.AsillaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"), timeout=RPC_TIMEOUT)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, info.value
        expected = "needs a bearer token" if token is None else "was not accepted"
        assert expected in info.value.details(), info.value.details()

        with pytest.raises(grpc.RpcError) as info:
            ProtoReflectionDescriptorDatabase(channel).get_services()
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, info.value

        # Health is exempt: Kubernetes' probes and load balancers send no token.
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_grpcio_refuses_a_server_whose_ca_it_does_not_trust(secure_server, tmp_path, pb):
    credentials = tls_credentials(tls_certs.create(str(tmp_path)))  # another CA
    with grpc.secure_channel(secure_server.address, credentials, options=CHANNEL_OPTIONS) as channel:
        stub = pb.person_pb2_grpc.AsillaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"), timeout=RPC_TIMEOUT)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE, info.value


def test_a_plaintext_grpcio_client_cannot_reach_the_tls_server(secure_server, pb):
    with grpc.insecure_channel(secure_server.address, options=CHANNEL_OPTIONS) as channel:
        stub = pb.person_pb2_grpc.AsillaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.getInfor(pb.person_pb2.RequestInforPerson(name="trung"), timeout=RPC_TIMEOUT)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE, info.value


def test_person_client_over_tls_with_the_token(secure_server, certificates):
    result = run_client(["--ip", "127.0.0.1", "--port", str(secure_server.port),
                         "--ca-file", certificates.ca, "--auth-token", TOKEN])
    assert result.returncode == 0, describe(result)
    assert "getInfor(trung): name: trung" in result.stdout, describe(result)


def test_person_client_without_the_token_is_told_why(secure_server, certificates):
    result = run_client(["--ip", "127.0.0.1", "--port", str(secure_server.port),
                         "--ca-file", certificates.ca])
    assert result.returncode != 0, describe(result)
    assert "UNAUTHENTICATED" in result.stderr and "needs a bearer token" in result.stderr, describe(result)


def test_person_client_refuses_to_send_its_token_in_plaintext_across_the_network(secure_server):
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): nothing is sent there, the call fails first.
    result = run_client(["--ip", "192.0.2.1", "--port", "50051", "--auth-token", TOKEN])
    assert result.returncode != 0, describe(result)
    assert "UNAUTHENTICATED" in result.stderr and "in plaintext" in result.stderr, describe(result)
