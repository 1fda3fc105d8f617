/// Why bytes from a peer are not a replication frame. The link that produced them must close:
/// after one, a ``FrameDecoder`` stays failed. Never contains payload bytes.
public struct FrameError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The failure classes, open for additions (a struct, not a public enum).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case badMagic, badLength, tooLarge, checksumMismatch, unknownType, unknownFlags, malformed
            case unsupportedVersion
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The frame does not start with "SRPL": not this protocol, or lost framing.
        public static let badMagic = Code(.badMagic)
        /// The length is below the smallest frame.
        public static let badLength = Code(.badLength)
        /// The length exceeds the decoder's maximum; refused before buffering the frame.
        public static let tooLarge = Code(.tooLarge)
        /// The CRC32C does not match the bytes after it.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// A message type this version does not know.
        public static let unknownType = Code(.unknownType)
        /// Flag bits this version does not know (all are reserved, must be 0).
        public static let unknownFlags = Code(.unknownFlags)
        /// The payload does not have its type's shape: truncated, trailing bytes, bad UTF-8, a
        /// bad flag byte, records out of order, a string over its limit.
        public static let malformed = Code(.malformed)
        /// A well-formed hello of a protocol version this module does not speak.
        public static let unsupportedVersion = Code(.unsupportedVersion)

        /// The code's name, e.g. "checksumMismatch".
        public var description: String { String(describing: wrapped) }
    }

    /// What class of failure.
    public var code: Code
    /// What is wrong, for a person.
    public var message: String

    /// An error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// "<code>: <message>".
    public var description: String { "\(code): \(message)" }
}
