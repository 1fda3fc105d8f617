import Foundation
package import HTTP1
package import Platform
package import TLS

/// One client connection: socket, TLS engine, HTTP parser and the response in flight.
/// Owned and touched only by its event loop's thread.
package final class Connection {
    /// Where the connection is (see `ConnectionLifecycle` for the legal transitions).
    package typealias State = ConnectionLifecycle.State

    package let id: UInt64
    package let socket: FileDescriptor
    package var tls: TLSConnection
    package var parser: HTTPRequestParser
    package let info: ConnectionInfo
    /// The state and the times its deadlines run from; every transition goes through it.
    package var lifecycle: ConnectionLifecycle
    package var state: State { lifecycle.state }

    /// Ciphertext waiting for the socket, and how much of it was already sent.
    package var output: [UInt8] = []
    package var outputOffset = 0
    /// Scratch buffer for decrypted input, reused across reads.
    package var plaintext: [UInt8] = []

    /// Whether the request being answered asked to keep the connection open.
    package var keepAliveAfterResponse = true
    /// The peer closed its side (TCP FIN or TLS close_notify).
    package var peerClosed = false
    /// The address the peer connects from, the key of its share of unfinished handshakes.
    package var sourceAddress: String { info.peer?.host ?? "" }
    /// The epoll interest last registered, to avoid needless epoll_ctl calls.
    package var registeredInterest: EpollEvents = []
    /// How many bytes were discarded while lingering.
    package var lingerDiscarded = 0

    package init(id: UInt64, socket: consuming FileDescriptor, tls: consuming TLSConnection, limits: HTTPLimits, info: ConnectionInfo, now: Double) {
        self.id = id
        self.socket = socket
        self.tls = tls
        self.parser = HTTPRequestParser(limits: limits)
        self.info = info
        self.lifecycle = ConnectionLifecycle(acceptedAt: now)
    }

    /// Bumped for every dispatched request; an answer carrying an older serial is dropped.
    package var requestSerial: UInt64 = 0

    package var hasPendingOutput: Bool { outputOffset < output.count }
    package var pendingOutputCount: Int { output.count - outputOffset }
}
