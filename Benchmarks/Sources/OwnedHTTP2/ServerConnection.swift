import NIOCore
import NIOHPACK

/// The HTTP/2 settings a `ServerConnection` advertises and enforces.
public struct ServerConnectionConfiguration: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams past it are refused (RST_STREAM REFUSED_STREAM).
    public var maxConcurrentStreams = 100
    /// SETTINGS_MAX_HEADER_LIST_SIZE, also the bound on an encoded header block.
    public var maxHeaderListSize = 16 * 1024
    /// SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window.
    public var initialWindowSize = 1 << 20
    /// Received DATA bytes (per stream, and for the connection) that make us send a WINDOW_UPDATE.
    public var windowUpdateThreshold = 32 * 1024
    /// Our SETTINGS_MAX_FRAME_SIZE (not advertised: the protocol default).
    public var maxFrameSize = 16_384

    public init() {}
}

/// What the application learns from the bytes a client sent (`ServerConnection.nextEvent()`).
public enum ServerConnectionEvent: Sendable {
    /// A new request: its validated header section and its :path.
    case requestHead(streamID: UInt32, path: String, headers: HPACKHeaders, endStream: Bool)
    /// Request DATA (padding removed). `endStream` ends the request.
    case requestData(streamID: UInt32, tag: UInt8, data: ByteBuffer, endStream: Bool)
    /// Request trailers, which end the request.
    case requestTrailers(streamID: UInt32, tag: UInt8, trailers: HPACKHeaders)
    /// An active stream ended abnormally: reset by the client, or by us for a stream error.
    case streamReset(streamID: UInt32, tag: UInt8, errorCode: HTTP2ErrorCode)
    /// The client sent GOAWAY.
    case goAway(errorCode: HTTP2ErrorCode)
    /// A connection error: our GOAWAY is in the output; flush it and close.
    case connectionError(HTTP2ConnectionError)
}

/// The server side of one HTTP/2 connection as a pure state machine: bytes in (`receive`),
/// events out (`nextEvent`), responses in (`sendHeaders`, `sendData`, `sendTrailers`), bytes
/// out (`takeOutput`). No I/O, no event loop: a channel handler drives it, and so can a test or
/// a fuzzer.
///
/// It owns the stream table (RFC 9113 §5.1 states, MAX_CONCURRENT_STREAMS), both directions of
/// flow control (§6.9: our receive windows replenished by batched WINDOW_UPDATEs, withheld for
/// a stream whose output waits; the client's windows respected when writing DATA: what does not
/// fit waits, in order, and goes out as WINDOW_UPDATEs arrive),
/// SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION sequencing and HPACK (NIOHPACK's decoder and
/// encoder; every header block is encoded when it is written, so the encoder's dynamic table
/// follows the order of the bytes on the wire). Protocol errors become a GOAWAY with the right
/// code; nothing a peer sends can trap.
///
/// gRPC-specialised: every response ends with trailers (HEADERS with END_STREAM); DATA never
/// carries END_STREAM.
public struct ServerConnection: Sendable {
    /// Whether the connection still reads frames.
    private enum Lifecycle: Sendable {
        case active
        /// Our GOAWAY is written (after a connection error or the end of the input).
        case closed
    }

    public let configuration: ServerConnectionConfiguration
    private let allocator: ByteBufferAllocator

    private var lifecycle = Lifecycle.active
    private var parser: FrameParser
    private var inbound = ByteBuffer()
    private var outbound = ByteBuffer()
    private var decoder: HPACKDecoder
    private var encoder: HPACKEncoder
    private var headerBlock: HeaderBlockAssembler
    private var streams = StreamTable()
    /// Streams whose DATA waits for flow-control window, oldest first, and what waits.
    private var blocked: [UInt32] = []
    private var pendingOutput: [UInt32: PendingOutput] = [:]

    /// Response DATA that did not fit the windows yet, and the trailers to send after it.
    private struct PendingOutput: Sendable {
        var data: ByteBuffer
        var trailers: HPACKHeaders?
    }

    /// The highest client stream ID seen: lower IDs not in the table are closed, higher ones idle.
    public private(set) var highestStreamID: UInt32 = 0
    private var receivedSettings = false
    /// The client sent GOAWAY.
    public private(set) var peerWentAway = false

