/// Encodes proto3 JSON into the protobuf binary format for a message type known only by its
/// descriptor: field names by `json_name` or proto name, numbers as numbers or strings, enums
/// by name or number, maps, oneofs, and the JSON forms of the well-known types (`Any`,
/// `Timestamp`, `Duration`, the wrappers, `Struct`, `Value`, `ListValue`, `FieldMask`,
/// `Empty`). A document that does not fit fails with a `TranscodingError` naming the field
/// and why. Fields are written in field-number order.
package struct JSONToBinary: Sendable {
    /// Where message, enum and `Any` types are looked up.
    package let pool: DescriptorPool

    /// An encoder for the types of `pool`.
    package init(pool: DescriptorPool) {
        self.pool = pool
    }

    /// The binary encoding of `json` as a message of `type`.
    package func encode(_ json: JSONValue, as type: MessageDescriptor) throws(TranscodingError) -> [UInt8] {
        try Encoding(pool: self.pool, root: type.fullName).message(json, type: type, path: "")
    }
}

/// One encoding: the recursion, and the root type that errors name.
private struct Encoding {
    let pool: DescriptorPool
    let root: String

    func fail(_ path: String, _ reason: String, missingType: String? = nil) -> TranscodingError {
        TranscodingError(messageType: self.root, path: path, reason: reason, missingType: missingType)
    }

    // MARK: Messages

