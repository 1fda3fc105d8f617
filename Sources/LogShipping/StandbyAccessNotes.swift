import SecretStore

/// The reads a standby served on a new day, for its primary to record (`LastAccessedDate` has a
/// day's resolution and is part of the region log, which only the primary writes). They ride on
/// the standby's hello and acks as its one notice list; the primary records each day (never
/// moving a date back) and the standby drops a note once its own copy of the log shows it.
///
/// A note travels as the fact a read would log, `versionAccessed`, in a list coded as the
/// region log codes facts (`Fact.encode(list:)`, as replica regions' notices travel).
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

    public static func encode(_ notes: [StandbyAccessNote]) -> [UInt8] {
        Fact.encode(list: notes.prefix(maximumNotes).map { .versionAccessed(arn: $0.arn, versionId: $0.versionId, day: $0.day) })
    }

    /// Nil when the bytes are not notes (any other fact, too many, or not a fact list): the
    /// caller logs it and records nothing.
    public static func decode(_ bytes: [UInt8]) -> [StandbyAccessNote]? {
        guard case .success(let facts) = Fact.decodeList(bytes), facts.count <= maximumNotes else { return nil }
        var notes: [StandbyAccessNote] = []
        for fact in facts {
            guard case let .versionAccessed(arn, versionId, day) = fact else { return nil }
            notes.append(StandbyAccessNote(arn: arn, versionId: versionId, day: day))
        }
        return notes
    }
}
