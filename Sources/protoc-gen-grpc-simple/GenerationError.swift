/// Errors reported back to protoc (which prints them and fails).
enum GenerationError: Error, CustomStringConvertible {
    case unknownParameter(name: String)
    case invalidParameterValue(name: String, value: String, expected: [String])
    case wrapped(message: String, error: any Error)
    case clientMethodNameClash(service: String, name: String)

    var description: String {
        switch self {
        case .unknownParameter(let name):
            return "Unknown generation parameter '\(name)'; "
                + "expected one of: \(GeneratorOptions.knownKeys.joined(separator: ", "))"
        case .invalidParameterValue(let name, let value, let expected):
            return "Invalid value for generation parameter '\(name)': '\(value)'; "
                + "expected one of: \(expected.joined(separator: ", "))"
        case .wrapped(let message, let error):
            return "\(message): \(error)"
        case .clientMethodNameClash(let service, let name):
            return "Service \(service): two client methods would be named '\(name)' (a method and the "
                + "…WithMetadata variant of another); rename one of the rpcs"
        }
    }
}
