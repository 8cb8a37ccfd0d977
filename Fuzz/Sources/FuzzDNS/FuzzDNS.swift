// Fuzzes the DNS response parser (`DNSMessage.parse`), which reads a DNS server's bytes for
// `dns://` targets.
//
// Input: a DNS message. Checked for every input: no crash, no hang (compression pointers
// only go backwards); a parse error or a response whose names are at most 255 bytes, whose
// addresses carry the port given, and whose CNAME chains resolve without looping.
import FuzzSupport
import NIOCore

@testable import GRPCSimple

/// One input (`count` bytes at `start`): libFuzzer's `LLVMFuzzerTestOneInput`. Returns 0; a
/// broken invariant stops the process.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let message = ByteBuffer(fuzzBytes: input.rest())
    let response: DNSMessage.Response
    do {
        response = try DNSMessage.parse(message, port: 443)
    } catch {
        return 0
    }
    for record in response.answers {
        // A name is at most 255 bytes in wire form: labels and their length bytes.
        fuzzCheck(record.name.utf8.count < 255 * 3, "a name of \(record.name.utf8.count) bytes")
        switch record.data {
        case .ipv4(let address), .ipv6(let address):
            fuzzCheck(address.port == 443, "an address without its port: \(address)")
        case .cname, .other:
            break
        }
    }
    if let name = response.questionName {
        let addresses = response.addresses(of: name)
        fuzzCheck(addresses.count <= response.answers.count, "more addresses than answers")
        _ = response.responseCodeName
        // A query for the question's name, when it is one, parses back.
        if let query = try? DNSMessage.query(id: response.id, name: name.isEmpty ? "." : name, type: .a) {
            fuzzCheck((try? DNSMessage.parse(query, port: 1))?.id == response.id, "our own query did not parse")
        }
    }
    return 0
}
