/// A service config (grpc/grpc `doc/service_config.md`): how a channel balances its calls
/// and what applies to each method — timeouts, wait-for-ready, message sizes, retries and
/// hedging — plus retry throttling and client-side health checking.
///
/// Set one on a channel as its default (`GRPCChannel.Configuration.serviceConfig`); a
/// resolver may bring its own, which replaces the default while the resolver gives it.
///
/// ```swift
/// configuration.serviceConfig = try ServiceConfig(json: """
///     {
///       "loadBalancingConfig": [{"round_robin": {}}],
///       "methodConfig": [{
///         "name": [{"service": "AsillaService"}],
///         "timeout": "2s",
///         "retryPolicy": {
///           "maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
///           "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]
///         }
///       }]
///     }
///     """)
/// ```
public struct ServiceConfig: Sendable {
    /// The load-balancing policy; nil leaves the channel's own.
    public var loadBalancing: LoadBalancingConfiguration?
    /// What applies to which methods.
    public var methodConfigs: [MethodConfig]
    /// The brake on retries and hedges; nil: none.
    public var retryThrottling: RetryThrottling?
    /// With a service name, each connection watches `grpc.health.v1.Health` for it, and
    /// calls go only to servers that report SERVING (gRFC A17). `""` watches the server's
    /// overall health.
    public var healthCheckServiceName: String?

    /// A service config built in code.
    public init(
        loadBalancing: LoadBalancingConfiguration? = nil,
        methodConfigs: [MethodConfig] = [],
        retryThrottling: RetryThrottling? = nil,
        healthCheckServiceName: String? = nil
    ) {
        self.loadBalancing = loadBalancing
        self.methodConfigs = methodConfigs
        self.retryThrottling = retryThrottling
        self.healthCheckServiceName = healthCheckServiceName
    }

