import Foundation
import GRPCSimpleDynamic
import SwiftProtobuf
import TestServices
import Testing

/// JSON ⇄ binary for types known only by their descriptors, against swift-protobuf's own
/// JSON and binary for the same generated messages.
@Suite struct TranscodingRoundTripTests {
    static let scalarSamples: [Grpcsimple_Json_Scalars] = [
        Grpcsimple_Json_Scalars(),
        .with {
            $0.aDouble = 1.5
            $0.aFloat = 0.1
            $0.anInt32 = -42
            $0.anInt64 = .min
            $0.aUint32 = .max
            $0.aUint64 = .max
            $0.aSint32 = .min
            $0.aSint64 = -9_007_199_254_740_993
            $0.aFixed32 = 7
            $0.aFixed64 = 18_000_000_000_000_000_000
            $0.anSfixed32 = -1
            $0.anSfixed64 = .max
            $0.aBool = true
            $0.aString = "héllo \"quoted\" \\ \n\t\u{01} 🎉"
            $0.someBytes = Data((0...255).map { UInt8($0) })
            $0.color = .green
            $0.maybe = 0  // explicit presence: written even at its default
            $0.renamed = "json_name"
        },
        .with {
            $0.aDouble = .infinity
            $0.aFloat = -.infinity
            $0.anInt64 = .max
            $0.color = .UNRECOGNIZED(99)  // a number the enum does not declare
        },
        .with {
            $0.aDouble = -0.0
            $0.aFloat = 3.4028235e38
            $0.anInt32 = .max
            $0.maybe = -7
        },
        .with {
            $0.aDouble = 1e-7
            $0.aFloat = .leastNonzeroMagnitude
            $0.anInt64 = 9_007_199_254_740_993  // beyond a double's 53 bits
        },
    ]

    @Test(arguments: Self.scalarSamples)
    func scalars(_ message: Grpcsimple_Json_Scalars) throws {
        try expectRoundTrips(message)
    }

    @Test func notANumber() throws {
        let message = Grpcsimple_Json_Scalars.with {
            $0.aDouble = .nan
            $0.aFloat = .nan
        }
        let json = try BinaryToJSON(pool: TestPool.pool).decode(
            try message.serializedBytes(), as: TestPool.type(Grpcsimple_Json_Scalars.self))
        #expect(json["aDouble"] == .string("NaN"))
        #expect(json["aFloat"] == .string("NaN"))
        let back = try Grpcsimple_Json_Scalars(
            serializedBytes: try encode(JSONWriter.write(json), as: Grpcsimple_Json_Scalars.self))
        #expect(back.aDouble.isNaN && back.aFloat.isNaN)
    }

    static let collectionSamples: [Grpcsimple_Json_Collections] = [
        Grpcsimple_Json_Collections(),
        .with {
            $0.numbers = [1, -2, 300_000, .min, .max]
            $0.unpacked = [5, 0, -5]
            $0.words = ["", "a", "b c"]
            $0.items = [.with { $0.anInt32 = 1 }, Grpcsimple_Json_Scalars(), .with { $0.aString = "x" }]
            $0.colors = [.red, .unspecified, .green, .UNRECOGNIZED(12)]
            $0.counts = ["a": 1, "": 0, "ü": -3]
            $0.byID = [-1: "minus one", 0: "zero", .max: "max"]
            $0.flags = [true: .with { $0.aBool = true }, false: Grpcsimple_Json_Scalars()]
            $0.palette = ["sky": .red, "grass": .green]
            $0.doubles = [0, -0.5, 1e300, .infinity]
            $0.values = [
                1: .init(stringValue: "one"), 2: .init(nilLiteral: ()),
                3: .init(listValue: .init(values: [.init(numberValue: 2)])),
            ]
        },
    ]

    @Test(arguments: Self.collectionSamples)
    func collections(_ message: Grpcsimple_Json_Collections) throws {
        try expectRoundTrips(message)
    }

