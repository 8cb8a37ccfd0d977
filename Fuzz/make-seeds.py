#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: small, valid examples of each input, in
Fuzz/Corpus/TARGET/seed-NAME. Python's standard library only (HPACK header blocks are
written as literals, which every decoder reads).

    python3 Fuzz/make-seeds.py        rewrite the seeds (other files of Corpus/ are kept)

The layouts match the targets' own comments: a few leading bytes choose how the target
uses the rest (an encoding, a behaviour, a seed for splitting the input into reads).
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "Corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


# --- gRPC messages ------------------------------------------------------------------------

def bytes_value(payload):
    """A google.protobuf.BytesValue: field 1, length-delimited."""
    return b"\x0a" + varint(len(payload)) + payload if payload else b""


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def envelope(payload, compressed=False):
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


def gzip_bytes(data):
    c = zlib.compressobj(wbits=31)
    return c.compress(data) + c.flush()


def deflate_bytes(data):
    return zlib.compress(data)


# --- HTTP/2 -----------------------------------------------------------------------------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytes([first | limit])
    value -= limit
    while value >= 128:
        out += bytes([value % 128 + 128])
        value //= 128
    return out + bytes([value])


def hpack_string(text):
    data = text.encode() if isinstance(text, str) else text
    return hpack_int(len(data), 7) + data


def header_block(headers):
    """Literal header fields without indexing, new names, no Huffman coding."""
    return b"".join(b"\x00" + hpack_string(name) + hpack_string(value) for name, value in headers)


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


SETTINGS_ACK = frame(SETTINGS, ACK, 0)


def request_headers(path, extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)


def call(stream, path, messages, extra=(), end=True):
    out = frame(HEADERS, END_HEADERS, stream, header_block(request_headers(path, extra)))
    for index, message in enumerate(messages):
        last = end and index == len(messages) - 1
        out += frame(DATA, END_STREAM if last else 0, stream, message)
    if end and not messages:
        out += frame(DATA, END_STREAM, stream)
    return out


HELLO = envelope(bytes_value(b"hello"))


