import Foundation
public import Platform
import Synchronization
import TLS
public import Configuration
import Links
public import Logging
import Admission

/// `strongroom front`: an HTTPS front door for a cluster. Each request goes to the node of the
/// region its SigV4 credential scope names, bytes unchanged, and the node's response comes back
/// unchanged; the front never verifies signatures (the node does) and never sees a key.
///
/// A thread per client connection (bounded by `limits.maxConnections`), blocking I/O with
/// deadlines over `TLSStream`. Each client connection keeps its own keep-alive connection per
/// region it used, so one slow node never holds up another region's requests.
public final class FrontProxy: Sendable {
    /// Why the front cannot start: one line naming the file or address.
    public struct StartupError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// On stop, requests in flight get this long to finish.
    static let stopGraceSeconds = 5.0
    /// Accept failures (EMFILE, ENOMEM) pause accepting this long.
    static let acceptPauseSeconds = 0.1

    let configuration: FrontConfiguration
    /// The node of each region that last answered: tried first (after a promotion, or with a
    /// node down, the front keeps going to one that works).
    let preferred = Mutex<[String: SocketAddress]>([:])
    let serverContext: TLSContext
    let nodeContext: TLSContext
    let log: Logger
    /// The address clients connect to, with the real port when 0 was asked for.
    public let boundAddress: SocketAddress

    private final class Listener: Sendable {
        let descriptor: FileDescriptor
        init(_ descriptor: consuming FileDescriptor) { self.descriptor = descriptor }
    }
    private let listener: Listener
    private let acceptThread = Mutex<OSThread?>(nil)
    private let stopping = Atomic<Bool>(false)
    /// Admission: silent connections wait without a thread, and a full front gives up its
    /// least valuable connection for a new one (see `GuardedAcceptor`).
    let acceptor: GuardedAcceptor
    /// Live client connections, to close them on stop; the count is what `stopAndJoin` waits on.
    private let live = ConditionLock<[UInt64: FrontConnection]>([:])
    private let nextId = Atomic<UInt64>(0)

    /// Loads the certificates and binds the listening socket (nothing is accepted before `start`).
    public init(configuration: FrontConfiguration, log: Logger) throws(StartupError) {
        self.configuration = configuration
        self.log = log
        let limits = configuration.limits
        acceptor = GuardedAcceptor(name: "front", limits: .init(
            admission: .init(maxConnections: limits.maxConnections, maxUnfinished: limits.maxUnfinishedConnections,
                             maxUnfinishedPerAddress: limits.maxUnfinishedPerAddress),
            silentTimeout: limits.silentTimeout
        ), log: log)
        do {
            serverContext = try TLSContext.server(certificateChainFile: configuration.certificateFile,
                                                  privateKeyFile: configuration.privateKeyFile)
            nodeContext = try TLSContext.client(trustedCAFile: configuration.caFile)
        } catch {
            throw StartupError(message: error.message)
        }
        do {
            let fd = try TCPSocket.listen(on: configuration.listen)
            var bound = configuration.listen
            bound.port = try TCPSocket.localPort(fd)
            boundAddress = bound
            listener = Listener(fd)
        } catch {
            throw StartupError(message: "cannot listen on \(configuration.listen): \(error)")
        }
    }

    /// Starts accepting connections.
    public func start() throws(Errno) {
        let thread = try OSThread.start(name: "front-accept") { [self] in acceptLoop() }
        acceptThread.withLock { $0 = thread }
        let routes = configuration.routes.keys.sorted().map { region in
            "\(region) → " + configuration.nodes(of: region).map(\.description).joined(separator: " or ")
        }.joined(separator: ", ")
        log.info("front listening on https://\(boundAddress); routes: \(routes)")
    }

    /// Stops accepting, closes idle connections, gives requests in flight `stopGraceSeconds`,
    /// then closes the rest and waits until every connection thread has finished.
    public func stopAndJoin() {
        stopping.store(true, ordering: .releasing)
        acceptThread.withLock { $0 }?.join()
        for connection in live.withLock({ Array($0.values) }) where !connection.isBusy { connection.closeAll() }
        let deadline = MonotonicClock.seconds() + Self.stopGraceSeconds
        while !live.withLock({ $0.isEmpty }) && MonotonicClock.seconds() < deadline { OSThread.sleep(seconds: 0.02) }
        for connection in live.withLock({ Array($0.values) }) { connection.closeAll() }
        live.withLock(waitingUntil: { $0.isEmpty }) { _ in }
    }

    /// Serves until SIGTERM or SIGINT (SIGHUP is ignored: nothing to reload), then stops.
    /// `Signals.prepare()` must have run first.
    public func runUntilSignalled() {
        while true {
            switch Signals.wait() {
            case .hangup, .restart:
                continue
            case .interrupt, .terminate:
                log.info("shutting down")
                stopAndJoin()
                log.info("stopped")
                return
            }
        }
    }

    /// Whether `stopAndJoin` began: connections finish their response and close.
    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Client connections open now.
    var openConnections: Int { live.withLock { $0.count } }

    // MARK: - Accepting

    private func acceptLoop() {
        acceptor.run(listener: listener.descriptor.rawValue, isStopping: { isStopping }) { socket, peer, ticket in
            // A descriptor cannot be captured by the thread's closure: its number is handed over.
            let raw = socket.releaseOwnership()
            do {
                try OSThread.startDetached(name: "front-conn") { [self] in serve(FileDescriptor(owning: raw), peer: peer, ticket: ticket) }
                return true
            } catch {
                FileDescriptor(owning: raw).close()
                log.repeated("front: cannot start connection threads", "cannot start a connection thread: \(error)")
                OSThread.sleep(seconds: Self.acceptPauseSeconds)
                return false
            }
        }
    }

    /// One client connection, on its own thread, from the TLS handshake to the close.
    private func serve(_ socket: consuming FileDescriptor, peer: SocketAddress?, ticket: GuardedAcceptor.Ticket) {
        defer { ticket.finish() }
        let client: TLSStream
        do {
            client = try TLSStream.accept(socket, context: serverContext, timeout: configuration.limits.handshakeTimeout, peer: peer)
        } catch {
            return  // a client that cannot complete a handshake is not worth a log line
        }
        let id = nextId.add(1, ordering: .relaxed).newValue
        let connection = FrontConnection(client: client, proxy: self, ticket: ticket)
        live.withLock { $0[id] = connection }
        defer {
            connection.closeAll()
            live.withLock { $0[id] = nil }
            live.broadcast()
        }
        if isStopping { return }
        connection.run()
    }
}
