/// What a service config says about some methods: their timeout, whether they wait for
/// ready, their message size limits, and how they are retried or hedged.
public struct MethodConfig: Sendable, Hashable {
    /// The methods it applies to: a whole service (`method` nil), one method, or every
    /// method of every service (`service` empty).
    public struct Name: Sendable, Hashable {
        /// The fully qualified service name; empty for every service.
        public var service: String
        /// The method's name; nil for every method of the service.
        public var method: String?

        /// A name for `service` (every method) or one of its methods.
        public init(service: String, method: String? = nil) {
            self.service = service
            self.method = method
        }
    }

    /// The methods it applies to.
    public var names: [Name]
    /// The longest a call may take; a call's own shorter timeout wins.
    public var timeout: Duration?
    /// Whether calls wait for the channel to be ready (instead of failing fast); a call's
    /// own `CallOptions.waitForReady` of true wins.
    public var waitForReady: Bool?
    /// The largest request message; a larger one fails the call with RESOURCE_EXHAUSTED
    /// before it is sent.
    public var maxRequestMessageBytes: Int?
    /// The largest response message; the smaller of this and the call's limit applies.
    public var maxResponseMessageBytes: Int?
    /// How failed calls are retried.
    public var retryPolicy: RetryPolicy?
    /// How calls are hedged.
    public var hedgingPolicy: HedgingPolicy?

    /// A method config; name the methods, then set what applies to them.
    public init(
        names: [Name],
        timeout: Duration? = nil,
        waitForReady: Bool? = nil,
        maxRequestMessageBytes: Int? = nil,
        maxResponseMessageBytes: Int? = nil,
        retryPolicy: RetryPolicy? = nil,
        hedgingPolicy: HedgingPolicy? = nil
    ) {
        self.names = names
        self.timeout = timeout
        self.waitForReady = waitForReady
        self.maxRequestMessageBytes = maxRequestMessageBytes
        self.maxResponseMessageBytes = maxResponseMessageBytes
        self.retryPolicy = retryPolicy
        self.hedgingPolicy = hedgingPolicy
    }

    init(_ reader: ConfigReader) throws(RPCError) {
        var names: [Name] = []
        for (index, element) in (try reader.array("name") ?? []).enumerated() {
            let name = try ConfigReader(element, path: "\(reader.field("name"))[\(index)]")
            let service = try name.string("service") ?? ""
            let method = try name.string("method")
            if service.isEmpty, method?.isEmpty == false {
                throw ConfigReader.error(name.path, "names a method without a service")
            }
            names.append(Name(service: service, method: method?.isEmpty == true ? nil : method))
        }
        if names.isEmpty {
            throw ConfigReader.error(reader.field("name"), "must name at least one method ({} for every method)")
        }
        func size(_ key: String) throws(RPCError) -> Int? {
            guard let bytes = try reader.integer(key) else { return nil }
            guard bytes >= 0 else { throw ConfigReader.error(reader.field(key), "must be 0 or more") }
            return bytes
        }
        let retry = try reader.object("retryPolicy").map { (policy) throws(RPCError) in try RetryPolicy(policy) }
        let hedging = try reader.object("hedgingPolicy").map { (policy) throws(RPCError) in try HedgingPolicy(policy) }
        if retry != nil, hedging != nil {
            throw ConfigReader.error(reader.path, "has both a retryPolicy and a hedgingPolicy: a method takes one")
        }
        self.init(
            names: names,
            timeout: try reader.duration("timeout"),
            waitForReady: try reader.bool("waitForReady"),
            maxRequestMessageBytes: try size("maxRequestMessageBytes"),
            maxResponseMessageBytes: try size("maxResponseMessageBytes"),
            retryPolicy: retry,
            hedgingPolicy: hedging
        )
    }
}