    // The client's settings.
    private var peerInitialWindowSize = 65_535
    private var peerMaxFrameSize = 16_384

    // Connection-level flow control.
    private var connectionSendWindow = 65_535
    private var connectionReceiveWindow = 65_535
    private var connectionReceivedSinceUpdate = 0

    private static let maxWindow = Int(Int32.max)

    public init(configuration: ServerConnectionConfiguration = .init(), allocator: ByteBufferAllocator) {
        self.configuration = configuration
        self.allocator = allocator
        self.parser = FrameParser(maxFrameSize: configuration.maxFrameSize)
        self.decoder = HPACKDecoder(
            allocator: allocator,
            maxDynamicTableSize: HPACKDecoder.maxDynamicTableSize,
            maxHeaderListSize: configuration.maxHeaderListSize
        )
        self.encoder = HPACKEncoder(allocator: allocator)
        self.headerBlock = HeaderBlockAssembler(maxBlockSize: configuration.maxHeaderListSize)
    }

    // MARK: - State

    public var isClosed: Bool { self.lifecycle == .closed }
    /// Streams open or half-closed.
    public var activeStreams: Int { self.streams.count }
    /// Bytes written since the last `takeOutput()`.
    public var hasOutput: Bool { self.outbound.readableBytes > 0 }
    /// Whether part of a frame (or of a header block) is buffered.
    public var hasPartialInput: Bool {
        self.inbound.readableBytes > 0 || self.headerBlock.isAssembling || !self.parser.prefaceReceived
    }

    // MARK: - Input

    /// Our side of the connection preface: our SETTINGS. Call once, when the connection opens.
    public mutating func start() {
        self.reserveOutput(FrameHeader.size + 18)
        self.outbound.writeFrameHeader(length: 18, type: FrameType.settings, flags: 0, streamID: 0)
        self.outbound.writeInteger(SettingsParameters.maxConcurrentStreams)
        self.outbound.writeInteger(UInt32(self.configuration.maxConcurrentStreams))
        self.outbound.writeInteger(SettingsParameters.initialWindowSize)
        self.outbound.writeInteger(UInt32(self.configuration.initialWindowSize))
        self.outbound.writeInteger(SettingsParameters.maxHeaderListSize)
        self.outbound.writeInteger(UInt32(self.configuration.maxHeaderListSize))
    }

    /// Hands over bytes read from the client. Without a partial frame buffered, the buffer is
    /// adopted as is (no copy).
    public mutating func receive(_ bytes: ByteBuffer) {
        guard self.lifecycle == .active else { return }
        if self.inbound.readableBytes == 0 {
            self.inbound = bytes
        } else {
            var bytes = bytes
            self.inbound.writeBuffer(&bytes)
        }
    }

    /// The client closed its side: GOAWAY (PROTOCOL_ERROR if it stopped inside a frame).
    public mutating func receiveEndOfInput() {
        guard self.lifecycle == .active else { return }
        self.close(with: self.hasPartialInput ? .protocolError : .noError)
    }

    /// The next event from the bytes received so far; nil when more bytes are needed (or the
    /// connection is closed). Connection-level frames are answered internally.
    public mutating func nextEvent() -> ServerConnectionEvent? {
        while self.lifecycle == .active {
            do throws(HTTP2ConnectionError) {
                guard let (header, payload) = try self.parser.nextFrame(from: &self.inbound) else {
                    if self.inbound.readableBytes == 0 {
                        self.inbound = ByteBuffer()  // lets the channel reuse its read buffer
                    }
                    return nil
                }
                if let event = try self.process(Frame(header: header, payload: payload)) {
                    return event
                }
            } catch {
                self.close(with: error.code)
                return .connectionError(error)
            }
        }
        return nil
    }

