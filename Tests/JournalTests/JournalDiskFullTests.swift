import Foundation
import Synchronization
import Testing
@testable import Journal
import Platform

@Suite struct JournalDiskFullTests {
    /// ENOSPC on a write fails every append of that batch with .diskFull and halts the journal;
    /// nothing of them is on disk after reopening; after resume() later appends succeed with
    /// gap-free LSNs. An outage is logged once however often it halts the journal.
    @Test(arguments: [Errno.noSpace, Errno.quotaExceeded, Errno.ioError])
    func failedWritesConsumeNothing(_ code: Int32) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let log = LogLines()
        do {
            let (journal, _) = try openJournal(directory, storage: storage, log: log)
            try await appendAll(journal, 1...5)
            storage.with {
                $0.armed = true
                $0.failingWrites = [1, 2]
                $0.errorCode = code
            }
            for n in 0..<2 {
                do {
                    _ = try await journal.append(type: 1, epoch: 1, payload: Array("doomed \(n)".utf8))
                    Issue.record("append should have failed")
                } catch {
                    #expect(error.kind == (code == Errno.ioError ? .io : .diskFull))
                    #expect(error.file == JournalFormat.segmentName(firstLSN: 1))
                    #expect(!error.message.contains("earlier append failed"))
                }
                #expect(journal.isHalted)
                journal.resume()
            }
            #expect(storage.with { $0.armedWrites } == 2)
            #expect(try readAll(journal).count == 5)
            #expect(try await appendAll(journal, 6...8) == [6, 7, 8])
            #expect(journal.statistics.failedAppends == 2)
            #expect(log.all.filter { $0.contains("halted") }.count == 1, "\(log.all)")
            #expect(log.all.filter { $0.contains("written again (after 2 halts)") }.count == 1, "\(log.all)")
            journal.close()
        }
        let (journal, recovered) = try openJournal(directory)
        defer { journal.close() }
        #expect(recovered.truncatedTail == nil)
        #expect(recovered.records.map(\.lsn) == Array(1...8))
        #expect(recovered.records.map(\.payload) == (1...8).map { payload($0) })
    }

    /// A whole group-committed batch fails together, and the journal recovers once space is back
    /// and it is resumed.
    @Test func concurrentBatchFailsTogether() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let (journal, _) = try openJournal(directory, storage: storage)
        defer { journal.close() }
        storage.with {
            $0.armed = true
            $0.failAllWrites = true
        }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for n in 0..<32 {
                group.addTask { (try? await journal.append(type: 1, epoch: 1, payload: payload(n))) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { !$0 })
        #expect(journal.lastDurableLSN == 0)
        #expect(journal.statistics.failedAppends == 32)
        storage.with { $0.failAllWrites = false }
        journal.resume()
        #expect(try await appendAll(journal, 1...3) == [1, 2, 3])
    }

    /// A roll that cannot create its segment fails the append, halts the journal and leaves no
    /// file behind; after resume() the roll is tried again.
    @Test func failedRollIsRetried() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let options = JournalOptions(segmentBytes: 4096)
        let (journal, _) = try openJournal(directory, options: options, storage: storage)
        try await appendAll(journal, 1...12, size: 300)  // about full
        storage.with {
            $0.armed = true
            $0.failAllWrites = true
        }
        var failures = 0
        for n in 13...14 {
            do { _ = try await journal.append(type: 1, epoch: 1, payload: payload(n, size: 300)) } catch {
                failures += 1
                #expect(error.file == JournalFormat.segmentName(firstLSN: 13))
            }
            #expect(journal.isHalted)
            journal.resume()
        }
        #expect(failures == 2)
        #expect(storage.with { $0.armedWrites } == 2, "each append tried the roll")
        #expect(!directory.files().contains { $0.hasSuffix(".tmp") })
        storage.with { $0.failAllWrites = false }
        try await appendAll(journal, 13...30, size: 300)
        journal.close()
        let (reopened, recovered) = try openJournal(directory, options: options)
        reopened.close()
        #expect(recovered.records.map(\.lsn) == Array(1...30))
    }

    /// 200 appends queued by 8 tasks behind a write that fails: the failed one and every later
    /// one fail (the failed one first), nothing after the failed write is attempted, none of
    /// them is on disk after reopening, and after resume() LSNs continue without a gap.
    @Test func everyAppendQueuedBehindAFailedWriteFails() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let log = LogLines()
        let tasks = 8
        let perTask = 25
        do {
            let (journal, _) = try openJournal(directory, storage: storage, log: log)
            try await appendAll(journal, 1...5)
            storage.with {
                $0.armed = true
                $0.failingWrites = [1]
                $0.stallWrites = true
            }
            let completions = Completions()
            journal.append(type: 1, epoch: 1, payload: payload(100), completion: completions.callback(0))
            storage.waitForStalledWriter()
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        for i in 0..<perTask {
                            let n = 1 + task * perTask + i
                            journal.append(type: 1, epoch: 1, payload: payload(100 + n), completion: completions.callback(n))
                        }
                    }
                }
            }
            #expect(completions.count == 0)
            storage.with { $0.stallWrites = false }
            let total = 1 + tasks * perTask
            try await waitUntil { completions.count == total }

            let all = completions.all
            #expect(all.first?.tag == 0, "the failed append completes first")
            for (position, entry) in all.enumerated() {
                guard case .failure(let error) = entry.result else {
                    Issue.record("append \(entry.tag) succeeded")
                    continue
                }
                #expect(error.kind == .diskFull)
                #expect(error.message.contains("earlier append failed") == (position > 0), "\(error)")
            }
            // Each task's appends complete in the order it queued them.
            for task in 0..<tasks {
                let mine = all.map(\.tag).filter { $0 > 0 && ($0 - 1) / perTask == task }
                #expect(mine == mine.sorted())
            }
            #expect(storage.with { $0.armedWrites } == 1, "nothing after the failed write was written")
            #expect(journal.isHalted)
            #expect(journal.lastDurableLSN == 5)
            #expect(journal.statistics.failedAppends == UInt64(total))
            #expect(log.all.contains { $0.contains("halted") })

            journal.resume()
            #expect(!journal.isHalted)
            #expect(try await appendAll(journal, 6...8) == [6, 7, 8])
            journal.close()
        }
        let (journal, recovered) = try openJournal(directory)
        defer { journal.close() }
        #expect(recovered.records.map(\.lsn) == Array(1...8))
        #expect(recovered.records.map(\.payload) == (1...8).map { payload($0) })
    }

    /// While halted, append completes with the halt's error before it returns and tryAppend
    /// returns it without calling the completion; nothing is written. resume() is idempotent,
    /// and after it appends succeed.
    @Test func whileHaltedAppendsFailAtOnce() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let (journal, _) = try openJournal(directory, storage: storage)
        defer { journal.close() }
        try await appendAll(journal, 1...2)
        #expect(!journal.isHalted)
        journal.resume()  // not halted: nothing happens
        storage.with {
            $0.armed = true
            $0.failingWrites = [1]
            $0.errorCode = Errno.ioError
        }
        await #expect(throws: JournalError.self) { try await journal.append(type: 1, epoch: 1, payload: payload(3)) }
        #expect(journal.isHalted)
        let writes = storage.with { $0.writes }

        let completions = Completions()
        journal.append(type: 1, epoch: 1, payload: payload(3), completion: completions.callback(1))
        #expect(completions.count == 1, "completed on the caller's thread before append returned")
        if case .failure(let error)? = completions.all.first?.result {
            #expect(error.kind == .io)
            #expect(error.message.contains("earlier append failed") && error.message.contains("resume()"), "\(error)")
        } else {
            Issue.record("append while halted did not fail")
        }
        let returned = journal.tryAppend(type: 1, epoch: 1, payload: payload(3), completion: completions.callback(2))
        #expect(returned?.kind == .io)
        #expect(completions.count == 1, "tryAppend must not call the completion of a returned error")
        await #expect(throws: JournalError.self) { try await journal.append(type: 1, epoch: 1, payload: payload(3)) }
        #expect(storage.with { $0.writes } == writes, "nothing written while halted")
        #expect(journal.statistics.failedAppends == 4)

        journal.resume()
        journal.resume()
        #expect(!journal.isHalted)
        #expect(journal.tryAppend(type: 1, epoch: 1, payload: payload(3), completion: completions.callback(3)) == nil)
        try await waitUntil { completions.count == 2 }
        #expect(completions.all.last?.tag == 3)
        #expect(completions.all.last?.result == .success(3))
        #expect(try await appendAll(journal, 4...5) == [4, 5])
        #expect(try readAll(journal).map(\.payload) == (1...5).map { payload($0) })
    }

    /// One swap of the queue spans several batches (small maxBatchBytes) and the second batch's
    /// write fails: the first batch is durable, its batch fails with the write's error, and every
    /// later append of the swap fails as not written; completions run in queue order.
    @Test func failureInTheMiddleOfARound() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let options = JournalOptions(maxBatchBytes: 4096)
        let size = 1000
        let perBatch = options.maxBatchBytes / (RecordFrame.overheadBytes + size)
        let queued = 12
        try #require(perBatch >= 2 && 2 * perBatch < queued)
        do {
            let (journal, _) = try openJournal(directory, options: options, storage: storage)
            storage.with {
                $0.armed = true
                $0.stallWrites = true
                $0.failingWrites = [3]  // 1: the blocker, 2: the round's first batch, 3: its second
            }
            let completions = Completions()
            journal.append(type: 1, epoch: 1, payload: payload(0, size: size), completion: completions.callback(0))
            storage.waitForStalledWriter()
            for n in 1...queued {
                journal.append(type: 1, epoch: 1, payload: payload(n, size: size), completion: completions.callback(n))
            }
            storage.with { $0.stallWrites = false }
            try await waitUntil { completions.count == queued + 1 }

            let all = completions.all
            #expect(all.map(\.tag) == Array(0...queued), "completions in queue order")
            for entry in all {
                switch entry.tag {
                case 0...perBatch:
                    #expect(entry.result == .success(UInt64(entry.tag + 1)))
                case (perBatch + 1)...(2 * perBatch):
                    guard case .failure(let error) = entry.result else { Issue.record("\(entry.tag) succeeded"); continue }
                    #expect(error.kind == .diskFull)
                    #expect(!error.message.contains("earlier append failed"), "the failed batch gets the write's error")
                default:
                    guard case .failure(let error) = entry.result else { Issue.record("\(entry.tag) succeeded"); continue }
                    #expect(error.kind == .diskFull)
                    #expect(error.message.contains("earlier append failed"), "\(error)")
                }
            }
            #expect(storage.with { $0.armedWrites } == 3)
            #expect(journal.lastDurableLSN == UInt64(perBatch + 1))
            #expect(journal.isHalted)
            journal.resume()
            #expect(try await journal.append(type: 1, epoch: 1, payload: payload(99, size: size)) == UInt64(perBatch + 2))
            journal.close()
        }
        let (journal, recovered) = try openJournal(directory, options: options)
        defer { journal.close() }
        #expect(recovered.records.map(\.lsn) == Array(1...UInt64(perBatch + 2)))
        #expect(recovered.records.map(\.payload) == (0...perBatch).map { payload($0, size: size) } + [payload(99, size: size)])
    }

    /// A truncation queued between a failing append and a later one is still carried out; the
    /// later append fails.
    @Test func truncationAfterAFailedWriteIsStillCarriedOut() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let (journal, _) = try openJournal(directory, storage: storage)
        defer { journal.close() }
        try await appendAll(journal, 1...3)
        storage.with {
            $0.armed = true
            $0.stallWrites = true
            $0.failingWrites = [2]
        }
        let completions = Completions()
        journal.append(type: 1, epoch: 1, payload: payload(4), completion: completions.callback(0))
        storage.waitForStalledWriter()
        journal.append(type: 1, epoch: 1, payload: payload(5), completion: completions.callback(1))
        let truncation = Mutex<JournalError??>(nil)  // .some(nil): done
        let truncator = try OSThread.start(name: "truncator") {
            do throws(JournalError) {
                try journal.truncate(after: 2)
                truncation.withLock { $0 = .some(nil) }
            } catch {
                truncation.withLock { $0 = .some(error) }
            }
        }
        try await waitUntil { journal.core.queue.withLock { $0.items.count } == 2 }
        journal.append(type: 1, epoch: 1, payload: payload(6), completion: completions.callback(2))
        storage.with { $0.stallWrites = false }
        truncator.join()
        try await waitUntil { completions.count == 3 }

        #expect(try #require(truncation.withLock { $0 }) == nil, "truncate(after:) failed")
        let all = completions.all
        #expect(all.map(\.tag) == [0, 1, 2])
        #expect(all[0].result == .success(4))
        if case .failure(let error) = all[1].result { #expect(!error.message.contains("earlier")) } else { Issue.record("1 succeeded") }
        if case .failure(let error) = all[2].result { #expect(error.message.contains("earlier append failed")) } else { Issue.record("2 succeeded") }
        #expect(journal.lastDurableLSN == 2)
        journal.resume()
        #expect(try await journal.append(type: 1, epoch: 1, payload: payload(7)) == 3)
        #expect(try readAll(journal).map(\.payload) == [payload(1), payload(2), payload(7)])
    }

    /// Argument errors fail only their own append, whether checked at once (type 0) or by the
    /// writer (an epoch below the log's, between appends of the same round): no halt.
    @Test func argumentErrorsDoNotHalt() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = InstrumentedStorage()
        let (journal, _) = try openJournal(directory, storage: storage)
        defer { journal.close() }
        await #expect(throws: JournalError.self) { try await journal.append(type: 0, epoch: 1, payload: []) }
        #expect(!journal.isHalted)
        storage.with { $0.stallWrites = true }
        let completions = Completions()
        journal.append(type: 1, epoch: 5, payload: payload(1), completion: completions.callback(0))
        storage.waitForStalledWriter()
        journal.append(type: 1, epoch: 5, payload: payload(2), completion: completions.callback(1))
        journal.append(type: 1, epoch: 4, payload: payload(3), completion: completions.callback(2))
        journal.append(type: 1, epoch: 5, payload: payload(4), completion: completions.callback(3))
        storage.with { $0.stallWrites = false }
        try await waitUntil { completions.count == 4 }
        // The epoch error completes when the writer reaches it, possibly before the batch ahead of it.
        let all = completions.all.sorted { $0.tag < $1.tag }
        #expect(all.map(\.tag) == [0, 1, 2, 3])
        #expect(all[0].result == .success(1))
        #expect(all[1].result == .success(2))
        if case .failure(let error) = all[2].result { #expect(error.kind == .invalidArgument) } else { Issue.record("epoch 4 succeeded") }
        #expect(all[3].result == .success(3))
        #expect(!journal.isHalted)
        #expect(try await journal.append(type: 1, epoch: 5, payload: payload(5)) == 4)
        #expect(journal.statistics.failedAppends == 2)
    }
}
