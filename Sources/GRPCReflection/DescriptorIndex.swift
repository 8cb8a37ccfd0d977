import Foundation
import GRPCSimple
import SwiftProtobuf

/// The `.proto` files a server's services were generated from, indexed the ways server
/// reflection asks for them: by file name, by fully qualified symbol, and by extension.
/// Built once from the embedded descriptors; immutable afterwards.
struct DescriptorIndex: Sendable {
    /// A parsed file: its serialized bytes (sent as they are) and the names of its imports.
    struct File: Sendable {
        var serializedBytes: Data
        var dependencies: [String]
    }

    /// What a fully qualified name refers to. Only messages can be extended.
    enum SymbolKind: Sendable {
        case message
        case other
    }

    private(set) var files: [String: File] = [:]
    /// Fully qualified name (no leading dot) → the file that declares it and what it is.
    private(set) var symbols: [String: (file: String, kind: SymbolKind)] = [:]
    /// Extended message's fully qualified name → extension field number → declaring file.
    private(set) var extensions: [String: [Int32: String]] = [:]

    /// Indexes `descriptors`; the first of several files with one name wins, and a file whose
    /// bytes do not parse as a `FileDescriptorProto` is left out.
    init(_ descriptors: [ProtoFileDescriptor]) {
        for descriptor in descriptors where self.files[descriptor.name] == nil {
            guard let proto = try? Google_Protobuf_FileDescriptorProto(serializedBytes: descriptor.serializedBytes)
            else { continue }
            self.files[descriptor.name] = File(
                serializedBytes: Data(descriptor.serializedBytes), dependencies: proto.dependency)
            self.add(proto, named: descriptor.name)
        }
    }

    /// The serialized file and every file it imports, transitively (the file first, each
    /// once); nil for an unknown file. An import that is not indexed is left out.
    func fileWithDependencies(_ name: String) -> [Data]? {
        guard self.files[name] != nil else { return nil }
        var seen: Set<String> = []
        var result: [Data] = []
        var pending = [name]
        while let next = pending.popLast() {
            guard seen.insert(next).inserted, let file = self.files[next] else { continue }
            result.append(file.serializedBytes)
            pending.append(contentsOf: file.dependencies.reversed())
        }
        return result
    }

    // MARK: Building

    private mutating func add(_ file: Google_Protobuf_FileDescriptorProto, named name: String) {
        let scope = file.package
        for message in file.messageType {
            self.add(message, in: scope, file: name)
        }
        for enumType in file.enumType {
            self.add(enumType, in: scope, file: name)
        }
        for field in file.extension {
            self.addExtension(field, in: scope, file: name)
        }
        for service in file.service {
            let serviceName = Self.qualified(service.name, in: scope)
            self.addSymbol(serviceName, file: name)
            for method in service.method {
                self.addSymbol(Self.qualified(method.name, in: serviceName), file: name)
            }
        }
    }

    private mutating func add(_ message: Google_Protobuf_DescriptorProto, in scope: String, file: String) {
        let messageName = Self.qualified(message.name, in: scope)
        self.addSymbol(messageName, file: file, kind: .message)
        for field in message.field {
            self.addSymbol(Self.qualified(field.name, in: messageName), file: file)
        }
        for oneof in message.oneofDecl {
            self.addSymbol(Self.qualified(oneof.name, in: messageName), file: file)
        }
        for nested in message.nestedType {
            self.add(nested, in: messageName, file: file)
        }
        for enumType in message.enumType {
            self.add(enumType, in: messageName, file: file)
        }
        for field in message.extension {
            self.addExtension(field, in: messageName, file: file)
        }
    }

    /// An enum's values are its siblings, not its children, as in C++ scoping.
    private mutating func add(_ enumType: Google_Protobuf_EnumDescriptorProto, in scope: String, file: String) {
        self.addSymbol(Self.qualified(enumType.name, in: scope), file: file)
        for value in enumType.value {
            self.addSymbol(Self.qualified(value.name, in: scope), file: file)
        }
    }

    private mutating func addExtension(_ field: Google_Protobuf_FieldDescriptorProto, in scope: String, file: String) {
        self.addSymbol(Self.qualified(field.name, in: scope), file: file)
        let extendee = field.extendee.hasPrefix(".") ? String(field.extendee.dropFirst()) : field.extendee
        if self.extensions[extendee, default: [:]][field.number] == nil {
            self.extensions[extendee, default: [:]][field.number] = file
        }
    }

    private mutating func addSymbol(_ symbol: String, file: String, kind: SymbolKind = .other) {
        if self.symbols[symbol] == nil {
            self.symbols[symbol] = (file, kind)
        }
    }

    private static func qualified(_ name: String, in scope: String) -> String {
        scope.isEmpty ? name : "\(scope).\(name)"
    }
}
