internal import COpenSSL
import Cryptography

/// A TLS failure: a misconfigured context, a failed handshake, a protocol violation or a use of a
/// closed connection.
///
/// `description` is always one line, because the node prints context errors at startup: the
/// human explanation first, then OpenSSL's error queue (drained completely when the error was
/// built, so that no leftover is blamed on a later call).
public struct TLSError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What class of failure this is; callers branch on it, people read `message`.
    public enum Kind: Sendable, Hashable {
        /// A certificate, key or CA file (or PEM) is unreadable, mismatched, expired, too widely
        /// readable, or the parameters contradict each other. Fix the configuration.
        case configuration
        /// The handshake did not complete: the peer's certificate did not verify, it rejected
        /// ours, or no common version/cipher exists. In TLS 1.3 a server's rejection of the
        /// client certificate reaches the client on its first read and is reported as this kind.
        case handshakeFailed
        /// The peer sent something that is not valid TLS after the handshake, or a fatal alert.
        case protocolError
        /// The connection was shut down or failed earlier and cannot carry more data.
        case closed
        /// Generating a key or a certificate failed (bad name, bad IP text, libcrypto failure).
        case certificateGeneration
    }

    /// What class of failure this is.
    public var kind: Kind
    /// One line: the explanation, followed by OpenSSL's drained error queue if it was not empty.
    public var message: String

    /// Makes an error whose message is exactly `message`.
    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// Builds an error from `explanation` and the current thread's OpenSSL error queue, emptying
    /// the queue.
    static func drainingOpenSSL(_ kind: Kind, _ explanation: String) -> TLSError {
        let queue = OpenSSLErrorQueue.drain()
        return TLSError(kind: kind, message: queue.isEmpty ? explanation : "\(explanation) (OpenSSL: \(queue))")
    }

    /// The message: one line, safe to log (it never contains key material).
    public var description: String { message }
}