    private mutating func process(_ frame: Frame) throws(HTTP2ConnectionError) -> ServerConnectionEvent? {
        if self.headerBlock.isAssembling {
            guard case .continuation(let streamID, let fragment, let endHeaders) = frame else {
                throw HTTP2ConnectionError(.protocolError, "a frame other than CONTINUATION inside a header block")
            }
            guard let done = try self.headerBlock.append(streamID: streamID, fragment: fragment, endHeaders: endHeaders)
            else { return nil }
            var block = done.block
            return try self.processHeaderBlock(
                streamID: done.streamID,
                block: &block,
                endStream: done.endStream,
                dependency: done.dependency
            )
        }
        if !self.receivedSettings {
            guard case .settings(ack: false, _) = frame else {
                throw HTTP2ConnectionError(.protocolError, "the client preface does not start with SETTINGS")
            }
            self.receivedSettings = true
        }

        switch frame {
        case .data(let streamID, let data, let endStream, let flowControlledLength):
            return try self.processData(
                streamID: streamID,
                data: data,
                endStream: endStream,
                flowControlledLength: flowControlledLength
            )

        case .headers(let streamID, var fragment, let endStream, let endHeaders, let dependency):
            if endHeaders {
                return try self.processHeaderBlock(
                    streamID: streamID,
                    block: &fragment,
                    endStream: endStream,
                    dependency: dependency
                )
            }
            try self.headerBlock.begin(
                streamID: streamID, fragment: fragment, endStream: endStream, dependency: dependency)
            return nil

        case .continuation:
            throw HTTP2ConnectionError(.protocolError, "CONTINUATION without a HEADERS frame")

        case .priority(let streamID, let dependency):
            // Priority signals are ignored (RFC 9113 §5.3.2), but a self-dependency is an error.
            // (RST_STREAM must not be sent on an idle stream, so only an active one is reset.)
            guard dependency == streamID, self.streams.find(streamID) != nil else { return nil }
            return self.streamError(streamID: streamID, code: .protocolError)

        case .badPriority(let streamID):
            guard self.streams.find(streamID) != nil else { return nil }
            return self.streamError(streamID: streamID, code: .frameSizeError)

        case .rstStream(let streamID, let errorCode):
            if self.isIdle(streamID) {
                throw HTTP2ConnectionError(.protocolError, "RST_STREAM on an idle stream")
            }
            guard let slot = self.streams.find(streamID) else { return nil }
            let tag = self.streams[slot].tag
            self.removeStream(at: slot)
            return .streamReset(streamID: streamID, tag: tag, errorCode: errorCode)

        case .settings(let ack, let parameters):
            if !ack {
                try self.apply(parameters)
            }
            return nil

        case .pushPromise:
            throw HTTP2ConnectionError(.protocolError, "PUSH_PROMISE from a client")

        case .ping(let ack, let opaque):
            if !ack {
                self.reserveOutput(FrameHeader.size + 8)
                self.outbound.writeFrameHeader(length: 8, type: FrameType.ping, flags: FrameFlags.ack, streamID: 0)
                self.outbound.writeInteger(opaque)
            }
            return nil

        case .goAway(_, let errorCode):
            self.peerWentAway = true
            return .goAway(errorCode: errorCode)

        case .windowUpdate(let streamID, let increment):
            return try self.processWindowUpdate(streamID: streamID, increment: increment)

        case .unknown:
            return nil
        }
    }

    /// Client-initiated streams are odd; one above the highest seen, or an even one, is idle.
    private func isIdle(_ streamID: UInt32) -> Bool {
        streamID > self.highestStreamID || streamID & 1 == 0
    }

