import Testing
@testable import Journal
import Platform
import TestSupport

/// The SteppedJournal on a MemoryJournalStorage under random appends, flushes, snapshots and
/// faults (disk full, short writes that fail, failed file and directory syncs, power cuts after
/// a few operations), with
/// crashes at random points that keep a random prefix of a random unsynced write. After every
/// crash (or clean close) and reopen, recovery must succeed and give exactly a prefix of what was
/// appended: every append a flush reported durable, then possibly some of the batch whose sync
/// failed (never one that failed otherwise), and a snapshot whose state is that of the log at
/// its LSN. Seeded: a failure names its seed and step.
@Suite struct SteppedJournalCrashTests {
    static let seeds: UInt64 = 200
    static let stepsPerSeed = 250

    /// What the journal must recover, as the test saw it acknowledged.
    struct Model {
        /// Records 1…n: acknowledged durable, or recovered.
        var log: [JournalRecord] = []
        /// `digests[i]`: the digest of the first i records, the state a snapshot at LSN i holds.
        var digests: [UInt64] = [Model.emptyDigest]
        /// The batch whose sync failed: it may be in the log after recovery (a prefix of it,
        /// whole records), at the LSNs after `log`.
        var maybe: [JournalRecord] = []
        /// The newest snapshot known durable.
        var snapshotLSN: UInt64 = 0

        static let emptyDigest: UInt64 = 0xCBF2_9CE4_8422_2325

        mutating func append(_ record: JournalRecord) {
            precondition(record.lsn == UInt64(log.count) + 1)
            log.append(record)
            var digest = digests[digests.count - 1]
            func mix(_ byte: UInt8) { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3 }
            for byte in withUnsafeBytes(of: record.epoch.littleEndian, Array.init) { mix(byte) }
            for byte in withUnsafeBytes(of: record.type.littleEndian, Array.init) { mix(byte) }
            for byte in record.payload { mix(byte) }
            digests.append(digest)
        }

        /// The snapshot state of the log at `lsn`.
        func state(at lsn: UInt64) -> [UInt8] {
            withUnsafeBytes(of: lsn.littleEndian, Array.init) + withUnsafeBytes(of: digests[Int(lsn)].littleEndian, Array.init)
        }
    }

    /// What the seeds exercised, so that the test fails if it stops exercising it.
    struct Coverage {
        var crashes = 0
        var tornWrites = 0
        var truncatedTails = 0
        var maybeRecordsRecovered = 0
        var maybeRecordsLost = 0
        var journalCrashes = 0
        var halts = 0
        var snapshots = 0
        var rolls = 0
        var durableAppends = 0
        var largestBatch = 0
    }

    @Test func recoveryGivesAPrefixOfWhatWasAppended() throws {
        var coverage = Coverage()
        for seed in 0..<Self.seeds {
            try run(seed: seed, coverage: &coverage)
        }
        #expect(coverage.crashes > 1000 && coverage.tornWrites > 100 && coverage.truncatedTails > 50, "\(coverage)")
        #expect(coverage.maybeRecordsRecovered > 50 && coverage.maybeRecordsLost > 50, "\(coverage)")
        #expect(coverage.journalCrashes > 200 && coverage.halts > 100, "\(coverage)")
        #expect(coverage.snapshots > 500 && coverage.rolls > 500 && coverage.largestBatch > 5, "\(coverage)")
    }

