#!/usr/bin/env python3
"""Correctness checks of owned-frame-server (the server's own HTTP/2 transport,
GRPCSimpleHTTP2, with no gRPC layer).

Starts the server (Benchmarks/.build/release/owned-frame-server, or --binary), then checks:

- h2load with the harness's flags (unary getInfor; the Echo body of bench.py), every answer in;
- a grpcio client: unary getInfor many times, concurrently, over several connections, and the
  streaming Echo (verbatim echo), answers compared byte for byte; curl --http2-prior-knowledge;
- the protocol over a raw socket (hand-made frames, HPACK from the `hpack` package): handshake
  and settings, PING, padding, PRIORITY, CONTINUATION, unknown frames, trailers, RST_STREAM,
  MAX_CONCURRENT_STREAMS (REFUSED_STREAM, connection kept), flow control in both directions
  (DATA waits for WINDOW_UPDATE, stream and connection), SETTINGS_HEADER_TABLE_SIZE, a request
  fed one byte per write, half-close, client GOAWAY, malformed requests (RST_STREAM);
- malformed input, each on a fresh connection, answered by GOAWAY with the right code and a
  close: bad preface, truncated frames, a frame above MAX_FRAME_SIZE, HEADERS on stream 0,
  CONTINUATION without HEADERS, and more; then random frames and random bytes;
- after every check, that the server process is alive and still answers.

Needs h2load (nghttp2-client) and a Python with grpcio and hpack, e.g.
    python3 -m venv /tmp/h2venv && /tmp/h2venv/bin/pip install grpcio hpack
    /tmp/h2venv/bin/python Benchmarks/scripts/check-owned-frame-server.py
Exits 1 if any check fails.
"""

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
BENCH = os.path.dirname(HERE)
DEFAULT_BINARY = os.path.join(BENCH, ".build", "release", "owned-frame-server")

import hpack  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM = 0, 1, 3, 5, 6, 7
COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 9, 11
CODE_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR", 5: "STREAM_CLOSED",
              6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR", 11: "ENHANCE_YOUR_CALM"}

GETINFOR = "/AsillaService/getInfor"
ECHO = "/StreamBench/Echo"
REQUEST_MESSAGE = b"\x0a\x05trung"                        # RequestInforPerson(name: "trung")
REQUEST_BODY = b"\x00" + len(REQUEST_MESSAGE).to_bytes(4, "big") + REQUEST_MESSAGE
CANNED_MESSAGE = b"\x0a\x05trung\x10\x05"                  # Person(name: "trung", id: 5)
CANNED_BODY = b"\x00" + len(CANNED_MESSAGE).to_bytes(4, "big") + CANNED_MESSAGE


def frame(type_, flags, stream, payload=b"", length=None):
    length = len(payload) if length is None else length
    return length.to_bytes(3, "big") + bytes([type_, flags]) + stream.to_bytes(4, "big") + payload


def settings(*pairs, ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(i.to_bytes(2, "big") + v.to_bytes(4, "big") for i, v in pairs))


def window_update(stream, increment):
    return frame(WINDOW_UPDATE, 0, stream, increment.to_bytes(4, "big"))


def request_headers(path=GETINFOR, extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
            ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)


class Failure(Exception):
    pass


class Conn:
    """A raw HTTP/2 client connection: hand-made frames out, parsed frames in."""

    def __init__(self, port, preface=True, client_settings=(), timeout=2.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.server_settings = None
        if preface:
            self.send(PREFACE + settings(*client_settings))

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def encode(self, headers):
        return self.encoder.encode(headers)

    def read_frame(self, timeout=2.0):
        """(type, flags, stream, payload); 'EOF' when the server closed; None on timeout."""
        deadline = time.time() + timeout
        while True:
            if len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) >= 9 + length:
                    header, payload = self.buffer[:9], self.buffer[9:9 + length]
                    self.buffer = self.buffer[9 + length:]
                    return header[3], header[4], int.from_bytes(header[5:9], "big") & 0x7FFFFFFF, payload
            remaining = deadline - time.time()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionResetError, BrokenPipeError):
                return "EOF"
            if not chunk:
                return "EOF"
            self.buffer += chunk

    def frames(self, timeout=2.0, until=None):
        """Frames until `until(frame)` is true (inclusive), EOF or timeout; SETTINGS are acked."""
        got = []
        deadline = time.time() + timeout
        while True:
            f = self.read_frame(max(0.0, deadline - time.time()))
            if f is None or f == "EOF":
                return got, f
            got.append(f)
            if f[0] == SETTINGS and not f[1] & ACK:
                self.server_settings = parse_settings(f[3])
                try:
                    self.send(settings(ack=True))
                except OSError:
                    pass  # our side is shut down already (the half-close checks)
            if until and until(f):
                return got, None

    def request(self, stream, path=GETINFOR, body=REQUEST_BODY, extra=()):
        self.send(frame(HEADERS, END_HEADERS, stream, self.encode(request_headers(path, extra)))
                  + frame(DATA, END_STREAM, stream, body))


def parse_settings(payload):
    return {int.from_bytes(payload[i:i + 2], "big"): int.from_bytes(payload[i + 2:i + 6], "big")
            for i in range(0, len(payload) - 5, 6)}