    static let choices: [Grpcsimple_Json_Choice] = [
        Grpcsimple_Json_Choice(),
        .with { $0.text = "" },  // a oneof member set to its default is still set
        .with { $0.number = 0 },
        .with { $0.nested = Grpcsimple_Json_Scalars() },
        .with { $0.nested = .with { $0.maybe = 3 } },
    ]

    @Test(arguments: Self.choices)
    func oneofs(_ message: Grpcsimple_Json_Choice) throws {
        try expectRoundTrips(message)
    }

    @Test func nestedAndRecursiveMessages() throws {
        try expectRoundTrips(
            Grpcsimple_Json_Outer.with {
                $0.inner = .with {
                    $0.value = "1"
                    $0.child = .with { $0.child = .with { $0.value = "3" } }
                }
                $0.inners = [.init(), .with { $0.value = "b" }]
                $0.choice = .with { $0.number = 5 }
            })
    }

    static let wellKnown: [Grpcsimple_Json_WellKnown] = [
        Grpcsimple_Json_WellKnown(),
        .with {
            $0.at = Google_Protobuf_Timestamp(seconds: 1_700_000_000, nanos: 500_000_000)
            $0.took = Google_Protobuf_Duration(seconds: -3, nanos: -250_000_000)
            $0.struct = .init(fields: [
                "a": .init(numberValue: 1),
                "b": .init(listValue: .init(values: [.init(boolValue: true), .init(nilLiteral: ())])),
                "c": .init(structValue: .init(fields: ["d": .init(stringValue: "e")])),
            ])
            $0.value = .init(stringValue: "v")
            $0.list = .init(values: [.init(numberValue: 1.5), .init(stringValue: "x")])
            $0.mask = .init(protoPaths: ["user.display_name", "photo"])
            $0.empty = .init()
            $0.doubleValue = .init(0)  // a wrapper at its default is still set
            $0.floatValue = .init(1.25)
            $0.int64Value = .init(-5)
            $0.uint64Value = .init(.max)
            $0.int32Value = .init(7)
            $0.uint32Value = .init(8)
            $0.boolValue = .init(false)
            $0.stringValue = .init("s")
            $0.bytesValue = .init(Data([1, 2, 3]))
            $0.nullValue = .nullValue
            $0.values = [.init(nilLiteral: ()), .init(numberValue: 3)]
        },
        .with {
            $0.at = Google_Protobuf_Timestamp(seconds: -62_135_596_800, nanos: 0)  // 0001-01-01
            $0.took = Google_Protobuf_Duration(seconds: 1, nanos: 1000)
            $0.value = .init(nilLiteral: ())
        },
        .with {
            $0.at = Google_Protobuf_Timestamp(seconds: 253_402_300_799, nanos: 1)  // 9999-12-31, nanoseconds
            $0.took = Google_Protobuf_Duration(seconds: 0, nanos: -1)
            $0.value = .init(structValue: .init())
        },
    ]

    @Test(arguments: Self.wellKnown)
    func wellKnownTypes(_ message: Grpcsimple_Json_WellKnown) throws {
        try expectRoundTrips(message)
    }

