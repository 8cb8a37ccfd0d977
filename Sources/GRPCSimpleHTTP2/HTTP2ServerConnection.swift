import NIOCore
import NIOHPACK

/// The server side of one HTTP/2 connection (RFC 9113) as a state machine: bytes in
/// (`receive`), events out (`nextEvent`), responses in (`sendHeaders`, `sendData`,
/// `sendTrailers`), bytes out (`takeOutput`). No I/O, no event loop, no clock of its own (the
/// time comes with the bytes): `HTTP2ServerHandler` drives it on a channel, and a test or a
/// fuzzer can drive it alone.
///
/// Its actions are of two kinds: frames to write, which it appends to its output (every
/// answer the protocol asks for: SETTINGS ACK, PING ACK, WINDOW_UPDATE, RST_STREAM, GOAWAY),
/// and events for the application (`HTTP2ServerEvent`).
///
/// It owns the stream table (RFC 9113 §5.1 states, with a record of recently closed streams
/// for the frames that still arrive on them; MAX_CONCURRENT_STREAMS, past which streams are
/// refused with REFUSED_STREAM), both directions of flow control (§6.9: our receive windows
/// given back as the application consumes DATA, withheld for a stream whose output waits;
/// the client's windows respected when writing DATA: what does not fit waits, in order, up to
/// a bound per stream), SETTINGS and their acknowledgement (our stream window applies once
/// the client has acknowledged it), PING, GOAWAY (graceful, or for a connection error),
/// RST_STREAM with a rapid-reset limit, a limit on control frames and on stream errors,
/// CONTINUATION sequencing with a limit, content-length checks, and HPACK (NIOHPACK's decoder
/// and encoder; every header block is encoded when it is written, so the encoder's dynamic
/// table follows the order of the bytes on the wire). Protocol errors become a GOAWAY or an
/// RST_STREAM with the right code; nothing a peer sends can trap.
///
/// gRPC-specialised: every response ends with trailers (HEADERS with END_STREAM); DATA never
/// carries END_STREAM.
public struct HTTP2ServerConnection: Sendable {
    /// Whether the connection still reads frames and opens streams.
    private enum Lifecycle: Sendable, Equatable {
        case active
        /// Our GOAWAY NO_ERROR is written: streams above `lastStreamID` are refused.
        case draining(lastStreamID: UInt32)
        /// Our GOAWAY for an error (or the end of the input) is written: nothing more is read.
        case closed
    }

    /// The settings and limits this connection was made with.
    public let configuration: HTTP2ServerConfiguration
    private let allocator: ByteBufferAllocator

    private var lifecycle = Lifecycle.active
    private var parser: FrameParser
    private var inbound = ByteBuffer()
    private var outbound = ByteBuffer()
    private var decoder: HPACKDecoder
    private var encoder: HPACKEncoder
    private var headerBlock: HeaderBlockAssembler
    private var streams = StreamTable()
    private var closedStreams: ClosedStreams
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
    /// The client's preface (the magic string and its first SETTINGS) arrived: from here on
    /// the client speaks HTTP/2.
    public private(set) var receivedClientSettings = false
    /// Our SETTINGS frames not acknowledged yet.
    private var unacknowledgedSettings = 0
    /// The client acknowledged our first SETTINGS: our stream window applies.
    public private(set) var settingsAcknowledged = false
    /// The client sent GOAWAY.
    public private(set) var peerWentAway = false
    /// The time of the bytes being processed (given with `receive`).
    private var now = NIODeadline.uptimeNanoseconds(0)

    // The client's settings.
    private var peerInitialWindowSize = 65_535
    private var peerMaxFrameSize = 16_384

    // Connection-level flow control.
    private var connectionSendWindow = 65_535
    private var connectionReceiveWindow = 65_535
    private var connectionReceivedSinceUpdate = 0

    // Limits on what a client makes us do.
    private var resets: EventRateLimit
    private var controlFrames: EventRateLimit
    /// Whether HEADERS or DATA went into the output since the client's last PING: the next
    /// PING then follows a response (a bandwidth probe) and is not counted as a control frame.
    private var wroteResponseSinceLastPing = false
    private var streamErrors = 0

    /// The largest flow-control window (§6.9.1).
    static let maxWindow = Int(Int32.max)
    /// The window both sides assume before SETTINGS say otherwise (§6.9.2).
    static let defaultWindow = 65_535

