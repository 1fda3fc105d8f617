import Foundation
import Journal
import Platform
import Synchronization

/// `strongroom journal verify | dump | bench`: offline tools for operators.
public enum JournalTools {
    /// The journal folder for a data directory, a dev directory (`DIR/data/journal`) or the
    /// journal folder itself.
    public static func journalDirectory(for directory: String) -> String {
        let dir = Files.absolutePath(directory)
        for candidate in [dir + "/journal", dir + "/data/journal"] where Files.exists(candidate) { return candidate }
        return dir
    }

    /// Checks every segment and snapshot without changing anything. Exit status 0 when sound, 1 otherwise.
    public static func verify(directory: String, print: @escaping @Sendable (String) -> Void) -> Int32 {
        let journal = journalDirectory(for: directory)
        guard Files.exists(journal) else {
            print("\(journal): no journal here")
            return 1
        }
        let report = JournalVerifier.verify(directory: journal)
        for line in report.lines { print(line) }
        print(report.ok ? "journal OK: \(journal)" : "journal has problems: \(journal)")
        return report.ok ? 0 : 1
    }

    /// Prints the records a node set aside after a promotion (`DATA/quarantine/*.records`, the
    /// journal's own frames): per file its name, then per record its metadata and the secrets
    /// its facts name (never values). Reads files only, so it works while the node runs.
    public static func dumpQuarantine(directory: String, print: @escaping @Sendable (String) -> Void) -> Int32 {
        let dir = Files.absolutePath(directory)
        let candidates = [dir + "/quarantine", dir + "/data/quarantine", (dir as NSString).deletingLastPathComponent + "/quarantine"]
        guard let quarantine = candidates.first(where: { Files.exists($0) }) else {
            print("# no quarantine directory under \(dir): this node never set records aside")
            return 0
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: quarantine)) ?? []).filter { $0.hasSuffix(".records") }.sorted()
        print("# \(quarantine): \(names.count) file(s) of records set aside (never served)")
        var failed = false
        for name in names {
            guard let data = FileManager.default.contents(atPath: quarantine + "/" + name) else {
                print("\(name): cannot read")
                failed = true
                continue
            }
            let bytes = Array(data)
            print("file \(name)")
            var offset = 0
            while offset < bytes.count {
                guard case .record(let record, let frameBytes) = RecordFrame.decode(bytes, at: offset) else {
                    print("  corrupt at byte \(offset)")
                    failed = true
                    break
                }
                print("  lsn=\(record.lsn) epoch=\(record.epoch) type=\(record.type) bytes=\(record.payload.count)")
                offset += frameBytes
            }
        }
        return failed ? 1 : 0
    }

    /// Prints record metadata (LSN, epoch, type, size, a digest prefix): never payloads.
    /// Refuses while a node runs on the directory (the journal's own lock).
    public static func dump(directory: String, from: UInt64, limit: Int, print: @escaping @Sendable (String) -> Void) -> Int32 {
        let journalDir = journalDirectory(for: directory)
        let opened: (Journal, Recovered)
        do {
            // The journal locks its directory: a running node makes this fail with `.locked`.
            opened = try Journal.open(directory: journalDir) { print("# \($0)") }
        } catch {
            print(error.kind == .locked ? "\(journalDir): in use by a running strongroom process; stop it first" : "\(error)")
            return error.kind == .locked ? 2 : 1
        }
        let (journal, recovered) = opened
        defer { journal.close() }
        if let snapshot = recovered.snapshot {
            print("# snapshot at LSN \(snapshot.lsn), epoch \(snapshot.epoch), \(snapshot.state.count) bytes")
        }
        print("# last durable LSN \(journal.lastDurableLSN)")
        var next = max(from, 1)
        var printed = 0
        while printed < limit {
            let records: [JournalRecord]
            do {
                records = try journal.read(from: next, maxRecords: min(1000, limit - printed))
            } catch {
                print("\(error)")
                return 1
            }
            if records.isEmpty { break }
            for record in records {
                print("lsn=\(record.lsn) epoch=\(record.epoch) type=\(record.type) bytes=\(record.payload.count)")
                printed += 1
            }
            next = records.last!.lsn + 1
        }
        return 0
    }

    /// Measures, on the disk holding `directory`: raw 4 KiB append + fdatasync, then journal
    /// appends at 1, 16 and 64 concurrent appenders (group commit), each for `seconds`.
    public static func bench(directory: String, seconds: Double, payloadBytes: Int, print: @escaping @Sendable (String) -> Void) -> Int32 {
        let base = Files.absolutePath(directory) + "/journal-bench-\(getpid())"
        do { try Files.makeDirectory(base) } catch {
            print("\(base): \(error)")
            return 1
        }
        defer { try? FileManager.default.removeItem(atPath: base) }
        print("journal bench on \(base), \(Int(seconds)) s per row, payload \(payloadBytes) bytes, \(OSThread.availableCores) cores")
        let raw: Double
        do {
            raw = try rawFsyncRate(path: base + "/raw", seconds: seconds)
        } catch {
            print("raw fdatasync: \(error)")
            return 1
        }
        print(pad("workload", 28) + pad("ops/s", 12) + pad("p50 ms", 10) + pad("p99 ms", 10) + "vs raw fsync")
        print(pad("raw 4 KiB append+fdatasync", 28) + pad(String(format: "%.0f", raw), 12) + pad("", 10) + pad("", 10) + "1.0x")
        for appenders in [1, 16, 64] {
            let dir = base + "/j\(appenders)"
            do {
                let (rate, p50, p99) = try journalRate(directory: dir, appenders: appenders, seconds: seconds, payloadBytes: payloadBytes)
                print(pad("journal, \(appenders) appender\(appenders == 1 ? "" : "s")", 28) + pad(String(format: "%.0f", rate), 12)
                    + pad(String(format: "%.3f", p50), 10) + pad(String(format: "%.3f", p99), 10) + String(format: "%.1fx", rate / raw))
            } catch {
                print("journal with \(appenders) appenders: \(error)")
                return 1
            }
        }
        return 0
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func rawFsyncRate(path: String, seconds: Double) throws(Errno) -> Double {
        let file = try RandomAccessFile.open(path, create: true)
        let block = [UInt8](repeating: 0x5A, count: 4096)
        let start = MonotonicClock.seconds()
        var count = 0
        while MonotonicClock.seconds() - start < seconds {
            let offset = count * block.count
            try block.withUnsafeBytes { bytes in Result { () throws(Errno) in try file.write(bytes, at: offset) } }.get()
            try file.synchronizeData()
            count += 1
        }
        return Double(count) / (MonotonicClock.seconds() - start)
    }

    /// `appenders` appends outstanding at all times, as a node's event loops keep them: each
    /// completion records its latency and issues the next append (a closed loop without threads).
    private static func journalRate(directory: String, appenders: Int, seconds: Double, payloadBytes: Int) throws -> (Double, Double, Double) {
        let (journal, _) = try Journal.open(directory: directory) { _ in }
        defer { journal.close() }
        let run = BenchRun(journal: journal, payload: [UInt8](repeating: 0x42, count: payloadBytes), deadline: MonotonicClock.seconds() + seconds)
        let start = MonotonicClock.seconds()
        for _ in 0..<appenders { run.issue() }
        for _ in 0..<appenders { run.finished.wait() }
        let elapsed = MonotonicClock.seconds() - start
        let sorted = run.latencies.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { return (0, 0, 0) }
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000 }
        return (Double(sorted.count) / elapsed, percentile(0.5), percentile(0.99))
    }
}

/// One closed-loop benchmark: every completion issues the next append until the deadline.
private final class BenchRun: Sendable {
    let journal: Journal
    let payload: [UInt8]
    let deadline: Double
    let latencies = Mutex<[Double]>([])
    let finished = DispatchSemaphore(value: 0)

    init(journal: Journal, payload: [UInt8], deadline: Double) {
        self.journal = journal
        self.payload = payload
        self.deadline = deadline
        latencies.withLock { $0.reserveCapacity(1 << 20) }
    }

    func issue() {
        let t0 = MonotonicClock.seconds()
        journal.append(type: 1, epoch: 1, payload: payload) { [self] result in
            let now = MonotonicClock.seconds()
            if case .success = result { latencies.withLock { $0.append(now - t0) } }
            if now < deadline, case .success = result { issue() } else { finished.signal() }
        }
    }
}
