#!/usr/bin/env python3
"""A grpcio interop client for grpc.testing.TestService, written from grpc/grpc
doc/interop-test-descriptions.md, as the peer of our Swift `interop-server`
(and of interop_server.py).

Usage: interop_client.py --server_host H --server_port P --test_case NAME|all
           [--server_host_override NAME] [--use_tls true --ca_file F]
           [--soak_iterations 10] [--no_wire_relay]

Prints one line per case, `PASS name` or `FAIL name: why`, then
`N passed, M failed`; exits 1 if any case failed, 2 on a usage error.
With --use_tls true the channels are TLS (grpc.ssl_channel_credentials,
trusting --ca_file; --server_host_override becomes the name checked against
the server's certificate, grpc.ssl_target_name_override). There is no relay
then (it cannot read frames inside TLS), so the compressed flags of
server_compressed_* responses are not asserted, as with --no_wire_relay.

Each case runs on its own channel (and its own connection: channels do not
share subchannels here). Every call has a deadline (--rpc_timeout, 30 s) so
a hung server fails a case instead of hanging the run.

What grpcio cannot do, and what is done instead:
* Response compressed flags (server_compressed_unary,
  server_compressed_streaming): grpcio does not show a client whether a
  response message was compressed. The calls of these two cases go through a
  loopback relay (wire.py) that reads each message's compressed flag off the
  HTTP/2 DATA frames, so the flags ARE asserted. --no_wire_relay turns that
  off (then only sizes and contents are checked).
* Per-message compression on the client (client_compressed_streaming): grpcio
  compresses every message of a call made with compression=gzip; it has no
  way to send one message of that call uncompressed. So the second message
  (expect_compressed=false) goes compressed too. The server must accept that
  (expect_compressed=false asks nothing of it), so the assertions are the
  descriptions' own, but the "uncompressed second message" is not exercised.
"""

import argparse
import os
import sys
import threading
import traceback

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_stubs  # noqa: E402
import wire  # noqa: E402

empty_pb2, messages_pb2, test_pb2_grpc = interop_stubs.load()

ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
INITIAL_VALUE = "test_initial_metadata_value"
TRAILING_VALUE = b"\xab\xab\xab"
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"


class Failure(Exception):
    pass


def check(condition, why):
    if not condition:
        raise Failure(why)


def zeros(n):
    return b"\x00" * n


def simple_request(**kwargs):
    return messages_pb2.SimpleRequest(response_type=messages_pb2.COMPRESSABLE,
                                      **kwargs)


def streaming_request(sizes=(), payload=None, **kwargs):
    request = messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE, **kwargs)
    for size in sizes:
        request.response_parameters.add(size=size)
    if payload is not None:
        request.payload.body = zeros(payload)
    return request


def check_payload(payload, size, what="response"):
    check(len(payload.body) == size,
          "%s payload body is %d bytes, expected %d" % (what, len(payload.body), size))
    check(payload.body == zeros(size), "%s payload body is not all zeros" % what)
    check(payload.type == messages_pb2.COMPRESSABLE,
          "%s payload type is %d, expected COMPRESSABLE" % (what, payload.type))


def expect_status(code, call, message=None, what="call"):
    """Runs call(); it must fail with `code` (and `message`, if given)."""
    try:
        call()
    except grpc.RpcError as error:
        check(error.code() == code, "%s: expected status %s, got %s (%r)" % (
            what, code.name, error.code().name, error.details()))
        if message is not None:
            check(error.details() == message,
                  "%s: expected status message %r, got %r" % (what, message, error.details()))
        return error
    raise Failure("%s: expected status %s, but it succeeded" % (what, code.name))


class Pipe:
    """A request iterator fed one message at a time, closed to half-close."""

    def __init__(self):
        self._values = []
        self._open = True
        self._cond = threading.Condition()

    def __iter__(self):
        return self

    def __next__(self):
        with self._cond:
            while not self._values and self._open:
                self._cond.wait()
            if self._values:
                return self._values.pop(0)
            raise StopIteration()

    def add(self, value):
        with self._cond:
            self._values.append(value)
            self._cond.notify()

    def close(self):
        with self._cond:
            self._open = False
            self._cond.notify()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------