    /// Reads a service config from its JSON form. Throws INVALID_ARGUMENT naming the field
    /// and what is wrong with it, e.g. `invalid service config:
    /// methodConfig[0].retryPolicy.maxAttempts must be a whole number of at least 2`.
    public init(json: String) throws(RPCError) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(json)
        } catch {
            throw RPCError(.invalidArgument, "invalid service config: not JSON: \(error)")
        }
        let reader = try ConfigReader(document, path: "")
        var methodConfigs: [MethodConfig] = []
        var seen: Set<MethodConfig.Name> = []
        for (index, element) in (try reader.array("methodConfig") ?? []).enumerated() {
            let config = try MethodConfig(try ConfigReader(element, path: "methodConfig[\(index)]"))
            for name in config.names where !seen.insert(name).inserted {
                throw ConfigReader.error(
                    "methodConfig[\(index)].name",
                    "repeats \(name.service.isEmpty ? "the default name {}" : "\(name.service)/\(name.method ?? "")")"
                )
            }
            methodConfigs.append(config)
        }
        self.init(
            loadBalancing: try Self.loadBalancing(reader),
            methodConfigs: methodConfigs,
            retryThrottling: try reader.object("retryThrottling").map { (object) throws(RPCError) in
                try RetryThrottling(object)
            },
            healthCheckServiceName: try reader.object("healthCheckConfig")?.string("serviceName")
        )
    }

    /// `loadBalancingConfig`: the first policy of the list that this library has; or the
    /// older `loadBalancingPolicy` name.
    private static func loadBalancing(_ reader: ConfigReader) throws(RPCError) -> LoadBalancingConfiguration? {
        if let list = try reader.array("loadBalancingConfig") {
            if let policy = try Self.policy(from: list, path: "loadBalancingConfig") {
                return policy
            }
        }
        if let name = try reader.string("loadBalancingPolicy") {
            switch name.lowercased() {
            case "pick_first": return .pickFirst
            case "round_robin": return .roundRobin
            default:
                throw ConfigReader.error("loadBalancingPolicy", "names a policy this client does not have: '\(name)'")
            }
        }
        return nil
    }

    /// The first policy of a `loadBalancingConfig` list (at `path`) that this library has;
    /// nil for an empty list.
    private static func policy(from list: [JSONValue], path: String) throws(RPCError) -> LoadBalancingConfiguration? {
        var names: [String] = []
        for (index, element) in list.enumerated() {
            let entry = try ConfigReader(element, path: "\(path)[\(index)]")
            guard entry.object.count == 1, let (name, config) = entry.object.first else {
                throw ConfigReader.error(entry.path, "must hold exactly one policy, as {\"round_robin\": {}}")
            }
            names.append(name)
            let settings = try ConfigReader(config, path: "\(entry.path).\(name)")
            switch name {
            case "pick_first":
                return .pickFirst(shuffleAddressList: try settings.bool("shuffleAddressList") ?? false)
            case "round_robin":
                return .roundRobin
            case "least_request", "least_request_experimental":
                let choiceCount = try settings.integer("choiceCount") ?? 2
                guard choiceCount >= 2 else {
                    throw ConfigReader.error(settings.field("choiceCount"), "must be at least 2")
                }
                return .leastRequest(choiceCount: choiceCount)
            case "outlier_detection", "outlier_detection_experimental":
                return try Self.outlierDetection(settings)
            default:
                continue
            }
        }
        if !names.isEmpty {
            throw ConfigReader.error(
                path,
                "names no policy this client has (\(names.joined(separator: ", "))); it has pick_first, round_robin, least_request, outlier_detection"
            )
        }
        return nil
    }

    /// `outlier_detection` (gRFC A50): its settings and its `childPolicy` list.
    private static func outlierDetection(_ settings: ConfigReader) throws(RPCError) -> LoadBalancingConfiguration {
        func fieldError(_ reader: ConfigReader) -> (String, String) -> RPCError {
            { field, problem in ConfigReader.error(reader.field(field), problem) }
        }
        func count(_ reader: ConfigReader, _ key: String, _ defaultValue: Int) throws(RPCError) -> Int {
            try reader.integer(key) ?? defaultValue
        }
        let successRate = try settings.object("successRateEjection").map {
            (reader) throws(RPCError) -> OutlierDetection.SuccessRateEjection in
            // What a field left out means: gRFC A50's defaults, as the Swift initialiser has them.
            let defaults = try OutlierDetection.SuccessRateEjection()
            return try OutlierDetection.SuccessRateEjection(
                stdevFactor: try count(reader, "stdevFactor", defaults.stdevFactor),
                enforcementPercentage: try count(reader, "enforcementPercentage", defaults.enforcementPercentage),
                minimumHosts: try count(reader, "minimumHosts", defaults.minimumHosts),
                requestVolume: try count(reader, "requestVolume", defaults.requestVolume),
                fieldError: fieldError(reader)
            )
        }
        let failurePercentage = try settings.object("failurePercentageEjection").map {
            (reader) throws(RPCError) -> OutlierDetection.FailurePercentageEjection in
            let defaults = try OutlierDetection.FailurePercentageEjection()
            return try OutlierDetection.FailurePercentageEjection(
                threshold: try count(reader, "threshold", defaults.threshold),
                enforcementPercentage: try count(reader, "enforcementPercentage", defaults.enforcementPercentage),
                minimumHosts: try count(reader, "minimumHosts", defaults.minimumHosts),
                requestVolume: try count(reader, "requestVolume", defaults.requestVolume),
                fieldError: fieldError(reader)
            )
        }
        let defaults = try OutlierDetection()
        let configuration = try OutlierDetection(
            interval: try settings.duration("interval") ?? defaults.interval,
            baseEjectionTime: try settings.duration("baseEjectionTime") ?? defaults.baseEjectionTime,
            maxEjectionTime: try settings.duration("maxEjectionTime") ?? defaults.maxEjectionTime,
            maxEjectionPercent: try count(settings, "maxEjectionPercent", defaults.maxEjectionPercent),
            successRateEjection: successRate,
            failurePercentageEjection: failurePercentage,
            fieldError: fieldError(settings)
        )
        guard let children = try settings.array("childPolicy"), !children.isEmpty,
            let child = try Self.policy(from: children, path: settings.field("childPolicy"))
        else {
            throw ConfigReader.error(
                settings.field("childPolicy"), "must name the policy to wrap, as [{\"round_robin\": {}}]")
        }
        return .outlierDetection(configuration, child: child)
    }

    /// The method config for `method`: its own, else its service's, else the default one.
    public func methodConfig(for method: MethodDescriptor) -> MethodConfig? {
        var serviceWide: MethodConfig?
        var defaultConfig: MethodConfig?
        for config in self.methodConfigs {
            for name in config.names {
                if name.service == method.service {
                    if name.method == method.name { return config }
                    if name.method == nil { serviceWide = config }
                } else if name.service.isEmpty {
                    defaultConfig = config
                }
            }
        }
        return serviceWide ?? defaultConfig
    }
}
