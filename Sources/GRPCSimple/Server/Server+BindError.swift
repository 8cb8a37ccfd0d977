import NIOCore

extension Server {
    /// `start` could not listen on its address: the port is taken, the address is not one of
    /// this machine's, the port needs privileges, the socket path is not writable. It is not an
    /// RPC status: no call was made.
    ///
    /// ```swift
    /// do {
    ///     try await server.start(host: "0.0.0.0", port: 50051)
    /// } catch let error as Server.BindError {
    ///     print(error)  // could not listen on 0.0.0.0:50051: Address already in use (errno 98)
    /// }
    /// ```
    public struct BindError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The address asked for: `0.0.0.0:50051`, `[::1]:50051` or `unix:/path`.
        public var address: String
        /// The operating system's error number (`EADDRINUSE`, `EACCES`, ...), when it gave one.
        public var errorNumber: Int32?
        /// Why, in words: `Address already in use (errno 98)`.
        public var reason: String

        /// A bind failure at `address`.
        public init(address: String, errorNumber: Int32?, reason: String) {
            self.address = address
            self.errorNumber = errorNumber
            self.reason = reason
        }

        init(address: String, error: any Error) {
            self.init(
                address: address,
                errorNumber: (error as? IOError)?.errnoCode,
                reason: NetworkDescription.error(error)
            )
        }

        /// `could not listen on 0.0.0.0:50051: Address already in use (errno 98)`
        public var description: String {
            "could not listen on \(self.address): \(self.reason)"
        }
    }
}
