import GRPCSimple
import SwiftProtobuf

/// Answers one `ServerReflectionRequest` (in its v1 form) from a `DescriptorIndex`, as
/// grpc/grpc `doc/server-reflection.md` asks: every request gets one response that echoes
/// it; what is not known gets an `error_response` (NOT_FOUND naming it), never a failed call.
struct ReflectionResponder: Sendable {
    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    let index: DescriptorIndex
    /// Sorted fully qualified names of the served services.
    let serviceNames: [String]

    func answer(_ request: Request) -> Response {
        var response = Response()
        response.validHost = request.host
        response.originalRequest = request
        switch request.messageRequest {
        case .fileByFilename(let name):
            response.messageResponse = self.files(containing: name, what: "file '\(name)'") { $0 }
        case .fileContainingSymbol(let symbol):
            // Tolerate the leading dot of a name copied from a descriptor (".pkg.Message").
            let symbol = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
            response.messageResponse = self.files(containing: symbol, what: "symbol '\(symbol)'") {
                self.index.symbols[$0]?.file
            }
        case .fileContainingExtension(let request):
            let type = request.containingType
            response.messageResponse = self.files(
                containing: type,
                what: "extension \(request.extensionNumber) of '\(type)'"
            ) { self.index.extensions[$0]?[request.extensionNumber] }
        case .allExtensionNumbersOfType(let type):
            response.messageResponse = self.extensionNumbers(of: type)
        case .listServices:
            response.messageResponse = .listServicesResponse(
                .with { list in list.service = self.serviceNames.map { name in .with { $0.name = name } } }
            )
        case nil:
            response.messageResponse = Self.error(
                .invalidArgument,
                "the request sets none of file_by_filename, file_containing_symbol, "
                    + "file_containing_extension, all_extension_numbers_of_type, list_services"
            )
        }
        return response
    }

    /// The file `lookUp(key)` names and its imports, or NOT_FOUND naming `what`.
    private func files(
        containing key: String,
        what: String,
        lookUp: (String) -> String?
    ) -> Response.OneOf_MessageResponse {
        guard let file = lookUp(key), let files = self.index.fileWithDependencies(file) else {
            return Self.error(.notFound, "\(what) not found")
        }
        return .fileDescriptorResponse(.with { $0.fileDescriptorProto = files })
    }

    /// The extension numbers of a known message (possibly none), as grpc-go answers.
    private func extensionNumbers(of type: String) -> Response.OneOf_MessageResponse {
        guard self.index.symbols[type]?.kind == .message else {
            return Self.error(.notFound, "message type '\(type)' not found")
        }
        return .allExtensionNumbersResponse(
            .with {
                $0.baseTypeName = type
                $0.extensionNumber = (self.index.extensions[type] ?? [:]).keys.sorted()
            }
        )
    }

    private static func error(_ code: StatusCode, _ message: String) -> Response.OneOf_MessageResponse {
        .errorResponse(
            .with {
                $0.errorCode = Int32(code.rawValue)
                $0.errorMessage = message
            }
        )
    }
}