def server_connection_seeds(target):
    # Bytes 0-1: the split's seed. The harness sends the preface's magic; the client's
    # SETTINGS are the first frame after the seed.
    start = b"\x00\x01" + settings((4, 65535)) + SETTINGS_ACK
    write(target, "unary", start + call(1, "/fuzz.Echo/Get", [HELLO]))
    write(target, "unary-gzip", start + call(
        1, "/fuzz.Echo/Get", [envelope(gzip_bytes(bytes_value(b"hello")), compressed=True)],
        extra=[("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip,deflate"), ("grpc-timeout", "1S")]))
    write(target, "server-streaming", start + call(1, "/fuzz.Echo/Expand", [HELLO], extra=[("x-id-bin", "AAEC")]))
    write(target, "client-streaming", start + call(3, "/fuzz.Echo/Collect", [HELLO, HELLO, HELLO]))
    write(target, "bidi-split-message", start + call(1, "/fuzz.Echo/Update", [HELLO[:3], HELLO[3:] + HELLO]))
    write(target, "two-calls-reset", start + call(1, "/fuzz.Echo/Update", [HELLO], end=False) + call(
        3, "/fuzz.Echo/Get", [HELLO]) + frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
    write(target, "ping-window-goaway", start + frame(PING, 0, 0, b"12345678") + frame(
        WINDOW_UPDATE, 0, 0, struct.pack(">I", 1000)) + call(1, "/fuzz.Echo/Get", [HELLO]) + frame(
        GOAWAY, 0, 0, struct.pack(">II", 1, 0)))
    write(target, "unknown-method", start + call(1, "/fuzz.Echo/Nope", [HELLO]))
    write(target, "longest-timeout", start + call(1, "/fuzz.Echo/Update", [HELLO], end=False,
                                                   extra=[("grpc-timeout", "99999999H")]))
    write(target, "shortest-timeout", start + call(1, "/fuzz.Echo/Expand", [HELLO], extra=[("grpc-timeout", "1n")]))
    write(target, "continuation", start + frame(HEADERS, 0, 1, header_block(request_headers("/fuzz.Echo/Get")[:3]))
          + frame(CONTINUATION, END_HEADERS, 1, header_block(request_headers("/fuzz.Echo/Get")[3:]))
          + frame(DATA, END_STREAM, 1, HELLO))
    write(target, "trailers", start + call(1, "/fuzz.Echo/Collect", [HELLO], end=False)
          + frame(HEADERS, END_HEADERS | END_STREAM, 1, header_block([("x-trailer", "1")])))


# --- targets --------------------------------------------------------------------------------

def envelope_seeds():
    t = "FuzzEnvelope"
    # Byte 0: encoding (0 identity, 1 gzip, 2 deflate); byte 1: limit (0, 5, 1024, 65536);
    # bytes 2-3: the split's seed.
    write(t, "identity-one", b"\x00\x02\x00\x07" + HELLO)
    write(t, "identity-three", b"\x00\x03\x12\x34" + HELLO + envelope(b"") + HELLO)
    write(t, "identity-limit-5", b"\x00\x01\x00\x01" + envelope(b"12345") + envelope(b"123456"))
    write(t, "gzip", b"\x01\x02\x00\x03" + envelope(gzip_bytes(b"hello hello hello"), True) + HELLO)
    write(t, "deflate", b"\x02\x02\x00\x05" + envelope(deflate_bytes(b"hello hello hello"), True))
    write(t, "gzip-bomb", b"\x01\x02\x00\x09" + envelope(gzip_bytes(b"\x00" * 5000), True))
    write(t, "deflate-large", b"\x02\x03\x01\x00" + envelope(deflate_bytes(bytes(range(256)) * 40), True))
    write(t, "compressed-without-encoding", b"\x00\x02\x00\x00" + envelope(b"abc", True))


def request_head_seeds():
    t = "FuzzRequestHead"
    base = ":method: POST\n:scheme: http\n:path: /fuzz.Echo/Get\n:authority: localhost\n" \
           "content-type: application/grpc\nte: trailers\n"
    write(t, "minimal", base)
    write(t, "everything", base + "grpc-timeout: 100m\ngrpc-encoding: gzip\ngrpc-accept-encoding: gzip,deflate\n"
          "user-agent: fuzz\nx-key: value\ntrace-bin: AAECAw==\ntrace-bin: AAEC,AQID\n")
    write(t, "timeouts", base + "grpc-timeout: 99999999H\n")
    write(t, "bad-timeout", base + "grpc-timeout: 1x\n")
    write(t, "percent", base + "x-message: caf%C3%A9 100%25 %zz\n")
    write(t, "unknown-service", base.replace("/fuzz.Echo/Get", "/other.Service/Get"))
    write(t, "get", base.replace("POST", "GET"))
    write(t, "content-type-proto", base.replace("application/grpc", "application/grpc+proto; charset=utf-8"))
    write(t, "bad-base64", base + "x-bin: ***\n")


def server_seeds():
    server_connection_seeds("FuzzServerConnection")


def http2_seeds():
    t = "FuzzHTTP2"
    # Byte 0: the application's behaviour (bits); bytes 1-2: the split's seed. The harness
    # sends the preface's magic.
    start = settings((4, 65535), (5, 16384)) + SETTINGS_ACK
    everything = b"\x0f"
    write(t, "unary", everything + b"\x00\x01" + start + call(1, "/fuzz.Echo/Get", [HELLO]))
    write(t, "streams", b"\x7f\x12\x34" + start + call(1, "/a/b", [HELLO], end=False) + call(3, "/a/c", [HELLO])
          + frame(RST_STREAM, 0, 1, struct.pack(">I", 8)) + frame(WINDOW_UPDATE, 0, 3, struct.pack(">I", 100)))
    write(t, "continuation", everything + b"\x00\x02" + start
          + frame(HEADERS, 0, 1, header_block(request_headers("/a/b")[:2]))
          + frame(CONTINUATION, END_HEADERS, 1, header_block(request_headers("/a/b")[2:]))
          + frame(DATA, PADDED | END_STREAM, 1, b"\x03" + HELLO + b"\x00\x00\x00"))
    write(t, "priority-ping-goaway", b"\x2f\x00\x03" + start
          + frame(HEADERS, END_HEADERS | PRIORITY_FLAG, 1, struct.pack(">IB", 0, 16)
                  + header_block(request_headers("/a/b")))
          + frame(PRIORITY, 0, 1, struct.pack(">IB", 3, 16)) + frame(PING, 0, 0, b"abcdefgh")
          + frame(PING, ACK, 0, struct.pack(">Q", 42)) + frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
    write(t, "small-window", b"\x1f\x00\x04" + settings((4, 10), (5, 16384)) + SETTINGS_ACK
          + call(1, "/a/b", [HELLO * 4]) + frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 1000)))
    write(t, "trailers", everything + b"\x00\x05" + start + call(1, "/a/b", [HELLO], end=False)
          + frame(HEADERS, END_HEADERS | END_STREAM, 1, header_block([("x-trailer", "1")])))
    write(t, "content-length", everything + b"\x00\x06" + start
          + call(1, "/a/b", [HELLO], extra=[("content-length", "3")]))


