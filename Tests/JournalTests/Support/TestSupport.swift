import Foundation
import Synchronization
import Testing
@testable import Journal
import Platform

/// A fresh directory under NSTemporaryDirectory(), removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = #function) {
        let name = "journal-test-\(label.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))"
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent(name)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The journal directory inside it.
    var journal: String { path + "/journal" }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: journal)) ?? []).sorted()
    }

    func segments() -> [String] { files().filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") } }

    func bytes(_ name: String) -> [UInt8] {
        Array((try? Data(contentsOf: URL(fileURLWithPath: journal + "/" + name))) ?? Data())
    }

    func write(_ bytes: [UInt8], to name: String) {
        _ = FileManager.default.createFile(atPath: journal + "/" + name, contents: Data(bytes))
    }
}

/// Collects log lines.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var sink: @Sendable (String) -> Void { { [self] line in lines.withLock { $0.append(line) } } }
}


/// Real files, with fdatasyncs counted and failures or stalls injected into writes.
final class InstrumentedStorage: JournalStorage {
    struct State {
        var writes = 0
        var syncs = 0
        /// 1-based numbers of writes (counted after `armed`) that fail.
        var failingWrites: Set<Int> = []
        var failAllWrites = false
        var errorCode = Errno.noSpace
        var armed = false
        var armedWrites = 0
        var stallWrites = false
        var stalledWriters = 0
    }

    let base = FileJournalStorage()
    let state = ConditionLock(StateBox())

    struct StateBox: Sendable { var value = State() }

    func with<R>(_ body: (inout State) -> R) -> R {
        let result = state.withLock { body(&$0.value) }
        state.broadcast()
        return result
    }

    var syncs: Int { with { $0.syncs } }

    /// Blocks the calling test thread until a writer is stalled in `write`.
    func waitForStalledWriter() {
        state.withLock(waitingUntil: { $0.value.stalledWriters > 0 }) { _ in }
    }

    func makeDirectory(_ path: String) throws(Errno) { try base.makeDirectory(path) }
    func lockDirectory(_ directory: String) throws(Errno) -> any JournalDirectoryLock { try base.lockDirectory(directory) }
    func listDirectory(_ directory: String) throws(Errno) -> [String] { try base.listDirectory(directory) }
    func openFile(_ path: String, create: Bool) throws(Errno) -> any JournalFile {
        InstrumentedFile(try base.openFile(path, create: create), storage: self)
    }
    func rename(_ source: String, to destination: String) throws(Errno) { try base.rename(source, to: destination) }
    func remove(_ path: String) throws(Errno) { try base.remove(path) }
    func syncDirectory(_ directory: String) throws(Errno) { try base.syncDirectory(directory) }

    final class InstrumentedFile: JournalFile {
        let file: any JournalFile
        let storage: InstrumentedStorage
        init(_ file: any JournalFile, storage: InstrumentedStorage) {
            self.file = file
            self.storage = storage
        }
        func size() throws(Errno) -> Int { try file.size() }
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int { try file.read(into: buffer, at: offset) }
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) {
            storage.state.withLock { box in box.value.stalledWriters += 1 }
            storage.state.broadcast()
            let failure = storage.state.withLock(waitingUntil: { !$0.value.stallWrites }) { box -> Int32? in
                box.value.stalledWriters -= 1
                box.value.writes += 1
                guard box.value.armed else { return nil }
                box.value.armedWrites += 1
                if box.value.failAllWrites || box.value.failingWrites.contains(box.value.armedWrites) { return box.value.errorCode }
                return nil
            }
            if let failure {
                // A realistic failure: half the bytes reach the file first.
                if bytes.count > 1 { try file.write(UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count / 2)]), at: offset) }
                throw Errno(code: failure, operation: "pwrite (injected)")
            }
            try file.write(bytes, at: offset)
        }
        func synchronize() throws(Errno) {
            storage.with { $0.syncs += 1 }
            try file.synchronize()
        }
        func truncate(to size: Int) throws(Errno) { try file.truncate(to: size) }
    }
}

/// Records append completions in the order they run, each under the number the test gave it.
final class Completions: Sendable {
    private let entries = Mutex<[(tag: Int, result: Result<UInt64, JournalError>)]>([])

    /// A completion that records `tag` and its result.
    func callback(_ tag: Int) -> @Sendable (Result<UInt64, JournalError>) -> Void {
        { [self] result in entries.withLock { $0.append((tag, result)) } }
    }

    var all: [(tag: Int, result: Result<UInt64, JournalError>)] { entries.withLock { $0 } }
    var count: Int { entries.withLock { $0.count } }
    var tags: [Int] { all.map(\.tag) }
}

/// A snapshot source whose answer the test sets.
final class FixedSnapshotSource: SnapshotSource {
    let value: Mutex<(lsn: UInt64, epoch: UInt64, state: [UInt8])>
    init(lsn: UInt64 = 0, epoch: UInt64 = 0, state: [UInt8] = []) { value = Mutex((lsn, epoch, state)) }
    func set(lsn: UInt64, epoch: UInt64 = 0, state: [UInt8]) { value.withLock { $0 = (lsn, epoch, state) } }
    func captureSnapshot() -> (lsn: UInt64, epoch: UInt64, state: [UInt8]) { value.withLock { $0 } }
}

/// A payload that names its LSN-to-be, to check reads against appends.
func payload(_ n: Int, size: Int = 40) -> [UInt8] {
    var bytes = Array("record-\(n)-".utf8)
    while bytes.count < size { bytes.append(UInt8(truncatingIfNeeded: n &* 31 &+ bytes.count)) }
    return bytes
}

/// Opens a journal, failing the test on error.
func openJournal(
    _ directory: TemporaryDirectory, options: JournalOptions = JournalOptions(),
    storage: any JournalStorage = FileJournalStorage(), log: LogLines = LogLines()
) throws -> (Journal, Recovered) {
    try Journal.open(directory: directory.journal, options: options, storage: storage, log: log.sink)
}

/// Appends `count` records with payload(first...) and returns their LSNs.
@discardableResult
func appendAll(_ journal: Journal, _ range: ClosedRange<Int>, epoch: UInt64 = 1, size: Int = 40) async throws -> [UInt64] {
    var lsns: [UInt64] = []
    for n in range { lsns.append(try await journal.append(type: 1, epoch: epoch, payload: payload(n, size: size))) }
    return lsns
}

/// Reads everything from `lsn` on, looping over `read`'s limits.
func readAll(_ journal: Journal, from lsn: UInt64 = 1) throws -> [JournalRecord] {
    var records: [JournalRecord] = []
    var next = lsn
    while true {
        let batch = try journal.read(from: next)
        if batch.isEmpty { return records }
        records += batch
        next = batch.last!.lsn + 1
    }
}

/// The frame offsets of a segment file's records.
func frameOffsets(_ bytes: [UInt8]) -> [Int] {
    var offsets: [Int] = []
    var offset = JournalFormat.segmentHeaderBytes
    while case .record(_, let size) = RecordFrame.decode(bytes, at: offset) {
        offsets.append(offset)
        offset += size
    }
    return offsets
}

/// Expects `body` to throw a `JournalError` of `kind`, and returns it.
@discardableResult
func expectJournalError(_ kind: JournalError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> JournalError? {
    do {
        try body()
        Issue.record("expected a \(kind) error, got success", sourceLocation: sourceLocation)
    } catch let error as JournalError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
