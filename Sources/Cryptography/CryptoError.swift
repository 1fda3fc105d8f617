internal import COpenSSL

/// A failure reported by libcrypto, with OpenSSL's whole error queue drained into `message`.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// What we were doing when it failed, e.g. "RAND_bytes".
    public var operation: String
    /// OpenSSL's error queue, oldest first, joined with "; ".
    public var message: String

    public init(operation: String, message: String) {
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
    public static func clear() { ERR_clear_error() }
}
