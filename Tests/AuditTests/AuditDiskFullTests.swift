import Foundation
import Glibc
import Testing
@testable import Audit
import Cryptography
import JSON
import Platform

@Suite struct AuditDiskFullTests {
    /// A full disk (fallocate and write both fail): reserve() refuses, an append refuses and
    /// leaves no partial line, later appends refuse until a reserve() succeeds; then records
    /// continue with the next sequence number in the same file.
    @Test(arguments: [Errno.noSpace, Errno.quotaExceeded, Errno.fileTooLarge])
    func aFullDiskRefusesRequestsAndRecovers(_ code: Int32) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        let log = LogLines()
        let trail = try openTrail(directory, storage: storage, log: log)
        try appendEvents(trail, 1...3)
        try trail.rotate()  // the next file has no space reserved yet
        let before = directory.bytes("audit-000001.jsonl")
        storage.with {
            $0.allocate = code
            $0.write = code
            $0.partialWriteBytes = 100
        }

        let refused = #expect(throws: AuditError.self) { try trail.reserve() }
        #expect(refused?.code == .diskFull && refused?.isRetryable == true)
        #expect(refused?.errno == code)
        #expect(refused?.message.contains(directory.audit + "/audit-000002.jsonl") == true, "\(String(describing: refused))")
        #expect(refused?.message.contains("(errno \(code))") == true, "\(String(describing: refused))")

        // A request that had reserved before the disk filled still gets its append tried.
        let failed = #expect(throws: AuditError.self) { try trail.append(event(4)) }
        #expect(failed?.code == .diskFull)
        #expect(directory.bytes("audit-000002.jsonl").isEmpty, "the 100 bytes written were cut back")
        let later = #expect(throws: AuditError.self) { try trail.append(event(4)) }
        #expect(later?.code == .failed && later?.isRetryable == true)
        #expect(throws: AuditError.self) { try trail.reserve() }
        #expect(trail.status.failure != nil)
        #expect(trail.status.nextSequence == 4)

