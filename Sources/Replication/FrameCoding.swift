/// Appends the big-endian fields of a frame's payload.
struct FrameWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bool(_ value: Bool) { byte(value ? 1 : 0) }

    mutating func position(_ value: LogPosition) {
        integer(value.epoch)
        integer(value.lsn)
    }

    /// u32 length, then the bytes.
    mutating func blob(_ value: [UInt8]) {
        precondition(value.count <= Int(UInt32.max), "blob of \(value.count) bytes does not fit a u32 length")
        integer(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// u32 length, then the UTF-8.
    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            integer(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Overwrites a big-endian integer written earlier (the frame's length and checksum).
    mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= bytes.count, "store out of range")
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self) }
    }
}

/// Reads the fields of one frame's payload from `bytes[offset..<end]`. Every read checks that
/// its bytes remain, every length is bounded by the bytes remaining (so hostile counts cannot
/// make it allocate), and nothing traps.
struct FrameReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    private let end: Int

    init(_ bytes: [UInt8], range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "reader range out of bounds")
        self.bytes = bytes
        offset = range.lowerBound
        end = range.upperBound
    }

    var remaining: Int { end - offset }

    static func malformed(_ message: String) -> FrameError { FrameError(.malformed, message) }

    mutating func byte(_ field: StaticString) throws(FrameError) -> UInt8 {
        guard remaining >= 1 else { throw Self.malformed("truncated at \(field)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type, _ field: StaticString) throws(FrameError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw Self.malformed("truncated at \(field)") }
        var value: T = 0
        for index in offset..<(offset + size) { value = value << 8 | T(bytes[index]) }
        offset += size
        return value
    }

    mutating func bool(_ field: StaticString) throws(FrameError) -> Bool {
        switch try byte(field) {
        case 0: return false
        case 1: return true
        case let other: throw Self.malformed("\(field) is \(other), not 0 or 1")
        }
    }

    mutating func position(_ field: StaticString) throws(FrameError) -> LogPosition {
        let epoch = try integer(UInt64.self, field)
        return LogPosition(epoch: epoch, lsn: try integer(UInt64.self, field))
    }

    /// The range of a u32-length-prefixed field, checked against the bytes remaining before
    /// anything is copied.
    private mutating func lengthPrefixed(_ field: StaticString, limit: Int) throws(FrameError) -> Range<Int> {
        let length = Int(try integer(UInt32.self, field))
        guard length <= remaining else {
            throw Self.malformed("\(field) length \(length) exceeds the \(remaining) bytes left")
        }
        guard length <= limit else { throw Self.malformed("\(field) length \(length) exceeds its limit \(limit)") }
        defer { offset += length }
        return offset..<(offset + length)
    }

    mutating func blob(_ field: StaticString) throws(FrameError) -> [UInt8] {
        Array(bytes[try lengthPrefixed(field, limit: .max)])
    }

    mutating func string(_ field: StaticString, limit: Int = .max) throws(FrameError) -> String {
        let range = try lengthPrefixed(field, limit: limit)
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw Self.malformed("\(field) is not valid UTF-8")
        }
        return text
    }

    /// A count of items that each take at least `minimumItemBytes`: refused when the bytes left
    /// cannot hold that many, so a hostile count cannot make the caller reserve memory.
    mutating func count(_ field: StaticString, minimumItemBytes: Int) throws(FrameError) -> Int {
        precondition(minimumItemBytes >= 1)
        let count = Int(try integer(UInt32.self, field))
        guard count <= remaining / minimumItemBytes else {
            throw Self.malformed("\(field) \(count) cannot fit the \(remaining) bytes left")
        }
        return count
    }

    func expectEnd(_ what: String) throws(FrameError) {
        guard remaining == 0 else { throw Self.malformed("\(remaining) trailing bytes after \(what)") }
    }
}