# Test cases: each takes the Client and raises on failure.
# --------------------------------------------------------------------------


def empty_unary(c):
    response = c.stub().EmptyCall(empty_pb2.Empty(), timeout=c.timeout)
    check(isinstance(response, empty_pb2.Empty), "response is not an Empty: %r" % response)


def large_unary(c, stub=None):
    response = (stub or c.stub()).UnaryCall(
        simple_request(response_size=314159, payload=messages_pb2.Payload(body=zeros(271828))),
        timeout=c.timeout)
    check_payload(response.payload, 314159)


def client_compressed_unary(c):
    stub = c.stub()

    def request(expect):
        return simple_request(expect_compressed=messages_pb2.BoolValue(value=expect),
                              response_size=314159,
                              payload=messages_pb2.Payload(body=zeros(271828)))

    expect_status(grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: stub.UnaryCall(request(True), timeout=c.timeout,
                                         compression=grpc.Compression.NoCompression),
                  what="probe (uncompressed, expect_compressed=true)")
    for expect, compression in ((True, grpc.Compression.Gzip),
                                (False, grpc.Compression.NoCompression)):
        response = stub.UnaryCall(request(expect), timeout=c.timeout,
                                  compression=compression)
        check_payload(response.payload, 314159,
                      "expect_compressed=%s response" % str(expect).lower())


def server_compressed_unary(c):
    for compressed in (True, False):
        what = "response_compressed=%s" % str(compressed).lower()
        with c.relayed() as (stub, wire_flags):
            response = stub.UnaryCall(
                simple_request(response_compressed=messages_pb2.BoolValue(value=compressed),
                               response_size=314159,
                               payload=messages_pb2.Payload(body=zeros(271828))),
                timeout=c.timeout)
            check_payload(response.payload, 314159, what + " response")
            flags = wire_flags()
            if flags is not None:
                check(flags == [compressed],
                      "%s: response compressed flags on the wire are %s, expected [%s]"
                      % (what, flags, compressed))


def client_streaming(c):
    sizes = (27182, 8, 1828, 45904)
    response = c.stub().StreamingInputCall(
        iter([messages_pb2.StreamingInputCallRequest(payload=messages_pb2.Payload(body=zeros(n)))
              for n in sizes]), timeout=c.timeout)
    check(response.aggregated_payload_size == 74922,
          "aggregated_payload_size is %d, expected 74922" % response.aggregated_payload_size)


def client_compressed_streaming(c):
    stub = c.stub()

    def request(expect, size):
        return messages_pb2.StreamingInputCallRequest(
            expect_compressed=messages_pb2.BoolValue(value=expect),
            payload=messages_pb2.Payload(body=zeros(size)))

    expect_status(grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: stub.StreamingInputCall(
                      iter([request(True, 27182)]), timeout=c.timeout,
                      compression=grpc.Compression.NoCompression),
                  what="probe (uncompressed, expect_compressed=true)")
    # grpcio cannot send the second message uncompressed (see the module doc).
    response = stub.StreamingInputCall(
        iter([request(True, 27182), request(False, 45904)]), timeout=c.timeout,
        compression=grpc.Compression.Gzip)
    check(response.aggregated_payload_size == 73086,
          "aggregated_payload_size is %d, expected 73086" % response.aggregated_payload_size)


def server_streaming(c):
    sizes = [31415, 9, 2653, 58979]
    responses = list(c.stub().StreamingOutputCall(streaming_request(sizes),
                                                  timeout=c.timeout))
    check(len(responses) == 4, "got %d responses, expected 4" % len(responses))
    for i, (response, size) in enumerate(zip(responses, sizes)):
        check_payload(response.payload, size, "response %d" % i)


