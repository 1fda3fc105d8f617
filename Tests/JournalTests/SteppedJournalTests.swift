import Testing
@testable import Journal
import Platform
import TestSupport

let steppedDirectory = "/region/journal"

/// Opens a stepped journal in `steppedDirectory` of `storage`.
func openStepped(_ storage: MemoryJournalStorage, options: JournalOptions = JournalOptions(), log: LogLines = LogLines()) throws -> (SteppedJournal, Recovered) {
    try SteppedJournal.open(directory: steppedDirectory, options: options, storage: storage, log: log.sink)
}

/// Queues one append, failing the test if it is refused.
@discardableResult
func enqueue(_ journal: SteppedJournal, _ n: Int, epoch: UInt64 = 1, size: Int = 40) throws -> SteppedJournal.Ticket {
    try journal.enqueue(type: 1, epoch: epoch, payload: payload(n, size: size)).get()
}

/// The LSNs of a flush's outcomes, nil for a failure.
func lsns(_ report: SteppedJournal.FlushReport) -> [UInt64?] {
    report.outcomes.map { try? $0.result.get() }
}

/// Each outcome as its LSN or its error's kind: "1", "diskFull".
func outcomes(_ outcomes: [SteppedJournal.Outcome]) -> [String] {
    outcomes.map {
        switch $0.result {
        case .success(let lsn): "\(lsn)"
        case .failure(let error): "\(error.kind)"
        }
    }
}

/// The kind of the error an enqueue returned, nil when it queued.
func refusal(_ result: Result<SteppedJournal.Ticket, JournalError>) -> JournalError.Kind? {
    if case .failure(let error) = result { error.kind } else { nil }
}

/// Everything from `lsn` on, looping over `read`'s limits.
func readAll(_ journal: SteppedJournal, from lsn: UInt64 = 1) throws -> [JournalRecord] {
    var records: [JournalRecord] = []
    var next = lsn
    while true {
        let batch = try journal.read(from: next)
        if batch.isEmpty { return records }
        records += batch
        next = batch.last!.lsn + 1
    }
}

@Suite struct SteppedJournalTests {
    /// Appends queued before a flush are written with one write and one sync and complete in
    /// queue order; they are read back, and recovered after a reopen or a crash.
    @Test func appendFlushReadReopen() throws {
        let storage = MemoryJournalStorage()
        do {
            let (journal, recovered) = try openStepped(storage)
            #expect(recovered.records.isEmpty && recovered.snapshot == nil)
            #expect(journal.flush() == SteppedJournal.FlushReport())
            let tickets = try (1...5).map { try enqueue(journal, $0) }
            #expect(journal.queuedAppends == 5)
            #expect(journal.lastDurableLSN == 0, "nothing is durable before a flush")
            #expect(try journal.read(from: 1).isEmpty)
            let before = storage.counters
            let report = journal.flush()
            #expect(report.outcomes.map(\.ticket) == tickets)
            #expect(lsns(report) == [1, 2, 3, 4, 5])
            #expect(report.crash == nil)
            #expect(storage.counters.fileSyncs - before.fileSyncs == 1)
            #expect(storage.counters.writes - before.writes == 1)
            #expect(journal.statistics.batches == 1 && journal.statistics.largestBatch == 5)
            #expect(journal.lastDurableLSN == 5 && journal.queuedAppends == 0)
            #expect(try journal.read(from: 2, maxRecords: 2).map(\.lsn) == [2, 3])
            #expect(try readAll(journal).map(\.payload) == (1...5).map { payload($0) })
            try enqueue(journal, 6)
            #expect(outcomes(journal.close()) == ["closed"], "a queued append is not written at close")
            #expect(throws: JournalError.self) { _ = try journal.read(from: 1) }
        }
        do {
            let (journal, recovered) = try openStepped(storage)
            #expect(recovered.records.map(\.payload) == (1...5).map { payload($0) })
            try enqueue(journal, 6)
            #expect(lsns(journal.flush()) == [6])
            storage.crash()
        }
        let (_, recovered) = try openStepped(storage)
        #expect(recovered.records.map(\.lsn) == Array(1...6))
    }

    /// A flush takes what fits in one batch; the rest stays queued for the next flush.
    @Test func oneBatchPerFlush() throws {
        let storage = MemoryJournalStorage()
        let (journal, _) = try openStepped(storage, options: JournalOptions(maxBatchBytes: 4096))
        for n in 1...7 { try enqueue(journal, n, size: 1000) }
        #expect(lsns(journal.flush()) == [1, 2, 3])
        #expect(journal.queuedAppends == 4)
        #expect(lsns(journal.flush()) == [4, 5, 6])
        #expect(lsns(journal.flush()) == [7])
        #expect(journal.flush().outcomes.isEmpty)
        #expect(journal.statistics.batches == 3)
    }