def responses(conn, frames):
    """Groups response frames per stream: {stream: {'headers': [...], 'data': b'', 'trailers': [...], 'ended'}}."""
    out = {}
    for type_, flags, stream, payload in frames:
        if type_ not in (HEADERS, DATA, RST_STREAM):
            continue
        r = out.setdefault(stream, {"headers": None, "data": b"", "trailers": None, "ended": False, "rst": None})
        if type_ == HEADERS:
            if flags & PADDED or not flags & END_HEADERS:
                raise Failure("response HEADERS padded or split (not expected for these tiny blocks)")
            block = conn.decoder.decode(payload)
            if r["headers"] is None and not (flags & END_STREAM and r["data"] == b""
                                             and any(n == "grpc-status" for n, _ in block)):
                r["headers"] = block
            else:
                r["trailers"] = block
            if flags & END_STREAM:
                r["ended"] = True
        elif type_ == DATA:
            r["data"] += payload
            if flags & END_STREAM:
                r["ended"] = True
        else:
            r["rst"] = int.from_bytes(payload, "big")
    return out


def check_canned(r, stream):
    if r is None:
        raise Failure(f"no response on stream {stream}")
    if r["rst"] is not None:
        raise Failure(f"stream {stream} reset with {CODE_NAMES.get(r['rst'], r['rst'])}")
    if r["headers"] != [(":status", "200"), ("content-type", "application/grpc")]:
        raise Failure(f"stream {stream}: response headers {r['headers']}")
    if r["data"] != CANNED_BODY:
        raise Failure(f"stream {stream}: response body {r['data']!r}")
    if r["trailers"] != [("grpc-status", "0")] or not r["ended"]:
        raise Failure(f"stream {stream}: trailers {r['trailers']} ended={r['ended']}")


def until_ended(streams):
    """A predicate for Conn.frames: true once every stream in `streams` has ended or been reset."""
    pending = set(streams)

    def done(f):
        if (f[0] in (HEADERS, DATA) and f[1] & END_STREAM) or f[0] == RST_STREAM:
            pending.discard(f[2])
        return not pending
    return done


def expect_goaway(conn, code, timeout=2.0):
    frames, end = conn.frames(timeout, until=lambda f: f[0] == GOAWAY)
    goaways = [f for f in frames if f[0] == GOAWAY]
    if not goaways:
        raise Failure(f"no GOAWAY (got {[f[0] for f in frames]}, {end or 'timeout'})")
    got = int.from_bytes(goaways[0][3][4:8], "big")
    if got != code:
        raise Failure(f"GOAWAY {CODE_NAMES.get(got, got)}, expected {CODE_NAMES[code]}")
    rest, end = conn.frames(timeout)
    if end != "EOF":
        raise Failure("the connection stayed open after GOAWAY")
    return goaways[0]


# ---------------------------------------------------------------------------------------------
# Checks