def server_compressed_streaming(c):
    request = messages_pb2.StreamingOutputCallRequest(response_type=messages_pb2.COMPRESSABLE)
    request.response_parameters.add(size=31415, compressed=messages_pb2.BoolValue(value=True))
    request.response_parameters.add(size=92653, compressed=messages_pb2.BoolValue(value=False))
    with c.relayed() as (stub, wire_flags):
        responses = list(stub.StreamingOutputCall(request, timeout=c.timeout))
        check(len(responses) == 2, "got %d responses, expected 2" % len(responses))
        for i, (response, size) in enumerate(zip(responses, (31415, 92653))):
            check_payload(response.payload, size, "response %d" % i)
        flags = wire_flags()
        if flags is not None:
            check(flags == [True, False],
                  "response compressed flags on the wire are %s, expected [True, False]"
                  % flags)


def ping_pong(c):
    steps = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
    with Pipe() as pipe:
        responses = c.stub().FullDuplexCall(pipe, timeout=c.timeout)
        for i, (size, payload) in enumerate(steps):
            pipe.add(streaming_request([size], payload))
            response = next(responses, None)
            check(response is not None, "stream ended after %d responses, expected 4" % i)
            check_payload(response.payload, size, "response %d" % i)
        pipe.close()
        rest = list(responses)
        check(not rest, "got %d responses after the fourth, expected none" % len(rest))


def empty_stream(c):
    responses = list(c.stub().FullDuplexCall(iter([]), timeout=c.timeout))
    check(not responses, "got %d responses, expected none" % len(responses))


def custom_metadata(c):
    stub = c.stub()
    metadata = ((ECHO_INITIAL, INITIAL_VALUE), (ECHO_TRAILING, TRAILING_VALUE))

    def check_echo(initial, trailing, what):
        initial, trailing = list(initial or ()), list(trailing or ())
        check((ECHO_INITIAL, INITIAL_VALUE) in [(m.key, m.value) for m in initial],
              "%s: %s=%r not in the initial metadata %s"
              % (what, ECHO_INITIAL, INITIAL_VALUE, initial))
        check((ECHO_TRAILING, TRAILING_VALUE) in [(m.key, m.value) for m in trailing],
              "%s: %s=%r not in the trailing metadata %s"
              % (what, ECHO_TRAILING, TRAILING_VALUE, trailing))

    response, call = stub.UnaryCall.with_call(
        simple_request(response_size=314159, payload=messages_pb2.Payload(body=zeros(271828))),
        metadata=metadata, timeout=c.timeout)
    check_payload(response.payload, 314159, "UnaryCall response")
    check_echo(call.initial_metadata(), call.trailing_metadata(), "UnaryCall")

    call = stub.FullDuplexCall(iter([streaming_request([314159], 271828)]),
                               metadata=metadata, timeout=c.timeout)
    responses = list(call)
    check(len(responses) == 1, "FullDuplexCall: got %d responses, expected 1" % len(responses))
    check_payload(responses[0].payload, 314159, "FullDuplexCall response")
    check_echo(call.initial_metadata(), call.trailing_metadata(), "FullDuplexCall")


def _echo_status_request(message, streaming):
    status = messages_pb2.EchoStatus(code=2, message=message)
    if streaming:
        return streaming_request(response_status=status)
    return simple_request(response_status=status)


def status_code_and_message(c):
    stub = c.stub()
    message = "test status message"
    expect_status(grpc.StatusCode.UNKNOWN,
                  lambda: stub.UnaryCall(_echo_status_request(message, False),
                                         timeout=c.timeout),
                  message=message, what="UnaryCall")
    expect_status(grpc.StatusCode.UNKNOWN,
                  lambda: list(stub.FullDuplexCall(
                      iter([_echo_status_request(message, True)]), timeout=c.timeout)),
                  message=message, what="FullDuplexCall")


def special_status_message(c):
    stub = c.stub()
    expect_status(grpc.StatusCode.UNKNOWN,
                  lambda: stub.UnaryCall(_echo_status_request(SPECIAL_MESSAGE, False),
                                         timeout=c.timeout),
                  message=SPECIAL_MESSAGE, what="UnaryCall")


