"""RFC 9113 conformance of the server's HTTP/2 layer over a real socket, driven by the
hyper-h2 project's frame and header libraries (h2's hyperframe and hpack): frames a
well-behaved client library would refuse to send are written as raw bytes to person-server,
and the frames it answers with are read back.

Each case bounds its time (socket timeouts) and connects over loopback only. The server runs
on its own transport (GRPCSimpleHTTP2): stream errors stay stream errors and the connection
goes on, where the NIOHTTP2 it replaced closed the whole connection for five of these cases.
"""

import os
import queue
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

hpack = pytest.importorskip("hpack")
pytest.importorskip("hyperframe.frame")
from hyperframe.frame import (  # noqa: E402
    ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame, PriorityFrame,
    RstStreamFrame, SettingsFrame, WindowUpdateFrame)

LISTENING = re.compile(r"^listening on (\S+):(\d+)$")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
TIMEOUT = 5.0

NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x3
STREAM_CLOSED, REFUSED_STREAM = 0x5, 0x7

@pytest.fixture(scope="module")
def server():
    path = os.environ.get("PERSON_SERVER")
    if not path:
        pytest.skip("PERSON_SERVER is not set")
    stderr = tempfile.TemporaryFile()
    proc = subprocess.Popen([path, "--host", "127.0.0.1", "--port", "0"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=stderr)
    lines = queue.Queue()

    def read():
        for raw in proc.stdout:
            lines.put(raw.decode("utf-8", "replace").strip())
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    port = None
    deadline = time.monotonic() + 60
    while port is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        match = LISTENING.match(line)
        if match:
            port = int(match.group(2))
    try:
        assert port is not None, "person-server did not start"
        yield port
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        stderr.close()


class RawClient:
    """A client connection that writes frames as bytes and reads the server's frames."""

    def __init__(self, port, settings=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.settimeout(TIMEOUT)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.buffer = b""
        settings_frame = SettingsFrame(0)
        for key, value in (settings or {}).items():
            settings_frame.settings[key] = value
        self.sock.sendall(PREFACE + settings_frame.serialize())
        # The server's SETTINGS, and the ACK of ours; then we ACK its SETTINGS.
        self.server_settings = self.wait_for(lambda f: isinstance(f, SettingsFrame) and "ACK" not in f.flags)
        self.send(SettingsFrame(0, flags=["ACK"]))

    def close(self):
        self.sock.close()

    def send(self, *frames):
        self.sock.sendall(b"".join(frame.serialize() for frame in frames))

    def block(self, stream, path="/AsillaService/getInfor", extra=()):
        headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
                   ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)
        return self.encoder.encode(headers)

    def headers(self, stream, end_stream=False, extra=(), flags=()):
        frame = HeadersFrame(stream, self.block(stream, extra=extra))
        frame.flags.add("END_HEADERS")
        for flag in flags:
            frame.flags.add(flag)
        if end_stream:
            frame.flags.add("END_STREAM")
        return frame

    @staticmethod
    def data(stream, payload=b"\x00\x00\x00\x00\x06\x0a\x04John", end_stream=False, pad=0):
        frame = DataFrame(stream, payload)
        if end_stream:
            frame.flags.add("END_STREAM")
        if pad:
            frame.flags.add("PADDED")
            frame.pad_length = pad
        return frame

    def next_frame(self):
        """The next frame from the server, or None once it closed the connection."""
        while True:
            if len(self.buffer) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                if len(self.buffer) >= 9 + length:
                    frame.parse_body(memoryview(self.buffer[9:9 + length]))
                    self.buffer = self.buffer[9 + length:]
                    if isinstance(frame, (HeadersFrame, ContinuationFrame)):
                        frame.decoded = self.decoder.decode(frame.data) if "END_HEADERS" in frame.flags else None
                    if isinstance(frame, PingFrame) and "ACK" not in frame.flags:
                        self.send(PingFrame(0, frame.opaque_data, flags=["ACK"]))
                    return frame
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buffer += chunk

    def wait_for(self, predicate):
        """Reads frames until one matches; fails on the connection's end or the timeout."""
        seen = []
        while True:
            frame = self.next_frame()
            if frame is None:
                pytest.fail("the server closed the connection; frames before: %r" % seen)
            seen.append(frame)
            if predicate(frame):
                return frame

    def reset_of(self, stream):
        """The error code of the server's RST_STREAM on `stream` (None if it sent a GOAWAY
        first or closed)."""
        while True:
            frame = self.next_frame()
            if frame is None or isinstance(frame, GoAwayFrame):
                return None
            if isinstance(frame, RstStreamFrame) and frame.stream_id == stream:
                return frame.error_code

    def goaway(self):
        """The error code of the server's GOAWAY (None if it closed without one)."""
        while True:
            frame = self.next_frame()
            if frame is None:
                return None
            if isinstance(frame, GoAwayFrame):
                return frame.error_code

    def served(self, stream):
        """Sends a whole getInfor request on `stream` and waits for its trailers; grpc-status."""
        self.send(self.headers(stream), self.data(stream, end_stream=True))
        return self.trailers_of(stream)

    def trailers_of(self, stream):
        frame = self.wait_for(lambda f: isinstance(f, HeadersFrame) and f.stream_id == stream
                              and "END_STREAM" in f.flags)
        return dict((k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v)
                    for k, v in frame.decoded).get("grpc-status")


@pytest.fixture
def client(server):
    connection = RawClient(server)
    yield connection
    connection.close()


def test_a_request_is_served(client):
    assert client.served(1) == "0"


def test_priority_frames_are_accepted_and_ignored(client):
    # On an idle stream and on the stream of the request: RFC 9113 §5.3.2.
    client.send(PriorityFrame(3, depends_on=0, stream_weight=16))
    client.send(client.headers(1))
    client.send(PriorityFrame(1, depends_on=0, stream_weight=200, exclusive=True))
    client.send(client.data(1, end_stream=True))
    assert client.trailers_of(1) == "0"


def test_padded_headers_and_data_are_served(client):
    frame = client.headers(1, flags=["PADDED"])
    frame.pad_length = 10
    client.send(frame, client.data(1, end_stream=True, pad=20))
    assert client.trailers_of(1) == "0"


def test_a_request_in_continuation_frames_is_served(client):
    block = client.block(1)
    first = HeadersFrame(1, block[:5])
    rest = ContinuationFrame(1, block[5:])
    rest.flags.add("END_HEADERS")
    client.send(first, rest, client.data(1, end_stream=True))
    assert client.trailers_of(1) == "0"


def test_another_frame_inside_a_header_block_is_a_protocol_error(client):
    block = client.block(1)
    client.send(HeadersFrame(1, block[:5]), PingFrame(0, b"12345678"))
    assert client.goaway() == PROTOCOL_ERROR


def test_data_on_an_idle_stream_is_a_protocol_error(client):
    client.send(client.data(1))
    assert client.goaway() == PROTOCOL_ERROR


def test_a_stream_id_below_the_highest_is_a_protocol_error(client):
    client.send(client.headers(5))
    client.send(client.headers(3))
    assert client.goaway() == PROTOCOL_ERROR


def test_connection_specific_headers_are_malformed(client):
    client.send(client.headers(1, end_stream=True, extra=[("connection", "keep-alive")]))
    assert client.reset_of(1) == PROTOCOL_ERROR
    assert client.served(3) == "0", "the connection is kept"


def test_a_window_update_of_zero_on_the_connection_is_a_protocol_error(client):
    client.send(WindowUpdateFrame(0, window_increment=0))
    assert client.goaway() == PROTOCOL_ERROR


def test_streams_past_max_concurrent_streams_are_refused_and_the_connection_kept(client):
    # RFC 9113 §5.1.2. Requests that never end keep their streams open.
    limit = client.server_settings.settings.get(SettingsFrame.MAX_CONCURRENT_STREAMS)
    assert limit is not None and limit <= 1000
    client.send(*[client.headers(1 + 2 * i) for i in range(limit)])
    refused = 1 + 2 * limit
    client.send(client.headers(refused))
    assert client.reset_of(refused) == REFUSED_STREAM
    client.send(RstStreamFrame(1, error_code=0x8))
    assert client.served(refused + 2) == "0", "the connection is kept"


def test_data_after_the_client_reset_the_stream_is_stream_closed(client):
    # RFC 9113 §5.1 (closed): any frame but PRIORITY after RST_STREAM.
    client.send(client.headers(1), RstStreamFrame(1, error_code=0x8))
    client.send(client.data(1))
    assert client.reset_of(1) == STREAM_CLOSED


def test_a_window_update_of_zero_on_a_stream_is_a_stream_error(client):
    # RFC 9113 §6.9: a stream error PROTOCOL_ERROR.
    client.send(client.headers(1), WindowUpdateFrame(1, window_increment=0))
    assert client.reset_of(1) == PROTOCOL_ERROR
    assert client.served(3) == "0", "the connection is kept"


def test_a_stream_window_past_the_maximum_is_a_flow_control_stream_error(client):
    # RFC 9113 §6.9.1: RST_STREAM FLOW_CONTROL_ERROR.
    client.send(client.headers(1), WindowUpdateFrame(1, window_increment=2**31 - 1))
    assert client.reset_of(1) == FLOW_CONTROL_ERROR
    assert client.served(3) == "0", "the connection is kept"


def test_content_length_not_matching_the_data_is_a_protocol_error(client):
    # RFC 9113 §8.1.1: a malformed request, a stream error PROTOCOL_ERROR.
    client.send(client.headers(1, extra=[("content-length", "3")]), client.data(1, end_stream=True))
    assert client.reset_of(1) == PROTOCOL_ERROR


def test_content_length_not_matching_the_sum_of_the_data_frames_is_a_protocol_error(client):
    client.send(client.headers(1, extra=[("content-length", "20")]), client.data(1, b"\x00" * 6),
                client.data(1, b"\x00" * 5, end_stream=True))
    assert client.reset_of(1) == PROTOCOL_ERROR