    /// A connection that has not started yet: call `start` when the channel is active.
    public init(configuration: HTTP2ServerConfiguration = .init(), allocator: ByteBufferAllocator) {
        self.configuration = configuration
        self.allocator = allocator
        self.parser = FrameParser(maxFrameSize: configuration.maxFrameSize)
        self.decoder = HPACKDecoder(
            allocator: allocator,
            maxDynamicTableSize: HPACKDecoder.maxDynamicTableSize,
            maxHeaderListSize: configuration.maxHeaderListSize
        )
        self.encoder = HPACKEncoder(allocator: allocator)
        self.headerBlock = HeaderBlockAssembler(
            maxBlockSize: configuration.maxHeaderListSize,
            maxContinuations: configuration.maxContinuationFrames
        )
        self.closedStreams = ClosedStreams(capacity: configuration.closedStreamsRemembered)
        self.resets = EventRateLimit(limit: configuration.maxResetsPerWindow, window: configuration.rateLimitWindow)
        self.controlFrames = EventRateLimit(
            limit: configuration.maxControlFramesPerWindow, window: configuration.rateLimitWindow)
    }

    // MARK: - State

    /// Whether the connection is done: our final GOAWAY is in the output.
    public var isClosed: Bool { self.lifecycle == .closed }
    /// Whether our GOAWAY NO_ERROR went out and new streams are refused.
    public var isDraining: Bool {
        if case .draining = self.lifecycle { return true }
        return false
    }
    /// Streams open or half-closed.
    public var activeStreams: Int { self.streams.count }
    /// Whether `streamID` is open or half-closed.
    public func isActive(streamID: UInt32) -> Bool { self.streams.find(streamID) != nil }
    /// Bytes written since the last `takeOutput()`.
    public var hasOutput: Bool { self.outbound.readableBytes > 0 }
    /// Whether part of a frame (or of a header block) is buffered.
    public var hasPartialInput: Bool {
        self.inbound.readableBytes > 0 || self.headerBlock.isAssembling || !self.parser.prefaceReceived
    }
    /// Response bytes of `streamID` waiting for the client's flow-control window.
    public func bufferedOutputBytes(streamID: UInt32) -> Int {
        self.pendingOutput[streamID]?.data.readableBytes ?? 0
    }

    // MARK: - Input

    /// Our side of the connection preface: our SETTINGS, and a WINDOW_UPDATE that opens the
    /// connection window to its configured size. Call once, when the connection opens.
    public mutating func start() {
        self.reserveOutput(FrameHeader.size + 18)
        self.outbound.writeFrameHeader(length: 18, type: FrameType.settings, flags: 0, streamID: 0)
        self.outbound.writeInteger(SettingsParameters.maxConcurrentStreams)
        self.outbound.writeInteger(UInt32(self.configuration.maxConcurrentStreams))
        self.outbound.writeInteger(SettingsParameters.initialWindowSize)
        self.outbound.writeInteger(UInt32(self.configuration.initialWindowSize))
        self.outbound.writeInteger(SettingsParameters.maxHeaderListSize)
        self.outbound.writeInteger(UInt32(self.configuration.maxHeaderListSize))
        self.unacknowledgedSettings += 1
        let increment = self.configuration.connectionWindowSize - HTTP2ServerConnection.defaultWindow
        if increment > 0 {
            self.writeWindowUpdate(streamID: 0, increment: increment)
            self.connectionReceiveWindow += increment
        }
    }

    /// Hands over bytes read from the client at `now`. Without a partial frame buffered, the
    /// buffer is adopted as is (no copy).
    public mutating func receive(_ bytes: ByteBuffer, now: NIODeadline = .now()) {
        self.now = now
        guard self.lifecycle != .closed else { return }
        if self.inbound.readableBytes == 0 {
            self.inbound = bytes
        } else {
            var bytes = bytes
            self.inbound.writeBuffer(&bytes)
        }
    }

    /// The client closed its side: GOAWAY (PROTOCOL_ERROR if it stopped inside a frame).
    public mutating func receiveEndOfInput() {
        guard self.lifecycle != .closed else { return }
        self.close(with: self.hasPartialInput ? .protocolError : .noError)
    }

    /// The time the client had to acknowledge our SETTINGS (§6.5.3) has passed: if it has not,
    /// GOAWAY SETTINGS_TIMEOUT, and the connection error to act on. The caller owns the timer
    /// (armed at `start`); nil once the SETTINGS are acknowledged.
    public mutating func settingsTimeoutElapsed() -> HTTP2ConnectionError? {
        guard self.lifecycle != .closed, !self.settingsAcknowledged else { return nil }
        self.close(with: .settingsTimeout)
        return HTTP2ConnectionError(.settingsTimeout, "the client did not acknowledge our SETTINGS")
    }