    /// An epoch below the log's fails that append alone, in its place in the queue order.
    @Test func epochGoingBackFailsAlone() throws {
        let storage = MemoryJournalStorage()
        let (journal, _) = try openStepped(storage)
        try enqueue(journal, 1, epoch: 5)
        try enqueue(journal, 2, epoch: 4)
        try enqueue(journal, 3, epoch: 5)
        let report = journal.flush()
        #expect(lsns(report) == [1, nil, 2])
        #expect(outcomes(report.outcomes) == ["1", "invalidArgument", "2"])
        #expect(!journal.isHalted)
        #expect(refusal(journal.enqueue(type: 0, epoch: 5, payload: [])) == .invalidArgument)
        #expect(journal.statistics.failedAppends == 2)
    }

    /// A failed write fails its batch and every other queued append, uses no LSN, and halts
    /// appends until resume(); the failed bytes never reach the log.
    @Test func diskFullHaltsUntilResumed() throws {
        let storage = MemoryJournalStorage()
        let log = LogLines()
        let (journal, _) = try openStepped(storage, options: JournalOptions(maxBatchBytes: 4096), log: log)
        try enqueue(journal, 1)
        _ = journal.flush()
        storage.diskFull = true
        for n in 2...6 { try enqueue(journal, n, size: 1500) }
        let report = journal.flush()
        #expect(outcomes(report.outcomes) == Array(repeating: "diskFull", count: 5))
        let messages = report.outcomes.compactMap { if case .failure(let error) = $0.result { error.message } else { nil } }
        #expect(messages.prefix(2).allSatisfy { !$0.contains("earlier append failed") }, "the batch fails with the write's error")
        #expect(messages.dropFirst(2).allSatisfy { $0.contains("earlier append failed") }, "the rest as not written")
        #expect(journal.isHalted)
        #expect(refusal(journal.enqueue(type: 1, epoch: 1, payload: [])) == .diskFull)
        #expect(log.all.filter { $0.contains("halted") }.count == 1)
        storage.diskFull = false
        journal.resume()
        try enqueue(journal, 2)
        #expect(lsns(journal.flush()) == [2])
        #expect(log.all.contains("journal: appends are written again (after 1 halts)"))
        journal.close()
        let (_, recovered) = try openStepped(storage)
        #expect(recovered.records.map(\.payload) == [payload(1), payload(2)])
    }

    /// A failed fdatasync is where Journal stops the process: the flush reports a crash, its
    /// batch's outcomes are unknown (.crashed), the rest of the queue was not written, and the
    /// journal refuses everything after. Recovery then finds the batch or not, whole, or cut
    /// at a torn frame.
    @Test(arguments: ["lost", "kept", "torn"])
    func failedSyncIsACrash(_ fate: String) throws {
        let storage = MemoryJournalStorage()
        let (journal, _) = try openStepped(storage, options: JournalOptions(maxBatchBytes: 4096))
        try enqueue(journal, 1)
        _ = journal.flush()
        for n in 2...4 { try enqueue(journal, n, size: 1500) }
        storage.failNextSync(.file)
        let report = journal.flush()
        #expect(report.crash?.kind == .crashed)
        #expect(outcomes(report.outcomes) == ["crashed", "crashed", "closed"])
        #expect(refusal(journal.enqueue(type: 1, epoch: 1, payload: [])) == .closed)
        #expect(journal.flush().crash?.kind == .crashed)
        #expect(throws: JournalError.self) { _ = try journal.read(from: 1) }
        let write = try #require(storage.unsyncedWrites().first)
        #expect(write.byteCount == 2 * (RecordFrame.overheadBytes + 1500))
        switch fate {
        case "lost": storage.crash()
        case "kept": storage.crash(tornWrite: .init(path: write.path, keptBytes: write.byteCount))
        default: storage.crash(tornWrite: .init(path: write.path, keptBytes: write.byteCount - 10))
        }
        let (reopened, recovered) = try openStepped(storage)
        let expected: [Int] = switch fate {
        case "lost": [1]
        case "kept": [1, 2, 3]
        default: [1, 2]
        }
        #expect(recovered.records.map(\.payload) == expected.map { payload($0, size: $0 == 1 ? 40 : 1500) })
        #expect((recovered.truncatedTail != nil) == (fate == "torn"))
        #expect(reopened.lastDurableLSN == UInt64(expected.count))
    }

