// Fuzzes the server's HTTP/1.1 transport (GRPCSimpleHTTP1): `HTTP1RequestParser` and the
// `HTTP1ServerConnection` state machine, fed arbitrary bytes. The module is compiled here as
// `HTTP1Transport` from the same sources (a symbolic link to Sources/GRPCSimpleHTTP1), its
// `import GRPCSimpleHTTP2` aliased to `HTTP2Transport` (Package.swift).
//
// Input: byte 0 chooses how the application behaves (when it answers, how, whether it gives
// the window back, drains or resets) and the configuration (a small window and limits);
// bytes 1-2 choose where the rest is split into two reads. Checked for every input: no
// crash, no hang; after a connection error no more events, and a closed connection gives no
// event but the one that closed it; heads on streams 1, 3, 5, ... one at a time, each only
// after the previous response completed and its body ended; body only for the current
// request, never after its end, and never more unconsumed than the window; the output is
// made of responses (it starts with a status line); and once the input ends, with the body
// consumed, the connection is closed.
import FuzzSupport
import HTTP1Transport
import HTTP2Transport
import NIOCore
import NIOHPACK

/// What the application does with the events, from byte 0.
private struct Behaviour {
    var bits: UInt8
    var respondsAtHead: Bool { self.bits & 0x01 != 0 }
    var trailersOnly: Bool { self.bits & 0x02 != 0 }
    var contentLength: Bool { self.bits & 0x04 != 0 }
    var consumesData: Bool { self.bits & 0x08 != 0 }
    var drainsHalfway: Bool { self.bits & 0x10 != 0 }
    var smallLimits: Bool { self.bits & 0x20 != 0 }
    var resetsOnData: Bool { self.bits & 0x40 != 0 }
    var endsInput: Bool { self.bits & 0x80 == 0 }
}

/// What the application knows of the request being served.
private struct Application {
    var behaviour: Behaviour
    var window: Int
    var streamID: UInt32 = 0
    var bodyEnded = true
    var responded = true
    var unconsumed = 0

    mutating func handle(_ event: HTTP2ServerEvent, connection: inout HTTP1ServerConnection) {
        switch event {
        case .requestHead(let streamID, _, _, let endStream):
            fuzzCheck(self.responded && self.bodyEnded, "a head before the previous request was done: \(streamID)")
            fuzzCheck(
                streamID == (self.streamID == 0 ? 1 : self.streamID + 2), "stream \(streamID) after \(self.streamID)")
            fuzzCheck(connection.activeStreams == 1, "a request head with \(connection.activeStreams) streams active")
            self.streamID = streamID
            self.bodyEnded = endStream
            self.responded = false
            self.unconsumed = 0
            if endStream || self.behaviour.respondsAtHead { self.respond(&connection) }
        case .requestData(let streamID, _, let data, let endStream, let length):
            fuzzCheck(streamID == self.streamID && !self.bodyEnded, "body for stream \(streamID) out of place")
            fuzzCheck(length == data.readableBytes, "a flow-controlled length that is not the data's")
            fuzzCheck(data.readableBytes > 0 || endStream, "an empty data event that ends nothing")
            self.unconsumed += length
            fuzzCheck(
                self.unconsumed <= self.window, "\(self.unconsumed) bytes unconsumed, the window is \(self.window)")
            self.bodyEnded = endStream
            if self.behaviour.resetsOnData, data.readableBytes > 3 {
                connection.resetStream(streamID: streamID, code: .cancel)
                fuzzCheck(connection.isClosed, "a reset left the connection open")
                return
            }
            if self.behaviour.consumesData {
                connection.dataConsumed(streamID: streamID, bytes: length)
                self.unconsumed = 0
            }
            if endStream, !self.responded { self.respond(&connection) }
        case .streamReset(let streamID, _, let code):
            fuzzCheck(streamID == self.streamID && !self.bodyEnded, "a reset of stream \(streamID) out of place")
            fuzzCheck(code == .cancel, "a reset with \(code)")
            fuzzCheck(connection.isClosed, "a reset left the connection open")
        case .connectionError(let error):
            fuzzCheck(connection.isClosed, "a connection error left the connection open")
            fuzzCheck(error.code == .protocolError, "a connection error with \(error.code)")
        case .requestTrailers, .pingReceived, .pingAcknowledged, .goAway:
            fuzzCheck(false, "an event HTTP/1.1 never gives: \(event)")
        }
    }

