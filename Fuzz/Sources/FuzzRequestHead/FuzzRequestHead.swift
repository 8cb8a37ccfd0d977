// Fuzzes the reading of a request's headers (`RequestHead.parse`) and the metadata codecs
// under it: grpc-timeout (`GRPCTimeout`), percent-encoding (`PercentEncoding`, grpc-message)
// and base64 (`Base64`, `-bin` values).
//
// Input: a header block as text, one `name: value` per line (the name may start with `:`).
// Checked for every input: no crash; a request is accepted or rejected with a status (and its
// rejection's response headers can be built); what it accepts is sane (a routed path, a
// timeout of at least 0, no reserved header in the metadata, `-bin` values binary); the
// metadata read writes back and reads again the same. Each value, and the whole input, also
// goes through the codecs: percent- and base64-decoding never crash, encoding then decoding
// gives back what was encoded, a parsed grpc-timeout formats to one at least as long.
import FuzzSupport
import GRPCSimple
import NIOCore
import NIOHPACK

@testable import GRPCSimple

private let router: Router = {
    var router = Router()
    FuzzEchoService().register(with: &router)
    return router
}()

/// `name: value` lines; the name ends at the first `:` after its first character.
private func headers(from text: ArraySlice<UInt8>) -> HPACKHeaders {
    var headers = HPACKHeaders()
    for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        let colon = line.dropFirst().firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let nameBytes = line[line.startIndex..<colon]
        // HPACK decoding (NIOHPACK) only ever gives ASCII names: `HPACKHeaders` traps on others.
        guard nameBytes.allSatisfy({ $0 < 0x80 }) else { continue }
        let name = String(decoding: nameBytes, as: UTF8.self)
        var value = line[colon...].dropFirst()
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        headers.add(name: name, value: String(decoding: value, as: UTF8.self))
    }
    return headers
}

private func checkCodecs(_ value: String) {
    // grpc-timeout
    if let nanoseconds = GRPCTimeout.parse(value) {
        fuzzCheck(nanoseconds >= 0, "grpc-timeout '\(value)' parsed to \(nanoseconds)")
        let formatted = GRPCTimeout.format(nanoseconds: nanoseconds)
        let again = GRPCTimeout.parse(formatted)
        fuzzCheck(again != nil && again! >= nanoseconds, "grpc-timeout \(nanoseconds) formatted '\(formatted)'")
    }
    // Percent-encoding: any text round-trips, and what is sent is printable ASCII.
    _ = PercentEncoding.decode(value)
    let encoded = PercentEncoding.encode(value)
    fuzzCheck(Metadata.isValidASCIIValue(encoded), "percent-encoded '\(encoded)' is not printable ASCII")
    fuzzCheck(PercentEncoding.decode(encoded) == value, "'\(value)' did not round-trip percent-encoding")
    // Base64: decoding what was encoded gives the bytes back.
    if let bytes = Base64.decode(Substring(value)) {
        fuzzCheck(Base64.decode(Substring(Base64.encode(bytes))) == bytes, "base64 of \(bytes) did not round-trip")
    }
    let bytes = Array(value.utf8)
    fuzzCheck(Base64.decode(Substring(Base64.encode(bytes))) == bytes, "base64 of \(bytes) did not round-trip")
}

/// A CORS policy, so preflights and allowed origins are read too.
let cors = CORSPolicy(allowedOrigins: ["http://a.example"])

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let text = input.rest()
    let block = headers(from: text)

    switch RequestHead.parse(block, router: router, cors: cors) {
    case .call(let head):
        fuzzCheck(router.handler(for: head.path) != nil, "accepted an unrouted path '\(head.path)'")
        fuzzCheck((head.timeoutNanoseconds ?? 0) >= 0, "negative timeout \(head.timeoutNanoseconds!)")
        for entry in head.metadata {
            fuzzCheck(!Metadata.isReserved(entry.key), "reserved header '\(entry.key)' in the metadata")
            if case .string = entry.value {
                fuzzCheck(!entry.key.hasSuffix("-bin"), "'\(entry.key)' holds a string")
            }
        }
        // What can be sent again reads back the same.
        var sendable = Metadata()
        for entry in head.metadata where Metadata.isValidKey(entry.key) {
            switch entry.value {
            case .string(let value) where Metadata.isValidASCIIValue(value):
                sendable.append(receivedKey: entry.key, entry.value)
            case .binary:
                sendable.append(receivedKey: entry.key, entry.value)
            default:
                break
            }
        }
        var written = HPACKHeaders()
        let rejected = GRPCHeaders.append(sendable, to: &written)
        fuzzCheck(rejected.isEmpty, "valid metadata rejected: \(rejected)")
        let reread = GRPCHeaders.metadata(from: written)
        fuzzCheck((try? reread.get()) == sendable, "metadata \(sendable) read back as \(reread)")
    case .reject(let rejection):
        let framing = ResponseFraming(format: rejection.format, allowedOrigin: rejection.allowedOrigin)
        let (response, body) = framing.rejection(
            rejection.status, httpStatus: rejection.httpStatus, allocator: ByteBufferAllocator())
        fuzzCheck(
            response.first(name: "grpc-status") != nil || body != nil, "a rejection without a status: \(response)")
        fuzzCheck(response.first(name: ":status") != nil, "a rejection without :status: \(response)")
        fuzzCheck(rejection.status.code != .ok, "a rejection with status OK")
    case .preflight(let response):
        fuzzCheck(response.first(name: ":status") == "204", "a preflight answered \(response)")
    }

    for (_, value, _) in block {
        checkCodecs(value)
    }
    checkCodecs(String(decoding: text, as: UTF8.self))
    return 0
}
