/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), for log
/// metadata: the trace a call belongs to when its caller sent one, whatever the server's
/// tracer (or none).
enum TraceParent {
    /// The trace id, or nil when `value` is not a valid `traceparent` (wrong length,
    /// version `ff`, non-hex characters, or an all-zero trace or parent id).
    static func traceID(of value: String) -> Substring? {
        let utf8 = value.utf8
        // Version 00 is exactly 55 characters; later versions may append fields after a dash.
        guard utf8.count >= 55 else { return nil }
        var index = utf8.startIndex
        var fields: [Range<String.UTF8View.Index>] = []
        for length in [2, 32, 16, 2] {
            let start = index
            guard utf8.distance(from: index, to: utf8.endIndex) >= length else { return nil }
            index = utf8.index(index, offsetBy: length)
            guard utf8[start..<index].allSatisfy(Self.isLowercaseHex) else { return nil }
            fields.append(start..<index)
            if fields.count < 4 {
                guard index < utf8.endIndex, utf8[index] == UInt8(ascii: "-") else { return nil }
                index = utf8.index(after: index)
            }
        }
        let version = utf8[fields[0]]
        guard !version.elementsEqual("ff".utf8) else { return nil }
        if version.elementsEqual("00".utf8), index != utf8.endIndex { return nil }
        if index != utf8.endIndex, utf8[index] != UInt8(ascii: "-") { return nil }
        let traceID = utf8[fields[1]]
        guard !traceID.allSatisfy({ $0 == UInt8(ascii: "0") }),
            !utf8[fields[2]].allSatisfy({ $0 == UInt8(ascii: "0") })
        else { return nil }
        return Substring(value.utf8[fields[1]])
    }

    private static func isLowercaseHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
