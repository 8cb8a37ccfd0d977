/// Which load-balancing policy a channel uses.
///
/// - `pickFirst`: one connection, to the first address that answers (the default, as in
///   every gRPC): for a single server, or servers behind a proxy that balances.
/// - `roundRobin`: a connection to every address, calls spread evenly: for replicas behind
///   DNS or a Kubernetes headless service.
/// - `leastRequest`: like `roundRobin`, but each call goes to the less busy of two (or more)
///   replicas picked at random: when calls differ much in cost.
/// - `outlierDetection`: another policy, except for the addresses whose calls fail much
///   more than the others' (gRFC A50), which it stops using for a while.
/// - `custom`: a policy of your own.
public struct LoadBalancingConfiguration: Sendable {
    let factory: any LoadBalancingPolicyFactory

    /// The policy's name, as service configs write it (`pick_first`, `round_robin`, ...).
    public var name: String { self.factory.name }

    /// `pick_first`, trying the addresses in the resolver's order.
    public static let pickFirst = LoadBalancingConfiguration(factory: PickFirstPolicyFactory())

    /// `pick_first` (gRFC A62), shuffling the addresses first when `shuffleAddressList`, so
    /// that clients given the same list spread over it.
    public static func pickFirst(shuffleAddressList: Bool) -> LoadBalancingConfiguration {
        LoadBalancingConfiguration(factory: PickFirstPolicyFactory(shuffleAddressList: shuffleAddressList))
    }

    /// `round_robin`.
    public static let roundRobin = LoadBalancingConfiguration(factory: RoundRobinPolicyFactory())

    /// `least_request` (gRFC A48) comparing `choiceCount` random replicas per call (2 to 10).
    public static func leastRequest(choiceCount: Int = 2) -> LoadBalancingConfiguration {
        LoadBalancingConfiguration(factory: LeastRequestPolicyFactory(choiceCount: min(max(choiceCount, 2), 10)))
    }

    /// `outlier_detection` (gRFC A50) around `child`: calls go as `child` picks, except to
    /// addresses `outlierDetection` ejects for failing more than the others.
    public static func outlierDetection(
        _ outlierDetection: OutlierDetection,
        child: LoadBalancingConfiguration
    ) -> LoadBalancingConfiguration {
        LoadBalancingConfiguration(
            factory: OutlierDetectionPolicyFactory(configuration: outlierDetection, child: child.factory))
    }

    /// A policy of your own.
    public static func custom(_ factory: any LoadBalancingPolicyFactory) -> LoadBalancingConfiguration {
        LoadBalancingConfiguration(factory: factory)
    }
}
