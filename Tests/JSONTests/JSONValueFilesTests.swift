import JSON
import Testing

/// What the files we write are built with: literals, numbers from `Double` and `Int`, members
/// sorted at every depth, and the indented form.
@Suite struct JSONValueFilesTests {
    @Test func literalsKeepTheirOrder() {
        // And a missing member is still nil, not null.
        let object: JSONValue = ["a": .null]
        #expect(object["b"] == nil && object["a"] != nil)
        let value: JSONValue = ["b": 1, "a": [true, .null, "x"], "c": [:]]
        #expect(value.serialized() == #"{"b":1,"a":[true,null,"x"],"c":{}}"#)
    }

    /// As JSONSerialization wrote a `Double`: whole values without a fraction.
    @Test(arguments: [
        (10.0, "10"), (0.5, "0.5"), (86400.0, "86400"), (0.1, "0.1"), (1e-5, "1e-05"), (1e20, "1e+20"), (-3.0, "-3"),
        (1.0 / 3, "0.3333333333333333"), (1e16, "1e+16"), (0.0, "0"),
    ])
    func doublesAreWrittenAsBefore(value: Double, text: String) throws {
        #expect(JSONValue.double(value) == .number(text))
        #expect(try JSONValue.parse(Array(text.utf8)).doubleValue == value)
    }

    @Test func integersAreExact() {
        #expect(JSONValue.integer(Int64.max) == .number("9223372036854775807"))
        #expect(JSONValue.integer(UInt64.max) == .number("18446744073709551615"))
        #expect(JSONValue.integer(Int32(-7)) == .number("-7"))
    }

    @Test(arguments: [
        ("3", 3), ("3.0", 3), ("3e0", 3), ("300e-2", 3), ("-0", 0), ("9223372036854775807", Int.max),
        ("3.5", nil), ("1e400", nil), ("99999999999999999999", nil), ("9223372036854775808", nil),
    ] as [(String, Int?)])
    func exactIntegers(text: String, expected: Int?) throws {
        #expect(try JSONValue.parse(Array(text.utf8)).exactIntegerValue == expected)
    }

    @Test func numbersBeyondDoubleAreInfinite() throws {
        #expect(try JSONValue.parse(Array("1e400".utf8)).doubleValue == .infinity)
        #expect(try JSONValue.parse(Array("-1e400".utf8)).doubleValue == -.infinity)
        #expect(try JSONValue.parse(Array("1e-400".utf8)).doubleValue == 0)
        #expect(JSONValue.bool(true).doubleValue == nil && JSONValue.string("1").doubleValue == nil)
    }

    @Test func sortingMembersIsDeepAndStable() {
        let value: JSONValue = ["b": ["z": 1, "Z": 2, "a": [["y": 1, "x": 2]]], "a": 1, "a": 2, "é": 0, "e": 0]
        #expect(value.sortingMembers().serialized() == #"{"a":1,"a":2,"b":{"Z":2,"a":[{"x":2,"y":1}],"z":1},"e":0,"é":0}"#)
    }

    @Test func theIndentedForm() throws {
        let value: JSONValue = ["name": "a/b \"q\"", "list": [1, [], [:], ["k": .null]], "empty": [:]]
        let expected = """
            {
              "name": "a/b \\"q\\"",
              "list": [
                1,
                [],
                {},
                {
                  "k": null
                }
              ],
              "empty": {}
            }
            """
        #expect(value.formatted() == expected)
        #expect(try JSONValue.parse(value.formattedBytes()) == value)
        #expect(JSONValue.string("x").formatted() == "\"x\"" && JSONValue.array([]).formatted() == "[]")
    }
}
