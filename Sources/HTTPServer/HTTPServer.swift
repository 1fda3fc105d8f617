import Foundation
package import Platform
import Synchronization
package import TLS
package import Configuration
package import Logging

/// The HTTPS listener: listening sockets shared by a fixed set of event loops, one per core.
package final class HTTPServer: Sendable {
    private let loops: [EventLoop]
    /// Owns a listening descriptor; it closes at `stopAndJoin` (so that a node restarting in
    /// another role, in the same process, can bind the port again) or when released.
    private final class Listener: Sendable {
        let descriptor: Mutex<FileDescriptor?>
        let rawValue: Int32
        init(_ descriptor: consuming FileDescriptor) {
            rawValue = descriptor.rawValue
            self.descriptor = Mutex(Optional(descriptor))
        }
        func close() { descriptor.withLock { $0 = nil } }
    }
    private let listeners: [Listener]
    package let connectionCount = ConnectionCounter()
    /// The bound addresses, with the real port when 0 was asked for.
    package let boundAddresses: [SocketAddress]

    package init(addresses: [SocketAddress], context: TLSContext, handler: any RequestHandler, limits: ServerLimits,
         eventLoops: Int, log: Logger) throws(Errno) {
        var listeners: [Listener] = []
        var bound: [SocketAddress] = []
        for address in addresses {
            let fd = try TCPSocket.listen(on: address)
            var actual = address
            actual.port = try TCPSocket.localPort(fd)
            bound.append(actual)
            listeners.append(Listener(fd))
        }
        let raws = listeners.map(\.rawValue)
        var loops: [EventLoop] = []
        for index in 0..<max(1, eventLoops) {
            loops.append(try EventLoop(index: index, loopCount: max(1, eventLoops), listeners: raws, context: context, handler: handler, limits: limits,
                                       connectionCount: connectionCount, log: log))
        }
        for loop in loops { loop.setSiblings(loops) }
        self.listeners = listeners
        self.loops = loops
        self.boundAddresses = bound
    }

    /// Open connections per event loop (tests check the balance).
    package var connectionsPerLoop: [Int] { loops.map { $0.load.load(ordering: .relaxed) } }

    package func start() throws(Errno) {
        for loop in loops { try loop.start() }
    }

    /// Stops accepting, lets in-flight requests finish (`grace` seconds at most, 5 by default),
    /// and waits for the loops.
    package func stopAndJoin(grace: Double = EventLoop.stopGraceSeconds) {
        for loop in loops { loop.stop(grace: grace) }
        for loop in loops { loop.join() }
        for listener in listeners { listener.close() }
    }
}
