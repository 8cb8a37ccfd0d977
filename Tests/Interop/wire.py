"""A loopback TCP relay that reads the gRPC message flags off the wire.

grpcio hides compression from applications: a server handler cannot tell
whether a request message arrived compressed (it does not even see the
`grpc-encoding` header in invocation_metadata()), and a client cannot tell
whether a response message was. The interop descriptions need both
(CompressedRequest's `expect_compressed`; the compressed-flag assertions of
server_compressed_unary / server_compressed_streaming).

So the interop server and client can put this relay between the peer and
grpcio. It forwards bytes unchanged in both directions and, on the way,
parses the plaintext HTTP/2 frames (no TLS, no h2c upgrade: gRPC's
prior-knowledge HTTP/2), and in the DATA frames of each stream the gRPC
length-prefixed messages, recording each message's compressed flag (the first
byte of its 5-byte prefix) before the bytes are passed on. Nothing else of
HTTP/2 is interpreted (no HPACK), so headers are not visible here.

Recorded per relayed connection, per direction, per stream id: the list of
compressed flags, in order.
"""

import socket
import struct
import threading

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, PADDED = 0x0, 0x8
MAX_STREAMS = 256  # per connection and direction


class _Direction:
    """Parses one direction of one connection."""

    def __init__(self, skip_preface):
        self.pending_preface = len(PREFACE) if skip_preface else 0
        self.buf = bytearray()
        self.streams = {}  # stream id -> [compressed flag, ...]
        self._msg = {}  # stream id -> [prefix bytes so far, body bytes left]
        self.lock = threading.Lock()

    def feed(self, data):
        if self.pending_preface:
            n = min(self.pending_preface, len(data))
            self.pending_preface -= n
            data = data[n:]
        self.buf += data
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + length:
                break
            ftype, flags = self.buf[3], self.buf[4]
            stream_id = struct.unpack(">I", bytes(self.buf[5:9]))[0] & 0x7FFFFFFF
            payload = bytes(self.buf[9:9 + length])
            del self.buf[:9 + length]
            if ftype == DATA and stream_id:
                if flags & PADDED and payload:
                    pad = payload[0]
                    payload = payload[1:len(payload) - pad]
                self._data(stream_id, payload)

    def _data(self, stream_id, payload):
        state = self._msg.setdefault(stream_id, [b"", 0])
        i = 0
        while i < len(payload):
            if state[1] > 0:  # inside a message body
                n = min(state[1], len(payload) - i)
                state[1] -= n
                i += n
                continue
            need = 5 - len(state[0])
            state[0] += payload[i:i + need]
            i += need
            if len(state[0]) == 5:
                with self.lock:
                    if stream_id not in self.streams:
                        self._forget_old_streams()
                    self.streams.setdefault(stream_id, []).append(
                        bool(state[0][0] & 1))
                state[1] = struct.unpack(">I", state[0][1:5])[0]
                state[0] = b""

    def _forget_old_streams(self, keep=MAX_STREAMS):
        """Bounds memory on a long-lived connection (soak runs): only the
        newest streams are remembered."""
        if len(self.streams) >= keep:
            for stream_id in sorted(self.streams)[:len(self.streams) - keep + 1]:
                del self.streams[stream_id]
                self._msg.pop(stream_id, None)

    def flags(self, stream_id):
        with self.lock:
            return list(self.streams.get(stream_id, ()))

    def latest_stream(self):
        """The highest stream id that carried at least one message."""
        with self.lock:
            return max(self.streams) if self.streams else None


class Connection:
    def __init__(self):
        self.to_server = _Direction(skip_preface=True)  # client -> server
        self.to_client = _Direction(skip_preface=False)  # server -> client
        self.upstream_port = None  # local port of the relay's backend socket


class Relay:
    """Listens on 127.0.0.1:listen_port and relays to target_host:target_port."""

    def __init__(self, target_port, listen_port=0, target_host="127.0.0.1"):
        self.target_host = target_host
        self.target_port = target_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", listen_port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self._by_upstream_port = {}
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(
                    (self.target_host, self.target_port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection()
            conn.upstream_port = upstream.getsockname()[1]
            with self._lock:
                self.connections.append(conn)
                self._by_upstream_port[conn.upstream_port] = conn
            done = [0]
            for src, dst, direction in ((client, upstream, conn.to_server),
                                        (upstream, client, conn.to_client)):
                threading.Thread(target=self._pump,
                                 args=(src, dst, direction, done),
                                 daemon=True).start()

    def _pump(self, src, dst, direction, done):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                direction.feed(data)  # record the flags before passing on
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            with self._lock:
                done[0] += 1
                both = done[0] == 2
            if both:
                src.close()
                dst.close()

    def connection_for_peer(self, peer):
        """The relayed connection whose backend socket is grpcio's `peer`
        (context.peer(), e.g. "ipv4:127.0.0.1:54321")."""
        try:
            port = int(peer.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            return None
        with self._lock:
            return self._by_upstream_port.get(port)

    def last_connection(self):
        with self._lock:
            return self.connections[-1] if self.connections else None

    def close(self):
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept thread
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