    private mutating func processHeaderBlock(
        streamID: UInt32,
        block: inout ByteBuffer,
        endStream: Bool,
        dependency: UInt32?
    ) throws(HTTP2ConnectionError) -> ServerConnectionEvent? {
        // Every block is decoded, whatever becomes of its stream: the HPACK dynamic table must
        // follow the client's encoder.
        let headers: HPACKHeaders
        do {
            headers = try self.decoder.decodeHeaders(from: &block)
        } catch {
            throw HTTP2ConnectionError(.compressionError, "header block does not decode")
        }

        if let slot = self.streams.find(streamID) {
            // A second header block: trailers, which must end the stream.
            guard !self.streams[slot].remoteClosed else {
                return self.streamError(streamID: streamID, code: .streamClosed)
            }
            guard endStream, HeaderValidation.isValidTrailers(headers) else {
                return self.streamError(streamID: streamID, code: .protocolError)
            }
            let tag = self.streams[slot].tag
            self.remoteEnded(slot: slot)
            return .requestTrailers(streamID: streamID, tag: tag, trailers: headers)
        }

        guard streamID & 1 == 1 else {
            throw HTTP2ConnectionError(.protocolError, "HEADERS on a stream a client cannot open")
        }
        guard streamID > self.highestStreamID else {
            // A closed stream (possibly one we reset, whose frames were in flight): ignored.
            return nil
        }
        self.highestStreamID = streamID

        if dependency == streamID {
            self.writeRstStream(streamID: streamID, code: .protocolError)
            return nil
        }
        guard self.streams.count < self.configuration.maxConcurrentStreams else {
            self.writeRstStream(streamID: streamID, code: .refusedStream)
            return nil
        }
        guard let path = HeaderValidation.requestPath(headers) else {
            self.writeRstStream(streamID: streamID, code: .protocolError)
            return nil
        }
        _ = self.streams.insert(
            StreamEntry(
                id: streamID,
                remoteClosed: endStream,
                sendWindow: self.peerInitialWindowSize,
                receiveWindow: self.configuration.initialWindowSize
            )
        )
        return .requestHead(streamID: streamID, path: path, headers: headers, endStream: endStream)
    }

    private mutating func processData(
        streamID: UInt32,
        data: ByteBuffer,
        endStream: Bool,
        flowControlledLength: Int
    ) throws(HTTP2ConnectionError) -> ServerConnectionEvent? {
        if self.isIdle(streamID) {
            throw HTTP2ConnectionError(.protocolError, "DATA on an idle stream")
        }
        // Connection window first: it counts DATA on every stream, closed ones included.
        guard flowControlledLength <= self.connectionReceiveWindow else {
            throw HTTP2ConnectionError(.flowControlError, "DATA beyond the connection window")
        }
        self.connectionReceiveWindow -= flowControlledLength
        self.connectionReceivedSinceUpdate += flowControlledLength
        if self.connectionReceivedSinceUpdate >= self.configuration.windowUpdateThreshold {
            self.writeWindowUpdate(streamID: 0, increment: self.connectionReceivedSinceUpdate)
            self.connectionReceiveWindow += self.connectionReceivedSinceUpdate
            self.connectionReceivedSinceUpdate = 0
        }

        guard let slot = self.streams.find(streamID) else {
            return nil  // a closed stream: in-flight DATA after a reset is ignored (§5.1)
        }
        guard !self.streams[slot].remoteClosed else {
            return self.streamError(streamID: streamID, code: .streamClosed)
        }
        guard flowControlledLength <= self.streams[slot].receiveWindow else {
            return self.streamError(streamID: streamID, code: .flowControlError)
        }
        self.streams[slot].receiveWindow -= flowControlledLength
        let tag = self.streams[slot].tag
        if endStream {
            self.remoteEnded(slot: slot)
        } else {
            self.streams[slot].receivedSinceUpdate += flowControlledLength
            // While our response DATA on this stream waits for the client's window, its own window
            // is not replenished: a client that sends without reading cannot make us buffer more
            // than one stream window per stream.
            if !self.streams[slot].hasPendingOutput {
                self.replenishReceiveWindow(slot: slot)
            }
        }
        return .requestData(streamID: streamID, tag: tag, data: data, endStream: endStream)
    }

    /// Sends the stream's batched WINDOW_UPDATE once enough DATA has arrived.
    private mutating func replenishReceiveWindow(slot: Int) {
        let received = self.streams[slot].receivedSinceUpdate
        guard received >= self.configuration.windowUpdateThreshold else { return }
        self.writeWindowUpdate(streamID: self.streams[slot].id, increment: received)
        self.streams[slot].receiveWindow += received
        self.streams[slot].receivedSinceUpdate = 0
    }

