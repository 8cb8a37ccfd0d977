// Tests of the spike's pure parts (no channel, no sockets): the stream table against a model,
// a request split at every byte, flow control, and random input that must never trap. The
// socket-level checks are Benchmarks/scripts/check-owned-frame-server.py.
import NIOCore
import NIOHPACK
import OwnedHTTP2
import Testing

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        self.state ^= self.state >> 12
        self.state ^= self.state << 25
        self.state ^= self.state >> 27
        return self.state &* 0x2545_F491_4F6C_DD1D
    }
}

/// Client-side helpers: frames in, frames out.
enum Wire {
    static let preface = ByteBuffer(bytes: FrameParser.preface)

    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrameHeader(length: payload.count, type: type, flags: flags, streamID: stream)
        buffer.writeBytes(payload)
        return buffer
    }

    static func settings(_ pairs: [(UInt16, UInt32)] = []) -> ByteBuffer {
        var payload = ByteBuffer()
        for (id, value) in pairs {
            payload.writeInteger(id)
            payload.writeInteger(value)
        }
        return frame(FrameType.settings, stream: 0, Array(payload.readableBytesView))
    }

    static func request(
        encoder: inout HPACKEncoder,
        stream: UInt32,
        path: String = "/AsillaService/getInfor"
    ) -> ByteBuffer {
        var block = ByteBuffer()
        try! encoder.encode(
            headers: [
                ":method": "POST", ":scheme": "http", ":path": path, "content-type": "application/grpc",
                "te": "trailers",
            ],
            to: &block
        )
        var out = frame(FrameType.headers, flags: FrameFlags.endHeaders, stream: stream, Array(block.readableBytesView))
        var data = frame(
            FrameType.data, flags: FrameFlags.endStream, stream: stream,
            [0, 0, 0, 0, 7, 0x0a, 5, 116, 114, 117, 110, 103])
        out.writeBuffer(&data)
        return out
    }

    /// Splits server output into (header, payload) frames.
    static func frames(_ output: ByteBuffer) -> [(FrameHeader, ByteBuffer)] {
        var output = output
        var frames: [(FrameHeader, ByteBuffer)] = []
        while let header = FrameHeader.peek(in: output), output.readableBytes >= FrameHeader.size + header.length {
            output.moveReaderIndex(forwardBy: FrameHeader.size)
            frames.append((header, output.readSlice(length: header.length)!))
        }
        #expect(output.readableBytes == 0, "output ends inside a frame")
        return frames
    }
}

/// Feeds bytes and answers every finished request like owned-frame-server.
func drive(_ connection: inout ServerConnection, _ bytes: ByteBuffer) -> [ServerConnectionEvent] {
    connection.receive(bytes)
    var events: [ServerConnectionEvent] = []
    while let event = connection.nextEvent() {
        events.append(event)
        switch event {
        case .requestHead(let id, _, _, true), .requestData(let id, _, _, true), .requestTrailers(let id, _, _):
            connection.sendHeaders(streamID: id, headers: [":status": "200", "content-type": "application/grpc"])
            connection.sendData(
                streamID: id, data: ByteBuffer(bytes: [0, 0, 0, 0, 9, 0x0a, 5, 116, 114, 117, 110, 103, 0x10, 5]))
            connection.sendTrailers(streamID: id, trailers: ["grpc-status": "0"])
        default:
            break
        }
    }
    return events
}

@Suite struct StreamTableTests {
    @Test func matchesAModelUnderRandomInsertsAndRemovals() {
        var rng = SeededGenerator(seed: 42)
        for round in 0..<50 {
            var table = StreamTable()
            var live: Set<UInt32> = []
            var nextID: UInt32 = 1
            for _ in 0..<4000 {
                if live.count < 100, Bool.random(using: &rng) {
                    // Mostly increasing IDs, with jumps that collide modulo the capacity.
                    nextID += 2 * UInt32.random(in: 1...(round % 2 == 0 ? 3 : 300), using: &rng)
                    _ = table.insert(StreamEntry.testEntry(id: nextID))
                    live.insert(nextID)
                } else if let victim = live.randomElement(using: &rng) {
                    let slot = table.find(victim)
                    #expect(slot != nil)
                    if let slot { table.remove(at: slot) }
                    live.remove(victim)
                }
                #expect(table.count == live.count)
            }
            for id in live {
                #expect(table.find(id).map { table[$0].id } == id)
            }
            for id in stride(from: UInt32(1), through: nextID, by: 2) where !live.contains(id) {
                #expect(table.find(id) == nil)
            }
        }
    }
}