def unimplemented_method(c):
    expect_status(grpc.StatusCode.UNIMPLEMENTED,
                  lambda: c.stub().UnimplementedCall(empty_pb2.Empty(), timeout=c.timeout),
                  what="TestService/UnimplementedCall")


def unimplemented_service(c):
    stub = test_pb2_grpc.UnimplementedServiceStub(c.channel())
    expect_status(grpc.StatusCode.UNIMPLEMENTED,
                  lambda: stub.UnimplementedCall(empty_pb2.Empty(), timeout=c.timeout),
                  what="UnimplementedService/UnimplementedCall")


def cancel_after_begin(c):
    with Pipe() as pipe:
        future = c.stub().StreamingInputCall.future(pipe, timeout=c.timeout)
        future.cancel()
        check(future.cancelled(), "the call was not cancelled")
        check(future.code() == grpc.StatusCode.CANCELLED,
              "status is %s, expected CANCELLED" % future.code().name)


def cancel_after_first_response(c):
    with Pipe() as pipe:
        responses = c.stub().FullDuplexCall(pipe, timeout=c.timeout)
        pipe.add(streaming_request([31415], 27182))
        response = next(responses)
        check_payload(response.payload, 31415, "first response")
        responses.cancel()
        expect_status(grpc.StatusCode.CANCELLED, lambda: next(responses),
                      what="after cancel")


def timeout_on_sleeping_server(c):
    with Pipe() as pipe:
        responses = c.stub().FullDuplexCall(pipe, timeout=0.001)
        pipe.add(streaming_request(payload=27182))
        expect_status(grpc.StatusCode.DEADLINE_EXCEEDED, lambda: next(responses),
                      what="FullDuplexCall with a 1 ms deadline")


def rpc_soak(c):
    stub = c.stub()
    for i in range(c.soak_iterations):
        try:
            large_unary(c, stub)
        except (Failure, grpc.RpcError) as error:
            raise Failure("iteration %d of %d: %s" % (i + 1, c.soak_iterations, describe(error)))


def channel_soak(c):
    for i in range(c.soak_iterations):
        channel = c.new_channel()
        try:
            large_unary(c, test_pb2_grpc.TestServiceStub(channel))
        except (Failure, grpc.RpcError) as error:
            raise Failure("iteration %d of %d: %s" % (i + 1, c.soak_iterations, describe(error)))
        finally:
            channel.close()


CASES = [empty_unary, large_unary, client_compressed_unary, server_compressed_unary,
         client_streaming, client_compressed_streaming, server_streaming,
         server_compressed_streaming, ping_pong, empty_stream, custom_metadata,
         status_code_and_message, special_status_message, unimplemented_method,
         unimplemented_service, cancel_after_begin, cancel_after_first_response,
         timeout_on_sleeping_server, rpc_soak, channel_soak]
CASE_NAMES = [case.__name__ for case in CASES]


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


