import NIOCore

/// One inbound frame, its payload checked against the rules of RFC 9113 §6 that need no
/// connection state: sizes, padding, which frames may (not) use stream 0.
///
/// Payload bytes (DATA, header block fragments, SETTINGS parameters) are slices of the
/// inbound buffer: no copy.
public enum Frame: Sendable {
    /// `flowControlledLength` is the whole payload length, padding included (§6.1).
    /// DATA, padding removed.
    case data(streamID: UInt32, data: ByteBuffer, endStream: Bool, flowControlledLength: Int)
    /// `dependency` is set when the PRIORITY flag was present (its fields are otherwise ignored).
    /// HEADERS: a header block fragment, padding and priority fields removed.
    case headers(streamID: UInt32, fragment: ByteBuffer, endStream: Bool, endHeaders: Bool, dependency: UInt32?)
    /// PRIORITY: accepted and ignored (§5.3.2), but a stream may not depend on itself.
    case priority(streamID: UInt32, dependency: UInt32)
    /// A PRIORITY frame whose length is not 5: a stream error (§6.3).
    case badPriority(streamID: UInt32)
    /// RST_STREAM: the client cancels a stream.
    case rstStream(streamID: UInt32, errorCode: HTTP2ErrorCode)
    /// SETTINGS, or its acknowledgement.
    case settings(ack: Bool, parameters: SettingsParameters)
    /// PING, or the acknowledgement of ours.
    case ping(ack: Bool, opaque: UInt64)
    /// GOAWAY: the client stops.
    case goAway(lastStreamID: UInt32, errorCode: HTTP2ErrorCode)
    /// WINDOW_UPDATE, for the connection (stream 0) or a stream.
    case windowUpdate(streamID: UInt32, increment: UInt32)
    /// CONTINUATION: more of a header block.
    case continuation(streamID: UInt32, fragment: ByteBuffer, endHeaders: Bool)
    /// An extension frame type: ignored (§5.5), but it still breaks a header block (§6.10).
    case unknown(type: UInt8)

    /// Decodes a frame's payload. Throws a connection error for what §6 calls one.
    public init(header: FrameHeader, payload: ByteBuffer) throws(HTTP2ConnectionError) {
        var payload = payload
        let stream = header.streamID
        switch header.type {
        case FrameType.data:
            guard stream != 0 else { throw HTTP2ConnectionError(.protocolError, "DATA on stream 0") }
            let length = payload.readableBytes
            try Frame.stripPadding(&payload, header: header)
            self = .data(
                streamID: stream,
                data: payload,
                endStream: header.has(FrameFlags.endStream),
                flowControlledLength: length
            )

        case FrameType.headers:
            guard stream != 0 else { throw HTTP2ConnectionError(.protocolError, "HEADERS on stream 0") }
            try Frame.stripPadding(&payload, header: header)
            var dependency: UInt32?
            if header.has(FrameFlags.priority) {
                guard let field = payload.readInteger(as: UInt32.self), payload.readInteger(as: UInt8.self) != nil
                else {
                    throw HTTP2ConnectionError(.frameSizeError, "HEADERS too short for its priority fields")
                }
                dependency = field & 0x7fff_ffff
            }
            self = .headers(
                streamID: stream,
                fragment: payload,
                endStream: header.has(FrameFlags.endStream),
                endHeaders: header.has(FrameFlags.endHeaders),
                dependency: dependency
            )

        case FrameType.priority:
            guard stream != 0 else { throw HTTP2ConnectionError(.protocolError, "PRIORITY on stream 0") }
            guard header.length == 5, let field = payload.readInteger(as: UInt32.self) else {
                self = .badPriority(streamID: stream)
                return
            }
            self = .priority(streamID: stream, dependency: field & 0x7fff_ffff)

        case FrameType.rstStream:
            guard stream != 0 else { throw HTTP2ConnectionError(.protocolError, "RST_STREAM on stream 0") }
            guard header.length == 4, let code = payload.readInteger(as: UInt32.self) else {
                throw HTTP2ConnectionError(.frameSizeError, "RST_STREAM length is not 4")
            }
            self = .rstStream(streamID: stream, errorCode: HTTP2ErrorCode(code))

        case FrameType.settings:
            guard stream == 0 else { throw HTTP2ConnectionError(.protocolError, "SETTINGS on a stream") }
            let ack = header.has(FrameFlags.ack)
            if ack {
                guard header.length == 0 else {
                    throw HTTP2ConnectionError(.frameSizeError, "SETTINGS ACK with a payload")
                }
            } else {
                guard header.length % 6 == 0 else {
                    throw HTTP2ConnectionError(.frameSizeError, "SETTINGS length not a multiple of 6")
                }
            }
            self = .settings(ack: ack, parameters: SettingsParameters(payload))

        case FrameType.pushPromise:
            // A client must not send PUSH_PROMISE (§8.4).
            throw HTTP2ConnectionError(.protocolError, "PUSH_PROMISE from a client")

        case FrameType.ping:
            guard stream == 0 else { throw HTTP2ConnectionError(.protocolError, "PING on a stream") }
            guard header.length == 8, let opaque = payload.readInteger(as: UInt64.self) else {
                throw HTTP2ConnectionError(.frameSizeError, "PING length is not 8")
            }
            self = .ping(ack: header.has(FrameFlags.ack), opaque: opaque)

        case FrameType.goAway:
            guard stream == 0 else { throw HTTP2ConnectionError(.protocolError, "GOAWAY on a stream") }
            guard let last = payload.readInteger(as: UInt32.self), let code = payload.readInteger(as: UInt32.self)
            else {
                throw HTTP2ConnectionError(.frameSizeError, "GOAWAY shorter than 8 bytes")
            }
            self = .goAway(lastStreamID: last & 0x7fff_ffff, errorCode: HTTP2ErrorCode(code))

        case FrameType.windowUpdate:
            guard header.length == 4, let increment = payload.readInteger(as: UInt32.self) else {
                throw HTTP2ConnectionError(.frameSizeError, "WINDOW_UPDATE length is not 4")
            }
            self = .windowUpdate(streamID: stream, increment: increment & 0x7fff_ffff)

        case FrameType.continuation:
            guard stream != 0 else { throw HTTP2ConnectionError(.protocolError, "CONTINUATION on stream 0") }
            self = .continuation(streamID: stream, fragment: payload, endHeaders: header.has(FrameFlags.endHeaders))

        default:
            self = .unknown(type: header.type)
        }
    }

    /// Removes the pad-length byte and the padding of a PADDED frame (§6.1, §6.2).
    private static func stripPadding(_ payload: inout ByteBuffer, header: FrameHeader) throws(HTTP2ConnectionError) {
        guard header.has(FrameFlags.padded) else { return }
        guard let padLength = payload.readInteger(as: UInt8.self) else {
            throw HTTP2ConnectionError(.frameSizeError, "PADDED frame without a pad length")
        }
        guard Int(padLength) <= payload.readableBytes else {
            throw HTTP2ConnectionError(.protocolError, "padding longer than the payload")
        }
        payload.moveWriterIndex(to: payload.writerIndex - Int(padLength))
    }
}
