extension MethodDescriptor {
    /// A method's `idempotency_level` option (`google/protobuf/descriptor.proto`).
    public enum Idempotency: Sendable, Hashable {
        /// Nothing is known: calling twice may do twice what calling once does.
        case unknown
        /// Calling has no side effects (a query): safe to call again, and to call with an
        /// HTTP GET (Connect).
        case noSideEffects
        /// Calling twice has the effect of calling once.
        case idempotent
    }
}