    @Test func anyHoldsMessagesAndWellKnownTypes() throws {
        Google_Protobuf_Any.register(messageType: Grpcsimple_Json_Scalars.self)
        Google_Protobuf_Any.register(messageType: Grpcsimple_Json_WellKnown.self)
        let message = try Grpcsimple_Json_WellKnown.with {
            $0.any = try Google_Protobuf_Any(
                message: Grpcsimple_Json_Scalars.with {
                    $0.anInt64 = 5
                    $0.color = .red
                })
            $0.anys = [
                try Google_Protobuf_Any(message: Google_Protobuf_Timestamp(seconds: 1, nanos: 0)),
                try Google_Protobuf_Any(message: Google_Protobuf_Duration(seconds: 2, nanos: 0)),
                try Google_Protobuf_Any(message: Google_Protobuf_Value(stringValue: "v")),
                try Google_Protobuf_Any(message: Google_Protobuf_Int32Value(3)),
                try Google_Protobuf_Any(
                    message: Grpcsimple_Json_WellKnown.with { $0.took = .init(seconds: 4, nanos: 0) }),
            ]
        }
        try expectRoundTrips(message)
        let json = try BinaryToJSON(pool: TestPool.pool).decode(
            try message.serializedBytes(), as: TestPool.type(Grpcsimple_Json_WellKnown.self))
        #expect(json["any"]?["@type"] == .string("type.googleapis.com/grpcsimple.json.Scalars"))
        #expect(json["any"]?["anInt64"] == .string("5"))
        guard case .array(let anys)? = json["anys"] else {
            Issue.record("no anys in \(json)")
            return
        }
        #expect(anys[0]["value"] == .string("1970-01-01T00:00:01Z"))
        #expect(anys[3]["value"] == .number("3"))
    }

    @Test func proto2PresenceDefaultsGroupsAndPacking() throws {
        try expectRoundTrips(Grpcsimple_Legacy_Legacy.with { $0.name = "n" })
        try expectRoundTrips(
            Grpcsimple_Legacy_Legacy.with {
                $0.name = ""
                $0.count = 7  // the declared default, but set: written
                $0.packed = [1, 2, 3]
                $0.plain = [4, 5]
                $0.item = .with { $0.label = "group" }
                $0.kind = .second
                $0.zero = 0
            })
        // Packed only when asked, in proto2; packed in proto3 unless asked not to.
        let legacy = TestPool.type(Grpcsimple_Legacy_Legacy.self)
        #expect(legacy.field(named: "packed")?.isPacked == true)
        #expect(legacy.field(named: "plain")?.isPacked == false)
        #expect(legacy.field(named: "zero")?.hasPresence == true)
        #expect(legacy.field(named: "Item")?.isDelimited == true)
        let collections = TestPool.type(Grpcsimple_Json_Collections.self)
        #expect(collections.field(named: "numbers")?.isPacked == true)
        #expect(collections.field(named: "unpacked")?.isPacked == false)
    }

