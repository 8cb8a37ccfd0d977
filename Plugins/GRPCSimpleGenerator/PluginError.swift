/// Why the plugin cannot generate code, in one line (SwiftPM prints it as the build's error).
struct PluginError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
