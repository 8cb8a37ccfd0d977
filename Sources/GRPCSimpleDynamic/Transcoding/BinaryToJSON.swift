/// Decodes the protobuf binary format into proto3 JSON for a message type known only by its
/// descriptor: fields by their JSON names in declaration order, 64-bit integers as strings,
/// bytes as base64, enums by name (by number when the name is unknown), and the JSON forms of
/// the well-known types. Unknown fields are dropped, as the JSON mapping says; repeated
/// occurrences of a message field merge, of a scalar the last wins, as in every protobuf
/// runtime. Bytes that do not fit the type fail with a `TranscodingError`.
package struct BinaryToJSON: Sendable {
    /// Where message, enum and `Any` types are looked up.
    package let pool: DescriptorPool
    /// Also write fields that hold their default value and have no presence (`0`, `""`,
    /// `false`, `[]`, `{}`), as `--emit-defaults` asks.
    package var emitDefaults: Bool

    /// A decoder for the types of `pool`.
    package init(pool: DescriptorPool, emitDefaults: Bool = false) {
        self.pool = pool
        self.emitDefaults = emitDefaults
    }

    /// `bytes`, a message of `type`, as JSON.
    package func decode(_ bytes: [UInt8], as type: MessageDescriptor) throws(TranscodingError) -> JSONValue {
        try Decoding(pool: self.pool, emitDefaults: self.emitDefaults, root: type.fullName)
            .message(bytes[...], type: type, path: "")
    }
}

/// One decoding: the recursion, and the root type that errors name.
private struct Decoding {
    let pool: DescriptorPool
    let emitDefaults: Bool
    let root: String

    func fail(_ path: String, _ reason: String, missingType: String? = nil) -> TranscodingError {
        TranscodingError(messageType: self.root, path: path, reason: reason, missingType: missingType)
    }

    func wire<T>(_ path: String, _ body: () throws(WireFormatError) -> T) throws(TranscodingError) -> T {
        do {
            return try body()
        } catch {
            throw self.fail(path, "the bytes are not protobuf: \(error)")
        }
    }

    // MARK: Messages

    /// What one field collected while reading.
    private enum Collected {
        case scalar(JSONValue, isDefault: Bool)
        case message([UInt8])
        case list([JSONValue])
        case map([JSONMember])
    }

