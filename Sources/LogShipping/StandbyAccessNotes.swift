/// The reads a standby served on a new day, for its primary to record (`LastAccessedDate` has a
/// day's resolution and is part of the region log, which only the primary writes). They ride on
/// the standby's hello and acks as its one notice list; the primary records each day (never
/// moving a date back) and the standby drops a note once its own copy of the log shows it.
///
/// Encoding, big-endian: u32 count, then per note: u32 length + ARN (UTF-8), u32 length +
/// VersionId (UTF-8), i64 day (milliseconds since 1970 at midnight UTC).
public struct StandbyAccessNote: Sendable, Hashable {
    public var arn: String
    public var versionId: String
    public var day: Int64

    public init(arn: String, versionId: String, day: Int64) {
        self.arn = arn
        self.versionId = versionId
        self.day = day
    }
}

public enum StandbyAccessNotes {
    /// At most this many notes travel at once (the rest wait for the next ack).
    public static let maximumNotes = 1024
    /// An ARN or VersionId longer than this is not a note (AWS's ARNs are far shorter).
    static let maximumFieldBytes = 2048

    public static func encode(_ notes: [StandbyAccessNote]) -> [UInt8] {
        let kept = notes.prefix(maximumNotes)
        var bytes: [UInt8] = []
        append(UInt64(kept.count), 4, &bytes)
        for note in kept {
            for field in [note.arn, note.versionId] {
                let utf8 = Array(field.utf8.prefix(maximumFieldBytes))
                append(UInt64(utf8.count), 4, &bytes)
                bytes += utf8
            }
            append(UInt64(bitPattern: note.day), 8, &bytes)
        }
        return bytes
    }

    /// Nil when the bytes are not notes (the caller logs it and records nothing).
    public static func decode(_ bytes: [UInt8]) -> [StandbyAccessNote]? {
        var offset = 0
        func integer(_ width: Int) -> UInt64? {
            guard bytes.count - offset >= width else { return nil }
            var value: UInt64 = 0
            for byte in bytes[offset..<(offset + width)] { value = value << 8 | UInt64(byte) }
            offset += width
            return value
        }
        func string() -> String? {
            guard let length = integer(4).map(Int.init), length <= maximumFieldBytes, bytes.count - offset >= length else { return nil }
            defer { offset += length }
            return String(validating: bytes[offset..<(offset + length)], as: UTF8.self)
        }
        guard let count = integer(4), count <= UInt64(maximumNotes) else { return nil }
        var notes: [StandbyAccessNote] = []
        for _ in 0..<count {
            guard let arn = string(), let versionId = string(), let day = integer(8) else { return nil }
            notes.append(StandbyAccessNote(arn: arn, versionId: versionId, day: Int64(bitPattern: day)))
        }
        return offset == bytes.count ? notes : nil
    }

    private static func append(_ value: UInt64, _ width: Int, _ bytes: inout [UInt8]) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
