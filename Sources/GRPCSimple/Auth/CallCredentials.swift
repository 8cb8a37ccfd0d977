/// Metadata a client attaches to its calls to say who it is: a bearer token, an API
/// key, a signed header.
///
/// The closure runs before each call starts, so it can refresh a token that expires
/// (cache it yourself if fetching is slow). Set it for every call of a channel
/// (`GRPCChannel.Configuration.credentials`) or for one call (`CallOptions.credentials`,
/// which wins).
///
/// ```swift
/// var configuration = GRPCChannel.Configuration()
/// configuration.credentials = .bearerToken { try await tokenStore.currentToken() }
/// ```
///
/// They are only sent over TLS or to this machine (a Unix socket, `localhost`,
/// 127.0.0.0/8, `::1`): a call that would send them in plaintext across the network
/// fails with UNAUTHENTICATED before anything is sent, unless they were made with
/// `requiresTransportSecurity: false`. (grpc-go is stricter: its token credentials refuse
/// every plaintext connection, loopback included.)
public struct CallCredentials: Sendable {
    private let fetch: @Sendable (_ path: String) async throws -> Metadata
    /// Whether the credentials may only travel over TLS (or stay on this machine).
    public let requiresTransportSecurity: Bool

    /// Credentials made by `fetch`, which gets the method path (`/package.Service/Method`)
    /// and returns the metadata to add. Throw an `RPCError` to fail the call with it;
    /// other errors fail it with UNAVAILABLE.
    ///
    /// - Parameters:
    ///   - requiresTransportSecurity: Refuse to send them in plaintext to another machine.
    ///     Default true; pass false only for metadata that is no secret.
    ///   - fetch: Returns the metadata for a call to the method path it is given.
    public init(
        requiresTransportSecurity: Bool = true,
        _ fetch: @escaping @Sendable (_ path: String) async throws -> Metadata
    ) {
        self.requiresTransportSecurity = requiresTransportSecurity
        self.fetch = fetch
    }

    /// `authorization: Bearer <token>`, with a fixed token.
    public static func bearerToken(_ token: String) -> CallCredentials {
        CallCredentials { _ in ["authorization": "Bearer \(token)"] }
    }

    /// `authorization: Bearer <token>`, with the token `token()` returns for each call.
    public static func bearerToken(_ token: @escaping @Sendable () async throws -> String) -> CallCredentials {
        CallCredentials { _ in ["authorization": "Bearer \(try await token())"] }
    }

    /// The metadata for one call; failures become the call's status.
    func metadata(for path: String) async throws -> Metadata {
        do {
            return try await self.fetch(path)
        } catch let error as RPCError {
            throw error
        } catch {
            // grpc-go's choice: the call could not be sent, so the server is not to blame.
            throw RPCError(.unavailable, "could not get the call credentials for \(path): \(error)")
        }
    }
}
