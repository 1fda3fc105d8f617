import Foundation
import Testing
@testable import Audit
import Cryptography
import JSON
import Platform
import TestSupport

/// `append(contentsOf:)`, the records of one event-loop pass in one write: the same files as
/// appending them one by one, one `pwrite` per file, and all or nothing per write.
@Suite struct AuditBatchTests {
    /// Random batch sizes and file sizes (so that batches cross file boundaries): the files are
    /// byte for byte those of single appends, and verify.
    @Test(arguments: 0..<12)
    func batchesWriteWhatSingleAppendsWrite(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let maxFileBytes = [700, 2_000, 5_000, 64 << 20][Int(rng.next() % 4)]
        let single = TemporaryDirectory("single\(seed)"), batched = TemporaryDirectory("batched\(seed)")
        defer {
            single.remove()
            batched.remove()
        }
        let one = try openTrail(single, maxFileBytes: maxFileBytes)
        let many = try openTrail(batched, maxFileBytes: maxFileBytes)
        var n = 0
        for _ in 0..<15 {
            let size = 1 + Int(rng.next() % 9)
            let events = (0..<size).map { i in event(n + i, secret: String(repeating: "s", count: Int(rng.next() % 300))) }
            for e in events {
                try one.reserve()
                try one.append(e)
            }
            try many.reserve()
            let (appended, error) = many.append(contentsOf: events)
            #expect(appended == size && error == nil)
            n += size
        }
        try one.close()
        try many.close()
        #expect(single.trailFiles() == batched.trailFiles())
        for name in single.trailFiles() {
            #expect(single.bytes(name) == batched.bytes(name), "\(name) differs (seed \(seed), maxFileBytes \(maxFileBytes))")
        }
        let verification = AuditVerifier.verify(directory: batched.audit, signingKey: testKey)
        #expect(verification.ok && verification.recordCount == n, "\(verification.problems)")
    }

    @Test func aBatchIsOneWrite() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        let trail = try openTrail(directory, storage: storage)
        try trail.reserve()
        let before = storage.with { $0.writes }
        let (appended, error) = trail.append(contentsOf: (1...32).map { event($0) })
        #expect(appended == 32 && error == nil)
        #expect(storage.with { $0.writes } - before == 1)
        #expect(trail.status.nextSequence == 33)
    }

    /// A failed write appends none of its records (the part written is cut back), later records
    /// are refused until a reserve() succeeds, and the chain continues where it was.
    @Test func aFailedBatchAppendsNothingAndTheChainContinues() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        let trail = try openTrail(directory, storage: storage)
        try appendEvents(trail, 1...3)
        let before = directory.bytes("audit-000001.jsonl")
        storage.with {
            $0.write = Errno.noSpace
            $0.partialWriteBytes = 700
        }
        let (appended, error) = trail.append(contentsOf: (4...9).map { event($0) })
        #expect(appended == 0 && error?.code == .diskFull)
        #expect(directory.bytes("audit-000001.jsonl") == before, "the 700 bytes written were cut back")
        #expect(trail.append(contentsOf: [event(4)]).error?.code == .failed)
        storage.with { $0.write = nil }
        try trail.reserve()
        #expect(trail.append(contentsOf: (4...9).map { event($0) }).appended == 6)
        try trail.close()
        let verification = AuditVerifier.verify(directory: directory.audit, signingKey: testKey)
        #expect(verification.ok && verification.recordCount == 9, "\(verification.problems)")
    }

    /// An event the trail refuses stops the batch there: the ones before it are appended.
    @Test func anInvalidEventStopsTheBatchAtItsPlace() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        try trail.reserve()
        let (appended, error) = trail.append(contentsOf: [event(1), event(2), .string("not an object"), event(4)])
        #expect(appended == 2 && error?.code == .invalidEvent)
        #expect(trail.status.nextSequence == 3)
    }
}

/// `reserve()` returns without the lock only while it has nothing to do: as appends use up the
/// space allocated ahead, it goes back to allocating, and a disk that is full by then is
/// reported before the records outgrow what was reserved.
@Suite struct AuditReserveFastPathTests {
    @Test func theFastPathEndsBeforeTheReservationIsUsedUp() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        let trail = try openTrail(directory, storage: storage)
        try trail.reserve()
        #expect(storage.with { $0.allocations } == 1)
        storage.with { $0.allocate = Errno.noSpace }
        var n = 0
        var refused: AuditError?
        // Each record is about 600 bytes; the first chunk is 4 MiB.
        while n < 10_000 {
            do {
                try trail.reserve()
            } catch {
                refused = error
                break
            }
            n += 1
            try trail.append(event(n))
        }
        let written = directory.bytes("audit-000001.jsonl").count
        #expect(refused?.code == .diskFull, "reserve() never noticed the full disk (\(n) records, \(written) bytes)")
        #expect(written <= AuditTrail.allocationChunkBytes - AuditTrail.reserveAheadBytes + 1024, "\(written) bytes written")
        #expect(storage.with { $0.allocations } > 1)
    }
}
