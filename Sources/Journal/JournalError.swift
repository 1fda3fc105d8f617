internal import Platform

/// A journal failure: what kind, where (file and byte offset when it concerns one), and why.
public struct JournalError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The failure classes callers act on.
    public enum Kind: Sendable, Equatable {
        /// A frame, segment header or record failed a checksum or shape check (not a torn tail).
        case corrupt
        /// A segment the log needs is absent (records between two segments, or below the oldest
        /// retained segment: "compacted").
        case missingSegment
        /// LSNs are not contiguous inside or across segments, or do not meet the snapshot.
        case lsnGap
        /// The newest snapshot does not verify; recovery refuses rather than fall back.
        case badSnapshot
        /// A read or write failed (EIO and the like). A failed append write halts the journal like
        /// `.diskFull`.
        case io
        /// ENOSPC or EDQUOT: the append was not written, and the journal halted (see
        /// ``Journal/resume()``); retry once space is back.
        case diskFull
        /// The append queue is at its bound; retry later.
        case overloaded
        /// The journal is closed.
        case closed
        /// Another journal holds the directory.
        case locked
        /// A caller error: bad type, payload too large, epoch going backwards, LSN out of range.
        case invalidArgument
        /// An fdatasync or directory fsync failed, or the cut back of a failed write did: what
        /// the disk holds is unknown (see `Journal.commit`). ``Journal`` stops the process at that
        /// point; a ``SteppedJournal`` returns this instead and does nothing more: crash the node
        /// and reopen. An append that failed with it may or may not be in the log after recovery.
        case crashed
    }

    public var kind: Kind
    /// The file concerned (a name inside the journal directory), when one is.
    public var file: String?
    /// The byte offset inside `file`, when one is.
    public var offset: Int?
    /// The reason, for a person. Never contains payload bytes.
    public var message: String

    public init(_ kind: Kind, file: String? = nil, offset: Int? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.offset = offset
        self.message = message
    }

    /// "<file> at offset <n>: <message>", leaving out what is unknown.
    public var description: String {
        switch (file, offset) {
        case let (file?, offset?): "\(file) at offset \(offset): \(message)"
        case let (file?, nil): "\(file): \(message)"
        default: message
        }
    }

    /// The error of an append that was not written because an earlier one failed on I/O (and
    /// of every append while the journal is halted): the same kind, file and offset.
    static func notWritten(after failure: JournalError) -> JournalError {
        JournalError(
            failure.kind, file: failure.file, offset: failure.offset,
            "not written: an earlier append failed (\(failure.message)); call resume() once the cause is fixed")
    }

    /// Maps a failed system call: ENOSPC/EDQUOT are `.diskFull`, everything else `.io`.
    static func from(_ error: Errno, file: String? = nil, offset: Int? = nil) -> JournalError {
        JournalError(error.isDiskFull ? .diskFull : .io, file: file, offset: offset, error.description)
    }
}
