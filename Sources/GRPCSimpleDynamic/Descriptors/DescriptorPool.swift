import SwiftProtobuf

/// The messages, enums and services of a set of `.proto` files, from their
/// `FileDescriptorProto`s (served by reflection, compiled by protoc, or read from a
/// protoset), checked to fit together: every import present, every type name resolved.
///
/// It stands in for what swift-protobuf does not have, a runtime registry of message types,
/// so that `JSONToBinary` and `BinaryToJSON` can work on messages known only at run time.
package struct DescriptorPool: Sendable {
    /// The files, by name.
    package let files: [String: FileDescriptor]
    /// The messages, by full name (no leading dot).
    package let messages: [String: MessageDescriptor]
    /// The enums, by full name (no leading dot).
    package let enums: [String: EnumDescriptor]
    /// The services, by full name (no leading dot).
    package let services: [String: ServiceDescriptor]

    /// Builds the pool. A file given twice is read once; a file that imports one not given,
    /// or names a type nobody declares, is refused with an error that names both.
    package init(files protos: [Google_Protobuf_FileDescriptorProto]) throws(DescriptorPoolError) {
        var files: [String: FileDescriptor] = [:]
        var order: [String] = []
        for proto in protos where files[proto.name] == nil {
            files[proto.name] = FileDescriptor(name: proto.name, proto: proto)
            order.append(proto.name)
        }
        for name in order {
            for dependency in files[name]!.dependencies where files[dependency] == nil {
                throw DescriptorPoolError(
                    "the descriptors are incomplete: '\(name)' imports '\(dependency)', which is not among them")
            }
        }
        var builder = Builder()
        for name in order { builder.collect(files[name]!) }
        self.files = files
        self.messages = try builder.buildMessages()
        self.enums = builder.enums
        self.services = try builder.buildServices(messages: self.messages)
    }

    /// The message named `fullName` (a leading dot is ignored).
    package func message(named fullName: String) -> MessageDescriptor? {
        self.messages[Self.trimmed(fullName)]
    }

    /// The enum named `fullName` (a leading dot is ignored).
    package func enumType(named fullName: String) -> EnumDescriptor? {
        self.enums[Self.trimmed(fullName)]
    }

    /// The service named `fullName` (a leading dot is ignored).
    package func service(named fullName: String) -> ServiceDescriptor? {
        self.services[Self.trimmed(fullName)]
    }

    /// Every service's full name, sorted.
    package var serviceNames: [String] { self.services.keys.sorted() }

    private static func trimmed(_ name: String) -> String {
        name.hasPrefix(".") ? String(name.dropFirst()) : name
    }
}

