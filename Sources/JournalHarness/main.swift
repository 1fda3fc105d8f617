// A journal writer for crash tests (not shipped). Tests start it, `kill -9` it at random moments,
// and check with `read` what survived against what `write` acknowledged.
//
//   JournalHarness write --dir D [--clients N] [--seed S] [--payload-bytes B] [--segment-bytes B]
//                        [--snapshot-every N]
//       N threads append records "c<client>-<seq>" (padded to B bytes) as fast as the journal
//       takes them; after each durable append prints "ack <lsn> <id>", after a failed one
//       "fail <id> <kind>" (then resumes the journal, which the failure halted). Every 200 ms it
//       also reads the log tail and prints "read <lastLSN>".
//   JournalHarness read --dir D
//       Recovers the journal (as a node would at start) and prints "snapshot <lsn> <count>",
//       then "rec <lsn> <id>" for every record the snapshot holds and every record after it,
//       and "torn <file> <offset> <bytes>" when recovery cut a torn tail. Exit 3 when recovery
//       refuses (the message names file, offset and reason).
import Foundation
import Journal
import Platform
import Synchronization

/// Standard output shared by the appender threads: whole lines, flushed at once, so a kill -9
/// never leaves an acknowledgement half-printed or unprinted after it was decided.
final class Output: Sendable {
    private let lock = Mutex<Void>(())
    func line(_ text: String) {
        lock.withLock { _ in
            let bytes = Array((text + "\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
                if n <= 0 { if errno == EINTR { continue }; exit(4) }
                offset += n
            }
        }
    }
}

/// The harness's state machine: the ids of every record, in LSN order. Its snapshot is those ids.
final class RecordIds: SnapshotSource, @unchecked Sendable {
    // Safety: `ids` and `lastLSN` are only touched under `lock`.
    private let lock = Mutex<Void>(())
    private var ids: [String] = []
    private var lastLSN: UInt64 = 0
    private var epoch: UInt64 = 1

    init(snapshotIds: [String], lsn: UInt64) {
        ids = snapshotIds
        lastLSN = lsn
    }

    func apply(lsn: UInt64, id: String) {
        lock.withLock { _ in
            // Completions arrive in LSN order from the single writer thread.
            precondition(lsn == lastLSN + 1, "LSN \(lsn) after \(lastLSN)")
            ids.append(id)
            lastLSN = lsn
        }
    }

    func captureSnapshot() -> (lsn: UInt64, epoch: UInt64, state: [UInt8]) {
        lock.withLock { _ in (lastLSN, epoch, Array(ids.joined(separator: "\n").utf8)) }
    }
}

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return fallback
}

func stringOption(_ name: String) -> String? {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return nil
}

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("JournalHarness: \(message)\n".utf8))
    exit(code)
}

let out = Output()
guard let dir = stringOption("--dir") else { fail("--dir is required", code: 2) }
let journalDir = dir + "/journal"
try? FileManager.default.createDirectory(atPath: journalDir, withIntermediateDirectories: true)

let options: JournalOptions = {
    var options = JournalOptions()
    options.segmentBytes = option("--segment-bytes", 256 * 1024)
    options.snapshotEveryRecords = option("--snapshot-every", 2_000)
    return options
}()

func idsFromSnapshot(_ state: [UInt8]) -> [String] {
    state.isEmpty ? [] : String(decoding: state, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// Recovers the journal as a node would at start; exit 3 when recovery refuses.
func openJournal(directory journalDir: String, options: JournalOptions) -> (Journal, Recovered) {
    do {
        return try Journal.open(directory: journalDir, options: options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    } catch {
        fail("recovery refused: \(error)", code: 3)
    }
}

switch CommandLine.arguments.dropFirst().first {
case "read":
    let (journal, recovered) = openJournal(directory: journalDir, options: options)
    if let torn = recovered.truncatedTail { out.line("torn \(torn.file) \(torn.offset) \(torn.droppedBytes)") }
    var lsn: UInt64 = 0
    if let snapshot = recovered.snapshot {
        let ids = idsFromSnapshot(snapshot.state)
        out.line("snapshot \(snapshot.lsn) \(ids.count)")
        precondition(UInt64(ids.count) == snapshot.lsn, "snapshot at \(snapshot.lsn) holds \(ids.count) ids")
        for id in ids {
            lsn += 1
            out.line("rec \(lsn) \(id)")
        }
    }
    for record in recovered.records {
        let text = String(decoding: record.payload, as: UTF8.self)
        out.line("rec \(record.lsn) \(text.split(separator: " ").first.map(String.init) ?? "")")
    }
    journal.close()

case "write":
    let clients = option("--clients", 16)
    let payloadBytes = option("--payload-bytes", 200)
    let (journal, recovered) = openJournal(directory: journalDir, options: options)
    let start = recovered.snapshot.map { idsFromSnapshot($0.state) } ?? []
    let state = RecordIds(snapshotIds: start, lsn: recovered.snapshot?.lsn ?? 0)
    for record in recovered.records {
        state.apply(lsn: record.lsn, id: String(decoding: record.payload, as: UTF8.self).split(separator: " ").first.map(String.init) ?? "")
    }
    journal.setSnapshotSource(state)
    // Ids must be unique across restarts: each run gets its own prefix.
    let run = option("--seed", Int(getpid()))
    out.line("start \(journal.lastDurableLSN)")
    for client in 0..<clients {
        _ = try OSThread.start(name: "client-\(client)") {
            var seq = 0
            while true {
                seq += 1
                let id = "r\(run)c\(client)s\(seq)"
                let payload = Array((id + " " + String(repeating: "x", count: max(0, payloadBytes - id.count - 1))).utf8)
                let done = DispatchSemaphore(value: 0)
                journal.append(type: 1, epoch: 1, payload: payload) { result in
                    switch result {
                    case .success(let lsn):
                        state.apply(lsn: lsn, id: id)
                        out.line("ack \(lsn) \(id)")
                    case .failure(let error):
                        out.line("fail \(id) \(error.kind)")
                        // A failed write halts the journal. Nothing here was decided against
                        // the failed record (the state applies only acknowledged ones, and each
                        // client has one append in flight), so let appends through again: they
                        // keep failing while the disk is full and succeed once space is back.
                        journal.resume()
                    }
                    done.signal()
                }
                done.wait()
            }
        }
    }
    // Reads keep working whatever happens to appends (disk full).
    while true {
        usleep(200_000)
        do {
            let last = journal.lastDurableLSN
            _ = try journal.read(from: last > 10 ? last - 10 : 1, maxRecords: 10)
            out.line("read \(last)")
        } catch {
            out.line("readfail \(error.kind)")
        }
    }

default:
    fail("usage: JournalHarness write|read --dir D [options]", code: 2)
}
