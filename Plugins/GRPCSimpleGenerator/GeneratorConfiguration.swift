import Foundation

/// The optional `grpc-simple-config.json` of a target:
///
/// ```json
/// {
///   "visibility": "public",
///   "importPaths": ["../../Protos"],
///   "messages": true,
///   "services": true
/// }
/// ```
///
/// - `visibility`: `internal`, `package` (the default: every target of the package sees the
///   generated types, nothing outside it) or `public` (for a library whose users call them).
/// - `importPaths`: more folders where imports are found, relative to the target's folder
///   (the target's folder always comes first).
/// - `messages` / `services`: whether to generate the messages (`.pb.swift`) and the services
///   (`.grpc.swift`); both by default. Turn `messages` off when another module has them.
struct GeneratorConfiguration: Decodable {
    enum Visibility: String, Decodable {
        case `internal` = "Internal"
        case `package` = "Package"
        case `public` = "Public"

        init(from decoder: any Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            switch text.lowercased() {
            case "internal": self = .internal
            case "package": self = .package
            case "public": self = .public
            default:
                throw PluginError(
                    "grpc-simple-config.json: visibility must be \"internal\", \"package\" or \"public\", not \"\(text)\""
                )
            }
        }
    }

    static let fileName = "grpc-simple-config.json"

    var visibility: Visibility = .package
    var importPaths: [String] = []
    var messages = true
    var services = true
    /// The file it was read from, if any: an input of every build command, so editing it
    /// regenerates.
    var file: URL?

    enum CodingKeys: String, CodingKey {
        case visibility, importPaths, messages, services
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.visibility = try container.decodeIfPresent(Visibility.self, forKey: .visibility) ?? .package
        self.importPaths = try container.decodeIfPresent([String].self, forKey: .importPaths) ?? []
        self.messages = try container.decodeIfPresent(Bool.self, forKey: .messages) ?? true
        self.services = try container.decodeIfPresent(Bool.self, forKey: .services) ?? true
    }

    /// The target's configuration, or the defaults when it has no file.
    static func load(from directory: URL) throws -> GeneratorConfiguration {
        let url = directory.appending(path: Self.fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return GeneratorConfiguration() }
        var configuration: GeneratorConfiguration
        do {
            configuration = try JSONDecoder().decode(GeneratorConfiguration.self, from: data)
        } catch let error as PluginError {
            throw error
        } catch {
            throw PluginError("\(url.path) is not a valid configuration: \(error)")
        }
        configuration.file = url
        if !configuration.messages, !configuration.services {
            throw PluginError("\(url.path) turns off both messages and services: nothing to generate")
        }
        return configuration
    }
}
