import SwiftProtobuf

/// The type of a field as `descriptor.proto` names it (`.int32`, `.message`, `.enum`, ...).
package typealias FieldKind = Google_Protobuf_FieldDescriptorProto.TypeEnum

/// One field of a message, with what the binary and JSON formats need resolved: its JSON
/// name, the full name of its message or enum type, whether it has presence, whether its
/// repeated values are packed, and whether it is a map.
package struct FieldDescriptor: Sendable {
    /// The name in the `.proto` file (`response_size`).
    package let name: String
    /// The name in JSON (`responseSize`): `json_name`, or the name in lowerCamelCase.
    package let jsonName: String
    /// The field number.
    package let number: Int32
    /// The field's type.
    package let kind: FieldKind
    /// `repeated` (maps included).
    package let isRepeated: Bool
    /// proto2's `required`.
    package let isRequired: Bool
    /// The full name of the message or enum type, without a leading dot; nil for scalars.
    package let typeName: String?
    /// The index of the real (not synthetic) oneof the field belongs to.
    package let oneofIndex: Int?
    /// Whether an absent field differs from one set to its default: message fields, oneof
    /// members, proto2 fields, proto3 `optional`, and editions' explicit presence.
    package let hasPresence: Bool
    /// Whether repeated scalar values are written packed (proto3 and editions by default).
    package let isPacked: Bool
    /// Whether a message value is written as a group (proto2 groups, editions' DELIMITED).
    package let isDelimited: Bool
    /// Whether it is a `map<K, V>` field (repeated entries of a map-entry message).
    package let isMap: Bool
    /// The field as the descriptor declared it (for printing).
    package let proto: Google_Protobuf_FieldDescriptorProto

    /// Whether the field holds a message (or a group).
    package var isMessage: Bool { self.kind == .message || self.kind == .group }

    /// Whether the field's values can be packed (numbers, bools and enums).
    package var isPackable: Bool {
        switch self.kind {
        case .string, .bytes, .message, .group: false
        default: true
        }
    }

    /// What protoc writes in `json_name` when a file does not set it: the name with each
    /// underscore dropped and the letter after it capitalised.
    package static func defaultJSONName(_ name: String) -> String {
        var result = ""
        var capitalizeNext = false
        for character in name {
            if character == "_" {
                capitalizeNext = true
            } else if capitalizeNext {
                result += character.uppercased()
                capitalizeNext = false
            } else {
                result.append(character)
            }
        }
        return result
    }
}