extension StreamEntry {
    static func testEntry(id: UInt32) -> StreamEntry {
        StreamEntry(id: id, remoteClosed: false, sendWindow: 65_535, receiveWindow: 1 << 20)
    }
}

@Suite struct ServerConnectionTests {
    @Test func aRequestSplitAtEveryByteIsAnswered() {
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
        var bytes = Wire.preface
        var settings = Wire.settings()
        bytes.writeBuffer(&settings)
        var request = Wire.request(encoder: &encoder, stream: 1)
        bytes.writeBuffer(&request)
        for split in 0...bytes.readableBytes {
            var connection = ServerConnection(allocator: ByteBufferAllocator())
            connection.start()
            var events = drive(&connection, bytes.getSlice(at: 0, length: split)!)
            events += drive(&connection, bytes.getSlice(at: split, length: bytes.readableBytes - split)!)
            #expect(events.count == 2, "split at \(split)")
            let frames = Wire.frames(connection.takeOutput())
            let kinds = frames.map { [$0.0.type, $0.0.flags] }
            #expect(
                kinds == [[4, 0], [4, 1], [1, 4], [0, 0], [1, 5]],
                "split at \(split): SETTINGS, SETTINGS ACK, HEADERS, DATA, trailers"
            )
            #expect(!connection.isClosed && connection.activeStreams == 0)
        }
    }

    @Test func dataWaitsForTheClientsWindow() {
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
        var connection = ServerConnection(allocator: ByteBufferAllocator())
        var bytes = Wire.preface
        var settings = Wire.settings([(SettingsParameters.initialWindowSize, 5)])
        bytes.writeBuffer(&settings)
        var request = Wire.request(encoder: &encoder, stream: 1)
        bytes.writeBuffer(&request)
        _ = drive(&connection, bytes)
        var frames = Wire.frames(connection.takeOutput())
        #expect(frames.filter { $0.0.type == FrameType.data }.map { $0.1.readableBytes } == [5])
        #expect(!frames.contains { $0.0.type == FrameType.headers && $0.0.has(FrameFlags.endStream) })
        _ = drive(&connection, Wire.frame(FrameType.windowUpdate, stream: 1, [0, 0, 0, 100]))
        frames = Wire.frames(connection.takeOutput())
        #expect(frames.map { [$0.0.type, $0.0.flags] } == [[0, 0], [1, 5]])
        #expect(frames.first?.1.readableBytes == 9)
        #expect(connection.activeStreams == 0)
    }

    @Test func randomInputNeverTraps() {
        var rng = SeededGenerator(seed: 7)
        var closedByError = 0
        for iteration in 0..<3000 {
            var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
            var connection = ServerConnection(allocator: ByteBufferAllocator())
            connection.start()
            var bytes = iteration % 10 == 0 ? ByteBuffer() : Wire.preface
            if iteration % 3 != 0 {
                var settings = Wire.settings()
                bytes.writeBuffer(&settings)
            }
            for _ in 0..<Int.random(in: 1...20, using: &rng) {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0:
                    var request = Wire.request(encoder: &encoder, stream: UInt32.random(in: 0...9, using: &rng))
                    bytes.writeBuffer(&request)
                case 1:
                    bytes.writeBytes(
                        (0..<Int.random(in: 0...30, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                default:
                    let length = Int.random(in: 0...24, using: &rng)
                    var frame = Wire.frame(
                        UInt8.random(in: 0...11, using: &rng),
                        flags: UInt8.random(in: 0...255, using: &rng),
                        stream: [0, 1, 2, 3, 5, 0x7fff_ffff].randomElement(using: &rng)!,
                        (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    )
                    bytes.writeBuffer(&frame)
                }
            }
            // Fed in random pieces.
            while bytes.readableBytes > 0 {
                let piece = bytes.readSlice(length: Int.random(in: 1...max(1, bytes.readableBytes), using: &rng))!
                let events = drive(&connection, piece)
                if events.contains(where: { if case .connectionError = $0 { true } else { false } }) {
                    #expect(connection.isClosed)
                    #expect(connection.nextEvent() == nil)
                    closedByError += 1
                    // The GOAWAY is the last frame written.
                    #expect(Wire.frames(connection.takeOutput()).last?.0.type == FrameType.goAway)
                    break
                }
            }
            connection.receiveEndOfInput()
            #expect(connection.isClosed)
        }
        #expect(closedByError > 1000)
    }
}
