import Foundation
package import HTTP1
package import Platform
package import TLS

/// One client connection: socket, TLS engine, HTTP parser and the response in flight.
/// Owned and touched only by its event loop's thread.
package final class Connection {
    /// Legal transitions: handshaking → open; open ⇄ awaitingResponse; any → closingAfterFlush →
    /// lingering; any → closed (terminal).
    package enum State: Equatable {
        /// TLS handshake not finished; no plaintext yet.
        case handshaking
        /// Ready to parse the next request.
        case open
        /// A request was handed to the handler; later requests stay buffered (pipelining keeps order).
        case awaitingResponse
        /// A final response is queued; once the socket has taken it, go to `lingering`.
        case closingAfterFlush
        /// Our side is shut (FIN sent); what the client still sends is read and dropped for a
        /// short while, so that closing with unread input does not reset the connection and
        /// destroy the response it has not read yet (nginx's lingering close).
        case lingering
        case closed
    }

    package let id: UInt64
    package let socket: FileDescriptor
    package var tls: TLSConnection
    package var parser: HTTPRequestParser
    package let info: ConnectionInfo
    package var state: State = .handshaking

    /// Ciphertext waiting for the socket, and how much of it was already sent.
    package var output: [UInt8] = []
    package var outputOffset = 0
    /// Scratch buffer for decrypted input, reused across reads.
    package var plaintext: [UInt8] = []

    package let acceptedAt: Double
    package var lastActivity: Double
    /// When the current request's first byte arrived (nil while idle).
    package var requestStartedAt: Double?
    /// Whether the request being answered asked to keep the connection open.
    package var keepAliveAfterResponse = true
    /// The peer closed its side (TCP FIN or TLS close_notify).
    package var peerClosed = false
    /// Whether the peer has sent at least one byte (a connection that has not is `silent`).
    package var receivedBytes = false
    /// The address the peer connects from, the key of its share of unfinished handshakes.
    package var sourceAddress: String { info.peer?.host ?? "" }
    /// The epoll interest last registered, to avoid needless epoll_ctl calls.
    package var registeredInterest: EpollEvents = []
    /// When lingering began, and how many bytes were discarded since.
    package var lingerStartedAt = 0.0
    package var lingerDiscarded = 0

    package init(id: UInt64, socket: consuming FileDescriptor, tls: consuming TLSConnection, limits: HTTPLimits, info: ConnectionInfo, now: Double) {
        self.id = id
        self.socket = socket
        self.tls = tls
        self.parser = HTTPRequestParser(limits: limits)
        self.info = info
        self.acceptedAt = now
        self.lastActivity = now
    }

    /// Bumped for every dispatched request; an answer carrying an older serial is dropped.
    package var requestSerial: UInt64 = 0
    /// When the request in flight was handed to the handler.
    package var dispatchedAt = 0.0

    package var hasPendingOutput: Bool { outputOffset < output.count }
    package var pendingOutputCount: Int { output.count - outputOffset }
}
