/// Builds the JSON paths that `TranscodingError` names: `payload.body`, `items[2]`,
/// `labels["env"]`.
enum JSONPath {
    static func field(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : "\(path).\(name)"
    }

    static func element(_ path: String, _ index: Int) -> String {
        "\(path)[\(index)]"
    }

    static func key(_ path: String, _ key: String) -> String {
        "\(path)[\(JSONWriter.quoted(key))]"
    }
}
