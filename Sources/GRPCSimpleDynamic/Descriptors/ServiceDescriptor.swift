import SwiftProtobuf

/// A service and its methods.
package final class ServiceDescriptor: Sendable {
    /// One method of a service.
    package struct Method: Sendable {
        /// The method's name (`UnaryCall`).
        package let name: String
        /// The service's full name (`grpc.testing.TestService`).
        package let serviceName: String
        /// The full name of the request message.
        package let inputType: String
        /// The full name of the response message.
        package let outputType: String
        /// Whether the client sends a stream of requests.
        package let clientStreaming: Bool
        /// Whether the server sends a stream of responses.
        package let serverStreaming: Bool

        /// `grpc.testing.TestService.UnaryCall`.
        package var fullName: String { "\(self.serviceName).\(self.name)" }
        /// The HTTP/2 path of its calls, `/grpc.testing.TestService/UnaryCall`.
        package var path: String { "/\(self.serviceName)/\(self.name)" }
    }

    /// The full name, without a leading dot.
    package let fullName: String
    /// The file that declares it.
    package let fileName: String
    /// Its methods, in declaration order.
    package let methods: [Method]
    /// The service as the descriptor declared it (for printing).
    package let proto: Google_Protobuf_ServiceDescriptorProto

    init(fullName: String, fileName: String, methods: [Method], proto: Google_Protobuf_ServiceDescriptorProto) {
        self.fullName = fullName
        self.fileName = fileName
        self.methods = methods
        self.proto = proto
    }

    /// The method named `name`.
    package func method(named name: String) -> Method? {
        self.methods.first { $0.name == name }
    }
}
