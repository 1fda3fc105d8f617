import JSON
import Foundation
import Testing
@testable import SecretsAPI
import AWSProtocol

@Suite struct JSONValueTests {
    func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    @Test func parsesEveryKind() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "c": {}} "#)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(value["b"] == .string("x\"\\/\u{08}\u{0C}\n\r\té😀"))
        #expect(value["c"] == .object([]))
        #expect(value["missing"] == nil)
    }

    @Test func lastDuplicateMemberWins() throws {
        #expect(try parse(#"{"a": 1, "a": 2}"#)["a"] == .number("2"))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"", "tru", "{} {}", "\"a\u{01}\"", "NaN"])
    func rejectsInvalidDocuments(_ text: String) {
        #expect(throws: JSONParseError.self) { try self.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func limitsNesting() throws {
        _ = try parse(String(repeating: "[", count: 60) + String(repeating: "]", count: 60))
        #expect(throws: JSONParseError.self) { try self.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) }
    }

    @Test func serializationRoundTrips() throws {
        let text = #"{"b":[1,true,null,"q\"\\\n\u0001"],"a":{"z":-0.5}}"#
        let value = try parse(text)
        #expect(value.serialized() == text)
        #expect(try parse(value.serialized()) == value)
    }
}

extension JSONValueTests {
    /// The byte writer escapes exactly what JSON requires and copies the rest, and what it
    /// writes parses back to the same value.
    @Test func writerEscapesAndRoundTrips() throws {
        let text = "plain é ☃ \u{1F512} \"quoted\" back\\slash \n\r\t\u{08}\u{0C}\u{01}\u{1F} end"
        let value = JSONValue.object([(key: "k\"ey", value: .string(text)), (key: "n", value: .number("-1.5e+3"))])
        let bytes = value.serializedBytes()
        #expect(String(decoding: bytes, as: UTF8.self)
            == #"{"k\"ey":"plain é ☃ 🔒 \"quoted\" back\\slash \n\r\t\b\f\u0001\u001f end","n":-1.5e+3}"#)
        #expect(try JSONValue.parse(bytes) == value)
        #expect(value.serialized() == String(decoding: bytes, as: UTF8.self))
        #expect(!bytes.contains(0x0A))
    }

    @Test(arguments: [("0", true), ("-0", true), ("12", true), ("1.25", true), ("1e9", true), ("-2.5E-3", true),
                      ("", false), ("-", false), ("01", false), ("1.", false), (".5", false), ("1e", false),
                      ("1\n", false), ("NaN", false), ("+1", false)])
    func numberTexts(_ text: String, _ valid: Bool) {
        #expect(JSONValue.number(text).isWellFormed == valid)
    }

    @Test func wellFormedLimitsNesting() {
        var deep = JSONValue.null
        for _ in 0..<JSONValue.maximumDepth { deep = .array([deep]) }
        #expect(deep.isWellFormed)
        #expect(!JSONValue.array([deep]).isWellFormed)
    }
}

@Suite struct AWSTimestampTests {
    @Test func extendedFormat() {
        #expect(AWSTimestamp.extended(seconds: 0) == "1970-01-01T00:00:00Z")
        #expect(AWSTimestamp.extended(seconds: 1_440_938_160) == "2015-08-30T12:36:00Z")
        #expect(AWSTimestamp.extended(seconds: -1) == "1969-12-31T23:59:59Z")
        #expect(AWSTimestamp.extended(seconds: 951_782_400) == "2000-02-29T00:00:00Z")
        #expect(AWSTimestamp.extended(AWSTimestamp.parseBasic("20150830T123600Z")!) == "2015-08-30T12:36:00Z")
    }

    @Test func basicFormatRoundTrips() throws {
        let date = try #require(AWSTimestamp.parseBasic("20150830T123600Z"))
        #expect(date.timeIntervalSince1970 == 1_440_938_160)
        #expect(AWSTimestamp.basic(date) == "20150830T123600Z")
        #expect(AWSTimestamp.day(date) == "20150830")
        #expect(AWSTimestamp.basic(Date(timeIntervalSince1970: 951_782_400)) == "20000229T000000Z")
        #expect(AWSTimestamp.basic(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    }

    @Test(arguments: ["2015-08-30T12:36:00Z", "20150830T123600", "20150230T123600Z", "20150830T246000Z", "2015083OT123600Z", ""])
    func rejectsMalformedBasicDates(_ text: String) {
        #expect(AWSTimestamp.parseBasic(text) == nil)
    }

    @Test func parsesHTTPDates() {
        #expect(AWSTimestamp.parseHTTPDate("Sun, 30 Aug 2015 12:36:00 GMT") == AWSTimestamp.parseBasic("20150830T123600Z"))
        #expect(AWSTimestamp.parseHTTPDate("Sun, 30 Aug 2015 12:36:00 UTC") == nil)
        #expect(AWSTimestamp.parseHTTPDate("30 Aug 2015") == nil)
    }
}
