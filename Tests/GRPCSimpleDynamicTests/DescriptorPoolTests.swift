import GRPCSimpleDynamic
import SwiftProtobuf
import TestServices
import Testing

/// The pool checks that descriptors fit together, and the printer shows them as .proto.
@Suite struct DescriptorPoolTests {
    @Test func resolvesEveryKindOfDeclaration() throws {
        let pool = TestPool.pool
        #expect(pool.serviceNames == ["grpcsimple.json.JSONTypes", "grpcsimple.legacy.LegacyService"])
        let service = try #require(pool.service(named: ".grpcsimple.json.JSONTypes"))
        #expect(
            service.methods.map(\.path) == [
                "/grpcsimple.json.JSONTypes/Scalar", "/grpcsimple.json.JSONTypes/Pick",
                "/grpcsimple.json.JSONTypes/Known",
            ])
        #expect(service.method(named: "Known")?.inputType == "grpcsimple.json.WellKnown")
        let inner = try #require(pool.message(named: "grpcsimple.json.Outer.Inner"))
        #expect(inner.field(named: "child")?.typeName == "grpcsimple.json.Outer.Inner")
        #expect(pool.enumType(named: "grpcsimple.legacy.Legacy.Kind")?.isClosed == true)
        #expect(pool.enumType(named: "grpcsimple.json.Color")?.isClosed == false)
        let collections = try #require(pool.message(named: "grpcsimple.json.Collections"))
        #expect(collections.field(named: "by_id")?.isMap == true)
        #expect(collections.field(named: "byId")?.jsonName == "byId")
        #expect(collections.field(named: "items")?.isMap == false)
        #expect(pool.message(named: "google.protobuf.Timestamp")?.wellKnownType == .timestamp)
    }

    @Test func refusesAFileWhoseImportIsMissing() throws {
        let json = try #require(
            Grpcsimple_Json_Json_FileDescriptors.all.first { $0.name == "json.proto" })
        let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: json.serializedBytes)
        #expect(
            throws: DescriptorPoolError(
                "the descriptors are incomplete: 'json.proto' imports 'google/protobuf/any.proto', which is not among them"
            )
        ) {
            try DescriptorPool(files: [file])
        }
    }

    @Test func refusesATypeNobodyDeclares() {
        let file = Google_Protobuf_FileDescriptorProto.with {
            $0.name = "broken.proto"
            $0.package = "p"
            $0.syntax = "proto3"
            $0.messageType = [
                .with {
                    $0.name = "M"
                    $0.field = [
                        .with {
                            $0.name = "f"
                            $0.number = 1
                            $0.type = .message
                            $0.typeName = ".p.Missing"
                        }
                    ]
                }
            ]
        }
        #expect(
            throws: DescriptorPoolError(
                "the descriptors are incomplete: field 'p.M.f' has the type '.p.Missing', which no file declares")
        ) {
            try DescriptorPool(files: [file])
        }
    }

    @Test func resolvesRelativeTypeNamesFromTheInnermostScope() throws {
        let file = Google_Protobuf_FileDescriptorProto.with {
            $0.name = "relative.proto"
            $0.package = "a.b"
            $0.syntax = "proto3"
            $0.messageType = [
                .with { $0.name = "Target" },
                .with {
                    $0.name = "User"
                    $0.nestedType = [.with { $0.name = "Target" }]
                    $0.field = [
                        .with {
                            $0.name = "near"
                            $0.number = 1
                            $0.typeName = "Target"
                        },
                        .with {
                            $0.name = "far"
                            $0.number = 2
                            $0.typeName = "b.Target"
                        },
                    ]
                },
            ]
        }
        let user = try #require(try DescriptorPool(files: [file]).message(named: "a.b.User"))
        #expect(user.field(named: "near")?.typeName == "a.b.User.Target")
        #expect(user.field(named: "near")?.kind == .message)
        #expect(user.field(named: "far")?.typeName == "a.b.Target")
    }

    @Test func printsDeclarationsAsProto() throws {
        let pool = TestPool.pool
        let printer = ProtoPrinter(pool: pool)
        #expect(
            printer.service(try #require(pool.service(named: "grpcsimple.json.JSONTypes"))) == """
                service JSONTypes {
                  rpc Scalar(Scalars) returns (Collections);
                  rpc Pick(Choice) returns (Outer);
                  rpc Known(WellKnown) returns (WellKnown);
                }
                """)
        #expect(
            printer.message(try #require(pool.message(named: "grpcsimple.json.Choice"))) == """
                message Choice {
                  oneof pick {
                    string text = 1;
                    int32 number = 2;
                    Scalars nested = 3;
                  }
                }
                """)
        let collections = printer.message(try #require(pool.message(named: "grpcsimple.json.Collections")))
        #expect(collections.contains("  repeated int32 unpacked = 2 [packed = false];\n"))
        #expect(collections.contains("  map<int64, string> by_id = 7;\n"))
        #expect(collections.contains("  map<uint32, google.protobuf.Value> values = 11;\n"))
        #expect(!collections.contains("Entry"), "map entries are not printed as messages")
        let scalars = printer.message(try #require(pool.message(named: "grpcsimple.json.Scalars")))
        #expect(scalars.contains("  optional int32 maybe = 17;\n"))
        #expect(scalars.contains(#"  string renamed = 18 [json_name = "customName"];"#))
        let legacy = printer.message(try #require(pool.message(named: "grpcsimple.legacy.Legacy")))
        #expect(
            legacy == """
                message Legacy {
                  required string name = 1;
                  optional int32 count = 2 [default = 7];
                  repeated int32 packed = 3 [packed = true];
                  repeated int32 plain = 4;
                  optional group Item = 5 {
                    optional string label = 6;
                  }
                  optional Legacy.Kind kind = 7;
                  optional int32 zero = 8;
                  enum Kind {
                    FIRST = 1;
                    SECOND = 2;
                  }
                }
                """, "\(legacy)")
        #expect(
            printer.enumType(try #require(pool.enumType(named: "grpcsimple.json.Color"))) == """
                enum Color {
                  COLOR_UNSPECIFIED = 0;
                  RED = 1;
                  GREEN = 2;
                }
                """)
        let method = try #require(pool.service(named: "grpcsimple.legacy.LegacyService")?.method(named: "Get"))
        #expect(printer.method(method) == "rpc Get(Legacy) returns (Legacy);")
    }
}
