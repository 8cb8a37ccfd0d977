import SwiftProtobuf

/// Rich error details on the wire: a serialized `google.rpc.Status` in the
/// `grpc-status-details-bin` trailer, base64 like every `-bin` value.
///
/// Its code and message repeat `grpc-status` and `grpc-message`; a reader takes those two
/// from the plain trailers and only the details from here.
enum StatusDetails {
    static let headerName = "grpc-status-details-bin"

    /// The trailer value for `status`, or nil when it has no details.
    static func encode(_ status: Status) -> String? {
        guard !status.details.isEmpty else { return nil }
        let proto = Google_Rpc_Status.with {
            $0.code = Int32(status.code.rawValue)
            $0.message = status.message
            $0.details = status.details
        }
        guard let bytes: [UInt8] = try? proto.serializedBytes() else { return nil }
        return Base64.encode(bytes)
    }

    /// The details in a received trailer value, or what is wrong with it.
    static func decode(_ value: String) -> Result<[Google_Protobuf_Any], DecodingProblem> {
        guard let bytes = Base64.decode(Substring(value)) else {
            return .failure(DecodingProblem(description: "it is not base64"))
        }
        do {
            return .success(try Google_Rpc_Status(serializedBytes: bytes).details)
        } catch {
            return .failure(DecodingProblem(description: "it is not a google.rpc.Status (\(error))"))
        }
    }

    /// Why a `grpc-status-details-bin` value could not be read.
    struct DecodingProblem: Error, CustomStringConvertible {
        var description: String
    }
}
