import Foundation
import Synchronization
import Testing
@testable import Journal
import Platform

@Suite struct JournalTests {
    @Test func appendReadReopen() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let (journal, recovered) = try openJournal(directory)
            #expect(recovered.records.isEmpty && recovered.snapshot == nil && recovered.truncatedTail == nil)
            #expect(journal.lastDurableLSN == 0)
            #expect(try journal.read(from: 1).isEmpty)
            let lsns = try await appendAll(journal, 1...25)
            #expect(lsns == Array(1...25))
            #expect(journal.lastDurableLSN == 25)
            let records = try journal.read(from: 1)
            #expect(records.map(\.lsn) == Array(1...25))
            #expect(records.map(\.payload) == (1...25).map { payload($0) })
            #expect(try journal.read(from: 20, maxRecords: 3).map(\.lsn) == [20, 21, 22])
            #expect(try journal.read(from: 26).isEmpty)
            #expect(try journal.read(from: 0).first?.lsn == 1)
            journal.close()
            journal.close()
            expectJournalError(.closed) { _ = try journal.read(from: 1) }
        }
        let (journal, recovered) = try openJournal(directory)
        defer { journal.close() }
        #expect(recovered.records.map(\.lsn) == Array(1...25))
        #expect(recovered.records.map(\.payload) == (1...25).map { payload($0) })
        #expect(try await journal.append(type: 9, epoch: 1, payload: [1]) == 26)
    }

    @Test func argumentsAreChecked() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (journal, _) = try openJournal(directory)
        defer { journal.close() }
        await #expect(throws: JournalError.self) { try await journal.append(type: 0, epoch: 1, payload: []) }
        await #expect(throws: JournalError.self) {
            try await journal.append(type: 1, epoch: 1, payload: [UInt8](repeating: 0, count: Journal.maxPayloadBytes + 1))
        }
        #expect(try await journal.append(type: 1, epoch: 5, payload: []) == 1)
        do {
            _ = try await journal.append(type: 1, epoch: 4, payload: [])
            Issue.record("epoch going back must fail")
        } catch {
            #expect(error.kind == .invalidArgument)
        }
        // The failed appends consumed no LSN.
        #expect(try await journal.append(type: 1, epoch: 5, payload: []) == 2)
        #expect(try await journal.append(type: 1, epoch: 6, payload: Array(repeating: 1, count: Journal.maxPayloadBytes)) == 3)
        #expect(throws: JournalError.self) { try Journal.open(directory: directory.journal, options: JournalOptions(segmentBytes: 10), log: { _ in }) }
    }

    /// tryAppend returns the errors known at once (arguments, closed) and never calls their
    /// completion; a queued record completes later. Argument errors do not halt the journal.
    @Test func tryAppendReturnsImmediateErrors() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (journal, _) = try openJournal(directory)
        let completions = Completions()
        #expect(journal.tryAppend(type: 0, epoch: 1, payload: [], completion: completions.callback(0))?.kind == .invalidArgument)
        let tooLarge = [UInt8](repeating: 0, count: Journal.maxPayloadBytes + 1)
        #expect(journal.tryAppend(type: 1, epoch: 1, payload: tooLarge, completion: completions.callback(1))?.kind == .invalidArgument)
        #expect(completions.count == 0)
        #expect(!journal.isHalted)
        #expect(journal.tryAppend(type: 1, epoch: 1, payload: payload(1), completion: completions.callback(2)) == nil)
        try await waitUntil { completions.count == 1 }
        #expect(completions.all.first?.result == .success(1))
        #expect(journal.statistics.failedAppends == 2)
        journal.close()
        #expect(journal.tryAppend(type: 1, epoch: 1, payload: payload(2), completion: completions.callback(3))?.kind == .closed)
        #expect(completions.count == 1)
        #expect(journal.statistics.failedAppends == 3)
    }

    @Test func secondOpenIsLocked() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (journal, _) = try openJournal(directory)
        expectJournalError(.locked) { _ = try openJournal(directory) }
        journal.close()
        let (again, _) = try openJournal(directory)
        again.close()
    }

    @Test func segmentsRollAndReadAcrossThem() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let options = JournalOptions(segmentBytes: 4096)
        do {
            let (journal, _) = try openJournal(directory, options: options)
            try await appendAll(journal, 1...60, size: 300)
            #expect(journal.statistics.segmentsRolled >= 4)
            #expect(try readAll(journal).map(\.payload) == (1...60).map { payload($0, size: 300) })
            #expect(try journal.read(from: 33).first?.lsn == 33)
            journal.close()
        }
        let segments = directory.segments()
        #expect(segments.count >= 5)
        #expect(segments.first == "segment-00000000000000000001.log")
        for name in segments { #expect(directory.bytes(name).count <= 4096) }
        let (journal, recovered) = try openJournal(directory, options: options)
        defer { journal.close() }
        #expect(recovered.records.map(\.lsn) == Array(1...60))
    }

    @Test func truncateAfterDiscardsTheTailDurably() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let options = JournalOptions(segmentBytes: 4096)
        do {
            let (journal, _) = try openJournal(directory, options: options)
            try await appendAll(journal, 1...40, size: 300)
            try journal.truncate(after: 40)  // nothing to do
            try journal.truncate(after: 30)
            #expect(journal.lastDurableLSN == 30)
            #expect(try readAll(journal).map(\.lsn) == Array(1...30))
            try journal.truncate(after: 5)  // across segments
            #expect(try readAll(journal).map(\.lsn) == Array(1...5))
            #expect(try await journal.append(type: 2, epoch: 2, payload: Array("new".utf8)) == 6)
            journal.close()
        }
        let (journal, recovered) = try openJournal(directory, options: options)
        defer { journal.close() }
        #expect(recovered.records.map(\.lsn) == Array(1...6))
        #expect(recovered.records.last?.payload == Array("new".utf8))
        #expect(recovered.records.last?.epoch == 2)
        try journal.truncate(after: 0)
        #expect(journal.lastDurableLSN == 0)
        #expect(try await journal.append(type: 1, epoch: 0, payload: []) == 1)
    }

    /// Truncating right before a sparse-index entry still learns the epoch of the new last
    /// record, so appends below it are refused.
    @Test func truncateAtAnIndexedRecordKeepsTheEpoch() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (journal, _) = try openJournal(directory)
        defer { journal.close() }
        try await appendAll(journal, 1...40, epoch: 3, size: 2000)
        try await appendAll(journal, 41...45, epoch: 5, size: 2000)
        let indexed = journal.core.table.withLock { $0.segments[0].index.map(\.lsn) }
        let target = try #require(indexed.first { $0 > 1 })
        try journal.truncate(after: target - 1)
        #expect(journal.lastDurableLSN == target - 1)
        await #expect(throws: JournalError.self) { try await journal.append(type: 1, epoch: 2, payload: []) }
        #expect(try await journal.append(type: 1, epoch: 3, payload: []) == target)
    }

    /// 64 tasks × 200 appends: LSNs unique and gap-free, read back in order with matching
    /// payloads, and far fewer fdatasyncs than appends (group commit).
    @Test func concurrentAppendsAreGroupCommitted() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let (journal, _) = try openJournal(directory, storage: storage)
        let syncsBefore = storage.syncs
        let tasks = 64
        let perTask = 200
        let results = try await withThrowingTaskGroup(of: [(UInt64, [UInt8])].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var mine: [(UInt64, [UInt8])] = []
                    for i in 0..<perTask {
                        let bytes = Array("task \(task) append \(i)".utf8)
                        mine.append((try await journal.append(type: 1, epoch: 1, payload: bytes), bytes))
                    }
                    return mine
                }
            }
            var all: [(UInt64, [UInt8])] = []
            for try await part in group { all += part }
            return all
        }
        let total = tasks * perTask
        #expect(results.count == total)
        #expect(Set(results.map(\.0)) == Set((1...UInt64(total))))
        let expected = Dictionary(uniqueKeysWithValues: results)
        let records = try readAll(journal)
        #expect(records.map(\.lsn) == Array(1...UInt64(total)))
        #expect(records.allSatisfy { expected[$0.lsn] == $0.payload })
        let syncs = storage.syncs - syncsBefore
        let statistics = journal.statistics
        #expect(statistics.appends == UInt64(total))
        #expect(syncs * 4 < total, "fdatasyncs \(syncs) for \(total) appends")
        #expect(statistics.largestBatch > 1)
        journal.close()
    }

    /// Beyond maxQueuedAppends an append fails at once with .overloaded; the bound frees up as
    /// batches complete.
    @Test func overloadBound() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let (journal, _) = try openJournal(directory, options: JournalOptions(maxQueuedAppends: 4), storage: storage)
        defer { journal.close() }
        storage.with { $0.stallWrites = true }
        let results = Mutex<[Int: Result<UInt64, JournalError>]>([:])
        journal.append(type: 1, epoch: 1, payload: payload(0)) { result in results.withLock { $0[0] = result } }
        storage.waitForStalledWriter()
        for n in 1...4 {
            journal.append(type: 1, epoch: 1, payload: payload(n)) { result in results.withLock { $0[n] = result } }
        }
        // 0 is being written, 1…3 are queued: 4 outstanding, so 4 was refused at once.
        let refused = results.withLock { $0[4] }
        guard case .failure(let error)? = refused else { Issue.record("expected .overloaded, got \(String(describing: refused))"); return }
        #expect(error.kind == .overloaded)
        #expect(journal.tryAppend(type: 1, epoch: 1, payload: payload(5)) { _ in Issue.record("completion of a returned error ran") }?.kind == .overloaded)
        storage.with { $0.stallWrites = false }
        try await waitUntil { results.withLock { $0.count } == 5 }
        #expect(results.withLock { [$0[0], $0[1], $0[2], $0[3]] } == [.success(1), .success(2), .success(3), .success(4)])
        #expect(try await journal.append(type: 1, epoch: 1, payload: []) == 5)
    }

    /// close() writes everything already queued, completes it, and refuses later appends.
    @Test func closeDrainsTheQueue() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let (journal, _) = try openJournal(directory, storage: storage)
        storage.with { $0.stallWrites = true }
        let results = Mutex<[Result<UInt64, JournalError>]>([])
        for n in 0..<10 {
            journal.append(type: 1, epoch: 1, payload: payload(n)) { result in results.withLock { $0.append(result) } }
        }
        storage.waitForStalledWriter()
        let closer = try OSThread.start(name: "closer") { journal.close() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(results.withLock { $0.isEmpty })
        storage.with { $0.stallWrites = false }
        try await waitUntil { results.withLock { $0.count } == 10 }
        closer.join()
        #expect(Set(results.withLock { $0 }.compactMap { try? $0.get() }) == Set(1...10))
        await #expect(throws: JournalError(.closed, "journal is closed")) { try await journal.append(type: 1, epoch: 1, payload: []) }
        let (reopened, recovered) = try openJournal(directory)
        defer { reopened.close() }
        #expect(recovered.records.count == 10)
    }
}

/// Polls `condition` for up to 10 s.
func waitUntil(_ condition: @Sendable () -> Bool) async throws {
    for _ in 0..<1000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition not reached within 10 s")
}
