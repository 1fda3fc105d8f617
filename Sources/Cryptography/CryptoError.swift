internal import COpenSSL

/// A failure reported by libcrypto, with OpenSSL's whole error queue drained into `message`.
///
/// `message` never contains key material or plaintext: it is OpenSSL's queue or our own wording.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, so that callers can map it (for example to AWS's
    /// `DecryptionFailure`) without matching on message text.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// libcrypto reported an error (or a library call failed for another reason).
        public static let library = Code("library")
        /// An AEAD tag did not verify: wrong key, wrong associated data or tampered bytes.
        public static let authenticationFailed = Code("authenticationFailed")
        /// A sealed value names a key that the keyring does not hold.
        public static let unknownKey = Code("unknownKey")
        /// Encoded bytes are not a well-formed record.
        public static let malformed = Code("malformed")

        public var description: String { name }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What we were doing when it failed, e.g. "RAND_bytes".
    public var operation: String
    /// OpenSSL's error queue, oldest first, joined with "; ", or our own explanation.
    public var message: String

    public init(operation: String, message: String, code: Code = .library) {
        self.code = code
        self.operation = operation
        self.message = message
    }

    /// Builds an error from the current thread's OpenSSL error queue and empties it.
    public static func fromOpenSSL(_ operation: String) -> CryptoError {
        CryptoError(operation: operation, message: OpenSSLErrorQueue.drain())
    }

    public var description: String {
        message.isEmpty ? "\(operation) failed" : "\(operation) failed: \(message)"
    }
}

/// OpenSSL keeps a per-thread queue of errors; every failure path drains all of it, so that one
/// failure's leftovers are never blamed on the next call.
public enum OpenSSLErrorQueue {
    /// Removes every queued error and returns them as one line, oldest first.
    public static func drain() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.joined(separator: "; ")
    }

    /// Discards whatever is queued; call before an OpenSSL call whose failure will be inspected.
    public static func clear() {
        // Clearing walks and wipes all sixteen slots of the thread's queue even when it is
        // empty (3% of the load generator's CPU, as it runs before every TLS call); looking
        // first costs one thread-local lookup.
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }
}
