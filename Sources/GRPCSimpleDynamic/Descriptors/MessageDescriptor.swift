import SwiftProtobuf

/// A message type: its fields (by number, and by proto or JSON name), its oneofs, and whether
/// it is a map entry or a well-known type with a JSON form of its own.
package final class MessageDescriptor: Sendable {
    /// The full name, without a leading dot (`grpc.testing.SimpleRequest`).
    package let fullName: String
    /// The file that declares it.
    package let fileName: String
    /// Its fields in declaration order.
    package let fields: [FieldDescriptor]
    /// Its oneofs, synthetic ones (proto3 `optional`) included.
    package let oneofs: [OneofDescriptor]
    /// The `google.protobuf` type it is, when it has a JSON form of its own.
    package let wellKnownType: WellKnownType?
    /// The message as the descriptor declared it (for printing).
    package let proto: Google_Protobuf_DescriptorProto
    private let indexByNumber: [Int32: Int]
    private let indexByName: [String: Int]

    init(fullName: String, fileName: String, fields: [FieldDescriptor], proto: Google_Protobuf_DescriptorProto) {
        self.fullName = fullName
        self.fileName = fileName
        self.fields = fields
        self.proto = proto
        self.wellKnownType = WellKnownType(rawValue: fullName)
        var oneofs: [OneofDescriptor] = []
        for (index, oneof) in proto.oneofDecl.enumerated() {
            let members = proto.field.indices.filter {
                proto.field[$0].hasOneofIndex && proto.field[$0].oneofIndex == Int32(index)
            }
            let isSynthetic = members.count == 1 && proto.field[members[0]].proto3Optional
            oneofs.append(OneofDescriptor(name: oneof.name, fieldIndices: members, isSynthetic: isSynthetic))
        }
        self.oneofs = oneofs
        var byNumber: [Int32: Int] = [:]
        var byName: [String: Int] = [:]
        for (index, field) in fields.enumerated() {
            byNumber[field.number] = byNumber[field.number] ?? index
            byName[field.jsonName] = byName[field.jsonName] ?? index
        }
        // Proto names win over another field's JSON name; a group is also known by its
        // type's name, as text format and some JSON encoders write it.
        for (index, field) in fields.enumerated() {
            if field.proto.type == .group, let typeName = field.typeName, let last = typeName.split(separator: ".").last
            {
                byName[String(last)] = byName[String(last)] ?? index
            }
        }
        for (index, field) in fields.enumerated() { byName[field.name] = index }
        self.indexByNumber = byNumber
        self.indexByName = byName
    }

    /// Whether it is the entry type of a map field.
    package var isMapEntry: Bool { self.proto.options.mapEntry }

    /// The short name (`SimpleRequest`).
    package var name: String { self.proto.name }

    /// The field numbered `number`.
    package func field(number: Int32) -> FieldDescriptor? {
        self.indexByNumber[number].map { self.fields[$0] }
    }

    /// The index in `fields` of the field numbered `number`.
    package func fieldIndex(number: Int32) -> Int? {
        self.indexByNumber[number]
    }

    /// The field whose proto name or JSON name is `name`.
    package func field(named name: String) -> FieldDescriptor? {
        self.indexByName[name].map { self.fields[$0] }
    }
}
