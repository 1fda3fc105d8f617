/// One thing wrong with a trail, naming where: the file, and for a record its line number,
/// sequence number and eventID.
public struct AuditProblem: Sendable, Equatable, CustomStringConvertible {
    /// The class of problem, for programs; ``message`` says it for people.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A record's hash does not match what the next record (or the file's signature) says:
        /// the record was changed after it was written.
        public static let edited = Kind("edited")
        /// Sequence numbers jump: records were taken out.
        public static let removed = Kind("removed")
        /// A sequence number is lower than the one before it.
        public static let reordered = Kind("reordered")
        /// A sequence number appears twice in a file.
        public static let duplicated = Kind("duplicated")
        /// A line is not JSON, or has no valid `chain` member.
        public static let notARecord = Kind("notARecord")
        /// A file that is not the newest ends without a line end.
        public static let unterminated = Kind("unterminated")
        /// A `.sig` does not parse, names another file, or its HMAC does not verify under the key.
        public static let signatureInvalid = Kind("signatureInvalid")
        /// A file that is not the newest has no `.sig`.
        public static let unsigned = Kind("unsigned")
        /// A signed file's bytes no longer have the SHA-256 its signature states.
        public static let changedAfterSigning = Kind("changedAfterSigning")
        /// A file between the first and the newest (or one whose `.sig` is present) is missing.
        public static let fileMissing = Kind("fileMissing")
        /// A file or the directory could not be read.
        public static let unreadable = Kind("unreadable")
        /// No signing key was given: signatures were not checked.
        public static let signaturesNotChecked = Kind("signaturesNotChecked")

        public var description: String { name }
    }

    public var kind: Kind
    /// The file's name inside the trail directory, when the problem is about one.
    public var file: String?
    /// The 1-based line number inside `file`, when the problem is about one line.
    public var line: Int?
    /// The record's sequence number, when known.
    public var sequence: UInt64?
    /// The record's eventID, when it has one.
    public var eventID: String?
    /// What is wrong, e.g. "record edited (its hash does not match the next record's previousHash)".
    public var message: String

    public init(kind: Kind, file: String? = nil, line: Int? = nil, sequence: UInt64? = nil, eventID: String? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.sequence = sequence
        self.eventID = eventID
        self.message = message
    }

    /// "audit-000001.jsonl line 5 (sequence 5, eventID …): record edited (…)".
    public var description: String {
        var place = file ?? ""
        if let line { place += " line \(line)" }
        var identity: [String] = []
        if let sequence { identity.append("sequence \(sequence)") }
        if let eventID { identity.append("eventID \(eventID)") }
        if !identity.isEmpty { place += " (" + identity.joined(separator: ", ") + ")" }
        return place.isEmpty ? message : place + ": " + message
    }
}

/// The result of ``AuditVerifier/verify(directory:signingKey:)``.
public struct AuditVerification: Sendable {
    /// True when no problem was found.
    public var ok: Bool { problems.isEmpty }
    /// `.jsonl` files found.
    public var fileCount = 0
    /// Files whose signature verified.
    public var signedFileCount = 0
    /// Lines that are audit records (parse, with a chain member).
    public var recordCount = 0
    /// The lowest and highest sequence numbers seen.
    public var firstSequence: UInt64?
    public var lastSequence: UInt64?
    /// Every problem found (at most ``AuditVerifier/maximumProblems``), in file and line order.
    public var problems: [AuditProblem] = []
    /// Problems found beyond ``AuditVerifier/maximumProblems`` and not listed.
    public var omittedProblems = 0
    /// Observations that are not problems: the unsigned active file, torn tails kept aside.
    public var notes: [String] = []

    public init() {}

    /// One line: "audit trail intact: …" or "audit trail NOT intact: N problems …".
    public var summary: String {
        let range = firstSequence.flatMap { first in lastSequence.map { " (sequences \(first) to \($0))" } } ?? ""
        let files = "\(fileCount) file\(fileCount == 1 ? "" : "s"), \(signedFileCount) signed"
        if ok {
            let extra = notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")
            return "audit trail intact: \(recordCount) record\(recordCount == 1 ? "" : "s")\(range) in \(files)\(extra)"
        }
        let count = problems.count + omittedProblems
        return "audit trail NOT intact: \(count) problem\(count == 1 ? "" : "s") in \(recordCount) records\(range), \(files)"
    }
}