    mutating func respond(_ connection: inout HTTP1ServerConnection) {
        let streamID = self.streamID
        self.responded = true
        // Once the response is complete, the rest of the body is thrown away: no more events.
        self.bodyEnded = true
        if self.behaviour.trailersOnly {
            fuzzCheck(
                connection.sendTrailers(streamID: streamID, trailers: [":status": "200", "grpc-status": "0"]),
                "a trailers-only response refused")
            return
        }
        var headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc-web"]
        if self.behaviour.contentLength { headers.add(name: "content-length", value: "2") }
        fuzzCheck(connection.sendHeaders(streamID: streamID, headers: headers), "response headers refused")
        // Refused only by a response without a body (to HEAD).
        _ = connection.sendData(streamID: streamID, data: ByteBuffer(string: "ok"))
        fuzzCheck(connection.sendTrailers(streamID: streamID, trailers: ["grpc-status": "0"]), "trailers refused")
    }
}

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let behaviour = Behaviour(bits: input.byte())
    let split = Int(input.uint16())
    let rest = input.rest()
    let point = rest.isEmpty ? 0 : split % (rest.count + 1)
    let reads = [rest.prefix(point), rest.dropFirst(point)]

    var configuration = HTTP1ServerConfiguration()
    if behaviour.smallLimits {
        // Small limits, so that inputs reach them.
        configuration.maxRequestLineLength = 64
        configuration.maxHeaderSectionSize = 128
        configuration.maxHeaderFields = 4
        configuration.maxChunkLineLength = 16
        configuration.maxChunkSizeDigits = 3
        configuration.maxTrailerSectionSize = 32
        configuration.receiveWindow = 8
        configuration.maxDiscardedBodyBytes = 16
    }
    var connection = HTTP1ServerConnection(configuration: configuration, allocator: ByteBufferAllocator())
    connection.start()
    var application = Application(behaviour: behaviour, window: configuration.receiveWindow)
    var output = ByteBuffer()
    var sawConnectionError = false
    var closedAndQuiet = false

    func drain(_ connection: inout HTTP1ServerConnection, bytes: Int) {
        var events = 0
        while let event = connection.nextEvent() {
            events += 1
            fuzzCheck(events <= bytes + 2, "more events than bytes: \(events)")
            fuzzCheck(!sawConnectionError, "an event after a connection error: \(event)")
            fuzzCheck(!closedAndQuiet, "an event after the connection closed: \(event)")
            if case .connectionError = event { sawConnectionError = true }
            application.handle(event, connection: &connection)
            fuzzCheck(connection.activeStreams <= 1, "\(connection.activeStreams) streams active")
        }
        closedAndQuiet = connection.isClosed
        var written = connection.takeOutput()
        output.writeBuffer(&written)
    }

    for (index, bytes) in reads.enumerated() {
        connection.receive(ByteBuffer(fuzzBytes: bytes))
        if behaviour.drainsHalfway, index == 1 { connection.startDraining() }
        drain(&connection, bytes: bytes.count)
        fuzzCheck(!connection.hasOutput, "output left after takeOutput")
    }
    if behaviour.endsInput {
        connection.receiveEndOfInput()
        drain(&connection, bytes: 0)
        if behaviour.consumesData || behaviour.respondsAtHead {
            fuzzCheck(connection.isClosed, "the end of the input left the connection open")
        }
    }
    if output.readableBytes > 0 {
        fuzzCheck(output.readableBytesView.starts(with: "HTTP/1.1 ".utf8), "output that is not a response")
    }
    return 0
}
