import SwiftProtobuf

/// An enum: its values by name and by number.
package final class EnumDescriptor: Sendable {
    /// The full name, without a leading dot (`grpc.testing.PayloadType`).
    package let fullName: String
    /// The file that declares it.
    package let fileName: String
    /// Its values in declaration order (aliases included).
    package let values: [(name: String, number: Int32)]
    /// A closed enum (proto2, or editions' CLOSED) accepts only its declared numbers.
    package let isClosed: Bool
    /// The enum as the descriptor declared it (for printing).
    package let proto: Google_Protobuf_EnumDescriptorProto

    init(fullName: String, fileName: String, isClosed: Bool, proto: Google_Protobuf_EnumDescriptorProto) {
        self.fullName = fullName
        self.fileName = fileName
        self.isClosed = isClosed
        self.proto = proto
        self.values = proto.value.map { ($0.name, $0.number) }
    }

    /// The first value's name with `number`; nil for a number the enum does not declare.
    package func name(of number: Int32) -> String? {
        self.values.first { $0.number == number }?.name
    }

    /// The number of the value named `name`.
    package func number(of name: String) -> Int32? {
        self.values.first { $0.name == name }?.number
    }
}
