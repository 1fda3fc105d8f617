import Journal
@_spi(Simulation) import LogShipping
import Replication
import SecretStore
import Platform
import SeededRandom

/// The deterministic simulator: 2–4 regions built from the real pure code (SecretStore's
/// decisions, the link state machines, the journal's writer and recovery over a memory disk),
/// a simulated network and clock, crashes and restarts, and a workload of API operations, all
/// driven by one seeded generator on one thread. See docs/SAFETY.md for the faults and the
/// checkers that cover each.
public enum Simulator {
    /// Runs one seed.
    public static func run(_ options: SimulationOptions) -> SimulationResult {
        let world = World(options)
        return world.run()
    }
}

enum Event {
    /// A node's links look at the time (every 100 ms).
    case tick(node: Int, incarnation: Int)
    /// A node's journal commits what is queued (one group commit).
    case flush(node: Int, incarnation: Int)
    /// A frame arrives at one end of a connection.
    case deliver(connection: Int, toServer: Bool, message: ReplicationMessage)
    /// A connection attempt ends: established (both ends learn it) or failed.
    case connectDone(connection: Int, failure: String?)
    /// The other end closed (a FIN or a reset arrives).
    case peerClosed(connection: Int, toServer: Bool, reason: String)
    /// One client operation.
    case client
    /// One fault.
    case fault
    case restart(node: Int)
    /// The partition or slow link of that number ends.
    case heal(cut: Int)
    /// A node's disk is healthy again (room back, group commits fast).
    case diskRecovers(node: Int)
    /// A replica link's write reaches the node's storage: as in the transport, each write of a
    /// frame is decided a moment after the one before, so a failure can land in between.
    /// `failures`: the node's failed appends when the frame's writes began.
    case replicaWrite(node: Int, incarnation: Int, source: Int, generation: UInt64, write: ReplicaWrite, failures: UInt64)
}

/// One replica node's connection to a source node: ordered, reliable while open (TCP and TLS).
struct Connection {
    let id: Int
    let client: Int
    let server: Int
    let clientIncarnation: Int
    let serverIncarnation: Int
    var open = true
    var established = false
    /// The latest delivery time scheduled per direction (0: to the server), so frames keep their order.
    var lastDelivery: [Int64] = [0, 0]
    /// Frames held by a cut (TCP keeps retransmitting them), per direction.
    var held: [[ReplicationMessage]] = [[], []]
}

/// A network fault in force: messages from `from` to `to` are held (a cut) or slowed.
struct Cut {
    let id: Int
    let from: Int
    let to: Int
    /// Extra delay instead of a cut.
    let slowMillis: Int64?
}

final class World: SeededWorld {
    let options: SimulationOptions
    let regionNames: [String]
    let faults: ShippingFaults
    var random: SplitMix64
    var now: Int64 = 0
    var step = 0
    var queue = EventQueue<Event>()
    var nodes: [SimulatedNode] = []
    var connections: [Int: Connection] = [:]
    var nextConnection = 1
    var cuts: [Cut] = []
    var nextCut = 1
    var faultPhase = true
    /// Network faults on frames (drop, duplicate, reorder: the TLS record layer detects each and
    /// the connection dies): on while faults are.
    var frameFaults = true
    var hash = TraceHash()
    var trace: [String] = []
    var failure: SimulationFailure?
    var statistics = SimulationStatistics()
    var checker: Checker
    var workload: Workload
    /// Records appended and record frames sent during the quiet window.
    var quietAppends = 0
    var quietRecordFrames = 0
    var measuringQuiet = false