class Checker:
    def __init__(self, binary, port=None, h2load=True, grpc=True):
        self.binary = binary
        self.process = None
        self.port = port
        self.results = []
        self.run_h2load = h2load
        self.run_grpc = grpc

    def start(self):
        if self.port:
            return
        self.log = tempfile.NamedTemporaryFile(prefix="owned-frame-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen([self.binary, "--port", "0"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(self.log.name) as f:
                match = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
            if match:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit(f"server did not start: {open(self.log.name).read()[-500:]}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def alive(self):
        """The server process runs and answers a request on a fresh connection."""
        if self.process and self.process.poll() is not None:
            raise Failure(f"the server process exited ({self.process.returncode})")
        conn = Conn(self.port)
        try:
            conn.request(1)
            frames, _ = conn.frames(until=until_ended([1]))
            check_canned(responses(conn, frames).get(1), 1)
        finally:
            conn.close()

    def check(self, name, body):
        started = time.time()
        try:
            detail = body()
            self.alive()
            self.results.append((name, True, detail or ""))
            print(f"ok    {name}{'  (' + detail + ')' if detail else ''}  [{time.time() - started:.1f}s]", flush=True)
        except Exception as error:  # noqa: BLE001 - a failed check is reported, the rest go on
            message = str(error) if isinstance(error, Failure) else traceback.format_exc(limit=3)
            self.results.append((name, False, message))
            print(f"FAIL  {name}: {message}", flush=True)

    def with_conn(self, body, **options):
        def run():
            conn = Conn(self.port, **options)
            try:
                return body(conn)
            finally:
                conn.close()
        return run

    # -- load and real clients ---------------------------------------------------------------

    def h2load(self, path, body, n, connections, streams):
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(body)
            f.flush()
            out = subprocess.run(["h2load", "-n", str(n), "-c", str(connections), "-m", str(streams), "-d", f.name,
                                  "-H", "content-type: application/grpc", "-H", "te: trailers",
                                  f"http://127.0.0.1:{self.port}{path}"], capture_output=True, text=True, timeout=120)
        text = out.stdout + out.stderr
        match = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                          r"(\d+) errored, (\d+) timeout", text)
        data = re.search(r"traffic: .*?, ([\d.]+\w*) \((\d+)\) data", text)
        if not match or not data:
            raise Failure("could not parse h2load: " + text[-300:])
        if int(match.group(4)) != n:
            raise Failure(f"h2load: {match.group(0)}")
        return int(data.group(2)), re.search(r"finished in .*", text).group(0)

    def check_h2load_unary(self):
        data, line = self.h2load(GETINFOR, REQUEST_BODY, 20000, 4, 100)
        if data != 20000 * len(CANNED_BODY):
            raise Failure(f"{data} DATA bytes for 20000 responses")
        return line

    def check_h2load_echo(self):
        import bench  # bench.py's own Echo body
        body = bench.echo_body()
        data, line = self.h2load(ECHO, body, 300, 1, 1)
        if data != 300 * len(body):
            raise Failure(f"{data} DATA bytes echoed for 300 requests of {len(body)}")
        data, line = self.h2load(ECHO, body, 400, 4, 8)
        if data != 400 * len(body):
            raise Failure(f"{data} DATA bytes echoed for 400 requests of {len(body)} (4 connections x 8 streams)")
        return f"{len(body)}-byte bodies echoed byte for byte; {line}"

    def check_grpc_unary(self):
        import concurrent.futures
        import grpc
        channels = [grpc.insecure_channel(f"127.0.0.1:{self.port}", options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(4)]
        try:
            calls = [c.unary_unary(GETINFOR, request_serializer=lambda b: b, response_deserializer=lambda b: b)
                     for c in channels]
            total = 0
            for _ in range(3):
                futures = [call.future(REQUEST_MESSAGE, timeout=20) for call in calls for _ in range(500)]
                for f in futures:
                    if f.result() != CANNED_MESSAGE:
                        raise Failure(f"unexpected answer {f.result()!r}")
                total += len(futures)
            # and from several threads at once, blocking calls
            def worker(i):
                for _ in range(200):
                    answer, call = calls[i % 4].with_call(REQUEST_MESSAGE, timeout=20)
                    if answer != CANNED_MESSAGE or call.code() != grpc.StatusCode.OK:
                        raise Failure(f"unexpected answer {answer!r} {call.code()}")
                return 200
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                total += sum(pool.map(worker, range(8)))
            big = calls[0](b"\x0a" + b"\x80\x80\x04" + b"x" * 65536, timeout=20)  # a 64 KiB request body
            if big != CANNED_MESSAGE:
                raise Failure("unexpected answer to a 64 KiB request")
            return f"{total + 1} calls over 4 connections, all answers right"
        finally:
            for c in channels:
                c.close()

    def check_grpc_echo(self):
        import grpc
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            echo = channel.stream_stream(ECHO, request_serializer=lambda b: b, response_deserializer=lambda b: b)
            messages = [b"\x0a\x10" + bytes([65 + i % 26]) * 16 + b"\x10" + bytes([i % 128]) for i in range(100)]
            got = list(echo(iter(messages), timeout=20))
            if got != messages:
                raise Failure(f"echoed {len(got)} messages, not the 100 sent")
            large = [os.urandom(300 * 1024) for _ in range(3)]  # beyond grpcio's initial windows
            got = list(echo(iter(large), timeout=20))
            if got != large:
                raise Failure("large messages not echoed byte for byte")
            # one message at a time: each echo must arrive before the next message is sent
            import queue
            requests = queue.Queue()

            def feed():
                while True:
                    item = requests.get()
                    if item is None:
                        return
                    yield item
            stream = echo(feed(), timeout=20)
            for i in range(20):
                requests.put(messages[i])
                if next(stream) != messages[i]:
                    raise Failure("ping-pong echo mismatch")
            requests.put(None)
            if list(stream):
                raise Failure("extra messages after the ping-pong")
        return "100 small, 3 x 300 KiB and 20 ping-pong messages echoed"

    def check_curl(self):
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(REQUEST_BODY)
            f.flush()
            out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-X", "POST", "--data-binary", f"@{f.name}",
                                  "-H", "content-type: application/grpc", "-H", "te: trailers", "-D", "-",
                                  "-o", "/dev/stdout", f"http://127.0.0.1:{self.port}{GETINFOR}"],
                                 capture_output=True, timeout=20)
        if out.returncode != 0 or b"HTTP/2 200" not in out.stdout or CANNED_BODY not in out.stdout \
                or b"grpc-status: 0" not in out.stdout:
            raise Failure(f"curl: {out.returncode} {out.stdout[-300:]!r} {out.stderr[-300:]!r}")

    # -- protocol over a raw socket -----------------------------------------------------------

    def check_handshake(self, conn):
        frames, _ = conn.frames(until=lambda f: f[0] == SETTINGS and f[1] & ACK)
        if conn.server_settings != {3: 100, 4: 1048576, 6: 16384}:
            raise Failure(f"server SETTINGS {conn.server_settings}")
        if not any(f[0] == SETTINGS and f[1] & ACK for f in frames):
            raise Failure("our SETTINGS not acknowledged")
        return "SETTINGS MAX_CONCURRENT_STREAMS=100 INITIAL_WINDOW_SIZE=1MiB MAX_HEADER_LIST_SIZE=16KiB; ACK"

    def check_unary_and_ping(self, conn):
        conn.send(frame(PING, 0, 0, b"12345678"))
        conn.request(1)
        frames, _ = conn.frames(until=until_ended([1]))
        if (PING, ACK, 0, b"12345678") not in frames:
            raise Failure("no PING ACK with our payload")
        kinds = [(f[0], f[1]) for f in frames if f[2] == 1]
        if kinds != [(HEADERS, END_HEADERS), (DATA, 0), (HEADERS, END_HEADERS | END_STREAM)]:
            raise Failure(f"response frames {kinds}")
        check_canned(responses(conn, frames).get(1), 1)
        # many requests on one connection: the HPACK dynamic table stays in step
        for i in range(50):
            conn.request(3 + 2 * i)
        frames, _ = conn.frames(until=until_ended([3 + 2 * i for i in range(50)]))
        got = responses(conn, frames)
        for i in range(50):
            check_canned(got.get(3 + 2 * i), 3 + 2 * i)
        return "HEADERS, DATA, trailers; 50 more answers decode with one HPACK decoder"

    def check_byte_by_byte(self):
        conn = Conn(self.port, preface=False)
        try:
            data = PREFACE + settings() + frame(HEADERS, END_HEADERS, 1, conn.encode(request_headers())) \
                + frame(DATA, END_STREAM, 1, REQUEST_BODY)
            for byte in data:
                conn.send(bytes([byte]))
                time.sleep(0.0005)
            frames, _ = conn.frames(until=until_ended([1]))
            check_canned(responses(conn, frames).get(1), 1)
            return f"{len(data)} writes of one byte"
        finally:
            conn.close()

    def check_padding_priority_unknown(self, conn):
        block = conn.encode(request_headers())
        payload = bytes([7]) + (0x80000000 | 0).to_bytes(4, "big") + bytes([200]) + block + b"\0" * 7
        conn.send(frame(0x20, 0xFF, 0, b"unknown frame type")                 # extension frame: ignored
                  + frame(PRIORITY, 0, 1, (3).to_bytes(4, "big") + b"\x10")   # PRIORITY: ignored
                  + frame(HEADERS, END_HEADERS | PADDED | PRIORITY_FLAG, 1, payload)
                  + frame(0x21, 0, 1, b"")
                  + frame(DATA, END_STREAM | PADDED, 1, bytes([20]) + REQUEST_BODY + b"\0" * 20))
        frames, _ = conn.frames(until=until_ended([1]))
        check_canned(responses(conn, frames).get(1), 1)

    def check_continuation(self, conn):
        block = conn.encode(request_headers(extra=[("x-filler", "y" * 300)]))
        a, b, c = block[:10], block[10:100], block[100:]
        conn.send(frame(HEADERS, 0, 1, a) + frame(CONTINUATION, 0, 1, b) + frame(CONTINUATION, END_HEADERS, 1, c)
                  + frame(DATA, END_STREAM, 1, REQUEST_BODY))
        # and END_STREAM on the HEADERS of a split block (a request without DATA)
        block = conn.encode(request_headers())
        conn.send(frame(HEADERS, END_STREAM, 3, block[:5]) + frame(CONTINUATION, END_HEADERS, 3, block[5:]))
        frames, _ = conn.frames(until=until_ended([1, 3]))
        got = responses(conn, frames)
        check_canned(got.get(1), 1)
        check_canned(got.get(3), 3)

    def check_request_trailers(self, conn):
        conn.send(frame(HEADERS, END_HEADERS, 1, conn.encode(request_headers())) + frame(DATA, 0, 1, REQUEST_BODY)
                  + frame(HEADERS, END_HEADERS | END_STREAM, 1, conn.encode([("x-trailer", "1")])))
        frames, _ = conn.frames(until=until_ended([1]))
        check_canned(responses(conn, frames).get(1), 1)

    def check_rst_stream(self, conn):
        conn.send(frame(HEADERS, END_HEADERS, 1, conn.encode(request_headers())) + frame(DATA, 0, 1, REQUEST_BODY)
                  + frame(RST_STREAM, 0, 1, (8).to_bytes(4, "big")))
        # DATA after the client's own RST_STREAM: a stream error STREAM_CLOSED (RFC 9113 §5.1,
        # the Reliability issue's h2spec case), and nothing else on the stream.
        conn.send(frame(DATA, END_STREAM, 1, b""))
        conn.request(3)
        frames, _ = conn.frames(until=until_ended([3]))
        got = responses(conn, frames)
        reset = got.get(1)
        if reset is not None and (reset["headers"] or reset["data"] or reset["trailers"] or reset["rst"] != STREAM_CLOSED):
            raise Failure(f"expected only RST_STREAM STREAM_CLOSED on the reset stream: {reset}")
        if reset is None:
            raise Failure("no RST_STREAM STREAM_CLOSED for DATA after the client's reset")
        check_canned(got.get(3), 3)

    def check_max_concurrent_streams(self, conn):
        ids = [1 + 2 * i for i in range(101)]
        conn.send(b"".join(frame(HEADERS, END_HEADERS, s, conn.encode(request_headers())) for s in ids))
        frames, _ = conn.frames(until=lambda f: f[0] == RST_STREAM)
        refused = [f for f in frames if f[0] == RST_STREAM]
        if not refused or refused[0][2] != ids[-1] or int.from_bytes(refused[0][3], "big") != REFUSED_STREAM:
            raise Failure(f"expected RST_STREAM REFUSED_STREAM on stream {ids[-1]}, got {refused}")
        conn.send(b"".join(frame(DATA, END_STREAM, s, REQUEST_BODY) for s in ids[:100]))
        frames, _ = conn.frames(timeout=5, until=until_ended(ids[:100]))
        got = responses(conn, frames)
        for s in ids[:100]:
            check_canned(got.get(s), s)
        conn.request(ids[-1] + 2)   # the connection is still usable for new streams
        frames, _ = conn.frames(until=until_ended([ids[-1] + 2]))
        check_canned(responses(conn, frames).get(ids[-1] + 2), ids[-1] + 2)
        return "stream 201 refused, the 100 others answered, the connection kept"

    def check_long_lived_stream(self, conn):
        """One Echo stream stays open while 1,000 others come and go: stream IDs far apart share
        the stream table (they collide in its hash), and all must stay findable."""
        conn.send(frame(HEADERS, END_HEADERS, 1, conn.encode(request_headers(ECHO))))
        conn.send(frame(DATA, 0, 1, b"\x00\x00\x00\x00\x01a"))
        stream = 3
        for batch in range(20):
            ids = list(range(stream, stream + 100, 2))
            conn.send(b"".join(frame(HEADERS, END_HEADERS, s, conn.encode(request_headers())) + frame(DATA, END_STREAM, s, REQUEST_BODY)
                               for s in ids))
            frames, _ = conn.frames(until=until_ended(ids))
            got = responses(conn, frames)
            for s in ids:
                check_canned(got.get(s), s)
            stream += 100
        conn.send(frame(DATA, END_STREAM, 1, b"\x00\x00\x00\x00\x01b"))
        frames, _ = conn.frames(until=until_ended([1]))
        echoed = b"".join(f[3] for f in frames if f[0] == DATA and f[2] == 1)
        if not echoed.endswith(b"\x00\x00\x00\x00\x01b") or not any(f[0] == HEADERS and f[1] & END_STREAM for f in frames):
            raise Failure(f"the long-lived stream did not end right: {echoed!r}")
        return "streams 3-2001 answered beside stream 1, which then ended"

    def check_stream_flow_control(self, conn):
        conn.send(settings((4, 5)))          # our stream windows: 5 bytes
        conn.frames(until=lambda f: f[0] == SETTINGS and f[1] & ACK)
        conn.request(1)
        frames, _ = conn.frames(timeout=0.5)
        data = b"".join(f[3] for f in frames if f[0] == DATA)
        if data != CANNED_BODY[:5] or any(f[0] == HEADERS and f[1] & END_STREAM for f in frames):
            raise Failure(f"with a 5-byte window: DATA {data!r}, frames {[(f[0], f[1]) for f in frames]}")
        conn.send(window_update(1, 4))
        frames2, _ = conn.frames(timeout=0.5)
        data2 = b"".join(f[3] for f in frames2 if f[0] == DATA)
        if data2 != CANNED_BODY[5:9] or any(f[0] == HEADERS for f in frames2):
            raise Failure(f"after WINDOW_UPDATE 4: DATA {data2!r}")
        conn.send(window_update(1, 100))
        frames3, _ = conn.frames(until=until_ended([1]))
        check_canned(responses(conn, frames + frames2 + frames3).get(1), 1)
        # SETTINGS raising the initial window releases waiting DATA too
        conn.request(3)
        frames, _ = conn.frames(timeout=0.5)
        conn.send(settings((4, 65535)))
        frames2, _ = conn.frames(until=until_ended([3]))
        check_canned(responses(conn, frames + frames2).get(3), 3)
        return "5 bytes, then 4 after WINDOW_UPDATE, the rest and trailers after more; SETTINGS releases too"

    def check_connection_flow_control(self, conn):
        conn.send(settings((4, 1 << 20)))    # stream windows large: the connection window (65,535) limits
        conn.frames(until=lambda f: f[0] == SETTINGS and f[1] & ACK)
        body = os.urandom(70000)
        conn.send(frame(HEADERS, END_HEADERS, 1, conn.encode(request_headers(ECHO))))
        sent, frames = 0, []
        while sent < len(body):
            chunk = body[sent:sent + 14000]
            # never beyond the server's receive window: wait for its WINDOW_UPDATE on stream 0
            while sent + len(chunk) > 65535 + sum(int.from_bytes(f[3], "big") for f in frames
                                                   if f[0] == WINDOW_UPDATE and f[2] == 0):
                got, _ = conn.frames(timeout=2, until=lambda f: f[0] == WINDOW_UPDATE and f[2] == 0)
                if not got:
                    raise Failure("no connection WINDOW_UPDATE from the server")
                frames += got
            conn.send(frame(DATA, END_STREAM if sent + len(chunk) == len(body) else 0, 1, chunk))
            sent += len(chunk)
        got, _ = conn.frames(timeout=0.7)
        frames += got
        echoed = b"".join(f[3] for f in frames if f[0] == DATA and f[2] == 1)
        if echoed != body[:65535] or any(f[0] == HEADERS and f[1] & END_STREAM for f in frames):
            raise Failure(f"before a connection WINDOW_UPDATE: {len(echoed)} bytes echoed, expected 65535")
        if max(len(f[3]) for f in frames if f[0] == DATA) > 16384:
            raise Failure("a DATA frame above the default MAX_FRAME_SIZE")
        conn.send(window_update(0, 10000))
        got, _ = conn.frames(until=until_ended([1]))
        frames += got
        r = responses(conn, frames).get(1)
        if r is None or r["data"] != body or r["trailers"] != [("grpc-status", "0")]:
            raise Failure("echo incomplete after the connection WINDOW_UPDATE")
        return "65,535 bytes, then the rest and trailers after WINDOW_UPDATE on stream 0"

    def check_withheld_window(self, conn):
        """While echoed DATA waits for the client's window, the stream's receive window is not
        replenished (a client that does not read cannot make the server buffer without bound)."""
        conn.send(settings((4, 0)))           # the server may send no DATA at all
        conn.frames(until=lambda f: f[0] == SETTINGS and f[1] & ACK)
        conn.send(frame(HEADERS, END_HEADERS, 1, conn.encode(request_headers(ECHO))))
        body = os.urandom(42000)
        conn.send(b"".join(frame(DATA, 0, 1, body[i:i + 14000]) for i in range(0, len(body), 14000)))
        frames, _ = conn.frames(timeout=0.5)
        updates = {f[2] for f in frames if f[0] == WINDOW_UPDATE}
        if any(f[0] == DATA for f in frames) or 1 in updates or 0 not in updates:
            raise Failure(f"with a zero window: frames {[(f[0], f[2]) for f in frames]}")
        conn.send(window_update(1, 100000))
        frames, _ = conn.frames(timeout=0.5)
        echoed = b"".join(f[3] for f in frames if f[0] == DATA and f[2] == 1)
        if echoed != body or not any(f[0] == WINDOW_UPDATE and f[2] == 1 for f in frames):
            raise Failure(f"after the window opened: {len(echoed)} bytes echoed, updates "
                          f"{[f[2] for f in frames if f[0] == WINDOW_UPDATE]}")
        return "no stream WINDOW_UPDATE while 42,000 bytes waited; echo and WINDOW_UPDATE once the window opened"

    def check_header_table_size(self, conn):
        conn.send(settings((1, 0)))          # no dynamic table for the server's encoder
        conn.frames(until=lambda f: f[0] == SETTINGS and f[1] & ACK)
        conn.decoder.max_allowed_table_size = 0
        conn.decoder.header_table_size = 0
        for i in range(5):
            conn.request(1 + 2 * i)
        frames, _ = conn.frames(until=until_ended([1 + 2 * i for i in range(5)]))
        first = next(f for f in frames if f[0] == HEADERS)
        if first[3][0] != 0x20:
            raise Failure(f"first response block does not start with a table size update to 0: {first[3][:4].hex()}")
        got = responses(conn, frames)
        for i in range(5):
            check_canned(got.get(1 + 2 * i), 1 + 2 * i)

    def check_echo_as_it_arrives(self, conn):
        conn.send(frame(HEADERS, END_HEADERS, 1, conn.encode(request_headers(ECHO))))
        parts = [b"\x00\x00\x00\x00\x03abc", b"\x00\x00\x00\x00\x02de", b"\x00\x00\x00\x00\x01f"]
        got = b""
        for i, part in enumerate(parts):
            conn.send(frame(DATA, 0, 1, part))
            frames, _ = conn.frames(timeout=2, until=lambda f: f[0] == DATA)
            got += b"".join(f[3] for f in frames if f[0] == DATA)
            if got != b"".join(parts[:i + 1]):
                raise Failure(f"echo of part {i}: {got!r}")
        conn.send(frame(DATA, END_STREAM, 1, b""))
        frames, _ = conn.frames(until=until_ended([1]))
        if not any(f[0] == HEADERS and f[1] & END_STREAM for f in frames):
            raise Failure("no trailers at the end of the echo")

    def check_half_close(self, conn):
        conn.request(1)
        conn.sock.shutdown(socket.SHUT_WR)
        frames, end = conn.frames(until=lambda f: f[0] == GOAWAY)
        check_canned(responses(conn, frames).get(1), 1)
        goaway = [f for f in frames if f[0] == GOAWAY]
        if not goaway or int.from_bytes(goaway[0][3][4:8], "big") != NO_ERROR:
            raise Failure(f"expected GOAWAY NO_ERROR after the half-close, got {goaway}")
        if conn.frames()[1] != "EOF":
            raise Failure("not closed after the half-close")
        return "answered, GOAWAY NO_ERROR, closed"

    def check_client_goaway(self, conn):
        conn.request(1)
        conn.send(frame(GOAWAY, 0, 0, (1).to_bytes(4, "big") + (0).to_bytes(4, "big")))
        frames, end = conn.frames(timeout=2)
        check_canned(responses(conn, frames).get(1), 1)
        if end != "EOF":
            raise Failure("not closed after the client's GOAWAY with no stream left")

    def check_malformed_requests(self, conn):
        cases = [
            [(":method", "POST"), (":scheme", "http"), (":authority", "x")],                      # no :path
            request_headers(extra=[("Content-Length", "1")]),                                    # uppercase
            request_headers(extra=[("connection", "close")]),                                    # connection-specific
            request_headers(extra=[("te", "gzip")]),
            [("content-type", "application/grpc")] + request_headers(),                           # pseudo after regular
            request_headers(extra=[(":method", "GET")]),                                          # pseudo after regular
            request_headers(extra=[("x-bad", "a\r\nb")]),                                       # CR LF in a value
            [(":method", "POST"), (":method", "POST"), (":scheme", "http"), (":path", "/x")],     # duplicated
            [(":method", "POST"), (":scheme", "http"), (":path", "")],                            # empty :path
            [(":status", "200"), (":method", "POST"), (":scheme", "http"), (":path", "/x")],      # response pseudo
        ]
        ids = []
        for i, headers in enumerate(cases):
            s = 1 + 2 * i
            ids.append(s)
            conn.send(frame(HEADERS, END_HEADERS | END_STREAM, s, conn.encode(headers)))
        frames, _ = conn.frames(until=until_ended(ids))
        rst = {f[2]: int.from_bytes(f[3], "big") for f in frames if f[0] == RST_STREAM}
        wrong = [s for s in ids if rst.get(s) != PROTOCOL_ERROR]
        if wrong:
            raise Failure(f"no RST_STREAM PROTOCOL_ERROR on streams {wrong}: {rst}")
        conn.request(ids[-1] + 2)
        frames, _ = conn.frames(until=until_ended([ids[-1] + 2]))
        check_canned(responses(conn, frames).get(ids[-1] + 2), ids[-1] + 2)
        return f"{len(cases)} malformed requests reset, the connection kept"

    # -- malformed input: GOAWAY with the right code, then close ----------------------------

    def goaway_case(self, data, code, preface=True, client_settings=True):
        def run():
            conn = Conn(self.port, preface=False)
            try:
                prefix = (PREFACE + settings()) if preface and client_settings else (PREFACE if preface else b"")
                conn.send(prefix + data(conn) if callable(data) else prefix + data)
                expect_goaway(conn, code)
            finally:
                conn.close()
        return run

    def check_truncated_then_eof(self, conn):
        conn.send(frame(HEADERS, END_HEADERS, 1, conn.encode(request_headers()))[:12])
        conn.sock.shutdown(socket.SHUT_WR)
        expect_goaway(conn, PROTOCOL_ERROR)

    def check_fuzz(self):
        rng = random.Random(1234)
        cases = 0
        for i in range(300):
            conn = Conn(self.port, preface=False, timeout=1)
            try:
                if i % 3 == 0:
                    data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
                    if i % 2:
                        data = PREFACE + data
                else:
                    data = PREFACE + settings()
                    for _ in range(rng.randint(1, 12)):
                        payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
                        if rng.random() < 0.3:
                            payload = conn.encode(request_headers())
                        data += frame(rng.randint(0, 11), rng.getrandbits(8), rng.choice([0, 1, 2, 3, 5, 0x7FFFFFFF]),
                                      payload)
                try:
                    conn.send(data)
                    conn.frames(timeout=0.2)
                except OSError:
                    pass
                cases += 1
            finally:
                conn.close()
        if self.process and self.process.poll() is not None:
            raise Failure("the server died during the fuzz")
        return f"{cases} connections of random frames and bytes"

    # ---------------------------------------------------------------------------------------

    def run(self):
        self.start()
        print(f"checking 127.0.0.1:{self.port} ({self.binary if not self.process else 'pid ' + str(self.process.pid)})")
        c = self.check
        if self.run_h2load:
            c("h2load unary, -c 4 -m 100 (the harness's flags), 20,000 requests", self.check_h2load_unary)
            c("h2load Echo, bench.py's 1,000-message body, verbatim", self.check_h2load_echo)
        if self.run_grpc:
            c("grpcio unary getInfor: concurrent, 4 connections, threads", self.check_grpc_unary)
            c("grpcio streaming Echo", self.check_grpc_echo)
        c("curl --http2-prior-knowledge", self.check_curl)
        w = self.with_conn
        c("handshake: server SETTINGS, ACK of ours", w(self.check_handshake))
        c("unary over a raw socket, PING ACK, 50 more on one connection", w(self.check_unary_and_ping))
        c("a request fed one byte per write", self.check_byte_by_byte)
        c("padding (DATA, HEADERS), priority flag, PRIORITY and unknown frames", w(self.check_padding_priority_unknown))
        c("CONTINUATION: split header blocks", w(self.check_continuation))
        c("request trailers end the request", w(self.check_request_trailers))
        c("RST_STREAM from the client", w(self.check_rst_stream))
        c("MAX_CONCURRENT_STREAMS: the 101st stream refused", w(self.check_max_concurrent_streams))
        c("a long-lived stream beside 1,000 short ones", w(self.check_long_lived_stream))
        c("flow control: stream send window", w(self.check_stream_flow_control))
        c("flow control: connection send window", w(self.check_connection_flow_control))
        c("flow control: receive window withheld while output waits", w(self.check_withheld_window))
        c("SETTINGS_HEADER_TABLE_SIZE 0 from the client", w(self.check_header_table_size))
        c("Echo: each DATA echoed as it arrives", w(self.check_echo_as_it_arrives))
        c("half-close by the client", w(self.check_half_close))
        c("GOAWAY from the client", w(self.check_client_goaway))
        c("malformed requests: RST_STREAM PROTOCOL_ERROR", w(self.check_malformed_requests))

        g = self.goaway_case
        hdr = lambda conn: conn.encode(request_headers())  # noqa: E731
        c("bad preface -> GOAWAY PROTOCOL_ERROR", g(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", PROTOCOL_ERROR, preface=False))
        c("bad preface (late byte) -> GOAWAY PROTOCOL_ERROR", g(PREFACE[:20] + b"XXXX", PROTOCOL_ERROR, preface=False))
        c("first frame not SETTINGS -> GOAWAY PROTOCOL_ERROR",
          g(frame(PING, 0, 0, b"12345678"), PROTOCOL_ERROR, client_settings=False))
        c("truncated PING (4 bytes) -> GOAWAY FRAME_SIZE_ERROR", g(frame(PING, 0, 0, b"1234"), FRAME_SIZE_ERROR))
        c("truncated SETTINGS (5 bytes) -> GOAWAY FRAME_SIZE_ERROR", g(frame(SETTINGS, 0, 0, b"\0\4\0\0\0"), FRAME_SIZE_ERROR))
        c("truncated WINDOW_UPDATE (3 bytes) -> GOAWAY FRAME_SIZE_ERROR", g(frame(WINDOW_UPDATE, 0, 0, b"\0\0\1"), FRAME_SIZE_ERROR))
        c("truncated RST_STREAM (2 bytes) -> GOAWAY FRAME_SIZE_ERROR", g(frame(RST_STREAM, 0, 1, b"\0\0"), FRAME_SIZE_ERROR))
        c("truncated GOAWAY (4 bytes) -> GOAWAY FRAME_SIZE_ERROR", g(frame(GOAWAY, 0, 0, b"\0\0\0\0"), FRAME_SIZE_ERROR))
        c("partial frame, then end of input -> GOAWAY PROTOCOL_ERROR", w(self.check_truncated_then_eof))
        c("frame above MAX_FRAME_SIZE (header only) -> GOAWAY FRAME_SIZE_ERROR",
          g(frame(DATA, 0, 1, b"", length=16385), FRAME_SIZE_ERROR))
        c("frame above MAX_FRAME_SIZE (16 MiB announced) -> GOAWAY FRAME_SIZE_ERROR",
          g(frame(HEADERS, END_HEADERS, 1, b"", length=0xFFFFFF), FRAME_SIZE_ERROR))
        c("HEADERS on stream 0 -> GOAWAY PROTOCOL_ERROR", g(lambda conn: frame(HEADERS, END_HEADERS, 0, hdr(conn)), PROTOCOL_ERROR))
        c("CONTINUATION without HEADERS -> GOAWAY PROTOCOL_ERROR",
          g(lambda conn: frame(CONTINUATION, END_HEADERS, 1, hdr(conn)), PROTOCOL_ERROR))
        c("DATA inside a header block -> GOAWAY PROTOCOL_ERROR",
          g(lambda conn: frame(HEADERS, 0, 1, hdr(conn)) + frame(DATA, 0, 1, b"x"), PROTOCOL_ERROR))
        c("CONTINUATION of another stream -> GOAWAY PROTOCOL_ERROR",
          g(lambda conn: frame(HEADERS, 0, 1, hdr(conn)[:3]) + frame(CONTINUATION, END_HEADERS, 3, hdr(conn)[3:]),
            PROTOCOL_ERROR))
        c("CONTINUATION flood (empty frames) -> GOAWAY ENHANCE_YOUR_CALM",
          g(lambda conn: frame(HEADERS, 0, 1, hdr(conn)) + frame(CONTINUATION, 0, 1, b"") * 1000, ENHANCE_YOUR_CALM))
        c("header block above 16 KiB -> GOAWAY ENHANCE_YOUR_CALM",
          g(lambda conn: frame(HEADERS, 0, 1, b"\0" * 16000) + frame(CONTINUATION, END_HEADERS, 1, b"\0" * 1000),
            ENHANCE_YOUR_CALM))
        c("padding longer than the payload -> GOAWAY PROTOCOL_ERROR",
          g(lambda conn: frame(HEADERS, END_HEADERS, 1, hdr(conn)) + frame(DATA, PADDED, 1, bytes([10]) + b"abc"),
            PROTOCOL_ERROR))
        c("PADDED frame without its pad length -> GOAWAY FRAME_SIZE_ERROR",
          g(lambda conn: frame(HEADERS, END_HEADERS | PADDED, 1, b""), FRAME_SIZE_ERROR))
        c("HPACK garbage -> GOAWAY COMPRESSION_ERROR", g(frame(HEADERS, END_HEADERS, 1, b"\xff\xff\xff\xff\x0f"), COMPRESSION_ERROR))
        c("HPACK index 0 -> GOAWAY COMPRESSION_ERROR", g(frame(HEADERS, END_HEADERS, 1, b"\x80"), COMPRESSION_ERROR))
        c("HEADERS on an even stream -> GOAWAY PROTOCOL_ERROR",
          g(lambda conn: frame(HEADERS, END_HEADERS, 2, hdr(conn)), PROTOCOL_ERROR))
        c("DATA on an idle stream -> GOAWAY PROTOCOL_ERROR", g(frame(DATA, 0, 7, b"x"), PROTOCOL_ERROR))
        c("RST_STREAM on an idle stream -> GOAWAY PROTOCOL_ERROR", g(frame(RST_STREAM, 0, 9, b"\0\0\0\0"), PROTOCOL_ERROR))
        c("WINDOW_UPDATE on an idle stream -> GOAWAY PROTOCOL_ERROR", g(window_update(9, 1), PROTOCOL_ERROR))
        c("PUSH_PROMISE from a client -> GOAWAY PROTOCOL_ERROR", g(frame(PUSH_PROMISE, END_HEADERS, 1, b"\0\0\0\2"), PROTOCOL_ERROR))
        c("SETTINGS on a stream -> GOAWAY PROTOCOL_ERROR", g(frame(SETTINGS, 0, 1, b""), PROTOCOL_ERROR))
        c("SETTINGS ACK with a payload -> GOAWAY FRAME_SIZE_ERROR", g(frame(SETTINGS, ACK, 0, b"\0\4\0\0\0\1"), FRAME_SIZE_ERROR))
        c("PING on a stream -> GOAWAY PROTOCOL_ERROR", g(frame(PING, 0, 1, b"12345678"), PROTOCOL_ERROR))
        c("SETTINGS_MAX_FRAME_SIZE 100 -> GOAWAY PROTOCOL_ERROR", g(settings((5, 100)), PROTOCOL_ERROR))
        c("SETTINGS_ENABLE_PUSH 2 -> GOAWAY PROTOCOL_ERROR", g(settings((2, 2)), PROTOCOL_ERROR))
        c("SETTINGS_INITIAL_WINDOW_SIZE 2^31 -> GOAWAY FLOW_CONTROL_ERROR", g(settings((4, 1 << 31)), FLOW_CONTROL_ERROR))
        c("WINDOW_UPDATE of 0 on the connection -> GOAWAY PROTOCOL_ERROR", g(window_update(0, 0), PROTOCOL_ERROR))
        c("connection window beyond 2^31-1 -> GOAWAY FLOW_CONTROL_ERROR",
          g(window_update(0, 0x7FFFFFFF), FLOW_CONTROL_ERROR))
        c("random frames and random bytes (300 connections)", self.check_fuzz)

        failed = [r for r in self.results if not r[1]]
        print(f"\n{len(self.results) - len(failed)} of {len(self.results)} checks passed")
        return not failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=DEFAULT_BINARY, help="the server to start (default: owned-frame-server)")
    parser.add_argument("--port", type=int, help="check a server already listening on this port instead")
    parser.add_argument("--skip-h2load", action="store_true")
    parser.add_argument("--skip-grpc", action="store_true", help="without grpcio")
    options = parser.parse_args()
    checker = Checker(options.binary, options.port, h2load=not options.skip_h2load, grpc=not options.skip_grpc)
    try:
        ok = checker.run()
    finally:
        checker.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
