/// A failure of a `TLSStream`: what class of failure it is (callers branch on `kind`) and one
/// line for the log (`message`, which never holds key material or payload bytes).
package struct LinkError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What class of failure this is.
    package enum Kind: Sendable, Hashable {
        /// The deadline passed. After a read timeout the stream is still usable; after a write
        /// or handshake timeout it is not (a partial TLS record may have gone out).
        case timedOut
        /// The stream was closed by `close()`, or is unusable after an earlier failure.
        case closed
        /// TLS failed: the handshake (a certificate not trusted, expired or rejected by the peer,
        /// no common version), a protocol error or fatal alert later, or the TLS set-up.
        case tls
        /// The socket failed (reset, broken pipe, …), or the peer closed the connection in the
        /// middle of the handshake.
        case io
        /// The peer's address refused the TCP connection (nothing listens there).
        case refused
    }

    /// What class of failure this is.
    package var kind: Kind
    /// One line saying what failed and why.
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
