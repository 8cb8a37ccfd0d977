import GRPCSimpleDynamic
import Testing

/// The JSON layer under the transcoder: strict parsing with positions in errors, numbers
/// kept as written, and cutting a stream into documents as its bytes arrive.
@Suite struct JSONParserTests {
    @Test func keepsNumbersAsWrittenAndMembersInOrder() throws {
        let value = try JSONParser.parse(#" {"b": 9007199254740993, "a": [1.50, -0, 1e400], "b": null} "#)
        #expect(
            value
                == .object([
                    JSONMember("b", .number("9007199254740993")),
                    JSONMember("a", .array([.number("1.50"), .number("-0"), .number("1e400")])),
                    JSONMember("b", .null),
                ]))
    }

    @Test func readsEscapesAndSurrogatePairs() throws {
        let value = try JSONParser.parse(#""a\"b\\c\/\n\t\u00e9\ud83c\udf89""#)
        #expect(value == .string("a\"b\\c/\n\té🎉"))
        #expect(try JSONParser.parse(JSONWriter.write(value)) == value)
        #expect(JSONWriter.write(.string("\u{01}\u{2028}")) == #""\u0001\u2028""#)
    }

    static let errors: [(text: String, message: String)] = [
        ("", "invalid JSON at line 1, column 1: the document is empty"),
        (#"{"a": 1,}"#, "invalid JSON at line 1, column 9: expected a member name in double quotes, found '}'"),
        ("{\n  \"a\" 1}", "invalid JSON at line 2, column 7: expected ':' after the member name \"a\", found '1'"),
        (
            #"{"a": 1 "b": 2}"#,
            #"invalid JSON at line 1, column 9: expected ',' or '}' after the member "a", found '"'"#
        ),
        (#"[1, 2"#, "invalid JSON at line 1, column 6: expected ',' or ']' in an array, found the end of the document"),
        (#""abc"#, "invalid JSON at line 1, column 5: a string is not closed"),
        ("\"a\u{01}\"", "invalid JSON at line 1, column 3: a string holds a control character (U+0001); escape it"),
        (#""\x""#, #"invalid JSON at line 1, column 3: unknown escape '\'x'' in a string"#),
        (#""\ud800""#, #"invalid JSON at line 1, column 8: a \u escape holds an unpaired surrogate"#),
        ("01", "invalid JSON at line 1, column 2: unexpected '1' after the end of the document"),
        (
            "1.",
            "invalid JSON at line 1, column 3: expected a digit after the decimal point, found the end of the document"
        ),
        ("tru", "invalid JSON at line 1, column 1: expected a value, found 't'"),
        ("{} {}", "invalid JSON at line 1, column 4: unexpected '{' after the end of the document"),
        ("'a'", "invalid JSON at line 1, column 1: expected a value, found '''"),
    ]

    @Test(arguments: Self.errors)
    func errorsSayWhereAndWhy(text: String, message: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func refusesBytesThatAreNotUTF8() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func refusesNestingDeeperThanTheLimit() {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth + 1)
        do {
            _ = try JSONParser.parse(deep)
            Issue.record("parsed \(deep.count) levels")
        } catch {
            #expect(error.reason == "the document nests deeper than \(JSONParser.maximumDepth) levels")
        }
        #expect((try? JSONParser.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))) != nil)
    }

    @Test func writesIndentedAndCompact() throws {
        let value = try JSONParser.parse(#"{"a": [1, {"b": "c"}], "d": {}, "e": []}"#)
        #expect(JSONWriter.write(value, indented: false) == #"{"a":[1,{"b":"c"}],"d":{},"e":[]}"#)
        #expect(
            JSONWriter.write(value) == """
                {
                  "a": [
                    1,
                    {
                      "b": "c"
                    }
                  ],
                  "d": {},
                  "e": []
                }
                """)
    }
}

@Suite struct JSONDocumentSplitterTests {
    /// Feeds `text` one byte at a time, as a slow pipe would.
    static func split(_ text: String, chunk: Int = 1) -> [String] {
        var splitter = JSONDocumentSplitter()
        var documents: [String] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            for document in splitter.append(bytes[start..<min(start + chunk, bytes.count)]) {
                documents.append(String(decoding: document, as: UTF8.self))
            }
        }
        if let last = splitter.finish() { documents.append(String(decoding: last, as: UTF8.self)) }
        return documents
    }

    @Test(arguments: [1, 3, 1000])
    func cutsConcatenatedDocuments(chunk: Int) {
        let text = #" {"a": "}{\"", "b": [1, {"c": 2}]}{"d":1}"# + "\n[]\n\"s\\\"t\" 12 true null {}"
        #expect(
            Self.split(text, chunk: chunk) == [
                #"{"a": "}{\"", "b": [1, {"c": 2}]}"#, #"{"d":1}"#, "[]", #""s\"t""#, "12", "true", "null", "{}",
            ])
    }

    @Test func aDocumentIsReturnedAsSoonAsItCloses() {
        var splitter = JSONDocumentSplitter()
        #expect(splitter.append(Array(#"{"a": 1"#.utf8)).isEmpty)
        #expect(splitter.append(Array("}".utf8)).map { String(decoding: $0, as: UTF8.self) } == [#"{"a": 1}"#])
        #expect(splitter.append(Array("  \n".utf8)).isEmpty)
        #expect(splitter.finish() == nil)
    }

    @Test func aTruncatedDocumentIsLeftForTheParserToRefuse() throws {
        var splitter = JSONDocumentSplitter()
        #expect(splitter.append(Array(#"{"a": [1"#.utf8)).isEmpty)
        let finished = splitter.finish()
        let rest = try #require(finished)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(rest) }
    }
}