    static let allRegions = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]
    static let tickMillis: Int64 = 100
    static let heartbeatMillis: Int64 = 1000
    static let deadAfterMillis: Int64 = 5000
    /// Records between the journal's snapshots (which compact the log).
    static let snapshotEveryRecords = 20
    static let startMillis: Int64 = 1_700_000_000_000

    init(_ options: SimulationOptions) {
        self.options = options
        faults = options.faults
        regionNames = Array(Self.allRegions.prefix(options.regions))
        random = SplitMix64(seed: options.seed)
        checker = Checker(regions: options.regions)
        workload = Workload(regions: Array(Self.allRegions.prefix(options.regions)))
        for (index, name) in regionNames.enumerated() {
            nodes.append(SimulatedNode(index: index, region: name, regions: options.regions))
        }
    }

    var traceLines: Int { options.traceLines }

    // MARK: - The run

    func run() -> SimulationResult {
        for node in nodes { boot(node) }
        queue.schedule(.client, at: between(1, 20))
        queue.schedule(.fault, at: between(200, 2000))
        // The fault phase: the workload and the faults, for `steps` events.
        while failure == nil && step < options.steps, let (at, event) = queue.next() {
            process(event, at: at)
        }
        // Faults stop: heal every cut, bring every node back, stop the workload.
        if failure == nil { endFaults() }
        var converged: Int64?
        let settleEnd = now + options.settleMillis
        var nextCheck = now + 1000
        while failure == nil, converged == nil, let at = queue.nextTime, at <= settleEnd, let (time, event) = queue.next() {
            process(event, at: time)
            if now >= nextCheck {
                nextCheck = now + 1000
                if convergence() == nil { converged = now }
            }
        }
        if failure == nil, converged == nil {
            let reason = convergence() ?? "converged only at the deadline"
            fail(reason.hasPrefix("link") || reason.hasPrefix("notice") ? "liveness" : "convergence",
                 "\(options.settleMillis / 1000) s after the faults stopped: \(reason)")
        }
        // Quiescence: a settled, idle cluster logs nothing and ships no records.
        if failure == nil, let converged {
            let quietStart = converged + 3 * Self.deadAfterMillis
            while failure == nil, let at = queue.nextTime, at <= quietStart, let (time, event) = queue.next() { process(event, at: time) }
            measuringQuiet = true
            let quietEnd = now + options.quietMillis
            while failure == nil, let at = queue.nextTime, at <= quietEnd, let (time, event) = queue.next() { process(event, at: time) }
            if failure == nil && (quietAppends > 0 || quietRecordFrames > 0) {
                fail("quiescence", "an idle cluster appended \(quietAppends) records and sent \(quietRecordFrames) record frames in \(options.quietMillis / 1000) s")
            }
            if failure == nil, let reason = convergence() { fail("convergence", "after the quiet window: \(reason)") }
        }
        statistics.events = step
        statistics.simulatedMillis = now
        return SimulationResult(seed: options.seed, traceHash: hash.value, failure: failure, trace: trace, statistics: statistics)
    }

    func process(_ event: Event, at time: Int64) {
        now = max(now, time)
        step += 1
        switch event {
        case .tick(let index, let incarnation):
            let node = nodes[index]
            guard node.isUp, node.incarnation == incarnation else { return }
            tick(node)
            queue.schedule(.tick(node: index, incarnation: incarnation), at: now + Self.tickMillis)
        case .flush(let index, let incarnation):
            let node = nodes[index]
            guard node.isUp, node.incarnation == incarnation else { return }
            flush(node)
        case .deliver(let id, let toServer, let message):
            deliver(id, toServer: toServer, message)
        case .connectDone(let id, let failure):
            connectDone(id, failure: failure)
        case .peerClosed(let id, let toServer, let reason):
            peerClosed(id, toServer: toServer, reason: reason)
        case .client:
            guard faultPhase else { return }
            workload.operate(self)
            queue.schedule(.client, at: now + between(2, 40))
        case .fault:
            guard faultPhase else { return }
            injectFault()
            queue.schedule(.fault, at: now + between(300, 4000))
        case .restart(let index):
            let node = nodes[index]
            guard !node.isUp else { return }
            boot(node)
        case .replicaWrite(let index, let incarnation, let source, let generation, let write, let failures):
            let node = nodes[index]
            guard node.isUp, node.incarnation == incarnation else { return }
            // Refused when an append failed since the frame's writes began (the storage's
            // `write(unlessFailedSince:)`): decided now, it would be logged past the failed one.
            if node.appendFailures != failures {
                note("\(node.region): a write of the link from \(regionNames[source]) comes after a failed append"
                    + (faults.contains(.decideAfterFailure) ? "; decided anyway (broken variant)" : "; refused"))
                if !faults.contains(.decideAfterFailure) {
                    answer(.replica(source: source, generation: generation, logged: nil), at: node, durable: false)
                    return
                }
            }
            let facts = write.facts(in: node.pending, from: regionNames[source], localRegion: node.region,
                                    seal: { value, _, _, _ in .success(value) }, faults: faults)
            if !submit(node, facts: facts, completion: .replica(source: source, generation: generation, logged: write.loggedPosition)) {
                answer(.replica(source: source, generation: generation, logged: nil), at: node, durable: false)
            }
        case .diskRecovers(let index):
            nodes[index].disk.diskFull = false
            nodes[index].nearlyFull = false
            nodes[index].diskLatency = (1, 4)
        case .heal(let id):
            heal(id)
        }
    }

    // MARK: - Nodes

    func boot(_ node: SimulatedNode) {
        switch node.open() {
        case .failure(let message):
            fail("recovery", "\(node.region): \(message)")
            return
        case .success(let recovered):
            note("\(node.region) up at LSN \(node.committedLSN) (\(recovered.records.count) records replayed)")
            checker.recovered(node, recovered: recovered, world: self)
        }
        for source in nodes.indices where source != node.index {
            var configuration = ReplicaLink.Configuration(nodeId: node.nodeId, region: node.region, sourceRegion: regionNames[source],
                                                          heartbeatMillis: Self.heartbeatMillis, deadAfterMillis: Self.deadAfterMillis)
            configuration.faults = faults
            node.replicaLinks[source] = ReplicaLink(configuration, seed: random.next())
        }
        queue.schedule(.tick(node: node.index, incarnation: node.incarnation), at: now + between(1, Self.tickMillis))
    }

    func crash(_ node: SimulatedNode, why: String) {
        guard node.isUp else { return }
        statistics.crashes += 1
        let unsynced = node.disk.unsyncedWrites()
        var torn: MemoryJournalStorage.TornWrite?
        if let last = unsynced.last, chance(50) {
            torn = MemoryJournalStorage.TornWrite(path: last.path, keptBytes: Int(draw(UInt64(last.byteCount))))
            statistics.tornWrites += 1
        }
        node.disk.crash(tornWrite: torn)
        note("\(node.region) crashes (\(why)); \(unsynced.count) unsynced writes lost\(torn.map { ", \($0.keptBytes) bytes of the last kept" } ?? "")")
        dropConnections(of: node, reset: chance(50))
        node.die()
        queue.schedule(.restart(node: node.index), at: now + between(200, 8000))
    }

    /// A clean stop (SIGTERM): the links log their positions if they must, the queued writes
    /// are committed, the log closes.
    func stop(_ node: SimulatedNode) {
        guard node.isUp else { return }
        statistics.cleanStops += 1
        note("\(node.region) stops")
        for source in node.replicaLinks.indices {
            guard node.replicaLinks[source] != nil else { continue }
            let actions = node.replicaLinks[source]!.step(.stop, now: instant)
            perform(actions, replicaOf: source, at: node)
        }
        var rounds = 0
        while !node.queued.isEmpty && node.isUp && rounds < 100 {
            flush(node)
            rounds += 1
        }
        guard node.isUp else { return }
        _ = node.journal?.close()
        dropConnections(of: node, reset: false)
        node.die()
        queue.schedule(.restart(node: node.index), at: now + between(200, 5000))
    }

    var instant: LinkInstant { LinkInstant(monotonicMillis: now, wallMillis: Self.startMillis + now) }

    func tick(_ node: SimulatedNode) {
        for source in node.replicaLinks.indices where node.replicaLinks[source] != nil {
            let notices = ReplicaNoticeLists.encode(node.committed.sources[regionNames[source]], source: regionNames[source])
            _ = node.replicaLinks[source]!.step(.notices(notices), now: instant)
            let actions = node.replicaLinks[source]!.step(.tick, now: instant)
            perform(actions, replicaOf: source, at: node)
            guard node.isUp else { return }
        }
        for id in node.sourceLinks.keys.sorted() {
            stepSource(node, id, .log(committed: node.committedPosition, oldestRetainedLSN: node.journal?.oldestRetainedLSN ?? 1))
            stepSource(node, id, .tick)
            guard node.isUp else { return }
        }
    }

    // MARK: - Writes

    /// Decides a write against the node's pending state and queues its record.
    @discardableResult
    func submit(_ node: SimulatedNode, facts: [Fact], completion: Completion) -> Bool {
        guard node.isUp, let journal = node.journal else { return false }
        if facts.isEmpty {
            node.queued.append(QueuedWrite(facts: [], appended: false, completion: completion))
        } else {
            let payload = Fact.encode(routed: facts, routes: node.pending.routes(for: facts))
            if case .failure(let error) = journal.enqueue(type: RegionLogRecord.routedType, epoch: SimulatedNode.epoch, payload: payload) {
                note("\(node.region) refuses a write: \(error)")
                return false
            }
            for fact in facts { node.pending.apply(fact) }
            node.queued.append(QueuedWrite(facts: facts, appended: true, completion: completion))
            if measuringQuiet { quietAppends += 1 }
        }
        if !node.flushScheduled {
            node.flushScheduled = true
            queue.schedule(.flush(node: node.index, incarnation: node.incarnation), at: now + between(node.diskLatency.low, node.diskLatency.high))
        }
        return true
    }

    func flush(_ node: SimulatedNode) {
        node.flushScheduled = false
        guard let journal = node.journal else { return }
        if chance(1) && faultPhase {
            node.disk.failNextSync()
        }
        if node.nearlyFull && chance(50) {
            node.disk.failNextWrite(Errno.noSpace)
        }
        let report = journal.flush()
        var results = report.outcomes.map(\.result).makeIterator()
        var completed: [(QueuedWrite, UInt64?)] = []
        var failedWrite: String?
        while let first = node.queued.first {
            if !first.appended {
                completed.append((first, nil))
                node.queued.removeFirst()
                continue
            }
            guard let result = results.next() else { break }
            node.queued.removeFirst()
            switch result {
            case .success(let lsn):
                completed.append((first, lsn))
            case .failure(let error):
                failedWrite = "\(error)"
                completed.append((first, nil))
            }
        }
        if report.crash != nil {
            statistics.failedSyncs += 1
            // A failed fdatasync stops the process (PostgreSQL's lesson): recovery reads the truth.
            crash(node, why: "fdatasync failed")
            return
        }
        var changed = false
        for (write, lsn) in completed {
            if let lsn {
                for fact in write.facts where !node.committed.apply(fact) {
                    fail("monotonic", "\(node.region) LSN \(lsn): \(fact.kindName) about a secret it does not hold (diverged)")
                }
                node.committedLSN = lsn
                node.recordsSinceSnapshot += 1
                statistics.records += 1
                checker.committed(node, lsn: lsn, facts: write.facts, world: self)
                changed = true
            }
            answer(write.completion, at: node, durable: lsn != nil || (!write.appended && failedWrite == nil))
            guard node.isUp else { return }
        }
        if failedWrite != nil {
            node.appendFailures += 1
            // The journal halted: pending goes back to committed once nothing is in flight.
            node.pending = node.committed
            node.queued = []
            journal.resume()
        }
        if !node.queued.isEmpty && !node.flushScheduled {
            node.flushScheduled = true
            queue.schedule(.flush(node: node.index, incarnation: node.incarnation), at: now + 1)
        }
        if changed {
            if node.recordsSinceSnapshot >= Self.snapshotEveryRecords && node.queued.isEmpty {
                node.recordsSinceSnapshot = 0
                switch Result(catching: { () throws(JournalError) -> Bool in
                    try journal.writeSnapshot(lsn: node.committedLSN, epoch: SimulatedNode.epoch, state: node.committed.encode())
                }) {
                case .success(true): statistics.journalSnapshots += 1
                case .success(false): break
                case .failure(let error):
                    if error.kind == .crashed { return crash(node, why: "the snapshot's sync failed") }
                    note("\(node.region) snapshot failed: \(error)")
                }
            }
            for id in node.sourceLinks.keys.sorted() {
                stepSource(node, id, .log(committed: node.committedPosition, oldestRetainedLSN: journal.oldestRetainedLSN))
                guard node.isUp else { return }
            }
        }
    }

    func answer(_ completion: Completion, at node: SimulatedNode, durable: Bool) {
        switch completion {
        case .client(let operation):
            if durable && !faults.contains(.acknowledgeBeforeDurable) { checker.acknowledged(operation, at: node, world: self) }
        case .replica(let source, let generation, let logged):
            guard node.replicaLinks[source] != nil else { return }
            if let logged, durable { node.replicaLinks[source]!.noteLogged(logged) }
            let notices = ReplicaNoticeLists.encode(node.committed.sources[regionNames[source]], source: regionNames[source])
            _ = node.replicaLinks[source]!.step(.notices(notices), now: instant)
            let input: ReplicaLink.Input = durable ? .durable(generation: generation) : .writeFailed(generation: generation, "not stored")
            let actions = node.replicaLinks[source]!.step(input, now: instant)
            perform(actions, replicaOf: source, at: node)
        case .none:
            break
        }
    }

    // MARK: - Replica side

    func perform(_ actions: [ReplicaLink.Action], replicaOf source: Int, at node: SimulatedNode) {
        let failures = node.appendFailures
        // After every write this link already has on its way: a link's writes keep their order
        // (the transport awaits a frame's writes before it reads the next).
        var nextWrite = max(now, (node.lastWriteScheduled[source] ?? now) + 1)
        for action in actions {
            guard node.isUp || action == .close else { return }
            switch action {
            case .connect:
                connect(node, to: source)
            case .send(let message):
                guard let id = node.replicaConnections[source] else { continue }
                send(message, on: id, toServer: true)
            case .write(let write, let generation):
                queue.schedule(.replicaWrite(node: node.index, incarnation: node.incarnation, source: source, generation: generation,
                                             write: write, failures: failures), at: nextWrite)
                node.lastWriteScheduled[source] = nextWrite
                nextWrite += between(1, 6)
            case .close:
                if let id = node.replicaConnections[source] {
                    close(id, by: node.index)
                    node.replicaConnections[source] = nil
                }
            case .logError(let message), .logInfo(let message):
                note("\(node.region): \(message)")
            }
        }
    }

    func connect(_ node: SimulatedNode, to source: Int) {
        let id = nextConnection
        nextConnection += 1
        let server = nodes[source]
        let connection = Connection(id: id, client: node.index, server: source, clientIncarnation: node.incarnation,
                                    serverIncarnation: server.incarnation)
        connections[id] = connection
        node.replicaConnections[source] = id
        if !server.isUp {
            queue.schedule(.connectDone(connection: id, failure: "connection refused"), at: now + latency(node.index, source) * 2)
        } else if isCut(node.index, source) || isCut(source, node.index) {
            queue.schedule(.connectDone(connection: id, failure: "timed out"), at: now + Self.deadAfterMillis)
        } else {
            queue.schedule(.connectDone(connection: id, failure: nil), at: now + latency(node.index, source) * 3)
        }
    }

    func connectDone(_ id: Int, failure: String?) {
        guard var connection = connections[id] else { return }
        let client = nodes[connection.client]
        if !connection.open {
            // The server went away while the connection was being made.
            connections[id] = nil
            guard client.isUp, client.incarnation == connection.clientIncarnation, client.replicaConnections[connection.server] == id else { return }
            client.replicaConnections[connection.server] = nil
            let actions = client.replicaLinks[connection.server]!.step(.connectFailed(failure ?? "connection refused"), now: instant)
            perform(actions, replicaOf: connection.server, at: client)
            return
        }
        let server = nodes[connection.server]
        guard client.isUp, client.incarnation == connection.clientIncarnation, client.replicaConnections[connection.server] == id else {
            connections[id] = nil
            return
        }
        var reason = failure
        if reason == nil && (!server.isUp || server.incarnation != connection.serverIncarnation) { reason = "connection refused" }
        if let reason {
            connections[id] = nil
            client.replicaConnections[connection.server] = nil
            let actions = client.replicaLinks[connection.server]!.step(.connectFailed(reason), now: instant)
            perform(actions, replicaOf: connection.server, at: client)
            return
        }
        connection.established = true
        connections[id] = connection
        var link = SourceLink(SourceLink.Configuration(nodeId: server.nodeId, region: server.region,
                                                       peers: nodes.filter { $0.index != server.index }.map { ($0.nodeId, $0.region) },
                                                       heartbeatMillis: Self.heartbeatMillis, deadAfterMillis: Self.deadAfterMillis))
        let opened = link.step(.opened(peer: .init(nodeId: client.nodeId, region: client.region)), now: instant)
        server.sourceLinks[id] = link
        performSource(opened, server, id)
        stepSource(server, id, .log(committed: server.committedPosition, oldestRetainedLSN: server.journal?.oldestRetainedLSN ?? 1))
        let logged = client.committed.sources[server.region].map { LogPosition(epoch: $0.epoch, lsn: $0.lsn) }
        let notices = ReplicaNoticeLists.encode(client.committed.sources[server.region], source: server.region)
        let actions = client.replicaLinks[connection.server]!.step(.connected(logged: logged, notices: notices), now: instant)
        perform(actions, replicaOf: connection.server, at: client)
    }

    // MARK: - Source side

    func stepSource(_ node: SimulatedNode, _ id: Int, _ input: SourceLink.Input) {
        guard node.sourceLinks[id] != nil else { return }
        let actions = node.sourceLinks[id]!.step(input, now: instant)
        performSource(actions, node, id)
    }

    func performSource(_ actions: [SourceLink.Action], _ node: SimulatedNode, _ id: Int) {
        for action in actions {
            guard node.isUp, node.sourceLinks[id] != nil else { return }
            switch action {
            case .send(let message):
                send(message, on: id, toServer: false)
            case .admitted:
                break
            case .recordNotices(let bytes, let from):
                guard let notices = ReplicaNoticeLists.decode(bytes, for: node.region), !notices.isEmpty else { continue }
                submit(node, facts: node.pending.recordNotices(notices, from: from), completion: .none)
            case .sendSnapshot(let region):
                let position = node.committedPosition
                guard let (parts, _) = try? Shipping.snapshotParts(of: node.committed, for: region, at: position, maximumPartBytes: 64 << 10,
                                                                 export: Self.export) else { continue }
                statistics.snapshotsSent += 1
                let after = node.sourceLinks[id]!.step(.snapshotTaken(position), now: instant)
                for part in parts {
                    checker.shipped(facts: (try? Fact.decodeList(part.payload).get()) ?? [], from: node.index, to: region, world: self)
                    send(.snapshot(part), on: id, toServer: false)
                }
                performSource(after, node, id)
            case .ship(let from, let through, let region):
                guard let journal = node.journal else { return }
                var records: [LoggedRecord] = []
                var next = from
                while next <= through {
                    guard let read = try? journal.read(from: next, maxRecords: Int(through - next + 1)), let first = read.first, first.lsn == next else {
                        stepSource(node, id, .closed("the log holds no record \(next) to ship"))
                        close(id, by: node.index)
                        return
                    }
                    for record in read where record.lsn <= through {
                        records.append(LoggedRecord(position: LogPosition(epoch: record.epoch, lsn: record.lsn), type: record.type, payload: record.payload))
                    }
                    next = (records.last?.position.lsn ?? through) + 1
                }
                let state = node.committed
                guard let batches = try? Shipping.batches(records, for: region, fill: { state.filledCopy($0) }, export: Self.export, faults: faults) else {
                    fail("recovery", "\(node.region): records \(from)...\(through) do not ship")
                    return
                }
                for batch in batches {
                    for record in batch.records {
                        checker.shipped(facts: (try? Fact.decodeList(record.payload).get()) ?? [], from: node.index, to: region, world: self)
                    }
                    if measuringQuiet { quietRecordFrames += 1 }
                    send(.records(batch), on: id, toServer: false)
                }
            case .close:
                close(id, by: node.index)
                node.sourceLinks[id] = nil
            case .logInfo(let message):
                note("\(node.region): \(message)")
            }
        }
    }

    /// Values in transfer form: bound to the ARN they were sealed under (the simulator's
    /// stand-in for the sealer, which needs a keyring).
    static func export(_ fact: Fact) -> Fact {
        fact.forShipping.mapSealedValues { (value: SealedValue, arn: String, _: String) -> SealedValue in
            // As strict as the sealer, whose export fails on a value without ciphertext (the
            // shipping link then closes, again and again).
            precondition(!value.envelope.isEmpty, "a value without ciphertext cannot be exported for replication")
            var exported = value
            exported.boundARN = value.boundARN ?? arn
            return exported
        }
    }

    // MARK: - Faults

    func injectFault() {
        let kind = draw(100)
        let target = Int(draw(UInt64(nodes.count)))
        let node = nodes[target]
        switch kind {
        case 0..<20:
            crash(node, why: "killed")
        case 20..<27:
            stop(node)
        case 27..<50:
            // A region cut from the others, both ways.
            statistics.partitions += 1
            let duration = between(500, 30_000)
            for other in nodes.indices where other != target {
                addCut(from: target, to: other, slow: nil, for: duration)
                addCut(from: other, to: target, slow: nil, for: duration)
            }
            note("partition \(node.region) for \(duration) ms")
        case 50..<63:
            // One way only.
            statistics.partitions += 1
            let other = (target + 1 + Int(draw(UInt64(nodes.count - 1)))) % nodes.count
            let duration = between(500, 12_000)
            addCut(from: target, to: other, slow: nil, for: duration)
            note("one-way cut \(node.region) → \(regionNames[other]) for \(duration) ms")
        case 63..<73:
            let other = (target + 1 + Int(draw(UInt64(nodes.count - 1)))) % nodes.count
            let duration = between(1000, 20_000)
            let slow = between(50, 3000)
            addCut(from: target, to: other, slow: slow, for: duration)
            note("slow link \(node.region) → \(regionNames[other]) +\(slow) ms for \(duration) ms")
        case 73..<83:
            // A connection reset.
            if let id = connections.keys.sorted().first(where: { connections[$0]?.open == true && (connections[$0]?.client == target || connections[$0]?.server == target) }) {
                statistics.connectionResets += 1
                note("connection \(id) resets")
                reset(id)
            }
        case 83..<88:
            // Disk full for a while on one node; or nearly full: some group commits fit, others
            // fail (what chaos's disk-full shows on a real file system: appends fail and succeed
            // in turn while a few KiB are left).
            if chance(50) {
                node.disk.diskFull = true
                note("\(node.region) disk full")
            } else {
                node.nearlyFull = true
                note("\(node.region) disk nearly full")
            }
            queue.schedule(.diskRecovers(node: target), at: now + between(100, 3000))
        default:
            // A slow disk for a while: group commits take up to seconds.
            node.diskLatency = (200, 3000)
            note("\(node.region) disk slow")
            queue.schedule(.diskRecovers(node: target), at: now + between(2000, 10_000))
        }
    }

    func addCut(from: Int, to: Int, slow: Int64?, for duration: Int64) {
        let cut = Cut(id: nextCut, from: from, to: to, slowMillis: slow)
        nextCut += 1
        cuts.append(cut)
        queue.schedule(.heal(cut: cut.id), at: now + duration)
    }

    func endFaults() {
        faultPhase = false
        frameFaults = false
        note("faults stop")
        for cut in cuts.map(\.id) { heal(cut) }
        for node in nodes {
            node.disk.diskFull = false
            node.diskLatency = (1, 4)
            if !node.isUp { boot(node) }
        }
    }

    /// Nil when every replica equals its source, every link is up and no notice is pending;
    /// else what is not yet so.
    func convergence() -> String? {
        for node in nodes {
            guard node.isUp else { return "link: \(node.region) is down" }
            for source in node.replicaLinks.indices where source != node.index {
                guard let link = node.replicaLinks[source], link.phase == .streaming else {
                    return "link: \(node.region) is not streaming from \(regionNames[source])"
                }
            }
            for (source, progress) in node.committed.sources.sorted(by: { $0.key < $1.key }) where !progress.notices.isEmpty {
                return "notices: \(node.region) has \(progress.notices.count) pending for \(source)"
            }
        }
        return checker.replicasDiffer(self)
    }
}