    /// `bytes` as a message of `type`; `special` reads a well-known type in its own JSON form.
    func message(_ bytes: ArraySlice<UInt8>, type: MessageDescriptor, path: String, special: Bool = true)
        throws(TranscodingError) -> JSONValue
    {
        if special, let wellKnown = type.wellKnownType, wellKnown != .empty {
            return try self.wellKnown(wellKnown, bytes, type: type, path: path)
        }
        var collected: [Int: Collected] = [:]
        var oneofChoice: [Int: Int] = [:]
        var reader = WireReader(bytes)
        while let (number, wireType) = try self.wire(path, { () throws(WireFormatError) in try reader.nextTag() }) {
            guard let index = type.fieldIndex(number: number) else {
                try self.wire(path) { () throws(WireFormatError) in try reader.skip(wireType, number: number) }
                continue
            }
            let field = type.fields[index]
            let fieldPath = JSONPath.field(path, field.jsonName)
            if let oneof = field.oneofIndex {
                if let previous = oneofChoice[oneof], previous != index { collected[previous] = nil }
                oneofChoice[oneof] = index
            }
            if field.isMap {
                guard wireType == .lengthDelimited else { throw self.wrongWireType(wireType, field, fieldPath) }
                let entry = try self.wire(fieldPath) { () throws(WireFormatError) in try reader.lengthDelimited() }
                let member = try self.mapEntry(entry, field: field, path: fieldPath)
                var members: [JSONMember] = []
                if case .map(let existing)? = collected[index] { members = existing }
                if let at = members.firstIndex(where: { $0.key == member.key }) {
                    members[at] = member
                } else {
                    members.append(member)
                }
                collected[index] = .map(members)
            } else if field.isMessage {
                let expected: WireType = field.isDelimited ? .startGroup : .lengthDelimited
                guard wireType == expected else { throw self.wrongWireType(wireType, field, fieldPath) }
                let value = try self.wire(fieldPath) { () throws(WireFormatError) in
                    field.isDelimited ? try reader.group(number) : try reader.lengthDelimited()
                }
                if field.isRepeated {
                    var list: [JSONValue] = []
                    if case .list(let existing)? = collected[index] { list = existing }
                    let type = self.pool.message(named: field.typeName!)!
                    list.append(try self.message(value, type: type, path: JSONPath.element(fieldPath, list.count)))
                    collected[index] = .list(list)
                } else {
                    // A message field that comes twice is the merge of both: decode the concatenation.
                    var merged: [UInt8] = []
                    if case .message(let existing)? = collected[index] { merged = existing }
                    merged.append(contentsOf: value)
                    collected[index] = .message(merged)
                }
            } else if field.isRepeated {
                var list: [JSONValue] = []
                if case .list(let existing)? = collected[index] { list = existing }
                if wireType == .lengthDelimited, field.isPackable {
                    let packed = try self.wire(fieldPath) { () throws(WireFormatError) in try reader.lengthDelimited() }
                    var packedReader = WireReader(packed)
                    while !packedReader.isAtEnd {
                        let elementPath = JSONPath.element(fieldPath, list.count)
                        list.append(try self.scalar(&packedReader, field: field, path: elementPath).value)
                    }
                } else {
                    guard wireType == Self.wireType(of: field.kind) else {
                        throw self.wrongWireType(wireType, field, fieldPath)
                    }
                    list.append(
                        try self.scalar(&reader, field: field, path: JSONPath.element(fieldPath, list.count)).value)
                }
                collected[index] = .list(list)
            } else {
                guard wireType == Self.wireType(of: field.kind) else {
                    throw self.wrongWireType(wireType, field, fieldPath)
                }
                let (value, isDefault) = try self.scalar(&reader, field: field, path: fieldPath)
                collected[index] = .scalar(value, isDefault: isDefault)
            }
        }
        var members: [JSONMember] = []
        for (index, field) in type.fields.enumerated() {
            let fieldPath = JSONPath.field(path, field.jsonName)
            switch collected[index] {
            case .scalar(let value, let isDefault)?:
                if field.hasPresence || !isDefault || self.emitDefaults {
                    members.append(JSONMember(field.jsonName, value))
                }
            case .message(let bytes)?:
                let type = self.pool.message(named: field.typeName!)!
                members.append(JSONMember(field.jsonName, try self.message(bytes[...], type: type, path: fieldPath)))
            case .list(let values)?:
                members.append(JSONMember(field.jsonName, .array(values)))
            case .map(let entries)?:
                members.append(JSONMember(field.jsonName, .object(entries)))
            case nil:
                guard self.emitDefaults, !field.hasPresence else { continue }
                if field.isMap {
                    members.append(JSONMember(field.jsonName, .object([])))
                } else if field.isRepeated {
                    members.append(JSONMember(field.jsonName, .array([])))
                } else {
                    members.append(JSONMember(field.jsonName, self.defaultValue(field)))
                }
            }
        }
        return .object(members)
    }

    private func mapEntry(_ bytes: ArraySlice<UInt8>, field: FieldDescriptor, path: String) throws(TranscodingError)
        -> JSONMember
    {
        let entryType = self.pool.message(named: field.typeName!)!
        guard let keyField = entryType.field(number: 1), let valueField = entryType.field(number: 2) else {
            throw self.fail(path, "the map entry type \(entryType.fullName) lacks its key or value field")
        }
        var key: JSONValue?
        var value: JSONValue?
        var valueBytes: [UInt8]?
        var reader = WireReader(bytes)
        while let (number, wireType) = try self.wire(path, { () throws(WireFormatError) in try reader.nextTag() }) {
            switch number {
            case 1:
                guard wireType == Self.wireType(of: keyField.kind) else {
                    throw self.wrongWireType(wireType, keyField, path)
                }
                key = try self.scalar(&reader, field: keyField, path: path).value
            case 2 where valueField.isMessage:
                guard wireType == .lengthDelimited else { throw self.wrongWireType(wireType, valueField, path) }
                let part = try self.wire(path) { () throws(WireFormatError) in try reader.lengthDelimited() }
                valueBytes = (valueBytes ?? []) + part
            case 2:
                guard wireType == Self.wireType(of: valueField.kind) else {
                    throw self.wrongWireType(wireType, valueField, path)
                }
                value = try self.scalar(&reader, field: valueField, path: path).value
            default:
                try self.wire(path) { () throws(WireFormatError) in try reader.skip(wireType, number: number) }
            }
        }
        let keyText: String
        switch key ?? self.defaultValue(keyField) {
        case .string(let text): keyText = text
        case .number(let text): keyText = text
        case .bool(let flag): keyText = flag ? "true" : "false"
        default: keyText = ""
        }
        let entryPath = JSONPath.key(path, keyText)
        if valueField.isMessage {
            let type = self.pool.message(named: valueField.typeName!)!
            value = try self.message((valueBytes ?? [])[...], type: type, path: entryPath)
        }
        return JSONMember(keyText, value ?? self.defaultValue(valueField))
    }

