/// A load-balancing policy: which subchannels a channel keeps, and which one each call
/// goes to.
///
/// The channel calls it on its event loop: with the resolver's addresses, with each state
/// change of the subchannels it made, when a call finds the channel idle, and to pick a
/// subchannel for each call. It answers through its `LoadBalancerHelper`: making and
/// dropping subchannels, and setting the channel's state, after which the channel picks
/// again for the calls it holds.
///
/// gRPC Simple has `pick_first`, `round_robin` and `least_request`; a policy of your own
/// comes in through `LoadBalancingConfiguration.custom`.
public protocol LoadBalancingPolicy: AnyObject {
    /// The resolver's addresses: all of them, each time they change.
    func update(addresses: [ServerAddress])
    /// A subchannel this policy made changed state.
    func subchannel(_ subchannel: Subchannel, didChangeTo state: ConnectivityState)
    /// A call found the channel idle: start connecting.
    func exitIdle()
    /// Where a call to `method` goes.
    func pick(for method: MethodDescriptor) -> PickResult
    /// The channel is closing or going idle: the helper closes the subchannels; drop them.
    func shutdown()
}

/// Makes a load-balancing policy for a channel.
public protocol LoadBalancingPolicyFactory: Sendable {
    /// The policy's name, as service configs write it (`round_robin`).
    var name: String { get }
    /// A new policy that works through `helper`.
    func makePolicy(helper: LoadBalancerHelper) -> any LoadBalancingPolicy
}
