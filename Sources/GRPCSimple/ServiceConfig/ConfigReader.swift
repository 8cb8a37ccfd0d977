/// Reads one JSON object of a service config, field by field, with errors that name the
/// field's path (`methodConfig[0].retryPolicy.maxAttempts`) and what is wrong with it.
struct ConfigReader {
    let object: [(key: String, value: JSONValue)]
    /// Where this object is, e.g. `methodConfig[0].retryPolicy`.
    let path: String

    init(_ value: JSONValue, path: String) throws(RPCError) {
        guard case .object(let members) = value else {
            throw Self.error(path, "must be an object, got \(value.kind)")
        }
        self.object = members
        self.path = path
    }

    static func error(_ path: String, _ problem: String) -> RPCError {
        RPCError(.invalidArgument, "invalid service config: \(path.isEmpty ? "the document" : path) \(problem)")
    }

    func field(_ key: String) -> String { self.path.isEmpty ? key : "\(self.path).\(key)" }

    func value(_ key: String) -> JSONValue? {
        guard let value = self.object.last(where: { $0.key == key })?.value, value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(RPCError) -> String? {
        guard let value = self.value(key) else { return nil }
        guard case .string(let text) = value else {
            throw Self.error(self.field(key), "must be a string, got \(value.kind)")
        }
        return text
    }

    func bool(_ key: String) throws(RPCError) -> Bool? {
        guard let value = self.value(key) else { return nil }
        guard case .bool(let flag) = value else {
            throw Self.error(self.field(key), "must be true or false, got \(value.kind)")
        }
        return flag
    }

    func number(_ key: String) throws(RPCError) -> Double? {
        guard let value = self.value(key) else { return nil }
        guard case .number(let text) = value, let number = Double(text) else {
            throw Self.error(self.field(key), "must be a number, got \(value.kind)")
        }
        return number
    }

    /// A whole number; JSON writes 64-bit integers (proto3's int64) as strings too.
    func integer(_ key: String) throws(RPCError) -> Int? {
        guard let value = self.value(key) else { return nil }
        switch value {
        case .number(let text), .string(let text):
            if let integer = Int(text) { return integer }
            if let number = Double(text), number.rounded() == number, abs(number) < 9e15 { return Int(number) }
            throw Self.error(self.field(key), "must be a whole number, got '\(text)'")
        default:
            throw Self.error(self.field(key), "must be a whole number, got \(value.kind)")
        }
    }

    /// A duration as proto3's JSON writes one: `"1.5s"`, `"0.000340s"`, `"3s"`.
    func duration(_ key: String) throws(RPCError) -> Duration? {
        guard let text = try self.string(key) else { return nil }
        guard let duration = Self.parseDuration(text) else {
            throw Self.error(self.field(key), "must be a duration such as \"1.5s\", got '\(text)'")
        }
        return duration
    }

    static func parseDuration(_ text: String) -> Duration? {
        guard text.hasSuffix("s") else { return nil }
        let number = text.dropLast()
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        // Digits only: Int64's own parser would also take a sign ("+5s", "0.-5s").
        let isDigits = { (part: Substring) in !part.isEmpty && part.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard isDigits(parts[0]), let seconds = Int64(parts[0]), seconds <= 315_576_000_000 else { return nil }
        var nanoseconds: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard isDigits(fraction), fraction.utf8.count <= 9, let digits = Int64(fraction) else {
                return nil
            }
            nanoseconds = digits * Int64(pow10(9 - fraction.count))
        }
        return .seconds(seconds) + .nanoseconds(nanoseconds)
    }

    private static func pow10(_ exponent: Int) -> Int { (0..<exponent).reduce(1) { value, _ in value * 10 } }

    func array(_ key: String) throws(RPCError) -> [JSONValue]? {
        guard let value = self.value(key) else { return nil }
        guard case .array(let elements) = value else {
            throw Self.error(self.field(key), "must be an array, got \(value.kind)")
        }
        return elements
    }

    func object(_ key: String) throws(RPCError) -> ConfigReader? {
        guard let value = self.value(key) else { return nil }
        return try ConfigReader(value, path: self.field(key))
    }

    /// Status codes by name (`"UNAVAILABLE"`) or number.
    func statusCodes(_ key: String) throws(RPCError) -> Set<StatusCode>? {
        guard let elements = try self.array(key) else { return nil }
        var codes: Set<StatusCode> = []
        for (index, element) in elements.enumerated() {
            let path = "\(self.field(key))[\(index)]"
            switch element {
            case .string(let name):
                guard let code = StatusCode.allCases.first(where: { $0.name == name.uppercased() }) else {
                    throw Self.error(path, "is not a status code name: '\(name)'")
                }
                codes.insert(code)
            case .number(let text):
                guard let number = Int(text), let code = StatusCode(rawValue: number) else {
                    throw Self.error(path, "is not a status code: \(text)")
                }
                codes.insert(code)
            default:
                throw Self.error(path, "must be a status code name or number, got \(element.kind)")
            }
        }
        return codes
    }
}