    private func wrongWireType(_ wireType: WireType, _ field: FieldDescriptor, _ path: String) -> TranscodingError {
        self.fail(
            path,
            "the bytes hold a \(wireType) value where the \(Self.kindName(field.kind)) field \(field.name) = "
                + "\(field.number) should be; do the descriptors match the server's?"
        )
    }

    // MARK: Scalars

    static func wireType(of kind: FieldKind) -> WireType {
        switch kind {
        case .int32, .int64, .uint32, .uint64, .sint32, .sint64, .bool, .enum: .varint
        case .fixed64, .sfixed64, .double: .fixed64
        case .fixed32, .sfixed32, .float: .fixed32
        case .string, .bytes, .message: .lengthDelimited
        case .group: .startGroup
        }
    }

    static func kindName(_ kind: FieldKind) -> String {
        switch kind {
        case .double: "double"
        case .float: "float"
        case .int64: "int64"
        case .uint64: "uint64"
        case .int32: "int32"
        case .fixed64: "fixed64"
        case .fixed32: "fixed32"
        case .bool: "bool"
        case .string: "string"
        case .group: "group"
        case .message: "message"
        case .bytes: "bytes"
        case .uint32: "uint32"
        case .enum: "enum"
        case .sfixed32: "sfixed32"
        case .sfixed64: "sfixed64"
        case .sint32: "sint32"
        case .sint64: "sint64"
        }
    }