    func message(_ json: JSONValue, type: MessageDescriptor, path: String) throws(TranscodingError) -> [UInt8] {
        if let wellKnown = type.wellKnownType, wellKnown != .empty || json != .object([]) {
            if let bytes = try self.wellKnown(wellKnown, json, type: type, path: path) { return bytes }
        }
        guard case .object(let members) = json else {
            throw self.fail(path, "expected a JSON object (a \(type.fullName)), got \(json.summary)")
        }
        var chunks: [(number: Int32, bytes: [UInt8])] = []
        var seen: Set<Int32> = []
        var oneofMembers: [Int: String] = [:]
        for member in members {
            guard let field = type.field(named: member.key) else {
                let names = type.fields.map(\.jsonName)
                let known = names.isEmpty ? "it has no fields" : "its fields: " + names.joined(separator: ", ")
                throw self.fail(path, "\(type.fullName) has no field \(JSONWriter.quoted(member.key)) (\(known))")
            }
            let fieldPath = JSONPath.field(path, field.jsonName)
            guard seen.insert(field.number).inserted else {
                throw self.fail(fieldPath, "is set twice (as \(JSONWriter.quoted(member.key)) and by its other name)")
            }
            if member.value == .null, !self.acceptsNull(field) { continue }
            if let oneof = field.oneofIndex {
                if let other = oneofMembers[oneof] {
                    let name = type.oneofs[oneof].name
                    throw self.fail(fieldPath, "is in oneof '\(name)' with '\(other)', which is set too; set one")
                }
                oneofMembers[oneof] = field.jsonName
            }
            var writer = WireWriter()
            try self.field(member.value, field: field, path: fieldPath, into: &writer)
            chunks.append((field.number, writer.bytes))
        }
        var writer = WireWriter()
        for chunk in chunks.enumerated().sorted(by: { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) })
        {
            writer.raw(chunk.element.bytes)
        }
        return writer.bytes
    }

    /// Whether JSON `null` is a value of this field (`google.protobuf.Value`, `NullValue`)
    /// rather than "not set".
    private func acceptsNull(_ field: FieldDescriptor) -> Bool {
        guard !field.isRepeated else { return false }
        return field.typeName == WellKnownType.value.rawValue || field.typeName == WellKnownType.nullValue
    }

    // MARK: Fields

    private func field(_ json: JSONValue, field: FieldDescriptor, path: String, into writer: inout WireWriter)
        throws(TranscodingError)
    {
        if field.isMap {
            try self.map(json, field: field, path: path, into: &writer)
        } else if field.isRepeated {
            guard case .array(let elements) = json else {
                throw self.fail(path, "expected a JSON array (the field is repeated), got \(json.summary)")
            }
            if field.isPacked {
                var packed = WireWriter()
                for (index, element) in elements.enumerated() {
                    try self.scalar(element, field: field, path: JSONPath.element(path, index)).write(into: &packed)
                }
                if !elements.isEmpty {
                    writer.tag(field.number, .lengthDelimited)
                    writer.lengthDelimited(packed.bytes)
                }
            } else {
                for (index, element) in elements.enumerated() {
                    let elementPath = JSONPath.element(path, index)
                    if element == .null, field.typeName != WellKnownType.value.rawValue {
                        throw self.fail(elementPath, "null is not a value of a repeated field")
                    }
                    try self.singular(element, field: field, path: elementPath, alwaysWrite: true, into: &writer)
                }
            }
        } else {
            try self.singular(json, field: field, path: path, alwaysWrite: field.hasPresence, into: &writer)
        }
    }

    private func singular(
        _ json: JSONValue,
        field: FieldDescriptor,
        path: String,
        alwaysWrite: Bool,
        into writer: inout WireWriter
    ) throws(TranscodingError) {
        if field.isMessage {
            let type = self.pool.message(named: field.typeName!)!
            let bytes = try self.message(json, type: type, path: path)
            if field.isDelimited {
                writer.tag(field.number, .startGroup)
                writer.raw(bytes)
                writer.tag(field.number, .endGroup)
            } else {
                writer.tag(field.number, .lengthDelimited)
                writer.lengthDelimited(bytes)
            }
            return
        }
        let value = try self.scalar(json, field: field, path: path)
        if !alwaysWrite, value.isDefault { return }
        writer.tag(field.number, value.wireType)
        value.write(into: &writer)
    }

    private func map(_ json: JSONValue, field: FieldDescriptor, path: String, into writer: inout WireWriter)
        throws(TranscodingError)
    {
        guard case .object(let members) = json else {
            throw self.fail(path, "expected a JSON object (the field is a map), got \(json.summary)")
        }
        let entryType = self.pool.message(named: field.typeName!)!
        guard let keyField = entryType.field(number: 1), let valueField = entryType.field(number: 2) else {
            throw self.fail(path, "the map entry type \(entryType.fullName) lacks its key or value field")
        }
        for member in members {
            let entryPath = JSONPath.key(path, member.key)
            let key: JSONValue
            switch keyField.kind {
            case .bool:
                guard member.key == "true" || member.key == "false" else {
                    throw self.fail(entryPath, "a map<bool, ...> key must be \"true\" or \"false\"")
                }
                key = .bool(member.key == "true")
            default:
                key = .string(member.key)
            }
            if member.value == .null, !self.acceptsNull(valueField) {
                throw self.fail(entryPath, "null is not a value of a map")
            }
            var entry = WireWriter()
            try self.singular(key, field: keyField, path: entryPath, alwaysWrite: true, into: &entry)
            try self.singular(member.value, field: valueField, path: entryPath, alwaysWrite: true, into: &entry)
            writer.tag(field.number, .lengthDelimited)
            writer.lengthDelimited(entry.bytes)
        }
    }

    // MARK: Scalars

    private func scalar(_ json: JSONValue, field: FieldDescriptor, path: String) throws(TranscodingError) -> Scalar {
        switch field.kind {
        case .double:
            return .fixed64(try self.double(json, path: path).bitPattern)
        case .float:
            let value = try self.double(json, path: path)
            guard !value.isFinite || Float(value).isFinite else {
                throw self.fail(path, "\(json.summary) is out of range for a float")
            }
            return .fixed32(Float(value).bitPattern)
        case .int32:
            return .varint(
                UInt64(bitPattern: try self.integer(json, Int64(Int32.min)...Int64(Int32.max), "int32", path)))
        case .sint32:
            return .varint(
                WireWriter.zigZag(try self.integer(json, Int64(Int32.min)...Int64(Int32.max), "sint32", path)))
        case .sfixed32:
            let value = try self.integer(json, Int64(Int32.min)...Int64(Int32.max), "sfixed32", path)
            return .fixed32(UInt32(bitPattern: Int32(value)))
        case .int64:
            return .varint(UInt64(bitPattern: try self.integer(json, Int64.min...Int64.max, "int64", path)))
        case .sint64:
            return .varint(WireWriter.zigZag(try self.integer(json, Int64.min...Int64.max, "sint64", path)))
        case .sfixed64:
            return .fixed64(UInt64(bitPattern: try self.integer(json, Int64.min...Int64.max, "sfixed64", path)))
        case .uint32:
            return .varint(try self.unsigned(json, UInt64(UInt32.max), "uint32", path))
        case .fixed32:
            return .fixed32(UInt32(try self.unsigned(json, UInt64(UInt32.max), "fixed32", path)))
        case .uint64:
            return .varint(try self.unsigned(json, UInt64.max, "uint64", path))
        case .fixed64:
            return .fixed64(try self.unsigned(json, UInt64.max, "fixed64", path))
        case .bool:
            guard case .bool(let flag) = json else {
                throw self.fail(path, "expected true or false, got \(json.summary)")
            }
            return .varint(flag ? 1 : 0)
        case .string:
            guard case .string(let text) = json else {
                throw self.fail(path, "expected a JSON string, got \(json.summary)")
            }
            return .bytes(Array(text.utf8))
        case .bytes:
            guard case .string(let text) = json, let bytes = Base64Text.decode(text) else {
                throw self.fail(path, "expected base64 bytes in a JSON string, got \(json.summary)")
            }
            return .bytes(bytes)
        case .enum:
            let number = try self.enumNumber(json, typeName: field.typeName!, path: path)
            return .varint(UInt64(bitPattern: Int64(number)))
        case .message, .group:
            throw self.fail(path, "a message is not a scalar")
        }
    }

    private func double(_ json: JSONValue, path: String) throws(TranscodingError) -> Double {
        switch json {
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        default: break
        }
        guard let text = NumberText.numberText(json), let value = Double(text) else {
            throw self.fail(path, "expected a number, got \(json.summary)")
        }
        guard value.isFinite else { throw self.fail(path, "\(json.summary) is out of range for a double") }
        return value
    }

    private func integer(_ json: JSONValue, _ range: ClosedRange<Int64>, _ type: String, _ path: String)
        throws(TranscodingError) -> Int64
    {
        guard let text = NumberText.numberText(json) else {
            throw self.fail(path, "expected an integer (\(type)), got \(json.summary)")
        }
        switch NumberText.integer(text, in: range) {
        case .success(let value): return value
        case .failure(.notWhole): throw self.fail(path, "expected an integer (\(type)), got \(json.summary)")
        case .failure(.outOfRange): throw self.fail(path, "\(json.summary) is out of range for \(type)")
        }
    }

    private func unsigned(_ json: JSONValue, _ maximum: UInt64, _ type: String, _ path: String)
        throws(TranscodingError) -> UInt64
    {
        guard let text = NumberText.numberText(json) else {
            throw self.fail(path, "expected an integer (\(type)), got \(json.summary)")
        }
        switch NumberText.unsigned(text, maximum: maximum) {
        case .success(let value): return value
        case .failure(.notWhole): throw self.fail(path, "expected an integer (\(type)), got \(json.summary)")
        case .failure(.outOfRange): throw self.fail(path, "\(json.summary) is out of range for \(type)")
        }
    }

    private func enumNumber(_ json: JSONValue, typeName: String, path: String) throws(TranscodingError) -> Int32 {
        let type = self.pool.enumType(named: typeName)!
        if typeName == WellKnownType.nullValue, json == .null { return 0 }
        if case .string(let name) = json, let number = type.number(of: name) { return number }
        if let text = NumberText.numberText(json),
            case .success(let number) = NumberText.integer(
                text, in: Int64(Int32.min)...Int64(Int32.max))
        {
            if type.isClosed, type.name(of: Int32(number)) == nil {
                throw self.fail(path, "\(number) is not a value of the closed enum \(type.fullName)")
            }
            return Int32(number)
        }
        let names = type.values.map(\.name)
        let shown =
            names.count > 12 ? names.prefix(12).joined(separator: ", ") + ", ..." : names.joined(separator: ", ")
        throw self.fail(path, "\(json.summary) is not a value of the enum \(type.fullName) (its values: \(shown))")
    }

    // MARK: Well-known types

    /// The encoding of a well-known type's JSON form; nil to encode it as an ordinary message.
    private func wellKnown(_ wellKnown: WellKnownType, _ json: JSONValue, type: MessageDescriptor, path: String)
        throws(TranscodingError) -> [UInt8]?
    {
        var writer = WireWriter()
        switch wellKnown {
        case .timestamp:
            guard case .string(let text) = json, let (seconds, nanos) = TimeText.timestamp(text) else {
                throw self.fail(
                    path,
                    "expected an RFC 3339 timestamp such as \"2024-05-06T07:08:09.5Z\" (years 1 to 9999), got \(json.summary)"
                )
            }
            Self.secondsAndNanos(seconds, nanos, into: &writer)
        case .duration:
            guard case .string(let text) = json, let (seconds, nanos) = TimeText.duration(text) else {
                throw self.fail(path, "expected a duration such as \"1.5s\" or \"-0.250s\", got \(json.summary)")
            }
            Self.secondsAndNanos(seconds, nanos, into: &writer)
        case .doubleValue, .floatValue, .int64Value, .uint64Value, .int32Value, .uint32Value, .boolValue,
            .stringValue, .bytesValue:
            guard let valueField = type.field(number: 1) else { return nil }
            try self.singular(json, field: valueField, path: path, alwaysWrite: false, into: &writer)
        case .struct:
            guard case .object(let members) = json else {
                throw self.fail(path, "expected a JSON object (a google.protobuf.Struct), got \(json.summary)")
            }
            let valueType = self.pool.message(named: WellKnownType.value.rawValue)
            for member in members {
                guard let valueType else { throw self.missing(WellKnownType.value.rawValue, path) }
                var entry = WireWriter()
                entry.tag(1, .lengthDelimited)
                entry.lengthDelimited(Array(member.key.utf8))
                entry.tag(2, .lengthDelimited)
                entry.lengthDelimited(
                    try self.message(member.value, type: valueType, path: JSONPath.key(path, member.key)))
                writer.tag(1, .lengthDelimited)
                writer.lengthDelimited(entry.bytes)
            }
        case .listValue:
            guard case .array(let elements) = json else {
                throw self.fail(path, "expected a JSON array (a google.protobuf.ListValue), got \(json.summary)")
            }
            try self.listValue(elements, path: path, into: &writer)
        case .value:
            try self.value(json, path: path, into: &writer)
        case .fieldMask:
            guard case .string(let text) = json else {
                throw self.fail(path, "expected a field mask such as \"user.displayName,photo\", got \(json.summary)")
            }
            for maskPath in text.split(separator: ",", omittingEmptySubsequences: true) {
                guard !maskPath.contains("_") else {
                    throw self.fail(path, "field mask paths are lowerCamelCase in JSON; got \"\(maskPath)\"")
                }
                var snake = ""
                for character in maskPath {
                    if character.isUppercase {
                        snake += "_" + character.lowercased()
                    } else {
                        snake.append(character)
                    }
                }
                writer.tag(1, .lengthDelimited)
                writer.lengthDelimited(Array(snake.utf8))
            }
        case .any:
            return try self.any(json, path: path)
        case .empty:
            guard case .object(let members) = json, members.isEmpty else {
                throw self.fail(path, "expected {} (a google.protobuf.Empty), got \(json.summary)")
            }
        }
        return writer.bytes
    }

    private static func secondsAndNanos(_ seconds: Int64, _ nanos: Int32, into writer: inout WireWriter) {
        if seconds != 0 {
            writer.tag(1, .varint)
            writer.varint(UInt64(bitPattern: seconds))
        }
        if nanos != 0 {
            writer.tag(2, .varint)
            writer.varint(UInt64(bitPattern: Int64(nanos)))
        }
    }

    private func value(_ json: JSONValue, path: String, into writer: inout WireWriter) throws(TranscodingError) {
        switch json {
        case .null:
            writer.tag(1, .varint)
            writer.varint(0)
        case .number(let text):
            guard let number = Double(text), number.isFinite else {
                throw self.fail(path, "\(json.summary) is out of range for a double")
            }
            writer.tag(2, .fixed64)
            writer.fixed64(number.bitPattern)
        case .string(let text):
            writer.tag(3, .lengthDelimited)
            writer.lengthDelimited(Array(text.utf8))
        case .bool(let flag):
            writer.tag(4, .varint)
            writer.varint(flag ? 1 : 0)
        case .object:
            guard let structType = self.pool.message(named: WellKnownType.struct.rawValue) else {
                throw self.missing(WellKnownType.struct.rawValue, path)
            }
            writer.tag(5, .lengthDelimited)
            writer.lengthDelimited(try self.message(json, type: structType, path: path))
        case .array(let elements):
            var list = WireWriter()
            try self.listValue(elements, path: path, into: &list)
            writer.tag(6, .lengthDelimited)
            writer.lengthDelimited(list.bytes)
        }
    }

    private func listValue(_ elements: [JSONValue], path: String, into writer: inout WireWriter)
        throws(TranscodingError)
    {
        for (index, element) in elements.enumerated() {
            var value = WireWriter()
            try self.value(element, path: JSONPath.element(path, index), into: &value)
            writer.tag(1, .lengthDelimited)
            writer.lengthDelimited(value.bytes)
        }
    }

    private func any(_ json: JSONValue, path: String) throws(TranscodingError) -> [UInt8] {
        guard case .object(let members) = json else {
            throw self.fail(path, "expected a JSON object with \"@type\" (a google.protobuf.Any), got \(json.summary)")
        }
        guard let typeMember = members.first(where: { $0.key == "@type" }) else {
            if members.isEmpty { return [] }
            throw self.fail(path, "a google.protobuf.Any needs \"@type\" (such as \"type.googleapis.com/pkg.Message\")")
        }
        guard case .string(let typeURL) = typeMember.value, let slash = typeURL.lastIndex(of: "/"),
            typeURL.index(after: slash) < typeURL.endIndex
        else {
            throw self.fail(
                JSONPath.field(path, "@type"),
                "expected a type URL such as \"type.googleapis.com/pkg.Message\", got \(typeMember.value.summary)")
        }
        let typeName = String(typeURL[typeURL.index(after: slash)...])
        guard let type = self.pool.message(named: typeName) else { throw self.missing(typeName, path) }
        let rest = members.filter { $0.key != "@type" }
        let bytes: [UInt8]
        if let wellKnown = type.wellKnownType, wellKnown != .empty || rest.first?.key == "value" {
            guard rest.count == 1, rest[0].key == "value" else {
                throw self.fail(
                    path, "an Any holding a \(typeName) needs its JSON form under \"value\" and nothing else")
            }
            bytes = try self.message(rest[0].value, type: type, path: JSONPath.field(path, "value"))
        } else {
            bytes = try self.message(.object(rest), type: type, path: path)
        }
        var writer = WireWriter()
        writer.tag(1, .lengthDelimited)
        writer.lengthDelimited(Array(typeURL.utf8))
        if !bytes.isEmpty {
            writer.tag(2, .lengthDelimited)
            writer.lengthDelimited(bytes)
        }
        return writer.bytes
    }

    private func missing(_ typeName: String, _ path: String) -> TranscodingError {
        self.fail(path, "the type \(typeName) is not among the descriptors", missingType: typeName)
    }
}

/// A scalar's encoding before its tag.
private enum Scalar {
    case varint(UInt64)
    case fixed32(UInt32)
    case fixed64(UInt64)
    case bytes([UInt8])

    var wireType: WireType {
        switch self {
        case .varint: .varint
        case .fixed32: .fixed32
        case .fixed64: .fixed64
        case .bytes: .lengthDelimited
        }
    }

    /// Zero, or empty: what an implicit-presence field does not write.
    var isDefault: Bool {
        switch self {
        case .varint(let value): value == 0
        case .fixed32(let value): value == 0
        case .fixed64(let value): value == 0
        case .bytes(let value): value.isEmpty
        }
    }

    func write(into writer: inout WireWriter) {
        switch self {
        case .varint(let value): writer.varint(value)
        case .fixed32(let value): writer.fixed32(value)
        case .fixed64(let value): writer.fixed64(value)
        case .bytes(let value): writer.lengthDelimited(value)
        }
    }
}