    @Test func readsPackedAndUnpackedEncodingsAlike() throws {
        // Field 1 (`numbers`, packed in proto3) written unpacked, and field 2 (`unpacked`)
        // written packed: parsers must accept both.
        var writer = WireWriter()
        writer.tag(1, .varint)
        writer.varint(3)
        writer.tag(1, .varint)
        writer.varint(4)
        var packed = WireWriter()
        packed.varint(5)
        packed.varint(6)
        writer.tag(2, .lengthDelimited)
        writer.lengthDelimited(packed.bytes)
        let json = try BinaryToJSON(pool: TestPool.pool).decode(
            writer.bytes, as: TestPool.type(Grpcsimple_Json_Collections.self))
        #expect(
            json
                == .object([
                    JSONMember("numbers", .array([.number("3"), .number("4")])),
                    JSONMember("unpacked", .array([.number("5"), .number("6")])),
                ]))
    }

    @Test func aMessageFieldThatComesTwiceIsMerged() throws {
        let first = try Grpcsimple_Json_Outer.with { $0.inner = .with { $0.value = "a" } }.serializedBytes() as [UInt8]
        let second =
            try Grpcsimple_Json_Outer.with { $0.inner = .with { $0.child = .with { $0.value = "c" } } }
            .serializedBytes() as [UInt8]
        let json = try BinaryToJSON(pool: TestPool.pool).decode(
            first + second, as: TestPool.type(Grpcsimple_Json_Outer.self))
        let merged = try Grpcsimple_Json_Outer(serializedBytes: first + second)
        #expect(try Grpcsimple_Json_Outer(jsonString: JSONWriter.write(json)) == merged)
        #expect(merged.inner.value == "a" && merged.inner.child.value == "c")
    }

    @Test func emitDefaultsWritesFieldsWithoutPresence() throws {
        let json = try BinaryToJSON(pool: TestPool.pool, emitDefaults: true).decode(
            [], as: TestPool.type(Grpcsimple_Json_Scalars.self))
        #expect(json["anInt32"] == .number("0"))
        #expect(json["anInt64"] == .string("0"))
        #expect(json["aBool"] == .bool(false))
        #expect(json["someBytes"] == .string(""))
        #expect(json["color"] == .string("COLOR_UNSPECIFIED"))
        #expect(json["customName"] == .string(""))
        #expect(json["maybe"] == nil, "a field with presence is not written when absent")

        let collections = try BinaryToJSON(pool: TestPool.pool, emitDefaults: true).decode(
            [], as: TestPool.type(Grpcsimple_Json_Collections.self))
        #expect(collections["numbers"] == .array([]))
        #expect(collections["counts"] == .object([]))
        let outer = try BinaryToJSON(pool: TestPool.pool, emitDefaults: true).decode(
            [], as: TestPool.type(Grpcsimple_Json_Outer.self))
        #expect(outer == .object([JSONMember("inners", .array([]))]), "message fields have presence")
    }

    @Test func writesTheJSONFormsTheMappingSpecifies() throws {
        let json = try BinaryToJSON(pool: TestPool.pool).decode(
            try Grpcsimple_Json_WellKnown.with {
                $0.at = Google_Protobuf_Timestamp(seconds: 0, nanos: 10_000)
                $0.took = Google_Protobuf_Duration(seconds: 3, nanos: 0)
                $0.mask = .init(protoPaths: ["a.b_c", "d"])
                $0.int64Value = .init(0)
                $0.bytesValue = .init(Data([0xFB, 0xFF]))
            }.serializedBytes(),
            as: TestPool.type(Grpcsimple_Json_WellKnown.self))
        #expect(json["at"] == .string("1970-01-01T00:00:00.000010Z"))
        #expect(json["took"] == .string("3s"))
        #expect(json["mask"] == .string("a.bC,d"))
        #expect(json["int64Value"] == .string("0"))
        #expect(json["bytesValue"] == .string("+/8="))
        let scalars = try BinaryToJSON(pool: TestPool.pool).decode(
            try Grpcsimple_Json_Scalars.with {
                $0.aDouble = 2
                $0.anInt64 = -3
                $0.renamed = "r"
            }.serializedBytes(),
            as: TestPool.type(Grpcsimple_Json_Scalars.self))
        #expect(JSONWriter.write(scalars, indented: false) == #"{"aDouble":2,"anInt64":"-3","customName":"r"}"#)
    }

    @Test func readsTheLenientFormsTheMappingAllows() throws {
        let bytes = try encode(
            #"""
            {"a_double": "1.5", "aFloat": "-Infinity", "anInt32": "12", "an_int64": 1e3, "aUint64": "18446744073709551615",
             "someBytes": "-_8", "color": 2, "maybe": null, "customName": "x"}
            """#, as: Grpcsimple_Json_Scalars.self)
        let message = try Grpcsimple_Json_Scalars(serializedBytes: bytes)
        #expect(message.aDouble == 1.5)
        #expect(message.aFloat == -.infinity)
        #expect(message.anInt32 == 12)
        #expect(message.anInt64 == 1000)
        #expect(message.aUint64 == .max)
        #expect(message.someBytes == Data([0xFB, 0xFF]))
        #expect(message.color == .green)
        #expect(!message.hasMaybe, "null means not set")
        #expect(message.renamed == "x")

        let known = try Grpcsimple_Json_WellKnown(
            serializedBytes: try encode(
                #"{"at": "2024-05-06T09:08:09.5+02:00", "took": "-0.5s", "value": null, "values": [null, 1], "empty": {}}"#,
                as: Grpcsimple_Json_WellKnown.self))
        #expect(known.at == Google_Protobuf_Timestamp(seconds: 1_714_979_289, nanos: 500_000_000))
        #expect(known.took == Google_Protobuf_Duration(seconds: 0, nanos: -500_000_000))
        #expect(known.value == Google_Protobuf_Value(nilLiteral: ()), "null is a Value")
        #expect(known.values.count == 2 && known.hasEmpty)
    }
}

/// A document that does not fit its type fails with one line that names the field and why.
@Suite struct TranscodingErrorTests {
    static let cases: [(json: String, path: String, reason: String)] = [
        (#"{"nmae": 1}"#, "", #"grpcsimple.json.Scalars has no field "nmae" (its fields: aDouble, aFloat, anInt32"#),
        (#"{"anInt32": "abc"}"#, "anInt32", #"expected an integer (int32), got "abc""#),
        (#"{"anInt32": 3000000000}"#, "anInt32", "the number 3000000000 is out of range for int32"),
        (#"{"anInt32": 1.5}"#, "anInt32", "expected an integer (int32), got the number 1.5"),
        (#"{"aUint32": -1}"#, "aUint32", "the number -1 is out of range for uint32"),
        (#"{"anInt64": "9223372036854775808"}"#, "anInt64", "out of range for int64"),
        (#"{"aFloat": 1e39}"#, "aFloat", "the number 1e39 is out of range for a float"),
        (#"{"aDouble": "x"}"#, "aDouble", #"expected a number, got "x""#),
        (#"{"aBool": "true"}"#, "aBool", #"expected true or false, got "true""#),
        (#"{"aString": 5}"#, "aString", "expected a JSON string, got the number 5"),
        (#"{"someBytes": "!!"}"#, "someBytes", "expected base64 bytes"),
        (
            #"{"color": "BLUE"}"#, "color",
            #""BLUE" is not a value of the enum grpcsimple.json.Color (its values: COLOR_UNSPECIFIED, RED, GREEN)"#
        ),
        (#"{"anInt32": 1, "an_int32": 2}"#, "anInt32", "is set twice"),
        (#"[1]"#, "", "expected a JSON object (a grpcsimple.json.Scalars), got an array"),
    ]

    @Test(arguments: Self.cases)
    func scalars(json: String, path: String, reason: String) {
        let error = transcodingError { _ = try encode(json, as: Grpcsimple_Json_Scalars.self) }
        #expect(error?.path == path)
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        #expect(error?.messageType == "grpcsimple.json.Scalars")
    }

    static let nested: [(json: String, path: String, reason: String)] = [
        (#"{"items": [{}, {"anInt32": "x"}]}"#, "items[1].anInt32", "expected an integer"),
        (#"{"numbers": 5}"#, "numbers", "expected a JSON array (the field is repeated), got the number 5"),
        (#"{"numbers": [1, null]}"#, "numbers[1]", "expected an integer"),
        (#"{"words": ["a", null]}"#, "words[1]", "null is not a value of a repeated field"),
        (#"{"counts": {"a": "b"}}"#, #"counts["a"]"#, "expected an integer"),
        (#"{"counts": {"a": null}}"#, #"counts["a"]"#, "null is not a value of a map"),
        (#"{"byId": {"ten": "x"}}"#, #"byId["ten"]"#, "expected an integer (int64)"),
        (#"{"flags": {"yes": {}}}"#, #"flags["yes"]"#, #"a map<bool, ...> key must be "true" or "false""#),
        (#"{"counts": []}"#, "counts", "expected a JSON object (the field is a map), got an array"),
    ]

    @Test(arguments: Self.nested)
    func collections(json: String, path: String, reason: String) {
        let error = transcodingError { _ = try encode(json, as: Grpcsimple_Json_Collections.self) }
        #expect(error?.path == path, "\(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func oneofMembersSetTogether() {
        let error = transcodingError { _ = try encode(#"{"text": "a", "number": 1}"#, as: Grpcsimple_Json_Choice.self) }
        #expect(
            error?.description
                == "field 'number' of grpcsimple.json.Choice: is in oneof 'pick' with 'text', which is set too; set one"
        )
    }

    static let wellKnown: [(json: String, path: String, reason: String)] = [
        (#"{"at": "yesterday"}"#, "at", "expected an RFC 3339 timestamp"),
        (#"{"at": "2024-02-30T00:00:00Z"}"#, "at", "expected an RFC 3339 timestamp"),
        (#"{"at": "10000-01-01T00:00:00Z"}"#, "at", "expected an RFC 3339 timestamp"),
        (#"{"took": "5"}"#, "took", #"expected a duration such as "1.5s""#),
        (#"{"took": "1.1234567891s"}"#, "took", "expected a duration"),
        (#"{"mask": "a_b"}"#, "mask", "field mask paths are lowerCamelCase in JSON"),
        (#"{"any": {"value": 1}}"#, "any", #"a google.protobuf.Any needs "@type""#),
        (#"{"any": {"@type": "type.googleapis.com/no.Such"}}"#, "any", "the type no.Such is not among the descriptors"),
        (
            #"{"any": {"@type": "type.googleapis.com/google.protobuf.Duration", "seconds": 1}}"#, "any",
            #"needs its JSON form under "value""#
        ),
        (#"{"struct": [1]}"#, "struct", "expected a JSON object (a google.protobuf.Struct)"),
        (#"{"empty": {"x": 1}}"#, "empty", "expected {} (a google.protobuf.Empty)"),
        (#"{"int32Value": "x"}"#, "int32Value", "expected an integer (int32)"),
        (#"{"nullValue": 0.5}"#, "nullValue", "is not a value of the enum google.protobuf.NullValue"),
    ]

    @Test(arguments: Self.wellKnown)
    func wellKnownTypes(json: String, path: String, reason: String) {
        let error = transcodingError { _ = try encode(json, as: Grpcsimple_Json_WellKnown.self) }
        #expect(error?.path == path, "\(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func anAnyOfAnUnknownTypeNamesItForTheCallerToFetch() {
        let error = transcodingError {
            _ = try encode(#"{"any": {"@type": "example.com/pkg.Missing"}}"#, as: Grpcsimple_Json_WellKnown.self)
        }
        #expect(error?.missingType == "pkg.Missing")
    }

    @Test func closedEnumsRefuseUndeclaredNumbers() {
        let error = transcodingError { _ = try encode(#"{"name": "n", "kind": 9}"#, as: Grpcsimple_Legacy_Legacy.self) }
        #expect(error?.reason == "9 is not a value of the closed enum grpcsimple.legacy.Legacy.Kind")
    }

    static let binary: [(bytes: [UInt8], reason: String)] = [
        ([0x18, 0x01] + [0x1A, 0x00], "the bytes hold a LEN value where the int32 field an_int32 = 3 should be"),
        ([0x72, 0x05, 0x61], "the bytes are not protobuf: a length-delimited value of 5 bytes is cut short"),
        ([0x72, 0x02, 0xC3, 0x28], "the string is not valid UTF-8"),
        ([0x18, 0xFF], "the bytes are not protobuf: a varint is cut short"),
        ([0x07], "the bytes are not protobuf: a field has the unknown wire type 7"),
    ]

    @Test(arguments: Self.binary)
    func bytesThatDoNotFit(bytes: [UInt8], reason: String) {
        let error = transcodingError {
            _ = try BinaryToJSON(pool: TestPool.pool).decode(bytes, as: TestPool.type(Grpcsimple_Json_Scalars.self))
        }
        #expect(error?.reason.hasPrefix(reason) == true, "\(String(describing: error))")
    }

    @Test func unknownFieldsAreSkipped() throws {
        // Field 99 (unknown), then field 3 = 5.
        let json = try BinaryToJSON(pool: TestPool.pool).decode(
            [0x98, 0x06, 0x01, 0x18, 0x05], as: TestPool.type(Grpcsimple_Json_Scalars.self))
        #expect(json == .object([JSONMember("anInt32", .number("5"))]))
    }
}
