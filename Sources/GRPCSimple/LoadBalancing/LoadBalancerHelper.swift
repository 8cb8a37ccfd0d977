import NIOCore

/// What a load-balancing policy can ask of its channel. Use it on the channel's event loop
/// (the policy is only ever called there).
///
/// A policy that wraps another (outlier detection) gives its child a helper of its own, so
/// that it sees the subchannels the child makes and the states the child reports.
public final class LoadBalancerHelper {
    private unowned let parent: any LoadBalancerHelperParent

    init(parent: any LoadBalancerHelperParent) {
        self.parent = parent
    }

    /// A new subchannel to `address`, idle: call `connect()` on it.
    public func makeSubchannel(address: ServerAddress) -> Subchannel {
        self.parent.makeSubchannel(address: address)
    }

    /// Stops using `subchannel`: its connection closes once its calls have ended.
    public func removeSubchannel(_ subchannel: Subchannel) {
        self.parent.removeSubchannel(subchannel)
    }

    /// Sets the channel's state (with the error calls fail with in TRANSIENT_FAILURE); the
    /// channel then picks again for every call it holds.
    public func updateState(_ state: ConnectivityState, failure: RPCError? = nil) {
        self.parent.policyUpdatedState(state, failure: failure)
    }

    /// Asks the resolver for fresh addresses.
    public func requestResolution() {
        self.parent.requestResolution()
    }

    /// Where the channel connects, for messages: `dns:localhost:50051`.
    public var target: String { self.parent.targetDescription }

    /// The channel's event loop, where the policy runs: for the timers of this library's
    /// policies (not public: the public API has no NIO types).
    var eventLoop: any EventLoop { self.parent.eventLoop }
}

/// What serves a `LoadBalancerHelper`: the channel, or a policy that wraps its child's.
protocol LoadBalancerHelperParent: AnyObject {
    var targetDescription: String { get }
    var eventLoop: any EventLoop { get }
    func makeSubchannel(address: ServerAddress) -> Subchannel
    func removeSubchannel(_ subchannel: Subchannel)
    func policyUpdatedState(_ state: ConnectivityState, failure: RPCError?)
    func requestResolution()
}
