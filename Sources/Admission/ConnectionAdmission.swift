/// Which connection a server gives up when a new one arrives and a limit is reached: the pure
/// decision behind the client listener's and the replication listener's admission (no sockets,
/// no clocks; times are passed in).
///
/// A hostile client that only opens TCP connections must not lock legitimate ones out. So a
/// full server does not refuse the newest connection (which is how a flood of idle ones used to
/// win: every slot held for the whole handshake timeout); it gives up the connection that is
/// worth least, in this order:
///
/// 1. `lingering`: already answered, only draining what the client still sends;
/// 2. `silent`: not one byte received for longer than a short grace (`silentGrace`: a real TLS
///    client speaks first, at once);
/// 3. `idle`: a kept-alive connection between requests (clients reconnect, as they do after
///    any server-side idle close); before the two below, because a flood of connections that
///    finished their handshake and then idle must not push out the clients arriving now;
/// 4. `fresh`: accepted a moment ago, nothing received yet (it has not had the time);
/// 5. `handshaking`: bytes received, handshake not finished (stalled ones are bounded apart,
///    by the limits on unfinished connections);
/// 6. `reading`: a request partly received, or a final answer still being written.
///
/// Within a standing, the one that entered it first goes first. A connection whose request is
/// with the handler is never given up (its standing is nil). Two more limits bound the
/// connections that have not finished their handshake: all of them (`maxUnfinished`), and those
/// of one source address (`maxUnfinishedPerAddress`); over either, the new connection takes the
/// place of the oldest unfinished one (of that address, for the second), silent ones first.
///
/// Cost: every operation is O(1) amortized. Each standing keeps a queue in order of entry with
/// lazy deletion (an entry whose connection has moved on is skipped when it reaches the head),
/// compacted when stale entries outnumber live ones.
package struct ConnectionAdmission {
    /// How much a connection is worth keeping, least first (the eviction order).
    package enum Standing: Int, CaseIterable, Comparable, Sendable {
        case lingering, silent, idle, fresh, handshaking, reading

        package static func < (a: Standing, b: Standing) -> Bool { a.rawValue < b.rawValue }

        /// Whether the TLS handshake is still to finish.
        package var isUnfinished: Bool { self == .silent || self == .fresh || self == .handshaking }

        /// The unfinished standings, in the order they are given up.
        package static let unfinished: [Standing] = [.silent, .fresh, .handshaking]
    }

    /// The limits admission enforces.
    package struct Limits: Equatable, Sendable {
        /// Connections in all; nil when the caller enforces the total itself (it then asks
        /// `victimForCapacity()` when full).
        package var maxConnections: Int?
        /// Connections that have not finished their handshake.
        package var maxUnfinished: Int
        /// Unfinished connections from one source address.
        package var maxUnfinishedPerAddress: Int

        package init(maxConnections: Int?, maxUnfinished: Int, maxUnfinishedPerAddress: Int) {
            self.maxConnections = maxConnections
            self.maxUnfinished = maxUnfinished
            self.maxUnfinishedPerAddress = maxUnfinishedPerAddress
        }
    }

    /// What to do with a new connection.
    package enum Decision: Equatable, Sendable {
        /// Take it.
        case admit
        /// Take it, after closing this connection.
        case admitEvicting(UInt64)
        /// Refuse it: at capacity, and every connection is busy with a request.
        case refuse
    }

    private struct Tracked {
        var address: String
        var standing: Standing?
        /// Bumped on every change of standing: a queue entry is live only with the current one.
        var generation: UInt64
    }

    private struct Entry {
        var id: UInt64
        var generation: UInt64
    }

    /// Entries in order of entry into one standing, read from `head` on.
    private struct Queue {
        var entries: [Entry] = []
        var head = 0
        var live = 0

        var pending: ArraySlice<Entry> { entries[head...] }

        mutating func push(_ entry: Entry) {
            entries.append(entry)
            live += 1
        }
    }

    package let limits: Limits
    private var tracked: [UInt64: Tracked] = [:]
    private var queues = [Queue](repeating: Queue(), count: Standing.allCases.count)
    private var unfinishedByAddress: [String: Int] = [:]
    private(set) var unfinishedCount = 0

    package init(limits: Limits) {
        precondition(limits.maxUnfinished >= 1 && limits.maxUnfinishedPerAddress >= 1, "admission limits must admit one connection")
        precondition(limits.maxConnections.map { $0 >= 1 } ?? true, "admission limits must admit one connection")
        self.limits = limits
    }

    /// Connections tracked.
    package var count: Int { tracked.count }

    /// The standing of a tracked connection (nil when busy or unknown).
    package func standing(of id: UInt64) -> Standing? { tracked[id]?.standing }

    /// Entries held in the queues, stale ones included (bounded by compaction).
    package var queuedEntryCount: Int { queues.reduce(0) { $0 + $1.entries.count - $1.head } }

    /// Unfinished connections from `address`.
    package func unfinished(from address: String) -> Int { unfinishedByAddress[address] ?? 0 }

    /// What to do with a new connection from `address`. Decides only: the caller closes the
    /// evicted connection (and calls `remove`) and then `add`s the new one.
    package mutating func decide(address: String) -> Decision {
        if unfinished(from: address) >= limits.maxUnfinishedPerAddress {
            // Over the address's share: its own oldest unfinished connection makes room.
            if let victim = oldest(in: Standing.unfinished, address: address) { return .admitEvicting(victim) }
        }
        if unfinishedCount >= limits.maxUnfinished {
            if let victim = oldest(in: Standing.unfinished, address: nil) { return .admitEvicting(victim) }
        }
        if let max = limits.maxConnections, tracked.count >= max {
            return victimForCapacity().map { .admitEvicting($0) } ?? .refuse
        }
        return .admit
    }

    /// The connection to give up when the server is at its total capacity, in standing order;
    /// nil when every connection is busy.
    package mutating func victimForCapacity() -> UInt64? {
        oldest(in: Standing.allCases, address: nil)
    }

    /// How long a new connection may take to send its first byte before it counts as
    /// `silent`: its ClientHello follows the TCP handshake's last packet at once, so a quarter
    /// of a second is generous even across continents.
    package static let silentGrace = 0.25

    /// Starts tracking a new connection: `fresh` (it has not had the time to speak yet; the
    /// caller marks it `silent` after `silentGrace`, or `handshaking` once bytes arrive).
    package mutating func add(_ id: UInt64, address: String, standing: Standing = .fresh) {
        precondition(tracked[id] == nil, "connection \(id) is already tracked")
        tracked[id] = Tracked(address: address, standing: nil, generation: 0)
        update(id, to: standing)
    }

    /// Records a connection's standing (nil: busy, never evicted).
    package mutating func update(_ id: UInt64, to standing: Standing?) {
        guard var entry = tracked[id], entry.standing != standing else { return }
        let old = entry.standing
        leave(&entry)
        entry.standing = standing
        entry.generation &+= 1
        if let standing {
            queues[standing.rawValue].push(Entry(id: id, generation: entry.generation))
            if standing.isUnfinished {
                unfinishedCount += 1
                unfinishedByAddress[entry.address, default: 0] += 1
            }
        }
        tracked[id] = entry
        if let old { compactIfStale(old) }
    }

    /// Stops tracking a connection (closed).
    package mutating func remove(_ id: UInt64) {
        guard var entry = tracked.removeValue(forKey: id) else { return }
        leave(&entry)
        if let old = entry.standing { compactIfStale(old) }
    }

    /// The connection that entered `standing` first (nil when none): what the queues hold at
    /// their head, for tests and diagnostics.
    package func oldest(_ standing: Standing) -> UInt64? {
        queues[standing.rawValue].pending.first { isLive($0, standing) }?.id
    }

    // MARK: - Internals

    private func isLive(_ entry: Entry, _ standing: Standing) -> Bool {
        guard let t = tracked[entry.id] else { return false }
        return t.generation == entry.generation && t.standing == standing
    }

    /// Takes a connection out of its standing's counts (its queue entry goes stale once the
    /// caller has updated or removed it).
    private mutating func leave(_ entry: inout Tracked) {
        guard let old = entry.standing else { return }
        queues[old.rawValue].live -= 1
        if old.isUnfinished {
            unfinishedCount -= 1
            let left = (unfinishedByAddress[entry.address] ?? 1) - 1
            unfinishedByAddress[entry.address] = left > 0 ? left : nil
        }
    }

    /// The first live connection in the first standing of `standings` that has one, optionally
    /// from `address` only. Stale heads are dropped on the way.
    private mutating func oldest(in standings: [Standing], address: String?) -> UInt64? {
        for standing in standings {
            dropStaleHead(standing)
            let queue = queues[standing.rawValue]
            if let address {
                if let found = queue.pending.first(where: { isLive($0, standing) && tracked[$0.id]?.address == address }) {
                    return found.id
                }
            } else if let first = queue.pending.first {
                return first.id  // the head is live after dropStaleHead
            }
        }
        return nil
    }

    private mutating func dropStaleHead(_ standing: Standing) {
        var queue = queues[standing.rawValue]
        queues[standing.rawValue] = Queue()  // keeps the array uniquely referenced while it is edited
        while queue.head < queue.entries.count && !isLive(queue.entries[queue.head], standing) {
            queue.head += 1
        }
        if queue.head == queue.entries.count {
            queue.entries.removeAll(keepingCapacity: true)
            queue.head = 0
        }
        queues[standing.rawValue] = queue
    }

    /// Rebuilds a queue from its live entries once stale ones are the majority, so that a
    /// long-lived head cannot let stale entries behind it pile up without bound.
    private mutating func compactIfStale(_ standing: Standing) {
        let queue = queues[standing.rawValue]
        let stored = queue.entries.count - queue.head
        guard stored > 64 && stored > 2 * queue.live + 64 else { return }
        var rebuilt = Queue()
        rebuilt.entries = queue.pending.filter { isLive($0, standing) }
        rebuilt.live = queue.live
        precondition(rebuilt.entries.count == queue.live, "admission queue \(standing) lost count of its live entries")
        queues[standing.rawValue] = rebuilt
    }
}
