/// What a target resolved to: the addresses of its servers, and a service config when the
/// resolver found one.
public struct NameResolution: Sendable, Hashable {
    /// Where the servers listen; the load-balancing policy makes one subchannel per address.
    public var addresses: [ServerAddress]
    /// A service config (JSON) that came with the addresses; nil: none, the channel's
    /// default applies.
    public var serviceConfig: String?

    /// A resolution to `addresses`, with an optional service config (JSON).
    public init(addresses: [ServerAddress], serviceConfig: String? = nil) {
        self.addresses = addresses
        self.serviceConfig = serviceConfig
    }
}
