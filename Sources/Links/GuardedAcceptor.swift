package import Platform
import Synchronization
package import Admission
package import Logging

/// Accepting for the servers that run a thread per connection (the front, the replication
/// listener), so that connections which only hold a slot cannot lock real clients or peers out.
///
/// - A new connection stays with the acceptor, costing no thread, until its first byte arrives
///   (a TLS client sends its ClientHello at once); one that sends nothing for `silentTimeout`
///   is closed.
/// - Only then does it get a thread (`start`), for the handshake and whatever follows.
/// - Every arrival is decided by `ConnectionAdmission`: over a limit (all connections, the
///   unfinished ones, one address's unfinished ones) the newest is taken and the least
///   valuable connection given up: a silent one, else the oldest unfinished handshake, else an
///   idle one. A connection that already has a thread is given up by shutting its socket down
///   through a duplicate descriptor kept here, which wakes its thread whatever it is doing.
///
/// The connection's thread reports through its `Ticket`: `update` when its standing changes
/// (handshake done, idle between requests, busy), `finish` when it ends.
package final class GuardedAcceptor: Sendable {
    /// The limits the acceptor enforces.
    package struct Limits: Sendable, Equatable {
        package var admission: ConnectionAdmission.Limits
        /// How long a connection may stay without sending a byte.
        package var silentTimeout: Double

        package init(admission: ConnectionAdmission.Limits, silentTimeout: Double) {
            self.admission = admission
            self.silentTimeout = silentTimeout
        }
    }

    /// A started connection's link back to the acceptor. `finish` must be called exactly once,
    /// when the thread is done with the connection (it may run before or after its owner
    /// closes the socket: the acceptor acts only on its own duplicate).
    package final class Ticket: Sendable {
        package let id: UInt64
        private let acceptor: GuardedAcceptor
        private let finished = Atomic<Bool>(false)

        fileprivate init(id: UInt64, acceptor: GuardedAcceptor) {
            self.id = id
            self.acceptor = acceptor
        }

        /// The connection's worth now (nil: busy, never given up).
        package func update(_ standing: ConnectionAdmission.Standing?) {
            guard !finished.load(ordering: .acquiring) else { return }
            acceptor.update(id, standing)
        }

        /// The thread is done with the connection.
        package func finish() {
            guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
            acceptor.finish(id)
        }
    }

    private struct Registry: ~Copyable {
        var admission: ConnectionAdmission
        /// Duplicates of the sockets whose threads run, to shut them down when given up.
        var watched: [UInt64: Int32] = [:]
    }

    /// A connection still with the acceptor (not one byte received yet).
    private struct Silent {
        var fd: Int32
        var peer: SocketAddress?
        var acceptedAt: Double
        /// Whether admission was told it is silent (its grace has passed).
        var markedSilent = false
    }

    package let name: String
    package let limits: Limits
    private let log: Logger
    private let registry: Mutex<Registry>
    private let nextId = Atomic<UInt64>(0)

    package init(name: String, limits: Limits, log: Logger) {
        self.name = name
        self.limits = limits
        self.log = log
        registry = Mutex(Registry(admission: ConnectionAdmission(limits: limits.admission)))
    }

    /// Accepts on `listener` until `isStopping` says so (checked at least every 0.1 s), then
    /// closes the connections it still holds. `start` is given each connection that has sent
    /// its first byte; it returns false when it could not start a thread (the connection is
    /// then closed and forgotten).
    package func run(
        listener: Int32,
        isStopping: () -> Bool,
        start: (consuming FileDescriptor, SocketAddress?, Ticket) -> Bool
    ) {
        var silent: [UInt64: Silent] = [:]
        defer {
            for (id, entry) in silent {
                FileDescriptor(owning: entry.fd).close()
                registry.withLock { $0.admission.remove(id) }
            }
        }
        while !isStopping() {
            log.flushSummaries()
            let now = MonotonicClock.seconds()
            // The silent connections whose time is up, and those whose grace has passed.
            for (id, entry) in silent {
                if now - entry.acceptedAt > limits.silentTimeout {
                    silent[id] = nil
                    FileDescriptor(owning: entry.fd).close()
                    registry.withLock { $0.admission.remove(id) }
                } else if !entry.markedSilent && now - entry.acceptedAt > ConnectionAdmission.silentGrace {
                    silent[id]?.markedSilent = true
                    registry.withLock { $0.admission.update(id, to: .silent) }
                }
            }
            let byFd = Dictionary(uniqueKeysWithValues: silent.map { ($0.value.fd, $0.key) })
            let ready: [Int32]
            do {
                ready = try Poll.readable([listener] + silent.values.map(\.fd), timeout: 0.1)
            } catch {
                log.error("\(name): poll: \(error)")
                OSThread.sleep(seconds: 0.1)
                continue
            }
            for fd in ready {
                if fd == listener {
                    acceptBatch(listener: listener, silent: &silent, start: start)
                } else if let id = byFd[fd], let entry = silent.removeValue(forKey: id) {
                    handOver(id: id, entry: entry, start: start)
                }
            }
        }
    }

    // MARK: - Internals

    private func acceptBatch(listener: Int32, silent: inout [UInt64: Silent], start: (consuming FileDescriptor, SocketAddress?, Ticket) -> Bool) {
        // Bounded, so that the silent connections are looked at between bursts.
        for _ in 0..<64 {
            let accepted: AcceptedSocket?
            do {
                accepted = try TCPSocket.accept(listener)
            } catch {
                log.repeated("\(name): accept failed", "\(name): accept: \(error); pausing accepts for 100 ms")
                OSThread.sleep(seconds: 0.1)
                return
            }
            guard let accepted else { return }
            let peer = accepted.peer
            let address = peer?.host ?? ""
            let id = nextId.add(1, ordering: .relaxed).newValue
            let decision = registry.withLock { registry -> ConnectionAdmission.Decision in
                let decision = registry.admission.decide(address: address)
                guard case .admitEvicting(let victim) = decision else { return decision }
                registry.admission.remove(victim)
                // A connection with a thread: shut down through the duplicate (under the lock,
                // so the duplicate is still open), then forget it.
                if let fd = registry.watched.removeValue(forKey: victim) {
                    TCPSocket.shutdownBoth(fd)
                    FileDescriptor(owning: fd).close()
                }
                return decision
            }
            switch decision {
            case .refuse:
                log.repeated("\(name): refused connections: every connection busy",
                             "\(name): refused a connection from \(peer.map(\.description) ?? "?"): every connection is busy")
                accepted.takeDescriptor().close()
                continue
            case .admitEvicting(let victim):
                if let entry = silent.removeValue(forKey: victim) { FileDescriptor(owning: entry.fd).close() }
                log.repeated("\(name): gave up connections for newer ones",
                             "\(name): gave up a connection for a newer one from \(peer.map(\.description) ?? "?") (over the limit on unfinished or total connections)")
            case .admit:
                break
            }
            registry.withLock { $0.admission.add(id, address: address) }
            let raw = accepted.takeDescriptor().releaseOwnership()
            let entry = Silent(fd: raw, peer: peer, acceptedAt: MonotonicClock.seconds())
            // The ClientHello is often there already: no need to wait a poll round for it.
            if (try? Poll.readable([raw], timeout: 0))?.isEmpty == false {
                handOver(id: id, entry: entry, start: start)
            } else {
                silent[id] = entry
            }
        }
    }

    private func handOver(id: UInt64, entry: Silent, start: (consuming FileDescriptor, SocketAddress?, Ticket) -> Bool) {
        let socket = FileDescriptor(owning: entry.fd)
        let watch: Int32
        do {
            watch = try socket.duplicate().releaseOwnership()
        } catch {
            log.repeated("\(name): cannot duplicate a descriptor", "\(name): \(error); closing a new connection")
            socket.close()
            registry.withLock { $0.admission.remove(id) }
            return
        }
        registry.withLock { registry in
            registry.watched[id] = watch
            registry.admission.update(id, to: .handshaking)
        }
        let ticket = Ticket(id: id, acceptor: self)
        if !start(socket, entry.peer, ticket) { ticket.finish() }
    }

    fileprivate func update(_ id: UInt64, _ standing: ConnectionAdmission.Standing?) {
        registry.withLock { $0.admission.update(id, to: standing) }
    }

    fileprivate func finish(_ id: UInt64) {
        registry.withLock { registry in
            registry.admission.remove(id)
            if let fd = registry.watched.removeValue(forKey: id) { FileDescriptor(owning: fd).close() }
        }
    }
}
