import NIOCore

/// The part of DNS (RFC 1035, with RFC 3596's AAAA and RFC 6891's EDNS buffer size) that a
/// `dns://server/host` target needs: a query for one name and record type, and the
/// addresses in its answer. A pure codec: `DNSExchange` does the I/O.
///
/// Parsing takes a server's bytes, so it checks every length and offset and follows a
/// compression pointer only backwards, which bounds it: a hostile or broken answer is a
/// `DNSMessage.ParseError`, never a crash or a loop.
enum DNSMessage {
    /// The record types a resolver asks for or reads.
    enum RecordType: UInt16 {
        case a = 1
        case cname = 5
        case aaaa = 28
        case opt = 41
    }

    /// What went wrong with a message, in words for an error message.
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// A query for `name`'s records of `type`, with recursion desired and an EDNS record
    /// that lets the answer be up to 4096 bytes over UDP. Throws when `name` cannot be a
    /// DNS name (an empty or longer than 63-byte label, longer than 255 bytes in all).
    static func query(id: UInt16, name: String, type: RecordType) throws(ParseError) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(id)
        buffer.writeInteger(UInt16(0x0100))  // a standard query, recursion desired
        buffer.writeInteger(UInt16(1))  // one question
        buffer.writeInteger(UInt16(0))  // no answers
        buffer.writeInteger(UInt16(0))  // no authority records
        buffer.writeInteger(UInt16(1))  // one additional record: EDNS
        try Self.writeName(name, to: &buffer)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(UInt16(1))  // class IN
        // EDNS (RFC 6891): the root name, type OPT, the UDP size as the class, no flags.
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(RecordType.opt.rawValue)
        buffer.writeInteger(UInt16(4096))
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(UInt16(0))
        return buffer
    }

    /// A name in wire form: each dot-separated label behind its length, then a zero.
    static func writeName(_ name: String, to buffer: inout ByteBuffer) throws(ParseError) {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        var total = 1
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty, bytes.count <= 63 else {
                throw ParseError(description: "'\(name)' is not a DNS name: each label must be 1 to 63 bytes")
            }
            total += bytes.count + 1
            buffer.writeInteger(UInt8(bytes.count))
            buffer.writeBytes(bytes)
        }
        guard total <= 255 else {
            throw ParseError(description: "'\(name)' is not a DNS name: it is longer than 255 bytes")
        }
        buffer.writeInteger(UInt8(0))
    }

    /// What a resource record holds, as far as a resolver cares.
    enum RecordData: Equatable {
        case ipv4(SocketAddress)
        case ipv6(SocketAddress)
        case cname(String)
        case other(type: UInt16)
    }

    /// One answer record.
    struct Record: Equatable {
        var name: String
        var data: RecordData
    }

    /// A parsed response.
    struct Response: Equatable {
        var id: UInt16
        var isResponse: Bool
        var isTruncated: Bool
        /// RCODE: 0 no error, 2 server failure, 3 no such name, ...
        var responseCode: UInt8
        var questionName: String?
        var questionType: UInt16?
        var answers: [Record]

        /// The addresses of `name`, following its CNAME chain through the answers.
        func addresses(of name: String) -> [SocketAddress] {
            var names: Set<String> = [DNSMessage.canonical(name)]
            // A chain is at most as long as the answers; each pass adds at least one name.
            for _ in 0...self.answers.count {
                let before = names.count
                for record in self.answers where names.contains(record.name) {
                    if case .cname(let target) = record.data { names.insert(target) }
                }
                if names.count == before { break }
            }
            return self.answers.compactMap { record in
                guard names.contains(record.name) else { return nil }
                switch record.data {
                case .ipv4(let address), .ipv6(let address): return address
                case .cname, .other: return nil
                }
            }
        }

        /// The response code's name (RFC 1035 §4.1.1, RFC 6895).
        var responseCodeName: String {
            switch self.responseCode {
            case 0: "NOERROR"
            case 1: "FORMERR"
            case 2: "SERVFAIL"
            case 3: "NXDOMAIN"
            case 4: "NOTIMP"
            case 5: "REFUSED"
            default: "RCODE \(self.responseCode)"
            }
        }
    }

    /// Names compare without case and without a final dot.
    static func canonical(_ name: String) -> String {
        let lowered = name.lowercased()
        return lowered.hasSuffix(".") ? String(lowered.dropLast()) : lowered
    }

    /// Parses a response; `port` is put on the addresses it holds.
    static func parse(_ message: ByteBuffer, port: Int) throws(ParseError) -> Response {
        var reader = Reader(message: message)
        let id = try reader.uint16("the header")
        let flags = try reader.uint16("the header")
        let questions = try reader.uint16("the header")
        let answers = try reader.uint16("the header")
        _ = try reader.uint16("the header")
        _ = try reader.uint16("the header")
        var response = Response(
            id: id,
            isResponse: flags & 0x8000 != 0,
            isTruncated: flags & 0x0200 != 0,
            responseCode: UInt8(flags & 0x000F),
            answers: []
        )
        for index in 0..<Int(questions) {
            let name = try reader.name("question \(index + 1)")
            let type = try reader.uint16("question \(index + 1)")
            _ = try reader.uint16("question \(index + 1)")
            if index == 0 {
                response.questionName = name
                response.questionType = type
            }
        }
        for index in 0..<Int(answers) {
            let place = "answer \(index + 1)"
            let name = try reader.name(place)
            let type = try reader.uint16(place)
            let recordClass = try reader.uint16(place)
            _ = try reader.uint32(place)  // TTL: the resolver's minimum interval governs re-resolution
            let length = Int(try reader.uint16(place))
            let dataStart = reader.offset
            guard dataStart + length <= message.writerIndex else {
                throw ParseError(description: "\(place)'s data runs past the end of the message")
            }
            var data = RecordData.other(type: type)
            if recordClass == 1 {
                switch RecordType(rawValue: type) {
                case .a:
                    guard length == 4 else {
                        throw ParseError(description: "\(place) is an A record of \(length) bytes")
                    }
                    data = .ipv4(try Self.address(message, at: dataStart, length: 4, port: port))
                case .aaaa:
                    guard length == 16 else {
                        throw ParseError(description: "\(place) is an AAAA record of \(length) bytes")
                    }
                    data = .ipv6(try Self.address(message, at: dataStart, length: 16, port: port))
                case .cname:
                    data = .cname(try reader.name(place))
                case .opt, nil:
                    break
                }
            }
            reader.offset = dataStart + length
            response.answers.append(Record(name: name, data: data))
        }
        return response
    }

    private static func address(_ message: ByteBuffer, at offset: Int, length: Int, port: Int) throws(ParseError)
        -> SocketAddress
    {
        guard let bytes = message.getBytes(at: offset, length: length) else {
            throw ParseError(description: "an address runs past the end of the message")
        }
        do {
            return try SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes), port: port)
        } catch {
            throw ParseError(description: "an address of \(length) bytes is not an IP address")
        }
    }

    /// Reads integers and names at an offset, every read checked against the message.
    private struct Reader {
        let message: ByteBuffer
        var offset: Int

        init(message: ByteBuffer) {
            self.message = message
            self.offset = message.readerIndex
        }

        mutating func uint16(_ place: String) throws(ParseError) -> UInt16 {
            guard let value = self.message.getInteger(at: self.offset, as: UInt16.self) else {
                throw ParseError(description: "the message ends inside \(place)")
            }
            self.offset += 2
            return value
        }

        mutating func uint32(_ place: String) throws(ParseError) -> UInt32 {
            guard let value = self.message.getInteger(at: self.offset, as: UInt32.self) else {
                throw ParseError(description: "the message ends inside \(place)")
            }
            self.offset += 4
            return value
        }

        /// A name at the offset, with compression pointers (RFC 1035 §4.1.4) followed only
        /// to earlier offsets, so that reading ends.
        mutating func name(_ place: String) throws(ParseError) -> String {
            var labels: [String] = []
            var position = self.offset
            var resumeAt: Int?
            var length = 0
            while true {
                guard let size = self.message.getInteger(at: position, as: UInt8.self) else {
                    throw ParseError(description: "the message ends inside a name in \(place)")
                }
                if size & 0xC0 == 0xC0 {
                    guard let pointer = self.message.getInteger(at: position, as: UInt16.self) else {
                        throw ParseError(description: "the message ends inside a name in \(place)")
                    }
                    let target = self.message.readerIndex + Int(pointer & 0x3FFF)
                    guard target < position else {
                        throw ParseError(description: "a name in \(place) points forwards (a compression loop)")
                    }
                    if resumeAt == nil { resumeAt = position + 2 }
                    position = target
                    continue
                }
                guard size & 0xC0 == 0 else {
                    throw ParseError(description: "a name in \(place) has a label of unknown kind")
                }
                if size == 0 {
                    position += 1
                    break
                }
                length += Int(size) + 1
                guard length <= 255 else {
                    throw ParseError(description: "a name in \(place) is longer than 255 bytes")
                }
                guard let bytes = self.message.getBytes(at: position + 1, length: Int(size)) else {
                    throw ParseError(description: "the message ends inside a name in \(place)")
                }
                labels.append(String(decoding: bytes, as: UTF8.self).lowercased())
                position += 1 + Int(size)
            }
            self.offset = resumeAt ?? position
            return labels.joined(separator: ".")
        }
    }
}