def client_seeds():
    t = "FuzzClientResponse"
    # Byte 0: the call's kind (0 unary, 1 server streaming, 2 client streaming, 3 bidi), plus 4
    # for a deadline 20 ms away;
    # bytes 1-2: the split's seed. The input is what the server sends after the harness's
    # SETTINGS; the call is stream 1.
    ack = SETTINGS_ACK
    head = header_block([(":status", "200"), ("content-type", "application/grpc"), ("x-meta", "1")])
    ok = header_block([("grpc-status", "0"), ("x-trailer-bin", "AAEC")])
    write(t, "unary", b"\x00\x00\x01" + ack + frame(HEADERS, END_HEADERS, 1, head) + frame(DATA, 0, 1, HELLO)
          + frame(HEADERS, END_HEADERS | END_STREAM, 1, ok))
    write(t, "streaming", b"\x01\x12\x34" + ack + frame(HEADERS, END_HEADERS, 1, head)
          + frame(DATA, 0, 1, HELLO + HELLO[:2]) + frame(DATA, 0, 1, HELLO[2:] + HELLO)
          + frame(HEADERS, END_HEADERS | END_STREAM, 1, ok))
    gzip_head = header_block([(":status", "200"), ("content-type", "application/grpc+proto"),
                              ("grpc-encoding", "gzip")])
    write(t, "gzip", b"\x03\x00\x02" + ack + frame(HEADERS, END_HEADERS, 1, gzip_head)
          + frame(DATA, 0, 1, envelope(gzip_bytes(bytes_value(b"hello")), True))
          + frame(HEADERS, END_HEADERS | END_STREAM, 1, ok))
    # google.rpc.Status {code: 5, message: "x", details: [Any{type_url: "t", value: "v"}]}
    status = b"\x08\x05\x12\x01x\x1a\x06\x0a\x01t\x12\x01v"
    import base64
    details = base64.b64encode(status).decode().rstrip("=")
    write(t, "trailers-only-details", b"\x00\x00\x03" + ack + frame(HEADERS, END_HEADERS | END_STREAM, 1, header_block(
        [(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "5"),
         ("grpc-message", "not%20found %E2%9C%93"), ("grpc-status-details-bin", details)])))
    write(t, "http-503", b"\x00\x00\x04" + ack + frame(HEADERS, END_HEADERS | END_STREAM, 1, header_block(
        [(":status", "503")])))
    write(t, "goaway", b"\x02\x00\x05" + ack + frame(HEADERS, END_HEADERS, 1, head)
          + frame(GOAWAY, 0, 0, struct.pack(">II", 1, 2) + b"bye") + frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
    write(t, "deadline", b"\x05\x00\x07" + ack + frame(HEADERS, END_HEADERS, 1, head) + frame(DATA, 0, 1, HELLO)
          + frame(PING, 0, 0, b"12345678") + frame(PING, 0, 0, b"12345678") + frame(PING, 0, 0, b"12345678")
          + frame(PING, 0, 0, b"12345678") + frame(HEADERS, END_HEADERS | END_STREAM, 1, ok))
    write(t, "ping-window", b"\x01\x00\x06" + ack + frame(PING, 0, 0, b"12345678")
          + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 100)) + frame(HEADERS, END_HEADERS, 1, head)
          + frame(DATA, END_STREAM, 1, HELLO))


