// Fuzzes the server's own HTTP/2 transport (GRPCSimpleHTTP2): `FrameParser`, `Frame` and the
// `HTTP2ServerConnection` state machine, fed arbitrary frames after a valid client preface.
// The module is compiled here as `HTTP2Transport` from the same sources (a symbolic link to
// Sources/GRPCSimpleHTTP2: the root package offers it as no product).
//
// Input: byte 0 chooses how the application behaves (answer with headers, echo DATA, give the
// window back, end with trailers, drain, ping); bytes 1-2 seed how the rest, the bytes after
// the preface's magic, is split into reads; each read is 10 ms after the one before (the
// rate limits count in time). Checked for every input: no crash, no hang; after a
// connection error no more events; the output is a well-formed sequence of frames whose
// header blocks decode, in order, with one HPACK decoder (as the client's would); on each
// stream HEADERS first, then DATA, and nothing after trailers or RST_STREAM; no DATA beyond
// the windows the client opened; and once the input ends the connection is closed.
import FuzzSupport
import HTTP2Transport
import NIOCore
import NIOHPACK

/// What the application does with the events, from byte 0.
private struct Behaviour {
    var bits: UInt8
    var answersHeaders: Bool { self.bits & 0x01 != 0 }
    var echoesData: Bool { self.bits & 0x02 != 0 }
    var consumesData: Bool { self.bits & 0x04 != 0 }
    var sendsTrailers: Bool { self.bits & 0x08 != 0 }
    var drainsHalfway: Bool { self.bits & 0x10 != 0 }
    var pings: Bool { self.bits & 0x20 != 0 }
    var resetsStreams: Bool { self.bits & 0x40 != 0 }
}

/// Reads what the server wrote, as a client would: frames, and header blocks through one
/// HPACK decoder.
private struct OutputReader {
    var parser = FrameParser(maxFrameSize: 1 << 24)
    var buffer = ByteBuffer(bytes: FrameParser.preface)
    var decoder = HPACKDecoder(allocator: ByteBufferAllocator(), maxDynamicTableSize: 4096, maxHeaderListSize: 1 << 20)
    var block: ByteBuffer?
    /// DATA payload bytes written, per stream and in all.
    var dataSent: [UInt32: Int] = [:]
    var connectionDataSent = 0
    /// Streams the server answered with HEADERS, and those it ended (trailers or RST_STREAM).
    var responded: Set<UInt32> = []
    var ended: Set<UInt32> = []

    mutating func read(_ output: ByteBuffer) {
        var output = output
        self.buffer.writeBuffer(&output)
        while true {
            let next: (header: FrameHeader, payload: ByteBuffer)?
            do {
                next = try self.parser.nextFrame(from: &self.buffer)
            } catch {
                fuzzCheck(false, "the server wrote a malformed frame: \(error)")
                return
            }
            guard let (header, payload) = next else { return }
            let frame: Frame
            do {
                frame = try Frame(header: header, payload: payload)
            } catch {
                fuzzCheck(false, "the server wrote a frame \(header) that does not decode: \(error)")
                return
            }
            switch frame {
            case .data(let streamID, _, _, let flowControlledLength):
                fuzzCheck(self.block == nil, "DATA inside a header block")
                fuzzCheck(self.responded.contains(streamID), "DATA before HEADERS on stream \(streamID)")
                fuzzCheck(!self.ended.contains(streamID), "DATA after the end of stream \(streamID)")
                self.dataSent[streamID, default: 0] += flowControlledLength
                self.connectionDataSent += flowControlledLength
            case .headers(let streamID, let fragment, let endStream, let endHeaders, _):
                fuzzCheck(self.block == nil, "HEADERS inside a header block")
                fuzzCheck(streamID & 1 == 1, "HEADERS on stream \(streamID), which no client opened")
                fuzzCheck(!self.ended.contains(streamID), "HEADERS after the end of stream \(streamID)")
                self.responded.insert(streamID)
                if endStream { self.ended.insert(streamID) }
                self.block = fragment
                if endHeaders { self.decodeBlock() }
            case .continuation(_, var fragment, let endHeaders):
                fuzzCheck(self.block != nil, "CONTINUATION outside a header block")
                self.block?.writeBuffer(&fragment)
                if endHeaders { self.decodeBlock() }
            case .rstStream(let streamID, _):
                fuzzCheck(self.block == nil, "a frame inside a header block")
                self.ended.insert(streamID)
            default:
                fuzzCheck(self.block == nil, "a frame inside a header block")
            }
        }
    }

    mutating func decodeBlock() {
        guard var block = self.block else { return }
        self.block = nil
        do {
            _ = try self.decoder.decodeHeaders(from: &block)
        } catch {
            fuzzCheck(false, "the server wrote a header block that does not decode: \(error)")
        }
    }
}

/// What the client's frames allow the server to send: read from the input with a parser of
/// its own. An upper bound, never too tight: every WINDOW_UPDATE counts (even one that ends
/// the connection), and a stream may use the largest SETTINGS_INITIAL_WINDOW_SIZE ever sent.
/// The server must stay within it (RFC 9113 §6.9.1): a DATA frame only fits the windows open
/// when it is sent.
private struct WindowTracker {
    var parser = FrameParser(maxFrameSize: 1 << 24)
    var buffer = ByteBuffer()
    var connectionUpdates = 0
    var streamUpdates: [UInt32: Int] = [:]
    var largestInitialWindow = 65_535

