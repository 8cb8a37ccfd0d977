/// What a load-balancing policy can ask of its channel. Use it on the channel's event loop
/// (the policy is only ever called there).
public final class LoadBalancerHelper {
    private unowned let core: ChannelCore

    init(core: ChannelCore) {
        self.core = core
    }

    /// A new subchannel to `address`, idle: call `connect()` on it.
    public func makeSubchannel(address: ServerAddress) -> Subchannel {
        self.core.makeSubchannel(address: address)
    }

    /// Stops using `subchannel`: its connection closes once its calls have ended.
    public func removeSubchannel(_ subchannel: Subchannel) {
        self.core.removeSubchannel(subchannel)
    }

    /// Sets the channel's state (with the error calls fail with in TRANSIENT_FAILURE); the
    /// channel then picks again for every call it holds.
    public func updateState(_ state: ConnectivityState, failure: RPCError? = nil) {
        self.core.policyUpdatedState(state, failure: failure)
    }

    /// Asks the resolver for fresh addresses.
    public func requestResolution() {
        self.core.requestResolution()
    }

    /// Where the channel connects, for messages: `dns:localhost:50051`.
    public var target: String { self.core.targetDescription }
}