def http1_seeds():
    # Byte 0: the application's behaviour (0x08: it consumes the body, 0x01: it answers at the
    # head, 0x04: with a content-length, 0x20: small limits); bytes 1-2: where the rest is
    # split into two reads.
    t = "FuzzHTTP1"
    get = b"GET /fuzz.Echo/Get?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n"
    post = (b"POST /fuzz.Echo/Get HTTP/1.1\r\nHost: h\r\nContent-Type: application/grpc-web+proto\r\n"
            b"X-Grpc-Web: 1\r\nContent-Length: 9\r\n\r\n" + envelope(bytes_value(b"hi")))
    chunked = (b"POST /fuzz.Echo/Collect HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
               b"Expect: 100-continue\r\nContent-Type: application/connect+proto\r\n\r\n"
               b"5;ext=1\r\nhello\r\na\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n")
    write(t, "get", b"\x08\x00\x10" + get)
    write(t, "post", b"\x08\x00\x30" + post)
    write(t, "chunked-post", b"\x08\x00\x50" + chunked)
    write(t, "chunked-early-answer", b"\x0d\x00\x60" + chunked + get)
    write(t, "pipelined-pair", b"\x08\x00\x90" + post + get)
    write(t, "http10-keep-alive", b"\x0c\x00\x00" + b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get)
    write(t, "small-window", b"\x28\x00\x05" + chunked + post)


def dns_seeds():
    t = "FuzzDNS"

    def name(text):
        return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".")) + b"\x00"

    def header(qd, an, flags=0x8180):
        return struct.pack(">HHHHHH", 0x1234, flags, qd, an, 0, 1)

    question = name("example.com") + struct.pack(">HH", 1, 1)
    a = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1])
    aaaa = b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) + bytes(range(16))
    cname = b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, 6) + b"\x03www\xc0\x0c"
    opt = b"\x00" + struct.pack(">HHIH", 41, 4096, 0, 0)
    write(t, "a", header(1, 1) + question + a + opt)
    write(t, "aaaa-and-a", header(1, 2) + question + aaaa + a + opt)
    write(t, "cname", header(1, 2) + question + cname
          + b"\x03www\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([10, 0, 0, 1]) + opt)
    write(t, "nxdomain", header(1, 0, flags=0x8183) + question + opt)
    write(t, "truncated", header(1, 0, flags=0x8380) + question)


def service_config_seeds():
    t = "FuzzServiceConfig"
    write(t, "retry", """{"loadBalancingConfig": [{"round_robin": {}}], "methodConfig": [{"name": [{"service": "fuzz.Echo"}],
 "timeout": "2s", "waitForReady": true, "maxRequestMessageBytes": 1024, "maxResponseMessageBytes": "2048",
 "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2,
 "retryableStatusCodes": ["UNAVAILABLE", 14]}}], "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}}""")
    write(t, "hedging", """{"methodConfig": [{"name": [{"service": "fuzz.Echo", "method": "Get"}, {}],
 "hedgingPolicy": {"maxAttempts": 4, "hedgingDelay": "0.000340s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}],
 "healthCheckConfig": {"serviceName": ""}, "loadBalancingPolicy": "pick_first"}""")
    write(t, "outlier-detection", """{"loadBalancingConfig": [{"unknown": {}}, {"outlier_detection": {
 "interval": "10s", "baseEjectionTime": "30s", "maxEjectionTime": "300s", "maxEjectionPercent": 10,
 "successRateEjection": {"stdevFactor": 1900, "enforcementPercentage": 100, "minimumHosts": 5, "requestVolume": 100},
 "failurePercentageEjection": {"threshold": 85},
 "childPolicy": [{"least_request_experimental": {"choiceCount": 3}}]}}]}""")
    write(t, "json", """[null, true, false, -1.5e+3, "a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00", {}, [], {"a": [1, {"b": "c"}]}]""")
    write(t, "duration", "1.500s")
    write(t, "pick-first", """{"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": true}}]}""")


if __name__ == "__main__":
    envelope_seeds()
    request_head_seeds()
    server_seeds()
    http2_seeds()
    client_seeds()
    http1_seeds()
    dns_seeds()
    service_config_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print(target, len(os.listdir(os.path.join(CORPUS, target))), "seeds")
