import Foundation
import Synchronization
import Testing
@testable import Journal
import Platform

/// Throughput against the raw fdatasync rate. Off by default (it takes seconds and measures the
/// machine); run with `JOURNAL_BENCH=1 swift test --filter JournalBenchmarkTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["JOURNAL_BENCH"] == "1"))
struct JournalBenchmarkTests {
    @Test func groupCommitBeatsRawFdatasync() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.journal, withIntermediateDirectories: true)

        // Raw: 4 KiB pwrite + fdatasync, appending, for one second.
        let file = try RandomAccessFile.open(directory.journal + "/raw", create: true)
        let block = [UInt8](repeating: 0x42, count: 4096)
        let clock = ContinuousClock()
        var rawCount = 0
        let rawStart = clock.now
        while clock.now - rawStart < .seconds(1) {
            try block.withUnsafeBytes { try file.write($0, at: rawCount * 4096) }
            try file.synchronizeData()
            rawCount += 1
        }
        let rawRate = Double(rawCount) / (clock.now - rawStart).seconds

        // Journal: 64 appenders, ~200-byte payloads, for about two seconds.
        let (journal, _) = try openJournal(directory)
        let appenders = 64
        let deadline = clock.now + .seconds(2)
        let start = clock.now
        let total = await withTaskGroup(of: Int.self) { group in
            for task in 0..<appenders {
                group.addTask {
                    let bytes = [UInt8](repeating: UInt8(task), count: 200)
                    var count = 0
                    while clock.now < deadline {
                        if (try? await journal.append(type: 1, epoch: 1, payload: bytes)) != nil { count += 1 }
                    }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        let rate = Double(total) / (clock.now - start).seconds
        let statistics = journal.statistics
        journal.close()
        print("raw 4 KiB fdatasync: \(Int(rawRate))/s; journal, \(appenders) appenders: \(Int(rate)) appends/s (\(String(format: "%.1f", rate / rawRate))×), \(statistics.batches) batches, mean \(statistics.appends / max(1, statistics.batches)) per batch, largest \(statistics.largestBatch)")
        #expect(rate >= 20 * rawRate)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