    /// Segments roll when full; reads cross them; a snapshot removes the segments it covers,
    /// and a reopen loads it and replays only the later records.
    @Test func snapshotsAndSegments() throws {
        let storage = MemoryJournalStorage()
        let options = JournalOptions(segmentBytes: 4096, snapshotEveryRecords: 30)
        do {
            let (journal, _) = try openStepped(storage, options: options)
            for n in 1...40 {
                try enqueue(journal, n, size: 300)
                #expect(lsns(journal.flush()) == [UInt64(n)])
                #expect(journal.isSnapshotDue == (n >= 30))
            }
            #expect(journal.statistics.segmentsRolled >= 3)
            #expect(try readAll(journal).map(\.payload) == (1...40).map { payload($0, size: 300) })
            #expect(throws: JournalError.self) { try journal.writeSnapshot(lsn: 41, epoch: 1, state: []) }
            #expect(try journal.writeSnapshot(lsn: 30, epoch: 1, state: Array("at 30".utf8)))
            #expect(!journal.isSnapshotDue)
            #expect(try !journal.writeSnapshot(lsn: 20, epoch: 1, state: []), "not newer: nothing to do")
            let oldest = journal.oldestRetainedLSN
            #expect(oldest > 1 && oldest <= 31)
            #expect(throws: JournalError.self) { _ = try journal.read(from: oldest - 1) }
            let names = try storage.listDirectory(steppedDirectory)
            #expect(names.first == JournalFormat.segmentName(firstLSN: oldest))
            #expect(names.last == JournalFormat.snapshotName(lsn: 30))
            journal.close()
        }
        let (journal, recovered) = try openStepped(storage, options: options)
        #expect(recovered.snapshot == JournalSnapshot(lsn: 30, epoch: 1, state: Array("at 30".utf8)))
        #expect(recovered.records.map(\.lsn) == Array(31...40))
        #expect(journal.lastDurableLSN == 40)
    }

    /// A failed directory fsync after a snapshot's rename, or after a roll, is a crash too.
    @Test func failedDirectorySyncIsACrash() throws {
        let storage = MemoryJournalStorage()
        let (journal, _) = try openStepped(storage, options: JournalOptions(segmentBytes: 4096))
        for n in 1...3 { try enqueue(journal, n, size: 1500) }
        #expect(lsns(journal.flush()) == [1, 2])
        storage.failNextSync(.directory)
        let report = journal.flush()
        #expect(report.crash?.kind == .crashed && report.crash?.message.contains("after creating") == true)
        #expect(outcomes(report.outcomes) == ["closed"])
        storage.crash()

        let (reopened, recovered) = try openStepped(storage, options: JournalOptions(segmentBytes: 4096))
        #expect(recovered.records.map(\.lsn) == [1, 2])
        storage.failNextSync(.directory)
        let error = #expect(throws: JournalError.self) { try reopened.writeSnapshot(lsn: 2, epoch: 1, state: [2]) }
        #expect(error?.kind == .crashed && error?.file == JournalFormat.snapshotName(lsn: 2))
        #expect(reopened.flush().crash != nil)
        storage.crash()
        let (_, again) = try openStepped(storage, options: JournalOptions(segmentBytes: 4096))
        #expect(again.snapshot == nil, "the rename was not durable")
        #expect(again.records.map(\.lsn) == [1, 2])
    }

    /// The threaded Journal and the SteppedJournal write the same bytes for the same appends
    /// in batches of one, rolls and a snapshot included: they share the writer core and the
    /// snapshot code.
    @Test func threadedAndSteppedWriteIdenticalFiles() async throws {
        let options = JournalOptions(segmentBytes: 4096, snapshotEveryRecords: 1_000_000)
        let threadedStorage = MemoryJournalStorage()
        let steppedStorage = MemoryJournalStorage()
        let (threaded, _) = try Journal.open(directory: steppedDirectory, options: options, storage: threadedStorage, log: { _ in })
        let (stepped, _) = try openStepped(steppedStorage, options: options)
        let source = FixedSnapshotSource()
        threaded.setSnapshotSource(source)
        var generator = SplitMix64(seed: 7)
        var epoch: UInt64 = 1
        for n in 1...80 {
            if n % 17 == 0 { epoch += 1 }
            let bytes = payload(n, size: Int.random(in: 0...700, using: &generator))
            let type = UInt16.random(in: 1...4, using: &generator)
            let lsn = try await threaded.append(type: type, epoch: epoch, payload: bytes)
            _ = try stepped.enqueue(type: type, epoch: epoch, payload: bytes).get()
            #expect(lsns(stepped.flush()) == [lsn])
            if n == 50 {
                source.set(lsn: 45, epoch: epoch, state: Array("state".utf8))
                try threaded.snapshotNow()
                try stepped.writeSnapshot(lsn: 45, epoch: epoch, state: Array("state".utf8))
            }
        }
        threaded.close()
        stepped.close()
        let names = try threadedStorage.listDirectory(steppedDirectory)
        #expect(names.count > 3)
        #expect(try steppedStorage.listDirectory(steppedDirectory) == names)
        for name in names {
            let path = steppedDirectory + "/" + name
            #expect(threadedStorage.contents(of: path) == steppedStorage.contents(of: path), "\(name)")
        }
    }
}