    private func scalar(_ reader: inout WireReader, field: FieldDescriptor, path: String) throws(TranscodingError)
        -> (value: JSONValue, isDefault: Bool)
    {
        switch field.kind {
        case .int32:
            let value = Int32(
                truncatingIfNeeded: try self.wire(path) { () throws(WireFormatError) in try reader.varint() })
            return (.number(String(value)), value == 0)
        case .sint32:
            let raw = try self.wire(path) { () throws(WireFormatError) in try reader.varint() }
            let value = Int32(truncatingIfNeeded: WireReader.unZigZag(raw))
            return (.number(String(value)), value == 0)
        case .uint32:
            let value = UInt32(
                truncatingIfNeeded: try self.wire(path) { () throws(WireFormatError) in try reader.varint() })
            return (.number(String(value)), value == 0)
        case .int64:
            let value = Int64(bitPattern: try self.wire(path) { () throws(WireFormatError) in try reader.varint() })
            return (.string(String(value)), value == 0)
        case .sint64:
            let value = WireReader.unZigZag(try self.wire(path) { () throws(WireFormatError) in try reader.varint() })
            return (.string(String(value)), value == 0)
        case .uint64:
            let value = try self.wire(path) { () throws(WireFormatError) in try reader.varint() }
            return (.string(String(value)), value == 0)
        case .bool:
            let value = try self.wire(path) { () throws(WireFormatError) in try reader.varint() } != 0
            return (.bool(value), !value)
        case .enum:
            let number = Int32(
                truncatingIfNeeded: try self.wire(path) { () throws(WireFormatError) in try reader.varint() })
            return (self.enumValue(number, typeName: field.typeName!), number == 0)
        case .fixed32:
            let value = try self.wire(path) { () throws(WireFormatError) in try reader.fixed32() }
            return (.number(String(value)), value == 0)
        case .sfixed32:
            let value = Int32(bitPattern: try self.wire(path) { () throws(WireFormatError) in try reader.fixed32() })
            return (.number(String(value)), value == 0)
        case .float:
            let bits = try self.wire(path) { () throws(WireFormatError) in try reader.fixed32() }
            return (NumberText.json(Float(bitPattern: bits)), bits == 0)
        case .fixed64:
            let value = try self.wire(path) { () throws(WireFormatError) in try reader.fixed64() }
            return (.string(String(value)), value == 0)
        case .sfixed64:
            let value = Int64(bitPattern: try self.wire(path) { () throws(WireFormatError) in try reader.fixed64() })
            return (.string(String(value)), value == 0)
        case .double:
            let bits = try self.wire(path) { () throws(WireFormatError) in try reader.fixed64() }
            return (NumberText.json(Double(bitPattern: bits)), bits == 0)
        case .string:
            let bytes = try self.wire(path) { () throws(WireFormatError) in try reader.lengthDelimited() }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw self.fail(path, "the string is not valid UTF-8")
            }
            return (.string(text), text.isEmpty)
        case .bytes:
            let bytes = try self.wire(path) { () throws(WireFormatError) in try reader.lengthDelimited() }
            return (.string(Base64Text.encode(bytes)), bytes.isEmpty)
        case .message, .group:
            throw self.fail(path, "a message is not a scalar")
        }
    }

    private func enumValue(_ number: Int32, typeName: String) -> JSONValue {
        if typeName == WellKnownType.nullValue { return .null }
        if let name = self.pool.enumType(named: typeName)?.name(of: number) { return .string(name) }
        return .number(String(number))
    }

    /// The JSON of a field without presence that is not on the wire.
    private func defaultValue(_ field: FieldDescriptor) -> JSONValue {
        switch field.kind {
        case .int64, .uint64, .sint64, .fixed64, .sfixed64: .string("0")
        case .bool: .bool(false)
        case .string, .bytes: .string("")
        case .enum: self.enumValue(0, typeName: field.typeName!)
        case .message, .group: .null
        default: .number("0")
        }
    }

    // MARK: Well-known types

    /// Reads the fields of a small well-known message: number → (wire type, raw value).
    private func fields(_ bytes: ArraySlice<UInt8>, path: String) throws(TranscodingError)
        -> [(number: Int32, value: RawField)]
    {
        var fields: [(Int32, RawField)] = []
        var reader = WireReader(bytes)
        while let (number, wireType) = try self.wire(path, { () throws(WireFormatError) in try reader.nextTag() }) {
            let value: RawField
            switch wireType {
            case .varint: value = .varint(try self.wire(path) { () throws(WireFormatError) in try reader.varint() })
            case .fixed64: value = .fixed64(try self.wire(path) { () throws(WireFormatError) in try reader.fixed64() })
            case .fixed32: value = .fixed32(try self.wire(path) { () throws(WireFormatError) in try reader.fixed32() })
            case .lengthDelimited:
                value = .bytes(try self.wire(path) { () throws(WireFormatError) in try reader.lengthDelimited() })
            case .startGroup, .endGroup:
                try self.wire(path) { () throws(WireFormatError) in try reader.skip(wireType, number: number) }
                continue
            }
            fields.append((number, value))
        }
        return fields
    }

    private enum RawField {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(ArraySlice<UInt8>)

        var integer: Int64? {
            if case .varint(let value) = self { return Int64(bitPattern: value) }
            return nil
        }

        var bytes: ArraySlice<UInt8>? {
            if case .bytes(let value) = self { return value }
            return nil
        }
    }

    private func string(_ bytes: ArraySlice<UInt8>, path: String) throws(TranscodingError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw self.fail(path, "the string is not valid UTF-8")
        }
        return text
    }

    private func wellKnown(
        _ wellKnown: WellKnownType, _ bytes: ArraySlice<UInt8>, type: MessageDescriptor, path: String
    )
        throws(TranscodingError) -> JSONValue
    {
        switch wellKnown {
        case .timestamp, .duration:
            var seconds: Int64 = 0
            var nanos: Int32 = 0
            for (number, value) in try self.fields(bytes, path: path) {
                if number == 1, let integer = value.integer { seconds = integer }
                if number == 2, let integer = value.integer { nanos = Int32(truncatingIfNeeded: integer) }
            }
            if wellKnown == .timestamp {
                guard let text = TimeText.timestamp(seconds: seconds, nanos: nanos) else {
                    throw self.fail(
                        path, "the timestamp \(seconds) s \(nanos) ns is outside 0001-01-01 to 9999-12-31")
                }
                return .string(text)
            }
            guard let text = TimeText.duration(seconds: seconds, nanos: nanos) else {
                throw self.fail(path, "the duration \(seconds) s \(nanos) ns is out of range or mixes signs")
            }
            return .string(text)
        case .doubleValue, .floatValue, .int64Value, .uint64Value, .int32Value, .uint32Value, .boolValue,
            .stringValue, .bytesValue:
            guard let valueField = type.field(number: 1) else { return .object([]) }
            let object = try self.message(bytes, type: type, path: path, special: false)
            return object[valueField.jsonName] ?? self.defaultValue(valueField)
        case .struct:
            var members: [JSONMember] = []
            for (number, value) in try self.fields(bytes, path: path) {
                guard number == 1, let entry = value.bytes else { continue }
                var key = ""
                var valueBytes: [UInt8] = []
                for (entryNumber, entryValue) in try self.fields(entry, path: path) {
                    if entryNumber == 1, let raw = entryValue.bytes { key = try self.string(raw, path: path) }
                    if entryNumber == 2, let raw = entryValue.bytes { valueBytes += raw }
                }
                let member = JSONMember(
                    key, try self.value(valueBytes[...], path: JSONPath.key(path, key)))
                if let at = members.firstIndex(where: { $0.key == key }) {
                    members[at] = member
                } else {
                    members.append(member)
                }
            }
            return .object(members)
        case .listValue:
            return try self.listValue(bytes, path: path)
        case .value:
            return try self.value(bytes, path: path)
        case .fieldMask:
            var paths: [String] = []
            for (number, value) in try self.fields(bytes, path: path) {
                guard number == 1, let raw = value.bytes else { continue }
                paths.append(FieldDescriptor.defaultJSONName(try self.string(raw, path: path)))
            }
            return .string(paths.joined(separator: ","))
        case .any:
            return try self.any(bytes, path: path)
        case .empty:
            return .object([])
        }
    }

    private func listValue(_ bytes: ArraySlice<UInt8>, path: String) throws(TranscodingError) -> JSONValue {
        var elements: [JSONValue] = []
        for (number, value) in try self.fields(bytes, path: path) {
            guard number == 1, let raw = value.bytes else { continue }
            elements.append(try self.value(raw, path: JSONPath.element(path, elements.count)))
        }
        return .array(elements)
    }

    private func value(_ bytes: ArraySlice<UInt8>, path: String) throws(TranscodingError) -> JSONValue {
        var result: JSONValue = .null
        for (number, value) in try self.fields(bytes, path: path) {
            switch (number, value) {
            case (1, _): result = .null
            case (2, .fixed64(let bits)):
                let number = Double(bitPattern: bits)
                guard number.isFinite else {
                    throw self.fail(path, "a google.protobuf.Value holds \(number), which JSON cannot write")
                }
                result = NumberText.json(number)
            case (3, .bytes(let raw)): result = .string(try self.string(raw, path: path))
            case (4, .varint(let flag)): result = .bool(flag != 0)
            case (5, .bytes(let raw)):
                guard let structType = self.pool.message(named: WellKnownType.struct.rawValue) else {
                    throw self.missing(WellKnownType.struct.rawValue, path)
                }
                result = try self.message(raw, type: structType, path: path)
            case (6, .bytes(let raw)): result = try self.listValue(raw, path: path)
            default: continue
            }
        }
        return result
    }

    private func any(_ bytes: ArraySlice<UInt8>, path: String) throws(TranscodingError) -> JSONValue {
        var typeURL = ""
        var value: [UInt8] = []
        for (number, field) in try self.fields(bytes, path: path) {
            if number == 1, let raw = field.bytes { typeURL = try self.string(raw, path: path) }
            if number == 2, let raw = field.bytes { value = Array(raw) }
        }
        if typeURL.isEmpty, value.isEmpty { return .object([]) }
        let typeName = typeURL.split(separator: "/").last.map(String.init) ?? typeURL
        guard let type = self.pool.message(named: typeName) else { throw self.missing(typeName, path) }
        let inner = try self.message(value[...], type: type, path: path)
        var members = [JSONMember("@type", .string(typeURL))]
        if type.wellKnownType != nil, type.wellKnownType != .empty {
            members.append(JSONMember("value", inner))
        } else if case .object(let fields) = inner {
            members += fields
        }
        return .object(members)
    }

    private func missing(_ typeName: String, _ path: String) -> TranscodingError {
        self.fail(path, "the type \(typeName) is not among the descriptors", missingType: typeName)
    }
}