extension DescriptorPool {
    /// Collects every declaration first (type names may point forward, or into any file),
    /// then resolves field types and builds the descriptors.
    fileprivate struct Builder {
        struct PendingMessage {
            let fullName: String
            let file: FileDescriptor
            let proto: Google_Protobuf_DescriptorProto
            /// The features of the file and of each enclosing message, outermost first.
            let features: [Google_Protobuf_FeatureSet]
        }

        var pendingMessages: [PendingMessage] = []
        var enums: [String: EnumDescriptor] = [:]
        var pendingServices: [(fullName: String, file: FileDescriptor, proto: Google_Protobuf_ServiceDescriptorProto)] =
            []
        /// Every declared message and enum name, for resolving type names.
        var messageNames: Set<String> = []

        mutating func collect(_ file: FileDescriptor) {
            let scope = file.package
            let fileFeatures = file.proto.options.features
            for message in file.proto.messageType {
                self.collect(message, scope: scope, file: file, features: [fileFeatures])
            }
            for enumProto in file.proto.enumType {
                self.collect(enumProto, scope: scope, file: file, features: [fileFeatures])
            }
            for service in file.proto.service {
                let fullName = Self.join(scope, service.name)
                if !self.pendingServices.contains(where: { $0.fullName == fullName }) {
                    self.pendingServices.append((fullName, file, service))
                }
            }
        }

        private mutating func collect(
            _ message: Google_Protobuf_DescriptorProto,
            scope: String,
            file: FileDescriptor,
            features: [Google_Protobuf_FeatureSet]
        ) {
            let fullName = Self.join(scope, message.name)
            guard !self.messageNames.contains(fullName) else { return }
            self.messageNames.insert(fullName)
            self.pendingMessages.append(
                PendingMessage(fullName: fullName, file: file, proto: message, features: features))
            let inner = features + [message.options.features]
            for nested in message.nestedType {
                self.collect(nested, scope: fullName, file: file, features: inner)
            }
            for enumProto in message.enumType {
                self.collect(enumProto, scope: fullName, file: file, features: inner)
            }
        }

        private mutating func collect(
            _ enumProto: Google_Protobuf_EnumDescriptorProto,
            scope: String,
            file: FileDescriptor,
            features: [Google_Protobuf_FeatureSet]
        ) {
            let fullName = Self.join(scope, enumProto.name)
            guard self.enums[fullName] == nil else { return }
            let resolved = ResolvedFeatures(file: file, features: features + [enumProto.options.features])
            self.enums[fullName] = EnumDescriptor(
                fullName: fullName, fileName: file.name, isClosed: resolved.closedEnums, proto: enumProto)
        }

        func buildMessages() throws(DescriptorPoolError) -> [String: MessageDescriptor] {
            // Map entries are known by name before the fields that use them are built.
            var mapEntries: Set<String> = []
            for pending in self.pendingMessages where pending.proto.options.mapEntry {
                mapEntries.insert(pending.fullName)
            }
            var messages: [String: MessageDescriptor] = [:]
            for pending in self.pendingMessages {
                var fields: [FieldDescriptor] = []
                let messageFeatures = pending.features + [pending.proto.options.features]
                for field in pending.proto.field {
                    fields.append(
                        try self.buildField(
                            field, in: pending, features: messageFeatures, mapEntries: mapEntries))
                }
                messages[pending.fullName] = MessageDescriptor(
                    fullName: pending.fullName, fileName: pending.file.name, fields: fields, proto: pending.proto)
            }
            return messages
        }

        private func buildField(
            _ field: Google_Protobuf_FieldDescriptorProto,
            in message: PendingMessage,
            features: [Google_Protobuf_FeatureSet],
            mapEntries: Set<String>
        ) throws(DescriptorPoolError) -> FieldDescriptor {
            var kind = field.type
            var typeName: String?
            if field.hasTypeName || kind == .message || kind == .enum || kind == .group {
                guard let resolved = self.resolve(field.typeName, from: message.fullName) else {
                    throw DescriptorPoolError(
                        "the descriptors are incomplete: field '\(message.fullName).\(field.name)' has the type "
                            + "'\(field.typeName)', which no file declares")
                }
                typeName = resolved
                if !field.hasType {
                    kind = self.messageNames.contains(resolved) ? .message : .enum
                }
            }
            let resolved = ResolvedFeatures(file: message.file, features: features + [field.options.features])
            let isRepeated = field.label == .repeated
            let oneof: Int? = field.hasOneofIndex ? Int(field.oneofIndex) : nil
            let isSyntheticOneof = oneof != nil && field.proto3Optional
            let isMessage = kind == .message || kind == .group
            let hasPresence =
                !isRepeated
                && (isMessage || (oneof != nil) || field.proto3Optional || resolved.explicitPresence
                    || field.label == .required)
            let packable = !(kind == .string || kind == .bytes || isMessage)
            let isPacked: Bool
            switch message.file.syntax {
            case "proto2": isPacked = field.options.hasPacked && field.options.packed
            case "proto3": isPacked = !field.options.hasPacked || field.options.packed
            default: isPacked = resolved.packed
            }
            return FieldDescriptor(
                name: field.name,
                jsonName: field.hasJsonName ? field.jsonName : FieldDescriptor.defaultJSONName(field.name),
                number: field.number,
                kind: kind == .group ? .message : kind,
                isRepeated: isRepeated,
                isRequired: field.label == .required,
                typeName: typeName,
                oneofIndex: isSyntheticOneof ? nil : oneof,
                hasPresence: hasPresence,
                isPacked: isRepeated && packable && isPacked,
                isDelimited: kind == .group || (kind == .message && resolved.delimited),
                isMap: isRepeated && kind == .message && typeName.map(mapEntries.contains) == true,
                proto: field
            )
        }

        func buildServices(messages: [String: MessageDescriptor]) throws(DescriptorPoolError)
            -> [String: ServiceDescriptor]
        {
            var services: [String: ServiceDescriptor] = [:]
            for (fullName, file, proto) in self.pendingServices {
                var methods: [ServiceDescriptor.Method] = []
                for method in proto.method {
                    guard let input = self.resolve(method.inputType, from: fullName),
                        let output = self.resolve(method.outputType, from: fullName),
                        messages[input] != nil, messages[output] != nil
                    else {
                        throw DescriptorPoolError(
                            "the descriptors are incomplete: method '\(fullName).\(method.name)' takes "
                                + "'\(method.inputType)' and returns '\(method.outputType)', "
                                + "and not both are declared")
                    }
                    methods.append(
                        ServiceDescriptor.Method(
                            name: method.name,
                            serviceName: fullName,
                            inputType: input,
                            outputType: output,
                            clientStreaming: method.clientStreaming,
                            serverStreaming: method.serverStreaming
                        ))
                }
                services[fullName] = ServiceDescriptor(
                    fullName: fullName, fileName: file.name, methods: methods, proto: proto)
            }
            return services
        }

        /// Resolves a type name as protoc does: `.a.b.C` is absolute; `b.C` is looked up
        /// from the innermost scope of `scope` outwards.
        private func resolve(_ name: String, from scope: String) -> String? {
            if name.hasPrefix(".") {
                let absolute = String(name.dropFirst())
                return self.isDeclared(absolute) ? absolute : nil
            }
            var parts = scope.split(separator: ".").map(String.init)
            while true {
                let candidate = Self.join(parts.joined(separator: "."), name)
                if self.isDeclared(candidate) { return candidate }
                if parts.isEmpty { return nil }
                parts.removeLast()
            }
        }

        private func isDeclared(_ fullName: String) -> Bool {
            self.messageNames.contains(fullName) || self.enums[fullName] != nil
        }

        static func join(_ scope: String, _ name: String) -> String {
            scope.isEmpty ? name : "\(scope).\(name)"
        }
    }

    /// The features that decide encoding, resolved for one declaration: the edition's
    /// defaults, then the file's, each enclosing message's and the declaration's own overrides.
    fileprivate struct ResolvedFeatures {
        var explicitPresence: Bool
        var packed: Bool
        var delimited = false
        var closedEnums: Bool

        init(file: FileDescriptor, features: [Google_Protobuf_FeatureSet]) {
            switch file.syntax {
            case "proto2":
                self.explicitPresence = true
                self.packed = false
                self.closedEnums = true
                return  // proto2 and proto3 files carry no features
            case "proto3":
                self.explicitPresence = false
                self.packed = true
                self.closedEnums = false
                return
            default:
                self.explicitPresence = true
                self.packed = true
                self.closedEnums = false
            }
            for set in features {
                if set.hasFieldPresence {
                    self.explicitPresence = set.fieldPresence != .implicit
                }
                if set.hasRepeatedFieldEncoding { self.packed = set.repeatedFieldEncoding == .packed }
                if set.hasMessageEncoding { self.delimited = set.messageEncoding == .delimited }
                if set.hasEnumType { self.closedEnums = set.enumType == .closed }
            }
        }
    }
}