    func run(seed: UInt64, coverage: inout Coverage) throws {
        var random = SplitMix64(seed: seed)
        let storage = MemoryJournalStorage()
        let options = JournalOptions(
            segmentBytes: 4096, snapshotEveryRecords: Int.random(in: 5...60, using: &random), maxBatchBytes: 4096,
            maxQueuedAppends: 48)
        var model = Model()
        let log = LogLines()
        var (journal, recovered) = try openStepped(storage, options: options, log: log)
        try check(recovered, journal, &model, seed: seed, step: -1, coverage: &coverage)
        var queued: [SteppedJournal.Ticket: JournalRecord] = [:]
        var order: [SteppedJournal.Ticket] = []
        var epoch: UInt64 = 1
        var counter = 0
        var powerCut = false
        var crashed = false

        for step in 0..<Self.stepsPerSeed {
            let context: Comment = "seed \(seed) step \(step)"
            var restart = crashed
            let roll = Int.random(in: 0..<100, using: &random)
            switch roll {
            case 0..<38:
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    switch Int.random(in: 0..<100, using: &random) {
                    case 0..<4: epoch += 1
                    case 4..<8 where epoch > 1: epoch -= 1  // an epoch going back: refused in the flush
                    default: break
                    }
                    counter += 1
                    let size = Int.random(in: 0...9, using: &random) == 0 ? Int.random(in: 1000...3000, using: &random) : Int.random(in: 0...300, using: &random)
                    let type = UInt16.random(in: 1...3, using: &random)
                    let bytes = payload(counter, size: size)
                    if case .success(let ticket) = journal.enqueue(type: type, epoch: epoch, payload: bytes) {
                        queued[ticket] = JournalRecord(lsn: 0, epoch: epoch, type: type, payload: bytes)
                        order.append(ticket)
                    }
                }
            case 38..<74:
                let report = journal.flush()
                let taken = report.outcomes.map(\.ticket)
                try #require(Array(order.prefix(taken.count)) == taken, "outcomes in queue order, \(context)")
                order.removeFirst(taken.count)
                coverage.largestBatch = max(coverage.largestBatch, report.outcomes.count(where: { (try? $0.result.get()) != nil }))
                for outcome in report.outcomes {
                    let taken = queued.removeValue(forKey: outcome.ticket)
                    var record = try #require(taken, "an outcome for a ticket not queued, \(context)")
                    switch outcome.result {
                    case .success(let lsn):
                        try #require(lsn == UInt64(model.log.count) + 1, "LSNs consecutive, \(context)")
                        record.lsn = lsn
                        model.append(record)
                        coverage.durableAppends += 1
                    case .failure(let error) where error.kind == .crashed:
                        record.lsn = UInt64(model.log.count + model.maybe.count) + 1
                        model.maybe.append(record)
                    case .failure:
                        break
                    }
                }
                if report.crash != nil {
                    try #require(journal.queuedAppends == 0 && order.isEmpty, "a crash fails the whole queue, \(context)")
                    crashed = true
                }
                if journal.isHalted { coverage.halts += 1 }
            case 74..<82:
                let durable = journal.lastDurableLSN
                guard durable > model.snapshotLSN, journal.isSnapshotDue || Bool.random(using: &random) else { break }
                let lsn = UInt64.random(in: (model.snapshotLSN + 1)...durable, using: &random)
                do {
                    if try journal.writeSnapshot(lsn: lsn, epoch: model.log[Int(lsn) - 1].epoch, state: model.state(at: lsn)) {
                        model.snapshotLSN = lsn
                        coverage.snapshots += 1
                    }
                } catch {
                    try #require(error.kind == .crashed || error.kind == .io || error.kind == .diskFull || (error.kind == .closed && crashed),
                                 "snapshot failed with \(error), \(context)")
                    if error.kind == .crashed { crashed = true }
                }
            case 82..<84:
                storage.diskFull.toggle()
            case 84..<85:
                let code = Bool.random(using: &random) ? Errno.noSpace : Errno.ioError
                storage.failNextWrite(code, keptBytes: Int.random(in: 0...3000, using: &random))
            case 85..<88:
                storage.failNextSync(.file)
            case 88..<90:
                storage.failNextSync(.directory)
            case 90..<92:
                storage.cutPower(afterOperations: Int.random(in: 0...8, using: &random))
                powerCut = true
            case 92..<96:
                journal.resume()
            case 96..<99:
                restart = true
            default:
                // A clean stop: queued appends fail, everything written is durable.
                for outcome in journal.close() {
                    let taken = queued.removeValue(forKey: outcome.ticket)
                    try #require(taken != nil, "an outcome for a ticket not queued, \(context)")
                }
                order.removeAll()
                if !powerCut && !crashed {
                    storage.clearFaults()
                    (journal, recovered) = try openStepped(storage, options: options, log: log)
                    try check(recovered, journal, &model, seed: seed, step: step, coverage: &coverage)
                    continue
                }
                restart = true
            }
            if !powerCut && !crashed && roll >= 38 && roll < 82 {
                // Reads see exactly the durable log.
                let oldest = journal.oldestRetainedLSN
                let records = try readAll(journal, from: oldest)
                try #require(records == Array(model.log.dropFirst(Int(oldest) - 1)), "reads, \(context)")
            }
            guard restart else { continue }
            if crashed { coverage.journalCrashes += 1 }
            journal.close()
            let writes = storage.unsyncedWrites()
            if !writes.isEmpty && Bool.random(using: &random) {
                let write = writes[Int.random(in: 0..<writes.count, using: &random)]
                storage.crash(tornWrite: .init(path: write.path, keptBytes: Int.random(in: 0...write.byteCount, using: &random)))
                coverage.tornWrites += 1
            } else {
                storage.crash()
            }
            coverage.crashes += 1
            storage.clearFaults()
            queued.removeAll()
            order.removeAll()
            powerCut = false
            crashed = false
            (journal, recovered) = try openStepped(storage, options: options, log: log)
            try check(recovered, journal, &model, seed: seed, step: step, coverage: &coverage)
        }
        coverage.rolls += log.all.count { $0.hasPrefix("journal: rolled to") }
    }

    /// Recovery gave a snapshot at or after the newest one known durable, with the state of the
    /// log at its LSN, then every acknowledged record after it, then possibly a prefix of the
    /// batch whose sync failed, and nothing else. The model becomes what was recovered.
    func check(_ recovered: Recovered, _ journal: SteppedJournal, _ model: inout Model, seed: UInt64, step: Int, coverage: inout Coverage) throws {
        let context: Comment = "seed \(seed) step \(step)"
        let snapshotLSN = recovered.snapshot?.lsn ?? 0
        try #require(snapshotLSN >= model.snapshotLSN && snapshotLSN <= UInt64(model.log.count), "snapshot \(snapshotLSN), \(context)")
        if let snapshot = recovered.snapshot {
            try #require(snapshot.state == model.state(at: snapshot.lsn), "snapshot state, \(context)")
            try #require(snapshot.epoch == model.log[Int(snapshot.lsn) - 1].epoch, "snapshot epoch, \(context)")
        }
        let end = snapshotLSN + UInt64(recovered.records.count)
        try #require(end >= UInt64(model.log.count), "lost acknowledged records: recovered to \(end), acknowledged \(model.log.count), \(context)")
        try #require(end <= UInt64(model.log.count + model.maybe.count), "records that were never written, \(context)")
        let expected = Array((model.log + model.maybe)[Int(snapshotLSN)..<Int(end)])
        try #require(recovered.records == expected, "recovered records, \(context)")
        let kept = Int(end) - model.log.count
        coverage.maybeRecordsRecovered += kept
        coverage.maybeRecordsLost += model.maybe.count - kept
        if recovered.truncatedTail != nil { coverage.truncatedTails += 1 }
        for record in model.maybe.prefix(kept) { model.append(record) }
        model.maybe.removeAll()
        model.snapshotLSN = snapshotLSN
        try #require(journal.lastDurableLSN == end, context)
        try #require(try readAll(journal, from: journal.oldestRetainedLSN) == Array(model.log.dropFirst(Int(journal.oldestRetainedLSN) - 1)), context)
    }
}
