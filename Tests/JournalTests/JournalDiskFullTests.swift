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
}
