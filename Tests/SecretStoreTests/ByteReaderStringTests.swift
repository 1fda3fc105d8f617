import Testing
@testable import SecretStore

/// Strings read from snapshots and records: valid UTF-8 (ASCII fast path or not) reads back,
/// anything else is refused with the offset of its length.
@Suite struct ByteReaderStringTests {
    static func read(_ utf8: [UInt8]) -> String? {
        var writer = ByteWriter()
        writer.varint(UInt64(utf8.count))
        var reader = ByteReader(writer.bytes + utf8)
        return try? reader.string()
    }

    @Test(arguments: [
        [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xFF], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF],
        Array("0123456789abcdef".utf8) + [0x80], Array("ARN:aws:secret".utf8) + [0xE2, 0x28, 0xA1] + Array("tail".utf8),
    ] as [[UInt8]])
    func invalidSequencesAreRefused(_ bytes: [UInt8]) {
        #expect(Self.read(bytes) == nil)
    }

    @Test(arguments: ["", "a", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", "é", "日本語のシークレット",
                      "mixed ascii then ü and 🔐", "\u{FFFD} is a legitimate character"])
    func validStringsReadBack(_ text: String) {
        #expect(Self.read(Array(text.utf8)) == text)
    }

    @Test func randomBytesAgreeWithTheStandardValidator() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0..<24, using: &rng)).map { _ in
                Bool.random(using: &rng) ? UInt8.random(in: 0x20...0x7E, using: &rng) : UInt8.random(in: 0...255, using: &rng)
            }
            #expect(Self.read(bytes) == String(validating: bytes, as: UTF8.self), "\(bytes)")
        }
    }
}
