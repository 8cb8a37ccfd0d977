// Fuzzes what the server reads of gRPC-Web and Connect calls: content-types (`CallFormat`),
// request bodies (`RequestBodyDecoder`: base64 for grpc-web-text, a Connect unary body held
// whole), proto3 JSON messages (`MessageCodec.json`) and the JSON of Connect's errors.
//
// Input: byte 0 picks the check, bytes 1-2 seed how the rest is split into pieces. Checked
// for every input: no crash; the same result whether the body comes whole or in pieces;
// base64 of any bytes decodes back to them; a content-type's format survives its response
// content-type; a JSON message that parses prints JSON that parses to the same message;
// Connect's error JSON of any message is JSON that reads back the code and message.
import FuzzSupport
import NIOCore
import SwiftProtobuf

@testable import GRPCSimple

/// What a decoder makes of a body given in `pieces`: the bytes, or the error's message.
private func decode(_ pieces: [ArraySlice<UInt8>], wireProtocol: WireProtocol) -> Result<[UInt8], RPCError> {
    var decoder = RequestBodyDecoder(wireProtocol: wireProtocol, path: "/fuzz.Echo/Get", maximumMessageSize: 4096)
    var out: [UInt8] = []
    do {
        for piece in pieces {
            if let bytes = try decoder.receive(ByteBuffer(fuzzBytes: piece)) {
                out += bytes.readableBytesView
            }
        }
        if let held = try decoder.end(encoding: .identity) {
            out += held.readableBytesView
        }
        return .success(out)
    } catch {
        return .failure(error)
    }
}

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebProtocols(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let check = input.byte()
    let seed = input.uint16()
    let rest = input.rest()
    let pieces = chunks(of: rest, seed: seed)

    switch check % 5 {
    case 0:
        // A request body in each protocol: pieces or whole, the same outcome.
        for wireProtocol in [WireProtocol.grpcWebText, .connectUnary, .grpcWeb] {
            let whole = decode([rest], wireProtocol: wireProtocol)
            let split = decode(pieces, wireProtocol: wireProtocol)
            switch (whole, split) {
            case (.success(let a), .success(let b)):
                fuzzCheck(a == b, "\(wireProtocol): \(a) whole, \(b) in pieces")
            case (.failure, .failure):
                break
            default:
                fuzzCheck(false, "\(wireProtocol): \(whole) whole, \(split) in pieces")
            }
        }
    case 1:
        // Base64 of any bytes, padded, in any pieces, decodes back to them.
        let encoded = Base64.encodePadded(ByteBuffer(fuzzBytes: rest), allocator: ByteBufferAllocator())
        let text = Array(encoded.readableBytesView)
        let decoded = decode(chunks(of: text[...], seed: seed), wireProtocol: .grpcWebText)
        fuzzCheck((try? decoded.get()) == Array(rest), "base64 of \(Array(rest)) decoded as \(decoded)")
    case 2:
        // A content-type's format is the format of its own response content-type.
        let contentType = String(decoding: rest, as: UTF8.self)
        if let format = CallFormat(contentType: contentType) {
            fuzzCheck(
                CallFormat(contentType: format.responseContentType) == format,
                "'\(contentType)' is \(format), its response content-type \(format.responseContentType) is not")
        }
    case 3:
        // A JSON message: what parses prints JSON that parses to the same message.
        let payload = ByteBuffer(fuzzBytes: rest)
        if let message = try? MessageCodec.json.decode(Google_Protobuf_Struct.self, from: payload, what: "fuzz") {
            do {
                var envelope = try MessageCodec.json.envelope(message)
                envelope.moveReaderIndex(forwardBy: Envelope.prefixLength)
                let again = try MessageCodec.json.decode(Google_Protobuf_Struct.self, from: envelope, what: "again")
                fuzzCheck(again == message, "\(message) printed as \(String(buffer: envelope)) read back as \(again)")
            } catch {
                fuzzCheck(false, "\(message) does not print and read back: \(error)")
            }
        }
    default:
        // Connect's error JSON holds any message as valid JSON that reads back.
        let text = String(decoding: rest, as: UTF8.self)
        let code = StatusCode(wireValue: Int(seed % 17))
        let json = ConnectError.json(Status(code: code, message: text))
        do {
            let value = try JSONValue.parse(json)
            guard case .object(let fields) = value else {
                fuzzCheck(false, "not an object: \(json)")
                return 0
            }
            let field = { (name: String) in fields.first { $0.key == name }?.value }
            fuzzCheck(field("code") == .string(ConnectError.codeName(code)), "code lost in \(json)")
            if !text.isEmpty {
                fuzzCheck(field("message") == .string(text), "message lost in \(json)")
            }
        } catch {
            fuzzCheck(false, "Connect error JSON does not parse: \(json): \(error)")
        }
    }
    return 0
}
