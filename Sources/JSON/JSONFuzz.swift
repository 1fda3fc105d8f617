/// The fuzz entry point of the JSON parser and writer, for the libFuzzer driver in
/// `FuzzTesting/` and for replaying its corpus and past findings in the unit tests.
///
/// Every request body, IAM file, policy document and audit line goes through ``JSONValue/parse(_:)``,
/// and what we write must read back unchanged (the audit chain hashes the written bytes; a policy
/// is stored as we serialize it). So beyond "no crash" this checks, for every accepted input:
/// - the value is ``JSONValue/isWellFormed``;
/// - parse → serialize → parse gives the same value, and serializing that gives the same bytes
///   (the compact form is a fixed point, byte for byte: `String`'s `==` is canonical
///   equivalence and would let a changed normalization through);
/// - the compact form is never longer than the input (every escape we write is no longer than
///   the one it replaces, and whitespace goes), which bounds what a re-serialized body costs;
/// - surrounding whitespace does not change the value;
/// - the indented form (``JSONValue/formatted()``) parses back to the same value, and is the
///   compact form with whitespace added outside strings;
/// and for every rejected input that the error's offset lies within the input.
///
/// Traps (a finding) when one of these fails.
public enum JSONFuzz {
    /// Inputs longer than this are cut: keeps one run fast, and the nesting limit
    /// (``JSONValue/maximumDepth``) is reached well within it.
    public static let maxInputBytes = 16 << 10

    /// Parses `data` and checks the properties above.
    public static func run(_ data: [UInt8]) {
        let data = Array(data.prefix(maxInputBytes))
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            precondition(error.offset >= 0 && error.offset <= data.count, "error offset \(error.offset) outside \(data.count) bytes")
            precondition(!error.reason.isEmpty, "a rejection must say why")
            checkPaddedRejection(data)
            return
        }
        precondition(value.isWellFormed, "an accepted document is not well-formed")

        let compact = value.serializedBytes()
        precondition(compact.count <= data.count, "serialization (\(compact.count) bytes) is longer than the input (\(data.count))")
        precondition(Array(value.serialized().utf8) == compact, "serialized() and serializedBytes() disagree")
        let reparsed: JSONValue
        do {
            reparsed = try JSONValue.parse(compact)
        } catch {
            preconditionFailure("the serialization of an accepted document does not parse: \(error)")
        }
        precondition(reparsed == value, "parse → serialize → parse changed the value")
        precondition(reparsed.serializedBytes() == compact, "serialization is not a fixed point")
        precondition(depth(of: value) <= JSONValue.maximumDepth + 1, "accepted a document nested deeper than the limit")

        let indented = value.formattedBytes()
        precondition((try? JSONValue.parse(indented)) == value, "the indented form does not parse back to the value")
        precondition(withoutWhitespaceOutsideStrings(indented) == compact, "the indented form is not the compact form with whitespace")

        let padded = Array(" \t\r\n".utf8) + data + Array("\n ".utf8)
        precondition((try? JSONValue.parse(padded)) == value, "surrounding whitespace changed the value")
    }

    /// A rejected document stays rejected with whitespace around it: padding never completes
    /// a document (a number, literal or container cannot end in whitespace it lacked).
    private static func checkPaddedRejection(_ data: [UInt8]) {
        let padded = Array(" \t".utf8) + data + [0x20]
        precondition((try? JSONValue.parse(padded)) == nil, "whitespace around a rejected document made it acceptable")
    }

    /// `bytes` with the spaces and line feeds outside strings removed.
    private static func withoutWhitespaceOutsideStrings(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == 0x20 || byte == 0x0A {
                continue
            }
            out.append(byte)
        }
        return out
    }

    /// The nesting depth of a value: 1 for a scalar.
    private static func depth(of value: JSONValue) -> Int {
        switch value {
        case .null, .bool, .number, .string: return 1
        case .array(let items): return 1 + (items.map(depth(of:)).max() ?? 0)
        case .object(let members): return 1 + (members.map { depth(of: $0.value) }.max() ?? 0)
        }
    }
}