        storage.with {
            $0.allocate = nil
            $0.write = nil
        }
        try trail.reserve()
        #expect(trail.status.failure == nil)
        try trail.append(event(4))
        try appendEvents(trail, 5...6)
        try trail.close()
        #expect(directory.bytes("audit-000001.jsonl") == before)
        let verification = AuditVerifier.verify(directory: directory.audit, signingKey: testKey)
        #expect(verification.ok, "\(verification.problems)")
        #expect(verification.recordCount == 6)
        #expect(log.all.contains { $0.contains("audit records are written again") }, "\(log.all)")
    }

    /// A nearly full disk: the 4 MiB chunk fails, the 256 KiB minimum is still taken.
    @Test func aNearlyFullDiskStillReservesTheMinimum() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        final class OnlySmallAllocations: AuditStorage {
            let base = FaultyStorage()
            func makeDirectory(_ path: String) throws(Errno) { try base.makeDirectory(path) }
            func listDirectory(_ directory: String) throws(Errno) -> [String] { try base.listDirectory(directory) }
            func openFile(_ path: String, create: Bool) throws(Errno) -> any AuditFile { Small(try base.openFile(path, create: create)) }
            func writeAtomically(_ bytes: [UInt8], to path: String) throws(Errno) { try base.writeAtomically(bytes, to: path) }
            func remove(_ path: String) throws(Errno) { try base.remove(path) }
            func syncDirectory(_ directory: String) throws(Errno) { try base.syncDirectory(directory) }
            final class Small: AuditFile {
                let file: any AuditFile
                init(_ file: any AuditFile) { self.file = file }
                func size() throws(Errno) -> Int { try file.size() }
                func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int { try file.read(into: buffer, at: offset) }
                func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) { try file.write(bytes, at: offset) }
                func allocate(at offset: Int, count: Int) throws(Errno) {
                    guard count <= AuditTrail.reserveAheadBytes else { throw Errno(code: Errno.noSpace, operation: "fallocate") }
                    try file.allocate(at: offset, count: count)
                }
                func synchronize() throws(Errno) { try file.synchronize() }
                func truncate(to size: Int) throws(Errno) { try file.truncate(to: size) }
            }
        }
        let trail = try openTrail(directory, storage: OnlySmallAllocations())
        try trail.reserve()
        try trail.append(event(1))
        try trail.close()
        #expect(AuditVerifier.verify(directory: directory.audit, signingKey: testKey).ok)
    }

    /// If cutting back a failed write fails too, the next reserve() cuts before anything else is
    /// written, and refuses while it cannot.
    @Test func aFailedCutBackIsRetriedByReserve() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        let trail = try openTrail(directory, storage: storage)
        try appendEvents(trail, 1...2)
        let intact = directory.bytes("audit-000001.jsonl")
        storage.with {
            $0.write = Errno.ioError
            $0.partialWriteBytes = 50
            $0.truncate = Errno.ioError
            $0.truncateFailures = 2
        }
        let failed = #expect(throws: AuditError.self) { try trail.append(event(3)) }
        #expect(failed?.code == .io && failed?.errno == Errno.ioError)
        #expect(directory.bytes("audit-000001.jsonl").count == intact.count + 50, "the cut back failed")
        storage.with { $0.write = nil }
        #expect(throws: AuditError.self) { try trail.reserve() }  // the second truncate failure
        try trail.reserve()
        #expect(directory.bytes("audit-000001.jsonl") == intact)
        try appendEvents(trail, 3...3)
        try trail.close()
        #expect(AuditVerifier.verify(directory: directory.audit, signingKey: testKey).ok)
    }

    /// EOPNOTSUPP: no reservation, once logged, and records are written anyway.
    @Test func aFilesystemWithoutFallocateIsUsedWithoutReservation() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        storage.with { $0.allocate = Errno.notSupported }
        let log = LogLines()
        let trail = try openTrail(directory, storage: storage, log: log)
        try appendEvents(trail, 1...3)
        try trail.rotate()
        try appendEvents(trail, 4...5)
        #expect(storage.with { $0.allocations } == 1, "asked once")
        #expect(log.all.filter { $0.contains("cannot preallocate") }.count == 1)
        try trail.close()
        #expect(AuditVerifier.verify(directory: directory.audit, signingKey: testKey).recordCount == 5)
    }

    /// fdatasync failing: the trail refuses everything, not retryable (STYLE.md's fsync rule).
    @Test func aFailedSyncIsFatal() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        let trail = try openTrail(directory, storage: storage)
        try appendEvents(trail, 1...2)
        storage.with { $0.synchronize = Errno.ioError }
        let failed = #expect(throws: AuditError.self) { try trail.sync() }
        #expect(failed?.code == .syncFailed && failed?.isRetryable == false)
        storage.with { $0.synchronize = nil }
        #expect((#expect(throws: AuditError.self) { try trail.reserve() })?.code == .syncFailed)
        #expect((#expect(throws: AuditError.self) { try trail.append(event(3)) })?.code == .syncFailed)
    }

    /// Sealing that fails inside append (no room for the .sig) does not lose the record: it goes
    /// into the current file, and the file is sealed later.
    @Test func aFailedRotationInAppendStillWritesTheRecord() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        let log = LogLines()
        let trail = try openTrail(directory, maxFileBytes: 2048, storage: storage, log: log)
        try trail.append(event(1))
        try trail.append(event(2))
        storage.with { $0.writeAtomically = Errno.noSpace }
        try trail.append(event(3))  // would need a rotation
        #expect(directory.trailFiles() == ["audit-000001.jsonl"])
        #expect(!directory.files().contains { $0.hasSuffix(".sig") || $0.hasSuffix(".tmp") })
        #expect(log.all.contains { $0.contains("the record goes into it anyway") }, "\(log.all)")
        storage.with { $0.writeAtomically = nil }
        try trail.append(event(4))
        try trail.close()
        #expect(directory.trailFiles() == ["audit-000001.jsonl", "audit-000002.jsonl"])
        #expect(directory.lines("audit-000001.jsonl").count == 3)
        let verification = AuditVerifier.verify(directory: directory.audit, signingKey: testKey)
        #expect(verification.ok, "\(verification.problems)")
    }

    /// A real kernel error, in a child process so that no other test feels the limit: with
    /// RLIMIT_FSIZE just above the file's size, the kernel writes part of the next record and
    /// then refuses with EFBIG. The trail cuts the part back, refuses until reserve() succeeds,
    /// and continues once the limit is lifted. (fallocate with KEEP_SIZE does not check the
    /// limit on ext4, so reserve() may pass here; on tmpfs it fails with EFBIG, also accepted.)
    @Test func aRealFileSizeLimitIsRefusedAndRecovered() async {
        let parent = TemporaryDirectory()
        defer { parent.remove() }
        await #expect(processExitsWith: .success) { [path = parent.path as String] in
            /// The reason goes to a file: a failed exit test returns no result to read it from.
            func fail(_ reason: String) -> Never {
                _ = FileManager.default.createFile(atPath: path + "/child-failure", contents: Data(reason.utf8))
                exit(1)
            }
            signal(SIGXFSZ, SIG_IGN)
            // The parent's directory: exit() skips defers, and the parent removes it.
            let directory = TemporaryDirectory(existing: path)
            do {
                let trail = try openTrail(directory)
                try appendEvents(trail, 1...3)
                let size = directory.bytes("audit-000001.jsonl").count
                var limit = rlimit()
                guard getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0 else { fail("getrlimit") }
                let original = limit
                limit.rlim_cur = rlim_t(size + 100)
                guard setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0 else { fail("setrlimit") }
                do throws(AuditError) {
                    try trail.reserve()
                } catch {
                    guard error.code == .diskFull else { fail("reserve: \(error)") }
                }
                do throws(AuditError) {
                    try trail.append(event(4))
                    fail("an append beyond RLIMIT_FSIZE succeeded")
                } catch {
                    guard error.code == .diskFull, error.errno == EFBIG else { fail("append: \(error)") }
                }
                guard directory.bytes("audit-000001.jsonl").count == size else { fail("the partial record was not cut back") }
                do throws(AuditError) {
                    try trail.append(event(4))
                    fail("an append after a failed write succeeded without reserve()")
                } catch {
                    guard error.code == .failed else { fail("second append: \(error)") }
                }
                limit = original
                guard setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0 else { fail("setrlimit back") }
                try trail.reserve()
                try trail.append(event(4))
                try trail.close()
                let verification = AuditVerifier.verify(directory: directory.audit, signingKey: testKey)
                guard verification.ok, verification.recordCount == 4 else { fail("verify: \(verification.problems)") }
            } catch {
                fail("unexpected: \(error)")
            }
            exit(0)
        }
        if let reason = try? String(contentsOfFile: parent.path + "/child-failure", encoding: .utf8) {
            Issue.record("in the child process: \(reason)")
        }
    }
}