    mutating func read(_ bytes: ByteBuffer) {
        var bytes = bytes
        self.buffer.writeBuffer(&bytes)
        while let (header, payload) = try? self.parser.nextFrame(from: &self.buffer) {
            switch header.type {
            case FrameType.windowUpdate:
                guard let increment = payload.getInteger(at: payload.readerIndex, as: UInt32.self) else { continue }
                let amount = Int(increment & 0x7fff_ffff)
                if header.streamID == 0 {
                    self.connectionUpdates += amount
                } else {
                    self.streamUpdates[header.streamID, default: 0] += amount
                }
            case FrameType.settings where !header.has(FrameFlags.ack):
                var parameters = payload
                while let identifier = parameters.readInteger(as: UInt16.self),
                    let value = parameters.readInteger(as: UInt32.self)
                {
                    if identifier == 0x4 { self.largestInitialWindow = max(self.largestInitialWindow, Int(value)) }
                }
            default:
                break
            }
        }
    }

    /// Checks what the server wrote against the windows.
    func check(_ output: OutputReader) {
        fuzzCheck(
            output.connectionDataSent <= 65_535 + self.connectionUpdates,
            "\(output.connectionDataSent) DATA bytes sent, the connection window allowed \(65_535 + self.connectionUpdates)"
        )
        for (streamID, sent) in output.dataSent {
            let allowed = self.largestInitialWindow + self.streamUpdates[streamID, default: 0]
            fuzzCheck(sent <= allowed, "\(sent) DATA bytes sent on stream \(streamID), its window allowed \(allowed)")
        }
    }
}

private let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
private let trailers: HPACKHeaders = ["grpc-status": "0"]

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let behaviour = Behaviour(bits: input.byte())
    let seed = input.uint16()
    let reads = [ArraySlice(FrameParser.preface)] + chunks(of: input.rest(), seed: seed, maximum: 256)

    var configuration = HTTP2ServerConfiguration()
    // Small limits, so that inputs reach them.
    configuration.maxConcurrentStreams = 4
    configuration.maxHeaderListSize = 1024
    configuration.maxResetsPerWindow = 8
    configuration.maxControlFramesPerWindow = 8
    configuration.maxStreamErrors = 8
    configuration.maxBufferedOutputPerStream = 1024
    configuration.closedStreamsRemembered = 4
    var connection = HTTP2ServerConnection(configuration: configuration, allocator: ByteBufferAllocator())
    var output = OutputReader()
    var windows = WindowTracker()
    connection.start()
    if behaviour.pings { connection.sendPing(opaque: 42) }
    output.read(connection.takeOutput())

    var sawConnectionError = false
    for (index, bytes) in reads.enumerated() {
        let read = ByteBuffer(fuzzBytes: bytes)
        windows.read(read)
        connection.receive(read, now: .uptimeNanoseconds(UInt64(index) * 10_000_000))
        if behaviour.drainsHalfway, index == reads.count / 2 { connection.startDraining() }
        var events = 0
        while let event = connection.nextEvent() {
            events += 1
            fuzzCheck(events <= bytes.count + 1, "more events than bytes: \(events)")
            fuzzCheck(!sawConnectionError, "an event after a connection error: \(event)")
            switch event {
            case .requestHead(let streamID, _, _, let endStream):
                if behaviour.answersHeaders { _ = connection.sendHeaders(streamID: streamID, headers: responseHeaders) }
                if endStream, behaviour.sendsTrailers {
                    _ = connection.sendTrailers(streamID: streamID, trailers: trailers)
                }
            case .requestData(let streamID, _, let data, let endStream, let flowControlledLength):
                if behaviour.echoesData { _ = connection.sendData(streamID: streamID, data: data) }
                if behaviour.consumesData {
                    connection.dataConsumed(streamID: streamID, bytes: flowControlledLength)
                }
                if behaviour.resetsStreams, data.readableBytes > 100 {
                    connection.resetStream(streamID: streamID, code: .cancel)
                } else if endStream, behaviour.sendsTrailers {
                    _ = connection.sendTrailers(streamID: streamID, trailers: trailers)
                }
            case .requestTrailers(let streamID, _, _):
                if behaviour.sendsTrailers { _ = connection.sendTrailers(streamID: streamID, trailers: trailers) }
            case .connectionError:
                sawConnectionError = true
                fuzzCheck(connection.isClosed, "a connection error left the connection open")
            case .streamReset, .pingReceived, .pingAcknowledged, .goAway:
                break
            }
        }
        output.read(connection.takeOutput())
        windows.check(output)
        if connection.isClosed { break }
    }
    connection.receiveEndOfInput()
    fuzzCheck(connection.isClosed, "the end of the input left the connection open")
    if let event = connection.nextEvent() { fuzzCheck(false, "an event after the connection closed: \(event)") }
    output.read(connection.takeOutput())
    return 0
}
