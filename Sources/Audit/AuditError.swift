import Platform

/// An audit trail failure: what kind, which file, the `errno` when a system call failed, and a
/// message for a person that names both.
///
/// Messages never contain record contents (a record's event could carry request parameters).
public struct AuditError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is, so that callers can map it (the service answers a retryable
    /// HTTP 500 for the retryable ones) without matching on message text.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// ENOSPC, EDQUOT or EFBIG: no room for the next records. Retryable once space is back.
        public static let diskFull = Code("diskFull")
        /// Another failed read or write (EIO and the like). Retryable: the next `reserve()` checks
        /// again.
        public static let io = Code("io")
        /// An earlier write failed and the trail refuses appends until a `reserve()` succeeds.
        public static let failed = Code("failed")
        /// fdatasync failed: what the kernel wrote is unknown, so the trail refuses everything
        /// until the process restarts and recovers from the files (STYLE.md: an fsync failure is
        /// fatal). Not retryable.
        public static let syncFailed = Code("syncFailed")
        /// The caller passed an event that is not a JSON object, already has a `chain` member, or
        /// does not serialize to valid JSON. Not retryable.
        public static let invalidEvent = Code("invalidEvent")
        /// A file of the trail is not what the trail wrote (on open: the last record of the newest
        /// file does not parse). Run `strongroom audit verify`.
        public static let corrupt = Code("corrupt")
        /// Another process (or another `AuditTrail`) has the directory open.
        public static let locked = Code("locked")
        /// The trail was closed.
        public static let closed = Code("closed")
        /// The signing key file is missing, unreadable, the wrong size or readable by others.
        public static let signingKey = Code("signingKey")
        /// A query argument (a time bound) is not valid.
        public static let invalidArgument = Code("invalidArgument")

        public var description: String { name }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The file or directory concerned, when one is.
    public var path: String?
    /// The `errno` of the failed system call, when one failed.
    public var errno: Int32?
    /// The reason, for a person: names `path` and the system call's error with its errno.
    public var message: String

    public init(_ code: Code, path: String? = nil, errno: Int32? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.errno = errno
        self.message = message
    }

    /// Whether the same request can succeed later (disk full, an I/O error, a trail that will
    /// recover at the next successful `reserve()`): the service answers these with a retryable
    /// HTTP 500 instead of serving the request unaudited.
    public var isRetryable: Bool { code == .diskFull || code == .io || code == .failed }

    public var description: String { message }

    /// Maps a failed system call on `path`: ENOSPC, EDQUOT and EFBIG are `.diskFull`, the rest
    /// `.io`. The message reads "[context: ]<call> <path>: <strerror> (errno N)".
    static func from(_ error: Errno, path: String, _ context: String? = nil) -> AuditError {
        let full = error.isDiskFull || error.code == Errno.fileTooLarge
        var message = error.operation.contains(path) ? error.description : "\(path): \(error.description)"
        if let context { message = "\(context): \(message)" }
        return AuditError(full ? .diskFull : .io, path: path, errno: error.code, message)
    }
}
