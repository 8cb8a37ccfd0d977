import SwiftProtobuf

/// Prints services, methods, messages and enums back in `.proto` syntax, as `describe` shows
/// them: type names relative to the declaring file's package, maps as `map<K, V>`, oneofs
/// and nested types in place, and the options that change the wire or the JSON (`packed`,
/// `json_name`, `default`, `deprecated`).
package struct ProtoPrinter: Sendable {
    /// Where the printed types are found.
    package let pool: DescriptorPool

    /// A printer for the declarations of `pool`.
    package init(pool: DescriptorPool) {
        self.pool = pool
    }

    /// A service with every method.
    package func service(_ service: ServiceDescriptor) -> String {
        let package = self.package(of: service.fileName)
        var lines = ["service \(service.proto.name) {"]
        for method in service.methods {
            lines.append("  " + self.rpc(method, package: package))
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// One method's `rpc` line.
    package func method(_ method: ServiceDescriptor.Method) -> String {
        let fileName = self.pool.service(named: method.serviceName)?.fileName ?? ""
        return self.rpc(method, package: self.package(of: fileName))
    }

    /// A message with its fields, oneofs and nested types.
    package func message(_ message: MessageDescriptor) -> String {
        var lines: [String] = []
        self.append(message, package: self.package(of: message.fileName), indent: "", into: &lines)
        return lines.joined(separator: "\n")
    }

    /// An enum with its values.
    package func enumType(_ enumType: EnumDescriptor) -> String {
        var lines: [String] = []
        self.append(enumType.proto, indent: "", into: &lines)
        return lines.joined(separator: "\n")
    }

    // MARK: Pieces

    private func rpc(_ method: ServiceDescriptor.Method, package: String) -> String {
        let input = (method.clientStreaming ? "stream " : "") + Self.relative(method.inputType, to: package)
        let output = (method.serverStreaming ? "stream " : "") + Self.relative(method.outputType, to: package)
        return "rpc \(method.name)(\(input)) returns (\(output));"
    }

    private func append(_ message: MessageDescriptor, package: String, indent: String, into lines: inout [String]) {
        lines.append("\(indent)message \(message.proto.name) {")
        self.appendBody(message, package: package, indent: indent + "  ", into: &lines)
        lines.append("\(indent)}")
    }

    private func appendBody(_ message: MessageDescriptor, package: String, indent: String, into lines: inout [String]) {
        let isProto2 = self.pool.files[message.fileName]?.syntax == "proto2"
        var printedOneofs: Set<Int> = []
        var groupTypes: Set<String> = []
        for field in message.fields {
            if let oneof = field.oneofIndex {
                guard printedOneofs.insert(oneof).inserted else { continue }
                lines.append("\(indent)oneof \(message.oneofs[oneof].name) {")
                for member in message.oneofs[oneof].fieldIndices {
                    self.appendField(
                        message.fields[member], in: message, package: package, isProto2: false, indent: indent + "  ",
                        into: &lines, groupTypes: &groupTypes)
                }
                lines.append("\(indent)}")
                continue
            }
            self.appendField(
                field, in: message, package: package, isProto2: isProto2, indent: indent, into: &lines,
                groupTypes: &groupTypes)
        }
        for enumProto in message.proto.enumType {
            self.append(enumProto, indent: indent, into: &lines)
        }
        for nested in message.proto.nestedType {
            let fullName = "\(message.fullName).\(nested.name)"
            guard !nested.options.mapEntry, !groupTypes.contains(fullName),
                let descriptor = self.pool.message(named: fullName)
            else { continue }
            self.append(descriptor, package: package, indent: indent, into: &lines)
        }
    }

    private func appendField(
        _ field: FieldDescriptor,
        in message: MessageDescriptor,
        package: String,
        isProto2: Bool,
        indent: String,
        into lines: inout [String],
        groupTypes: inout Set<String>
    ) {
        var label = ""
        if field.isMap {
            label = ""
        } else if field.isRepeated {
            label = "repeated "
        } else if field.isRequired {
            label = "required "
        } else if field.proto.proto3Optional || (isProto2 && field.oneofIndex == nil) {
            label = "optional "
        }
        let options = self.options(field)
        if field.proto.type == .group, let typeName = field.typeName, let group = self.pool.message(named: typeName) {
            groupTypes.insert(typeName)
            lines.append("\(indent)\(label)group \(group.proto.name) = \(field.number)\(options) {")
            self.appendBody(group, package: package, indent: indent + "  ", into: &lines)
            lines.append("\(indent)}")
            return
        }
        lines.append(
            "\(indent)\(label)\(self.typeName(of: field, package: package)) \(field.name) = \(field.number)\(options);")
    }

    private func typeName(of field: FieldDescriptor, package: String) -> String {
        if field.isMap, let entry = self.pool.message(named: field.typeName!), let key = entry.field(number: 1),
            let value = entry.field(number: 2)
        {
            return "map<\(self.typeName(of: key, package: package)), \(self.typeName(of: value, package: package))>"
        }
        switch field.kind {
        case .message, .group, .enum: return Self.relative(field.typeName ?? "", to: package)
        default: return Self.scalarName(field.kind)
        }
    }

    private func options(_ field: FieldDescriptor) -> String {
        var options: [String] = []
        let proto = field.proto
        if proto.hasDefaultValue {
            let quoted = field.kind == .string || field.kind == .bytes
            options.append("default = " + (quoted ? JSONWriter.quoted(proto.defaultValue) : proto.defaultValue))
        }
        if proto.options.hasPacked { options.append("packed = \(proto.options.packed)") }
        if proto.hasJsonName, proto.jsonName != FieldDescriptor.defaultJSONName(proto.name) {
            options.append("json_name = \(JSONWriter.quoted(proto.jsonName))")
        }
        if proto.options.deprecated { options.append("deprecated = true") }
        return options.isEmpty ? "" : " [" + options.joined(separator: ", ") + "]"
    }

    private func append(_ enumProto: Google_Protobuf_EnumDescriptorProto, indent: String, into lines: inout [String]) {
        lines.append("\(indent)enum \(enumProto.name) {")
        if enumProto.options.allowAlias { lines.append("\(indent)  option allow_alias = true;") }
        for value in enumProto.value {
            let deprecated = value.options.deprecated ? " [deprecated = true]" : ""
            lines.append("\(indent)  \(value.name) = \(value.number)\(deprecated);")
        }
        lines.append("\(indent)}")
    }

    private func package(of fileName: String) -> String {
        self.pool.files[fileName]?.package ?? ""
    }

    /// `grpc.testing.SimpleRequest` seen from package `grpc.testing` is `SimpleRequest`.
    static func relative(_ fullName: String, to package: String) -> String {
        guard !package.isEmpty, fullName.hasPrefix(package + ".") else { return fullName }
        return String(fullName.dropFirst(package.count + 1))
    }

    static func scalarName(_ kind: FieldKind) -> String {
        switch kind {
        case .double: "double"
        case .float: "float"
        case .int64: "int64"
        case .uint64: "uint64"
        case .int32: "int32"
        case .fixed64: "fixed64"
        case .fixed32: "fixed32"
        case .bool: "bool"
        case .string: "string"
        case .bytes: "bytes"
        case .uint32: "uint32"
        case .sfixed32: "sfixed32"
        case .sfixed64: "sfixed64"
        case .sint32: "sint32"
        case .sint64: "sint64"
        case .enum: "enum"
        case .message: "message"
        case .group: "group"
        }
    }
}
