import ArgumentParser
import GRPCSimple

/// Runs a subcommand's work and turns whatever it throws into the one-line report and the
/// exit status the command line promises: `ERROR: CODE_NAME: message` on standard error, the
/// status code as the exit status.
enum CommandFailure {
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            let failure = Self.rpcError(error)
            var message = failure.message.isEmpty ? "(the server sent no message)" : Self.oneLine(failure.message)
            if failure.code == .unavailable, message.contains("TLS handshake failed"),
                message.contains("WRONG_VERSION_NUMBER")
            {
                message += " (the server does not speak TLS there; for plaintext, add --plaintext)"
            }
            Output.error("ERROR: \(failure.code.name): \(message)")
            throw ExitCode(Int32(failure.code.rawValue))
        }
    }

    /// Every error as a status: RPC errors as they are, input and schema errors as
    /// INVALID_ARGUMENT, anything else as UNKNOWN.
    static func rpcError(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: error
        case let error as Server.BindError: RPCError(.unavailable, error.description)
        default: RPCError(.unknown, "\(error)")
        }
    }

    /// Messages from servers may hold newlines; the report is one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