class Client:
    def __init__(self, args):
        # "[::1]" and "::1" both mean ::1 (the brackets are added back below).
        self.host, self.port = args.server_host.strip("[]"), args.server_port
        self.authority = args.server_host_override
        self.timeout = args.rpc_timeout
        self.soak_iterations = args.soak_iterations
        self.use_relay = not args.no_wire_relay and not args.use_tls
        self.credentials = None
        if args.use_tls:
            with open(args.ca_file, "rb") as ca:
                self.credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
        self._channels = []

    def new_channel(self, target=None):
        options = [("grpc.enable_http_proxy", 0),
                   # Own connection per channel (channel_soak rebuilds it).
                   ("grpc.use_local_subchannel_pool", 1)]
        if self.authority:
            options.append(("grpc.default_authority", self.authority))
        host = self.host if ":" not in self.host else "[%s]" % self.host
        target = target or "%s:%d" % (host, self.port)
        if self.credentials is not None:
            if self.authority:
                options.append(("grpc.ssl_target_name_override", self.authority))
            return grpc.secure_channel(target, self.credentials, options=options)
        return grpc.insecure_channel(target, options=options)

    def channel(self):
        channel = self.new_channel()
        self._channels.append(channel)
        return channel

    def stub(self):
        return test_pb2_grpc.TestServiceStub(self.channel())

    def relayed(self):
        """A context giving (stub, wire_flags): the stub's one connection goes
        through a wire.Relay; wire_flags() is the list of compressed flags of
        the response messages of the last stream (None without relay)."""
        client = self

        class Ctx:
            def __enter__(self):
                if not client.use_relay:
                    self.relay = None
                    self.channel = client.new_channel()
                    return test_pb2_grpc.TestServiceStub(self.channel), lambda: None
                self.relay = wire.Relay(target_port=client.port, target_host=client.host)
                self.channel = client.new_channel("127.0.0.1:%d" % self.relay.port)

                def wire_flags():
                    conn = self.relay.last_connection()
                    check(conn is not None, "no connection went through the relay")
                    stream = conn.to_client.latest_stream()
                    return conn.to_client.flags(stream) if stream is not None else []

                return test_pb2_grpc.TestServiceStub(self.channel), wire_flags

            def __exit__(self, *exc):
                self.channel.close()
                if self.relay:
                    self.relay.close()

        return Ctx()

    def close(self):
        for channel in self._channels:
            channel.close()
        self._channels = []


def describe(error):
    if isinstance(error, Failure):
        return str(error)
    if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        return "unexpected status %s: %r" % (error.code().name, error.details())
    return "%s: %s" % (type(error).__name__, error)


def run(args):
    names = CASE_NAMES if args.test_case == "all" else [args.test_case]
    passed = failed = 0
    for name in names:
        client = Client(args)
        try:
            globals()[name](client)
        except Exception as error:  # noqa: BLE001 -- every failure is reported
            failed += 1
            why = describe(error).replace("\n", "\\n")
            print("FAIL %s: %s" % (name, why), flush=True)
            if not isinstance(error, (Failure, grpc.RpcError)):
                traceback.print_exc()
        else:
            passed += 1
            print("PASS %s" % name, flush=True)
        finally:
            client.close()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


def parse_bool(text):
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected true or false, got %r" % text)


def main():
    parser = argparse.ArgumentParser(description="grpc.testing.TestService interop client (grpcio)")
    parser.add_argument("--server_host", default="127.0.0.1")
    parser.add_argument("--server_port", type=int, required=True)
    parser.add_argument("--server_host_override", default=None,
                        help="the :authority to claim (and, with TLS, the name to verify)")
    parser.add_argument("--test_case", required=True,
                        help="one of %s, or all" % ", ".join(CASE_NAMES))
    parser.add_argument("--use_tls", default=False, type=parse_bool, nargs="?", const=True)
    parser.add_argument("--use_test_ca", default=False, type=parse_bool, nargs="?", const=True,
                        help="accepted for grpc-go compatibility; the test CA is --ca_file")
    parser.add_argument("--ca_file", default=None,
                        help="PEM file of the CA certificates to trust (needed with --use_tls)")
    parser.add_argument("--soak_iterations", default=10, type=int,
                        help="RPCs (rpc_soak) or channels (channel_soak); default 10")
    parser.add_argument("--rpc_timeout", default=30.0, type=float,
                        help="deadline of each call, seconds (default 30)")
    parser.add_argument("--no_wire_relay", action="store_true",
                        help="do not relay server_compressed_* calls to read the "
                             "compressed flags (then they are not asserted)")
    args = parser.parse_args()
    if args.use_tls and not args.ca_file:
        print("error: --use_tls needs --ca_file (this client has no built-in test CA)",
              file=sys.stderr, flush=True)
        return 2
    if args.test_case != "all" and args.test_case not in CASE_NAMES:
        print("error: unknown test case %r; known: %s, all"
              % (args.test_case, ", ".join(CASE_NAMES)), file=sys.stderr, flush=True)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