    /// The next event from the bytes received so far; nil when more bytes are needed (or the
    /// connection is closed). Connection-level frames are answered in the output.
    public mutating func nextEvent() -> HTTP2ServerEvent? {
        while self.lifecycle != .closed {
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

    private mutating func process(_ frame: Frame) throws(HTTP2ConnectionError) -> HTTP2ServerEvent? {
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
        if !self.receivedClientSettings {
            guard case .settings(ack: false, _) = frame else {
                throw HTTP2ConnectionError(.protocolError, "the client preface does not start with SETTINGS")
            }
            self.receivedClientSettings = true
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
            try self.countControlFrame()
            // Priority signals are ignored (RFC 9113 §5.3.2), but a self-dependency is a stream
            // error (§5.3.1). RST_STREAM must not be sent on an idle stream: only an active one
            // is reset.
            guard dependency == streamID, self.streams.find(streamID) != nil else { return nil }
            return try self.peerStreamError(streamID: streamID, code: .protocolError)

        case .badPriority(let streamID):
            try self.countControlFrame()
            guard self.streams.find(streamID) != nil else { return nil }
            return try self.peerStreamError(streamID: streamID, code: .frameSizeError)

        case .rstStream(let streamID, let errorCode):
            if self.isIdle(streamID) {
                throw HTTP2ConnectionError(.protocolError, "RST_STREAM on an idle stream")
            }
            guard self.resets.record(at: self.now) else {
                throw HTTP2ConnectionError(.enhanceYourCalm, "too many RST_STREAM frames (rapid reset)")
            }
            guard let slot = self.streams.find(streamID) else { return nil }  // closed: nothing to do
            let tag = self.streams[slot].tag
            self.removeStream(at: slot, closure: .resetByPeer)
            return .streamReset(streamID: streamID, tag: tag, errorCode: errorCode)

        case .settings(let ack, let parameters):
            if ack {
                self.settingsAcknowledgedByPeer()
            } else {
                try self.countControlFrame()
                try self.apply(parameters)
            }
            return nil

        case .ping(let ack, let opaque):
            if ack {
                return .pingAcknowledged(opaque: opaque)
            }
            // grpc-go's and C-core's clients ping once per round trip while DATA arrives (their
            // bandwidth-delay probe), hundreds a second: such a PING, one per response written,
            // is the gRPC layer's ping policy's to judge. Any other counts.
            if !self.wroteResponseSinceLastPing {
                try self.countControlFrame()
            }
            self.wroteResponseSinceLastPing = false
            self.reserveOutput(FrameHeader.size + 8)
            self.outbound.writeFrameHeader(length: 8, type: FrameType.ping, flags: FrameFlags.ack, streamID: 0)
            self.outbound.writeInteger(opaque)
            return .pingReceived(opaque: opaque)

        case .goAway(let lastStreamID, let errorCode):
            self.peerWentAway = true
            return .goAway(errorCode: errorCode, lastStreamID: lastStreamID)

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

    /// PING, SETTINGS and PRIORITY: each asks for work or an answer, so a flood is cut off.
    private mutating func countControlFrame() throws(HTTP2ConnectionError) {
        guard self.controlFrames.record(at: self.now) else {
            throw HTTP2ConnectionError(.enhanceYourCalm, "too many control frames")
        }
    }

    private mutating func processHeaderBlock(
        streamID: UInt32,
        block: inout ByteBuffer,
        endStream: Bool,
        dependency: UInt32?
    ) throws(HTTP2ConnectionError) -> HTTP2ServerEvent? {
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
                return try self.peerStreamError(streamID: streamID, code: .streamClosed)
            }
            guard endStream, HeaderValidation.isValidTrailers(headers), self.streams[slot].remainingContentLength <= 0
            else {
                return try self.peerStreamError(streamID: streamID, code: .protocolError)
            }
            let tag = self.streams[slot].tag
            self.remoteEnded(slot: slot)
            return .requestTrailers(streamID: streamID, tag: tag, trailers: headers)
        }

        guard streamID & 1 == 1 else {
            throw HTTP2ConnectionError(.protocolError, "HEADERS on a stream a client cannot open")
        }
        guard streamID > self.highestStreamID else {
            return try self.headersOnClosedStream(streamID)
        }
        self.highestStreamID = streamID

        if case .draining(let lastStreamID) = self.lifecycle, streamID > lastStreamID {
            self.refuse(streamID: streamID, code: .refusedStream)
            return nil
        }
        if dependency == streamID {
            self.refuse(streamID: streamID, code: .protocolError)
            try self.countStreamError()
            return nil
        }
        guard self.streams.count < self.configuration.maxConcurrentStreams else {
            // §5.1.2: a stream error, so the connection and its other calls go on; gRPC
            // clients retry a REFUSED_STREAM transparently. Counted like a reset: a client that
            // keeps opening streams past the limit is cut off like a rapid reset.
            self.refuse(streamID: streamID, code: .refusedStream)
            guard self.resets.record(at: self.now) else {
                throw HTTP2ConnectionError(.enhanceYourCalm, "too many streams refused")
            }
            return nil
        }
        guard let request = HeaderValidation.request(headers),
            !endStream || (request.contentLength ?? 0) == 0
        else {
            self.refuse(streamID: streamID, code: .protocolError)
            try self.countStreamError()
            return nil
        }
        var entry = StreamEntry(
            id: streamID,
            remoteClosed: endStream,
            sendWindow: self.peerInitialWindowSize,
            // Until the client acknowledges our SETTINGS it may use the default window (§6.9.2).
            receiveWindow: self.settingsAcknowledged
                ? self.configuration.initialWindowSize : HTTP2ServerConnection.defaultWindow
        )
        entry.remainingContentLength = request.contentLength ?? -1
        _ = self.streams.insert(entry)
        return .requestHead(streamID: streamID, path: request.path, headers: headers, endStream: endStream)
    }

    /// HEADERS on a stream ID at or below the highest seen, not in the table (§5.1, §5.1.1).
    private mutating func headersOnClosedStream(_ streamID: UInt32) throws(HTTP2ConnectionError) -> HTTP2ServerEvent? {
        switch self.closedStreams.closure(of: streamID) {
        case .resetByUs:
            return nil  // sent before the client saw our RST_STREAM
        case .resetByPeer:
            return try self.peerStreamError(streamID: streamID, code: .streamClosed)
        case .ended:
            throw HTTP2ConnectionError(.streamClosed, "HEADERS on a closed stream")
        case nil:
            throw HTTP2ConnectionError(.protocolError, "a new stream ID not above the previous ones")
        }
    }

    private mutating func processData(
        streamID: UInt32,
        data: ByteBuffer,
        endStream: Bool,
        flowControlledLength: Int
    ) throws(HTTP2ConnectionError) -> HTTP2ServerEvent? {
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
            switch self.closedStreams.closure(of: streamID) {
            case .resetByUs:
                return nil  // in flight when we reset the stream (§5.1, "closed")
            case .ended:
                throw HTTP2ConnectionError(.streamClosed, "DATA after END_STREAM")
            case .resetByPeer, nil:
                return try self.peerStreamError(streamID: streamID, code: .streamClosed)
            }
        }
        guard !self.streams[slot].remoteClosed else {
            return try self.peerStreamError(streamID: streamID, code: .streamClosed)
        }
        guard flowControlledLength <= self.streams[slot].receiveWindow else {
            return try self.peerStreamError(streamID: streamID, code: .flowControlError)
        }
        self.streams[slot].receiveWindow -= flowControlledLength
        if self.streams[slot].remainingContentLength >= 0 {
            // §8.1.1: DATA that does not add up to content-length makes the request malformed.
            let remaining = self.streams[slot].remainingContentLength - data.readableBytes
            guard remaining >= 0, !endStream || remaining == 0 else {
                return try self.peerStreamError(streamID: streamID, code: .protocolError)
            }
            self.streams[slot].remainingContentLength = remaining
        }
        let tag = self.streams[slot].tag
        if endStream {
            self.remoteEnded(slot: slot)
        }
        return .requestData(
            streamID: streamID, tag: tag, data: data, endStream: endStream, flowControlledLength: flowControlledLength)
    }

    /// The application has read `bytes` of the stream's DATA: once enough is read, the stream's
    /// receive window is given back with a WINDOW_UPDATE. Not while the stream's own response
    /// waits for window: a client that sends without reading cannot make us buffer more than
    /// one stream window per stream.
    public mutating func dataConsumed(streamID: UInt32, bytes: Int) {
        guard self.lifecycle != .closed, bytes > 0, let slot = self.streams.find(streamID),
            !self.streams[slot].remoteClosed
        else { return }
        self.streams[slot].receivedSinceUpdate += bytes
        if !self.streams[slot].hasPendingOutput {
            self.replenishReceiveWindow(slot: slot)
        }
    }

    /// Sends the stream's batched WINDOW_UPDATE once enough DATA has been consumed.
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
    ) throws(HTTP2ConnectionError) -> HTTP2ServerEvent? {
        if streamID == 0 {
            guard increment > 0 else { throw HTTP2ConnectionError(.protocolError, "WINDOW_UPDATE of 0") }
            self.connectionSendWindow += Int(increment)
            guard self.connectionSendWindow <= HTTP2ServerConnection.maxWindow else {
                throw HTTP2ConnectionError(.flowControlError, "connection window above 2^31-1")
            }
            self.drainBlocked()
            return nil
        }
        if self.isIdle(streamID) {
            throw HTTP2ConnectionError(.protocolError, "WINDOW_UPDATE on an idle stream")
        }
        guard let slot = self.streams.find(streamID) else { return nil }  // closed: may be in flight
        guard increment > 0 else {
            // §6.9: a stream error PROTOCOL_ERROR.
            return try self.peerStreamError(streamID: streamID, code: .protocolError)
        }
        self.streams[slot].sendWindow += Int(increment)
        guard self.streams[slot].sendWindow <= HTTP2ServerConnection.maxWindow else {
            // §6.9.1: a stream error FLOW_CONTROL_ERROR.
            return try self.peerStreamError(streamID: streamID, code: .flowControlError)
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
                    guard entry.sendWindow <= HTTP2ServerConnection.maxWindow else {
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

    /// The client acknowledged our SETTINGS: from now on it uses our stream window, so the
    /// streams it opened before get the difference to the default (§6.9.2).
    private mutating func settingsAcknowledgedByPeer() {
        guard self.unacknowledgedSettings > 0 else { return }  // an unsolicited ACK: ignored
        self.unacknowledgedSettings -= 1
        guard !self.settingsAcknowledged else { return }
        self.settingsAcknowledged = true
        let delta = self.configuration.initialWindowSize - HTTP2ServerConnection.defaultWindow
        guard delta != 0 else { return }
        // swift-format-ignore: ReplaceForEachWithForLoop
        self.streams.forEach { entry in entry.receiveWindow += delta }
    }

    /// The client ended its half of the stream in `slot`.
    private mutating func remoteEnded(slot: Int) {
        self.streams[slot].remoteClosed = true
        if self.streams[slot].local == .closed {
            self.removeStream(at: slot, closure: .ended)
        }
    }

    /// A stream error the client caused (§5.4.2): RST_STREAM, and the stream leaves the table.
    /// Counted: a client that causes too many loses its connection.
    private mutating func peerStreamError(
        streamID: UInt32,
        code: HTTP2ErrorCode
    ) throws(HTTP2ConnectionError) -> HTTP2ServerEvent? {
        try self.countStreamError()
        return self.streamError(streamID: streamID, code: code)
    }

    private mutating func countStreamError() throws(HTTP2ConnectionError) {
        self.streamErrors += 1
        guard self.streamErrors <= self.configuration.maxStreamErrors else {
            throw HTTP2ConnectionError(.enhanceYourCalm, "too many stream errors")
        }
    }

    /// RST_STREAM with `code`; an active stream leaves the table and the application hears of it.
    private mutating func streamError(streamID: UInt32, code: HTTP2ErrorCode) -> HTTP2ServerEvent? {
        self.writeRstStream(streamID: streamID, code: code)
        guard let slot = self.streams.find(streamID) else { return nil }
        let tag = self.streams[slot].tag
        self.removeStream(at: slot, closure: .resetByUs)
        return .streamReset(streamID: streamID, tag: tag, errorCode: code)
    }

    /// A new stream never enters the table: RST_STREAM, and its late frames are ignored.
    private mutating func refuse(streamID: UInt32, code: HTTP2ErrorCode) {
        self.writeRstStream(streamID: streamID, code: code)
        self.closedStreams.record(streamID, .resetByUs)
    }

    /// Removes a stream, with any output waiting for it, and remembers how it closed.
    private mutating func removeStream(at slot: Int, closure: StreamClosure) {
        let streamID = self.streams[slot].id
        if self.streams[slot].hasPendingOutput {
            self.pendingOutput.removeValue(forKey: streamID)
        }
        self.streams.remove(at: slot)
        self.closedStreams.record(streamID, closure)
    }

    private mutating func close(with code: HTTP2ErrorCode, debugData: ByteBuffer? = nil) {
        self.writeGoAway(lastStreamID: self.highestStreamID, code: code, debugData: debugData)
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
        guard self.lifecycle != .closed, let slot = self.streams.find(streamID), self.streams[slot].local == .idle
        else { return false }
        guard self.writeHeaderBlock(streamID: streamID, headers: headers, endStream: false) else { return false }
        self.streams[slot].local = .open
        return true
    }

    /// Writes response DATA, as far as the flow-control windows allow; the rest waits in the
    /// stream and goes out as WINDOW_UPDATEs arrive. False if the stream is not active, has no
    /// response HEADERS yet, or already holds `maxBufferedOutputPerStream` bytes back (then
    /// nothing of `data` is taken: wait until `bufferedOutputBytes(streamID:)` falls).
    @discardableResult
    public mutating func sendData(streamID: UInt32, data: ByteBuffer) -> Bool {
        guard self.lifecycle != .closed, let slot = self.streams.find(streamID) else { return false }
        switch self.streams[slot].local {
        case .open:
            break
        case .idle, .closing, .closed:
            return false
        }
        if self.streams[slot].hasPendingOutput {
            let buffered = self.pendingOutput[streamID]?.data.readableBytes ?? 0
            guard buffered + data.readableBytes <= self.configuration.maxBufferedOutputPerStream else { return false }
            self.pendingOutput[streamID]?.data.writeImmutableBuffer(data)
            return true
        }
        var data = data
        self.writeData(slot: slot, data: &data)
        if data.readableBytes > 0 {
            guard data.readableBytes <= self.configuration.maxBufferedOutputPerStream else {
                // What fitted the windows is out; the caller hears that the rest was not taken.
                return false
            }
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
        guard self.lifecycle != .closed, let slot = self.streams.find(streamID) else { return false }
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
            self.removeStream(at: slot, closure: .ended)
        }
        return true
    }

    /// Resets a stream (RST_STREAM with `code`), for the application's own reasons.
    public mutating func resetStream(streamID: UInt32, code: HTTP2ErrorCode) {
        guard self.lifecycle != .closed, self.streams.find(streamID) != nil else { return }
        _ = self.streamError(streamID: streamID, code: code)
    }

    /// Sends a PING (keepalive); its ACK comes back as `pingAcknowledged`.
    public mutating func sendPing(opaque: UInt64) {
        guard self.lifecycle != .closed else { return }
        self.reserveOutput(FrameHeader.size + 8)
        self.outbound.writeFrameHeader(length: 8, type: FrameType.ping, flags: 0, streamID: 0)
        self.outbound.writeInteger(opaque)
    }

    /// Graceful shutdown (§6.8): GOAWAY NO_ERROR naming the last stream we will serve (by
    /// default the highest opened so far). Streams up to it go on; later ones are refused with
    /// REFUSED_STREAM, which clients retry elsewhere. Close once `activeStreams` is 0.
    public mutating func startDraining(lastStreamID: UInt32? = nil, debugData: ByteBuffer? = nil) {
        let last = min(lastStreamID ?? self.highestStreamID, 0x7fff_ffff)
        switch self.lifecycle {
        case .active:
            break
        case .draining(let previous):
            guard last < previous else { return }  // a later GOAWAY may only lower the ID
        case .closed:
            return
        }
        self.writeGoAway(lastStreamID: last, code: .noError, debugData: debugData)
        self.lifecycle = .draining(lastStreamID: last)
    }

    /// Ends the connection now: GOAWAY with `code` (and `debugData`, e.g. "too_many_pings").
    /// Nothing more is read; the caller flushes the output and closes.
    public mutating func abort(code: HTTP2ErrorCode, debugData: ByteBuffer? = nil) {
        guard self.lifecycle != .closed else { return }
        self.close(with: code, debugData: debugData)
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
        self.wroteResponseSinceLastPing = true
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
            self.wroteResponseSinceLastPing = true
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
                    self.removeStream(at: slot, closure: .ended)
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

    private mutating func writeGoAway(lastStreamID: UInt32, code: HTTP2ErrorCode, debugData: ByteBuffer?) {
        let debugLength = debugData?.readableBytes ?? 0
        self.reserveOutput(FrameHeader.size + 8 + debugLength)
        self.outbound.writeFrameHeader(length: 8 + debugLength, type: FrameType.goAway, flags: 0, streamID: 0)
        self.outbound.writeInteger(lastStreamID)
        self.outbound.writeInteger(code.rawValue)
        if let debugData {
            self.outbound.writeImmutableBuffer(debugData)
        }
    }
}
