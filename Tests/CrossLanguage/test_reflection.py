"""Server reflection: grpcio-reflection's client (and grpcio stubs for v1) against
our Swift `person-server` (path in $PERSON_SERVER), which serves
grpc.reflection.v1 and v1alpha out of the box.

grpcio-reflection's ProtoReflectionDescriptorDatabase speaks v1alpha; a
DescriptorPool on top of it resolves AsillaService and its messages from the
server alone (person.proto is never read here), and a message class built from
the reflected descriptors makes a real call. v1 is checked with stubs generated
at test time from Debian's grpc-proto. `interop-server` ($INTEROP_SERVER) is
checked too: its TestService's messages come from imported files.

Run: PERSON_SERVER=.../person-server INTEROP_SERVER=.../interop-server \
         .venv/bin/python -m pytest Tests/CrossLanguage
"""

import os
import shutil
import subprocess
import sys

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from test_cross_language import CHANNEL_OPTIONS, RPC_TIMEOUT, Server, binary, start_swift_server

GRPC_PROTO_DIR = os.environ.get("GRPC_PROTO_DIR", "/usr/share/grpc-proto")

SERVED = {
    "AsillaService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


@pytest.fixture(scope="module")
def channel():
    server = start_swift_server()
    channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
    try:
        yield channel
    finally:
        channel.close()
        server.kill()


@pytest.fixture
def database(channel):
    return ProtoReflectionDescriptorDatabase(channel)


def test_reflection_lists_every_service(database):
    assert set(database.get_services()) == SERVED


def test_reflected_descriptor_pool_resolves_asilla_service(database):
    pool = DescriptorPool(database)
    service = pool.FindServiceByName("AsillaService")
    assert service.file.name == "person.proto"
    methods = {m.name: (m.input_type.full_name, m.output_type.full_name)
               for m in service.methods}
    assert methods == {
        "getInfor": ("RequestInforPerson", "Person"),
        "checkMarried": ("RequestCheckMaritalStatus", "RespondGetMaritalStatus"),
    }
    person = pool.FindMessageTypeByName("Person")
    assert [(f.name, f.number, f.type) for f in person.fields] == [
        ("name", 1, FieldDescriptor.TYPE_STRING),
        ("id", 2, FieldDescriptor.TYPE_INT32),
        ("married", 3, FieldDescriptor.TYPE_BOOL),
    ]
    # Symbols of the other served services resolve too.
    health = pool.FindServiceByName("grpc.health.v1.Health")
    assert [m.name for m in health.methods] == ["Check", "Watch"]


def test_call_with_a_message_class_built_from_reflection(database, channel):
    pool = DescriptorPool(database)
    method = pool.FindMethodByName("AsillaService.getInfor")
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    call = channel.unary_unary(
        "/AsillaService/getInfor",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString)
    reply = call(request_class(name="trung"), timeout=RPC_TIMEOUT)
    assert reply.name == "trung"
    assert 1 <= reply.id <= 1000
    assert reply.married == (reply.id % 2 == 0)


def test_reflection_unknown_names_are_not_found(database):
    with pytest.raises(KeyError):
        database.FindFileContainingSymbol("NoSuchService")
    with pytest.raises(KeyError):
        database.FindFileByName("no/such.proto")
    # The database keeps working on the same server after the errors.
    assert database.FindFileByName("person.proto").name == "person.proto"


@pytest.fixture(scope="module")
def v1(tmp_path_factory):
    """grpcio modules generated from grpc/reflection/v1/reflection.proto, copied to
    reflection_v1.proto first: under its own path it would be `grpc.reflection.v1`,
    which grpcio's `grpc` package hides."""
    proto = os.path.join(GRPC_PROTO_DIR, "grpc", "reflection", "v1", "reflection.proto")
    if not os.path.isfile(proto):
        pytest.skip("%s is missing (apt-get install grpc-proto)" % proto)
    out = str(tmp_path_factory.mktemp("reflection_v1_stubs"))
    shutil.copy(proto, os.path.join(out, "reflection_v1.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I" + out,
         "--python_out=" + out, "--grpc_python_out=" + out,
         os.path.join(out, "reflection_v1.proto")],
        check=True, timeout=120)
    sys.path.insert(0, out)
    try:
        import reflection_v1_pb2
        import reflection_v1_pb2_grpc
    finally:
        sys.path.remove(out)
    return reflection_v1_pb2, reflection_v1_pb2_grpc


def test_reflection_v1_answers_several_requests_on_one_stream(v1, channel):
    reflection_pb2, reflection_pb2_grpc = v1
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services="*"),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="AsillaService.checkMarried"),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="NoSuchService"),
        reflection_pb2.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto"),
    ]
    responses = list(stub.ServerReflectionInfo(iter(requests), timeout=RPC_TIMEOUT))
    assert [r.original_request for r in responses] == requests
    assert {s.name for s in responses[0].list_services_response.service} == SERVED
    files = responses[1].file_descriptor_response.file_descriptor_proto
    assert [descriptor_pb2.FileDescriptorProto.FromString(f).name for f in files] == ["person.proto"]
    assert responses[2].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert "NoSuchService" in responses[2].error_response.error_message
    files = responses[3].file_descriptor_response.file_descriptor_proto
    health = descriptor_pb2.FileDescriptorProto.FromString(files[0])
    assert health.package == "grpc.health.v1"
    assert [s.name for s in health.service] == ["Health"]


def test_interop_server_serves_reflection_with_every_import():
    # test.proto's messages live in messages.proto and empty.proto: the pool resolves
    # them only if the server sends each file's imports along with it.
    server = Server([binary("INTEROP_SERVER"), "--port", "0"])
    try:
        server.wait_listening()
        channel = grpc.insecure_channel(server.address, options=CHANNEL_OPTIONS)
        try:
            database = ProtoReflectionDescriptorDatabase(channel)
            assert "grpc.testing.TestService" in set(database.get_services())
            pool = DescriptorPool(database)
            method = pool.FindMethodByName("grpc.testing.TestService.UnaryCall")
            assert method.input_type.file.name == "grpc/testing/messages.proto"
            assert "response_size" in method.input_type.fields_by_name
            empty = pool.FindMethodByName("grpc.testing.TestService.EmptyCall").input_type
            assert empty.full_name == "grpc.testing.Empty"
        finally:
            channel.close()
    finally:
        server.kill()
