/// A VersionId as a version holds it: 16 bytes for the usual lowercase canonical UUID (what the
/// SDKs send as ClientRequestToken and what the node draws) and for 32 lowercase hex digits (a
/// common hand-made token), the text itself for any other token AWS accepts (32–64 characters). A 36-character string is a heap object of its own; a
/// million versions held a million of them (80 bytes each with the allocator's overhead).
///
/// Equal exactly when the texts are equal (only the canonical lowercase form is packed, so a
/// text has one representation), and ordered as the texts are (hex digits and hyphens at fixed
/// places order as the 128-bit number does).
struct VersionID: Sendable, Hashable, Comparable {
    private enum Storage: Sendable, Hashable {
        case uuid(UInt64, UInt64)
        case hex(UInt64, UInt64)
        case text(String)
    }

    private let storage: Storage

    init(_ text: String) {
        var copy = text
        storage = copy.withUTF8 { Self.pack(UnsafeRawBufferPointer($0)) } ?? .text(text)
    }

    /// From UTF-8 bytes known to be valid (a decoder's string), without making the string when
    /// they are a canonical UUID.
    init(validUTF8 bytes: UnsafeRawBufferPointer) {
        storage = Self.pack(bytes) ?? .text(String(decoding: bytes, as: UTF8.self))
    }

    /// The text.
    var text: String {
        switch storage {
        case .text(let text): return text
        case .uuid(let high, let low):
            return String(unsafeUninitializedCapacity: 36) { buffer in
                Self.format(high, low, hyphens: true, into: buffer)
                return 36
            }
        case .hex(let high, let low):
            return String(unsafeUninitializedCapacity: 32) { buffer in
                Self.format(high, low, hyphens: false, into: buffer)
                return 32
            }
        }
    }

    static func < (a: VersionID, b: VersionID) -> Bool {
        switch (a.storage, b.storage) {
        case let (.uuid(ah, al), .uuid(bh, bl)), let (.hex(ah, al), .hex(bh, bl)): return (ah, al) < (bh, bl)
        default: return a.text < b.text
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Each byte's value as a lowercase hex digit; 0xFF for any other byte.
    private static let nibbles: [UInt8] = (0...255).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt8(byte) - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt8(byte) - UInt8(ascii: "a") + 10
        default: 0xFF
        }
    }

    /// The packed form of `8-4-4-4-12` or 32-digit lowercase hex, or nil for any other text.
    private static func pack(_ bytes: UnsafeRawBufferPointer) -> Storage? {
        let hyphens = bytes.count == 36
        guard hyphens || bytes.count == 32, let base = bytes.baseAddress else { return nil }
        if hyphens {
            for index in [8, 13, 18, 23] where base.load(fromByteOffset: index, as: UInt8.self) != UInt8(ascii: "-") { return nil }
        }
        return nibbles.withUnsafeBufferPointer { table -> Storage? in
            var words: (UInt64, UInt64) = (0, 0)
            var invalid: UInt8 = 0
            var index = 0
            for word in 0..<2 {
                var value: UInt64 = 0
                for _ in 0..<16 {
                    if hyphens && (index == 8 || index == 13 || index == 18 || index == 23) { index += 1 }
                    let nibble = table[Int(base.load(fromByteOffset: index, as: UInt8.self))]
                    invalid |= nibble
                    value = value << 4 | UInt64(nibble & 0xF)
                    index += 1
                }
                if word == 0 { words.0 = value } else { words.1 = value }
            }
            guard invalid & 0xF0 == 0 else { return nil }
            return hyphens ? .uuid(words.0, words.1) : .hex(words.0, words.1)
        }
    }

    private static func format(_ high: UInt64, _ low: UInt64, hyphens: Bool, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        var out = 0
        for digit in 0..<32 {
            if hyphens && (out == 8 || out == 13 || out == 18 || out == 23) {
                buffer[out] = UInt8(ascii: "-")
                out += 1
            }
            let word = digit < 16 ? high : low
            let shift = UInt64(60 - 4 * (digit % 16))
            buffer[out] = hexDigits[Int(word >> shift & 0xF)]
            out += 1
        }
    }
}