    private mutating func processWindowUpdate(
        streamID: UInt32,
        increment: UInt32
    ) throws(HTTP2ConnectionError) -> ServerConnectionEvent? {
        if streamID == 0 {
            guard increment > 0 else { throw HTTP2ConnectionError(.protocolError, "WINDOW_UPDATE of 0") }
            self.connectionSendWindow += Int(increment)
            guard self.connectionSendWindow <= ServerConnection.maxWindow else {
                throw HTTP2ConnectionError(.flowControlError, "connection window above 2^31-1")
            }
            self.drainBlocked()
            return nil
        }
        if self.isIdle(streamID) {
            throw HTTP2ConnectionError(.protocolError, "WINDOW_UPDATE on an idle stream")
        }
        guard let slot = self.streams.find(streamID) else { return nil }  // closed: ignored
        guard increment > 0 else {
            return self.streamError(streamID: streamID, code: .protocolError)
        }
        self.streams[slot].sendWindow += Int(increment)
        guard self.streams[slot].sendWindow <= ServerConnection.maxWindow else {
            return self.streamError(streamID: streamID, code: .flowControlError)
        }
        self.drainBlocked()
        return nil
    }

    private mutating func apply(_ parameters: SettingsParameters) throws(HTTP2ConnectionError) {
        var windowGrew = false
        for (identifier, value) in parameters {
            switch identifier {
            case SettingsParameters.headerTableSize:
                do {
                    try self.encoder.setDynamicTableSize(min(Int(value), HPACKEncoder.defaultDynamicTableSize))
                } catch {
                    throw HTTP2ConnectionError(.internalError, "HPACK encoder refused a table size")
                }
            case SettingsParameters.enablePush:
                guard value <= 1 else { throw HTTP2ConnectionError(.protocolError, "SETTINGS_ENABLE_PUSH not 0 or 1") }
            case SettingsParameters.initialWindowSize:
                guard value <= UInt32(Int32.max) else {
                    throw HTTP2ConnectionError(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1")
                }
                let delta = Int(value) - self.peerInitialWindowSize
                self.peerInitialWindowSize = Int(value)
                windowGrew = windowGrew || delta > 0
                // StreamTable.forEach updates entries in place; it is not Sequence's forEach.
                // swift-format-ignore: ReplaceForEachWithForLoop
                try self.streams.forEach { (entry) throws(HTTP2ConnectionError) in
                    entry.sendWindow += delta
                    guard entry.sendWindow <= ServerConnection.maxWindow else {
                        throw HTTP2ConnectionError(.flowControlError, "a stream window above 2^31-1")
                    }
                }
            case SettingsParameters.maxFrameSize:
                guard value >= 16_384, value <= 16_777_215 else {
                    throw HTTP2ConnectionError(.protocolError, "SETTINGS_MAX_FRAME_SIZE out of range")
                }
                self.peerMaxFrameSize = Int(value)
            default:
                break  // MAX_CONCURRENT_STREAMS (we open none), MAX_HEADER_LIST_SIZE (advisory), unknown
            }
        }
        self.reserveOutput(FrameHeader.size)
        self.outbound.writeFrameHeader(length: 0, type: FrameType.settings, flags: FrameFlags.ack, streamID: 0)
        if windowGrew {
            self.drainBlocked()
        }
    }

    /// The client ended its half of the stream in `slot`.
    private mutating func remoteEnded(slot: Int) {
        self.streams[slot].remoteClosed = true
        if self.streams[slot].local == .closed {
            self.streams.remove(at: slot)
        }
    }

    /// A stream error (§5.4.2): RST_STREAM, and the stream leaves the table.
    private mutating func streamError(streamID: UInt32, code: HTTP2ErrorCode) -> ServerConnectionEvent? {
        self.writeRstStream(streamID: streamID, code: code)
        guard let slot = self.streams.find(streamID) else { return nil }
        let tag = self.streams[slot].tag
        self.removeStream(at: slot)
        return .streamReset(streamID: streamID, tag: tag, errorCode: code)
    }

    /// Removes a reset stream, with any output waiting for it.
    private mutating func removeStream(at slot: Int) {
        if self.streams[slot].hasPendingOutput {
            self.pendingOutput.removeValue(forKey: self.streams[slot].id)
        }
        self.streams.remove(at: slot)
    }

    private mutating func close(with code: HTTP2ErrorCode) {
        self.reserveOutput(FrameHeader.size + 8)
        self.outbound.writeFrameHeader(length: 8, type: FrameType.goAway, flags: 0, streamID: 0)
        self.outbound.writeInteger(self.highestStreamID)
        self.outbound.writeInteger(code.rawValue)
        self.lifecycle = .closed
        self.inbound = ByteBuffer()
    }

    // MARK: - Output

    /// Attaches `tag` to an active stream; it comes back with the stream's later events.
    public mutating func setTag(_ tag: UInt8, streamID: UInt32) {
        guard let slot = self.streams.find(streamID) else { return }
        self.streams[slot].tag = tag
    }

    /// Writes the response HEADERS. False if the stream is not active or already responded.
    @discardableResult
    public mutating func sendHeaders(streamID: UInt32, headers: HPACKHeaders) -> Bool {
        guard self.lifecycle == .active, let slot = self.streams.find(streamID), self.streams[slot].local == .idle
        else { return false }
        guard self.writeHeaderBlock(streamID: streamID, headers: headers, endStream: false) else { return false }
        self.streams[slot].local = .open
        return true
    }

    /// Writes response DATA, as far as the flow-control windows allow; the rest waits in the
    /// stream and goes out as WINDOW_UPDATEs arrive. False if the stream is not active or has no
    /// response HEADERS yet.
    @discardableResult
    public mutating func sendData(streamID: UInt32, data: ByteBuffer) -> Bool {
        guard self.lifecycle == .active, let slot = self.streams.find(streamID) else { return false }
        switch self.streams[slot].local {
        case .open:
            break
        case .idle, .closing, .closed:
            return false
        }
        if self.streams[slot].hasPendingOutput {
            self.pendingOutput[streamID]?.data.writeImmutableBuffer(data)
            return true
        }
        var data = data
        self.writeData(slot: slot, data: &data)
        if data.readableBytes > 0 {
            var pending = self.allocator.buffer(capacity: data.readableBytes)
            pending.writeBuffer(&data)
            self.pendingOutput[streamID] = PendingOutput(data: pending, trailers: nil)
            self.streams[slot].hasPendingOutput = true
            self.blocked.append(streamID)
        }
        return true
    }

    /// Ends the response with trailers (HEADERS with END_STREAM), after any DATA still waiting
    /// for window. Without response HEADERS, this is a trailers-only response.
    @discardableResult
    public mutating func sendTrailers(streamID: UInt32, trailers: HPACKHeaders) -> Bool {
        guard self.lifecycle == .active, let slot = self.streams.find(streamID) else { return false }
        switch self.streams[slot].local {
        case .idle, .open:
            break
        case .closing, .closed:
            return false
        }
        if self.streams[slot].hasPendingOutput {
            self.pendingOutput[streamID]?.trailers = trailers
            self.streams[slot].local = .closing
            return true
        }
        guard self.writeHeaderBlock(streamID: streamID, headers: trailers, endStream: true) else { return false }
        self.streams[slot].local = .closed
        if self.streams[slot].remoteClosed {
            self.streams.remove(at: slot)
        }
        return true
    }

    /// Resets a stream (RST_STREAM with `code`).
    public mutating func resetStream(streamID: UInt32, code: HTTP2ErrorCode) {
        guard self.lifecycle == .active else { return }
        _ = self.streamError(streamID: streamID, code: code)
    }

    /// The bytes written since the last call, to write and flush in one go.
    public mutating func takeOutput() -> ByteBuffer {
        var output = ByteBuffer()
        swap(&output, &self.outbound)
        return output
    }

    private mutating func reserveOutput(_ bytes: Int) {
        if self.outbound.capacity == 0 {
            self.outbound = self.allocator.buffer(capacity: max(bytes, 1024))
        }
    }

    /// Encodes a header block straight into the output: HEADERS, plus CONTINUATIONs if the block
    /// exceeds the client's SETTINGS_MAX_FRAME_SIZE. False after an (internal) encoder error,
    /// which closes the connection.
    private mutating func writeHeaderBlock(streamID: UInt32, headers: HPACKHeaders, endStream: Bool) -> Bool {
        self.reserveOutput(FrameHeader.size + 64)
        let start = self.outbound.writerIndex
        self.outbound.writeFrameHeader(length: 0, type: FrameType.headers, flags: 0, streamID: streamID)
        do {
            try self.encoder.encode(headers: headers, to: &self.outbound)
        } catch {
            self.outbound.moveWriterIndex(to: start)
            self.close(with: .internalError)
            return false
        }
        let length = self.outbound.writerIndex - start - FrameHeader.size
        let endStreamFlag = endStream ? FrameFlags.endStream : 0
        if length <= self.peerMaxFrameSize {
            self.outbound.setFrameHeader(
                at: start,
                length: length,
                type: FrameType.headers,
                flags: FrameFlags.endHeaders | endStreamFlag
            )
            return true
        }
        // Rare: split the block. Copy it out, then write it back frame by frame.
        var block = self.allocator.buffer(capacity: length)
        if let encoded = self.outbound.getSlice(at: start + FrameHeader.size, length: length) {
            block.writeImmutableBuffer(encoded)
        }
        self.outbound.moveWriterIndex(to: start)
        var type = FrameType.headers
        var flags = endStreamFlag
        while block.readableBytes > 0 {
            let size = min(block.readableBytes, self.peerMaxFrameSize)
            guard let chunk = block.readSlice(length: size) else { break }
            if block.readableBytes == 0 { flags |= FrameFlags.endHeaders }
            self.outbound.writeFrameHeader(length: size, type: type, flags: flags, streamID: streamID)
            self.outbound.writeImmutableBuffer(chunk)
            type = FrameType.continuation
            flags = 0
        }
        return true
    }

    /// Writes as much of `data` as the windows allow, in frames of at most the client's
    /// SETTINGS_MAX_FRAME_SIZE; what does not fit stays in `data`.
    private mutating func writeData(slot: Int, data: inout ByteBuffer) {
        let streamID = self.streams[slot].id
        while data.readableBytes > 0 {
            let size = min(
                data.readableBytes,
                self.connectionSendWindow,
                self.streams[slot].sendWindow,
                self.peerMaxFrameSize
            )
            guard size > 0, let chunk = data.readSlice(length: size) else { return }
            self.reserveOutput(FrameHeader.size + size)
            self.outbound.writeFrameHeader(length: size, type: FrameType.data, flags: 0, streamID: streamID)
            self.outbound.writeImmutableBuffer(chunk)
            self.connectionSendWindow -= size
            self.streams[slot].sendWindow -= size
        }
    }

    /// Sends what waits for window on blocked streams, oldest first, and their trailers once
    /// their DATA is out.
    private mutating func drainBlocked() {
        var index = 0
        while index < self.blocked.count, self.connectionSendWindow > 0 {
            let streamID = self.blocked[index]
            guard let slot = self.streams.find(streamID), var pending = self.pendingOutput.removeValue(forKey: streamID)
            else {
                self.blocked.remove(at: index)  // reset meanwhile
                continue
            }
            self.writeData(slot: slot, data: &pending.data)
            if pending.data.readableBytes > 0 {
                self.pendingOutput[streamID] = pending
                index += 1
                continue
            }
            self.blocked.remove(at: index)
            self.streams[slot].hasPendingOutput = false
            if !self.streams[slot].remoteClosed {
                self.replenishReceiveWindow(slot: slot)  // withheld while the output waited
            }
            if self.streams[slot].local == .closing, let trailers = pending.trailers {
                guard self.writeHeaderBlock(streamID: streamID, headers: trailers, endStream: true) else { return }
                self.streams[slot].local = .closed
                if self.streams[slot].remoteClosed {
                    self.streams.remove(at: slot)
                }
            }
        }
    }

    private mutating func writeRstStream(streamID: UInt32, code: HTTP2ErrorCode) {
        self.reserveOutput(FrameHeader.size + 4)
        self.outbound.writeFrameHeader(length: 4, type: FrameType.rstStream, flags: 0, streamID: streamID)
        self.outbound.writeInteger(code.rawValue)
    }

    private mutating func writeWindowUpdate(streamID: UInt32, increment: Int) {
        self.reserveOutput(FrameHeader.size + 4)
        self.outbound.writeFrameHeader(length: 4, type: FrameType.windowUpdate, flags: 0, streamID: streamID)
        self.outbound.writeInteger(UInt32(truncatingIfNeeded: increment))
    }
}
