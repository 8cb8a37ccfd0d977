#!/usr/bin/env python3
"""A grpcio grpc.testing.TestService server, written from grpc/grpc
doc/interop-test-descriptions.md ("Server" section), as the peer of our Swift
`interop-client` (and of interop_client.py).

Usage: interop_server.py [--port 50051] [--no_wire_relay]
           [--use_tls true --tls_cert_file F --tls_key_file K]
       (--port 0 picks a free port)

Listens on 127.0.0.1 only, prints `listening on 127.0.0.1:PORT` to stdout
(flushed) once it accepts connections, logs one line per call to stderr, and
stops gracefully (exit code 0) on SIGTERM or SIGINT. UnimplementedService is
not registered, and TestService/UnimplementedCall not implemented, so calls to
them end UNIMPLEMENTED. CacheableUnaryCall is not implemented (it needs a
caching proxy; not one of our cases).

Features: EmptyCall, UnaryCall, StreamingOutputCall, StreamingInputCall,
FullDuplexCall, HalfDuplexCall; CompressedResponse, CompressedRequest, Echo
Status, Echo Metadata, ResponseParameters.interval_us.

CompressedRequest (`expect_compressed`) and grpcio: a grpcio handler cannot
see how a request arrived -- neither the message's compressed flag nor even
the call's `grpc-encoding` header (the C core strips it from
invocation_metadata()). So by default the port announced is that of a
loopback relay (wire.py) in front of grpcio, which reads the compressed flag
of each request message off the HTTP/2 DATA frames; a handler finds its
connection through context.peer() (the relay's backend socket) and its stream
as the newest stream on that connection that carried a message. That is exact
for a client making one call at a time per connection, as interop clients do;
with several concurrent calls on one connection carrying `expect_compressed`,
the stream could be mismatched. With --no_wire_relay (grpcio listens itself),
`expect_compressed` cannot be checked at all and is ignored.

With --use_tls true grpcio serves TLS itself (grpc.ssl_server_credentials, the
certificate and key from --tls_cert_file / --tls_key_file; ALPN h2) and there
is no relay, since it cannot read frames inside TLS: `expect_compressed` is
then ignored, as with --no_wire_relay.

Compressed responses (`response_compressed`, ResponseParameters.compressed)
use context.set_compression(gzip) for the call and, for a message that must
go uncompressed in a compressed stream, context.disable_next_message_compression().
"""

import argparse
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2
from grpc_status import rpc_status

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_stubs  # noqa: E402
import wire  # noqa: E402

empty_pb2, messages_pb2, test_pb2_grpc = interop_stubs.load()

ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
STATUS_BY_CODE = {code.value[0]: code for code in grpc.StatusCode}
SUPPORTED_TYPES = {messages_pb2.COMPRESSABLE}


def log(message):
    print(message, file=sys.stderr, flush=True)


class Aborted(Exception):
    pass


class TestService(test_pb2_grpc.TestServiceServicer):
    def __init__(self, relay):
        self.relay = relay  # a wire.Relay, or None

    # -- helpers -----------------------------------------------------------

    def _echo_metadata(self, context):
        """Echo Metadata: the initial one now, the trailing one at the end."""
        initial, trailing = [], []
        for key, value in context.invocation_metadata():
            if key == ECHO_INITIAL:
                initial.append((key, value))
            elif key == ECHO_TRAILING:
                trailing.append((key, value))
        if initial:
            context.send_initial_metadata(initial)
        if trailing:
            context.set_trailing_metadata(trailing)

    def _echo_status(self, status, context):
        """Echo Status: ends the call with the requested code and message.

        Beyond the interop descriptions (as our Swift interop-server does), the
        EchoStatus itself goes along as a rich error detail: a google.rpc.Status
        in grpc-status-details-bin, written by grpcio-status, which our client's
        `status_details` case reads."""
        if status.code != 0:
            code = STATUS_BY_CODE.get(status.code, grpc.StatusCode.UNKNOWN)
            log("  -> echo status %s %r" % (code.name, status.message))
            detail = any_pb2.Any()
            detail.Pack(status)
            context.abort_with_status(rpc_status.to_status(status_pb2.Status(
                code=status.code, message=status.message, details=[detail])))

    def _check_type(self, response_type, context):
        if response_type not in SUPPORTED_TYPES:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "unsupported response_type %d" % response_type)

    def _check_compressed(self, expect, index, context):
        """CompressedRequest: `expect` is the request's expect_compressed
        (a BoolValue), index the request's position in the call."""
        if not expect.value or self.relay is None:
            return  # nothing expected, or nothing we can see (no relay)
        conn = self.relay.connection_for_peer(context.peer())
        if conn is None:
            context.abort(grpc.StatusCode.INTERNAL,
                          "interop server: no relayed connection for peer %s"
                          % context.peer())
        stream = conn.to_server.latest_stream()
        flags = conn.to_server.flags(stream) if stream is not None else []
        if index >= len(flags):
            context.abort(grpc.StatusCode.INTERNAL,
                          "interop server: request %d of stream %s not seen on "
                          "the wire" % (index, stream))
        if not flags[index]:
            log("  -> expect_compressed, but request %d arrived uncompressed"
                % index)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "expected a compressed request, got an uncompressed one")

    @staticmethod
    def _payload(response_type, size):
        return messages_pb2.Payload(type=response_type, body=b"\x00" * size)

    def _stream_responses(self, request, context, compressing):
        """The responses of one StreamingOutputCallRequest, per
        response_parameters, each after its interval_us."""
        for params in request.response_parameters:
            if params.interval_us:
                time.sleep(params.interval_us / 1e6)
            if compressing and not params.compressed.value:
                context.disable_next_message_compression()
            yield messages_pb2.StreamingOutputCallResponse(
                payload=self._payload(request.response_type, params.size))

    # -- RPCs --------------------------------------------------------------

    def EmptyCall(self, request, context):
        log("EmptyCall")
        self._echo_metadata(context)
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        log("UnaryCall response_size=%d payload=%d response_compressed=%s "
            "expect_compressed=%s" % (
                request.response_size, len(request.payload.body),
                request.response_compressed.value, request.expect_compressed.value))
        self._echo_metadata(context)
        self._check_compressed(request.expect_compressed, 0, context)
        self._echo_status(request.response_status, context)
        self._check_type(request.response_type, context)
        context.set_compression(grpc.Compression.Gzip
                                if request.response_compressed.value
                                else grpc.Compression.NoCompression)
        return messages_pb2.SimpleResponse(
            payload=self._payload(request.response_type, request.response_size))

    def StreamingOutputCall(self, request, context):
        log("StreamingOutputCall sizes=%s" % [p.size for p in request.response_parameters])
        self._echo_metadata(context)
        self._echo_status(request.response_status, context)
        self._check_type(request.response_type, context)
        compressing = any(p.compressed.value for p in request.response_parameters)
        if compressing:
            context.set_compression(grpc.Compression.Gzip)
        for response in self._stream_responses(request, context, compressing):
            yield response

    def StreamingInputCall(self, request_iterator, context):
        log("StreamingInputCall")
        self._echo_metadata(context)
        total = 0
        for index, request in enumerate(request_iterator):
            self._check_compressed(request.expect_compressed, index, context)
            total += len(request.payload.body)
        log("  -> aggregated_payload_size=%d" % total)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        log("FullDuplexCall")
        self._echo_metadata(context)
        compressing = False
        for request in request_iterator:
            self._echo_status(request.response_status, context)
            self._check_type(request.response_type, context)
            if not compressing and any(p.compressed.value
                                       for p in request.response_parameters):
                # The call's algorithm applies to every later message; those
                # that must not be compressed are exempted one by one.
                context.set_compression(grpc.Compression.Gzip)
                compressing = True
            for response in self._stream_responses(request, context, compressing):
                yield response

    def HalfDuplexCall(self, request_iterator, context):
        log("HalfDuplexCall")
        self._echo_metadata(context)
        requests = list(request_iterator)
        for request in requests:
            self._echo_status(request.response_status, context)
            self._check_type(request.response_type, context)
        compressing = any(p.compressed.value for r in requests
                          for p in r.response_parameters)
        if compressing:
            context.set_compression(grpc.Compression.Gzip)
        for request in requests:
            for response in self._stream_responses(request, context, compressing):
                yield response


def serve(port, use_relay=True, tls=None):
    """tls: None, or (certificate chain PEM bytes, private key PEM bytes)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    relay = None
    address = "127.0.0.1:%d" % (0 if use_relay else port)
    if tls is not None:
        chain, key = tls
        bound = server.add_secure_port(address, grpc.ssl_server_credentials([(key, chain)]))
    else:
        bound = server.add_insecure_port(address)
    if bound == 0:
        log("error: cannot listen on 127.0.0.1:%d" % port)
        return 1
    if use_relay:
        try:
            relay = wire.Relay(target_port=bound, listen_port=port)
        except OSError as error:
            log("error: cannot listen on 127.0.0.1:%d: %s" % (port, error))
            return 1
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(relay), server)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server.start()
    print("listening on 127.0.0.1:%d" % (relay.port if relay else bound), flush=True)
    # Wait in short slices so the signal handlers get to run.
    while not stop.wait(0.5):
        pass
    log("shutting down")
    if relay:
        relay.close()
    server.stop(grace=5).wait(10)
    return 0


def parse_bool(text):
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected true or false, got %r" % text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="grpc.testing.TestService interop server (grpcio)")
    parser.add_argument("--port", default=50051, type=int,
                        help="port to listen on, on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--use_tls", default=False, type=parse_bool, nargs="?",
                        const=True, help="serve TLS (needs --tls_cert_file and --tls_key_file)")
    parser.add_argument("--tls_cert_file", default=None, help="PEM certificate chain (with --use_tls)")
    parser.add_argument("--tls_key_file", default=None, help="PEM private key (with --use_tls)")
    parser.add_argument("--no_wire_relay", action="store_true",
                        help="let grpcio listen itself (then expect_compressed "
                             "cannot be checked and is ignored)")
    args = parser.parse_args()
    tls = None
    if args.use_tls:
        if not (args.tls_cert_file and args.tls_key_file):
            log("error: --use_tls needs --tls_cert_file and --tls_key_file "
                "(this server has no built-in test certificates)")
            sys.exit(2)
        with open(args.tls_cert_file, "rb") as chain, open(args.tls_key_file, "rb") as key:
            tls = (chain.read(), key.read())
    elif args.tls_cert_file or args.tls_key_file:
        log("error: --tls_cert_file and --tls_key_file need --use_tls true")
        sys.exit(2)
    # No relay with TLS: it reads HTTP/2 frames, which TLS hides.
    sys.exit(serve(args.port, use_relay=not args.no_wire_relay and tls is None, tls=tls))
