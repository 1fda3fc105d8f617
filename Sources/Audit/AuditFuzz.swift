import Cryptography
import JSON

/// The fuzz entry point of the audit trail's readers: the verifier's line parsing and chain
/// checks, the `.sig` parser, the query's filters and table, and the record writer, for the
/// libFuzzer driver in `FuzzTesting/` and for replaying its corpus in the unit tests. The input
/// is the contents of one trail file (or of a `.sig`), which anyone with access to the disk
/// can edit: these readers must report, never crash.
///
/// Checks, trapping on a violation:
/// - the verifier reads the file as the newest and as a sealed file without crashing, and
///   every problem it reports names a line that exists;
/// - a `.sig` that parses, signed again, parses back to the same seal and is authentic;
/// - a record the query reads is found by a query for its own principal, secret and event, and
///   the table never lets a control character through (no record may drive the terminal);
/// - the writer turns every JSON object of the input into a record line that parses back to
///   the event and its chain; the trail made of those lines verifies clean, and with any one
///   byte of a record other than the last changed, or a record other than the last removed,
///   it does not.
public enum AuditFuzz {
    /// Inputs longer than this are cut: a few dozen records.
    public static let maxInputBytes = 16 << 10
    /// At most this many lines are read as records for the query and the writer.
    static let maxRecords = 32

    static let file = AuditFormat.fileName(1)
    static let key = SecureBytes([UInt8](repeating: 0x5A, count: 32))

    /// Reads `data` as a trail file and a seal and checks the properties above.
    public static func run(_ data: [UInt8]) {
        let data = Array(data.prefix(maxInputBytes))
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        for isNewest in [true, false] {
            var run = AuditVerifier.Run(directory: "", key: nil)
            let problems = verify(data, run: &run, isNewest: isNewest)
            for problem in problems {
                precondition(!problem.message.isEmpty && !problem.description.isEmpty, "a problem without a message")
                precondition(problem.line.map { (1...lines.count).contains($0) } ?? true, "a problem on line \(problem.line ?? 0) of \(lines.count)")
            }
        }
        checkSeal(data)
        let records = lines.prefix(maxRecords).compactMap { try? JSONValue.parse(Array($0)) }
        checkQuery(records)
        checkWrittenTrail(records, seed: fnv1a(data))
    }

    /// The problems the verifier finds in one file (not signed; the first of the trail).
    static func verify(_ bytes: [UInt8], run: inout AuditVerifier.Run, isNewest: Bool) -> [AuditProblem] {
        let entries = run.parse(bytes, file: file, isNewest: isNewest)
        run.checkOrder(entries, file: file, carried: nil, atTrailStart: true)
        run.checkLinks(entries, file: file, carried: nil)
        run.checkSignature(bytes, entries, file: file, signed: false, isNewest: isNewest)
        precondition(run.result.problems.count <= AuditVerifier.maximumProblems, "more problems listed than the limit")
        return run.result.problems
    }

    static func checkSeal(_ data: [UInt8]) {
        guard let parsed = try? AuditSeal.parse(data) else { return }
        let signed = parsed.seal.signedBytes(key: key)
        guard let again = try? AuditSeal.parse(signed) else { preconditionFailure("a seal signed again does not parse") }
        precondition(again.seal == parsed.seal, "a seal changed when signed again")
        precondition(again.seal.isAuthentic(hmac: again.hmac, key: key), "a freshly signed seal is not authentic")
    }

    static func checkQuery(_ records: [JSONValue]) {
        for record in records {
            let identity = record["userIdentity"]
            if let principal = identity?["arn"]?.stringValue ?? identity?["userName"]?.stringValue {
                precondition(query(principal: principal).matches(record), "a record is not found by its own principal")
            }
            if let secret = record["requestParameters"]?["secretId"]?.stringValue {
                precondition(query(secret: secret).matches(record), "a record is not found by its own secret")
            }
            if let event = record["eventName"]?.stringValue {
                precondition(query(event: event).matches(record), "a record is not found by its own event name")
            }
            precondition(query(deniedOnly: true).matches(record) == (record["errorCode"]?.stringValue == "AccessDeniedException"),
                         "the denied filter disagrees with the errorCode")
        }
        let table = AuditQuery.table(records.map(AuditQuery.Row.init))
        precondition(!table.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) },
                     "a control character reached the table")
        precondition(table.utf8.count { $0 == 0x0A } == records.count, "the table has a line per record and a header")
    }

    static func query(principal: String? = nil, secret: String? = nil, event: String? = nil, deniedOnly: Bool = false) -> AuditQuery {
        // Without since/until nothing is parsed, so nothing can be refused.
        guard let query = try? AuditQuery(principal: principal, secret: secret, event: event, deniedOnly: deniedOnly) else {
            preconditionFailure("a query without times was refused")
        }
        return query
    }

    /// Writes every object of `records` (less any `chain` member) as a trail and checks that
    /// the verifier accepts it, and refuses it after one edit or one removal chosen by `seed`.
    static func checkWrittenTrail(_ records: [JSONValue], seed: UInt64) {
        var lines: [[UInt8]] = []
        var previous = AuditFormat.zeroHash
        for record in records {
            guard case .object(let members) = record else { continue }
            let event = JSONValue.object(members.filter { $0.key != AuditFormat.chainKey })
            let chain = AuditFormat.Chain(sequence: UInt64(lines.count + 1), previousHash: previous)
            let line: [UInt8]
            do throws(AuditError) {
                line = try AuditFormat.line(event: event, chain: chain)
            } catch {
                preconditionFailure("an event read from JSON was refused: \(error)")
            }
            precondition(line.count <= AuditFormat.maximumRecordBytes && !line.contains(0x0A), "a record line too long or broken")
            guard let written = try? JSONValue.parse(line), case .object(let writtenMembers) = written else {
                preconditionFailure("a record line does not parse")
            }
            precondition(AuditFormat.chain(of: written) == chain, "a record's chain does not read back")
            precondition(writtenMembers.last?.key == AuditFormat.chainKey && JSONValue.object(writtenMembers.dropLast()) == event,
                         "a record does not read back as its event")
            previous = AuditFormat.hash(line)
            lines.append(line)
        }
        guard !lines.isEmpty else { return }
        let trail: [UInt8] = lines.flatMap { $0 + [0x0A] }
        var clean = AuditVerifier.Run(directory: "", key: nil)
        let problems = verify(trail, run: &clean, isNewest: true)
        precondition(problems.isEmpty, "a trail the writer made does not verify: \(problems)")
        guard lines.count >= 2 else { return }

        // One changed byte in a record that has a successor: its hash no longer matches.
        let victim = Int(seed % UInt64(lines.count - 1))
        let offset = lines[..<victim].reduce(0) { $0 + $1.count + 1 } + Int((seed >> 16) % UInt64(lines[victim].count))
        var edited = trail
        edited[offset] ^= UInt8(truncatingIfNeeded: seed >> 40) | 1
        var editRun = AuditVerifier.Run(directory: "", key: nil)
        precondition(!verify(edited, run: &editRun, isNewest: true).isEmpty, "a record edited at byte \(offset) went unnoticed")

        // A removed record that has a successor: the sequence jumps.
        let removed: [UInt8] = lines.enumerated().filter { $0.offset != victim }.flatMap { $0.element + [0x0A] }
        var removeRun = AuditVerifier.Run(directory: "", key: nil)
        precondition(!verify(removed, run: &removeRun, isNewest: true).isEmpty, "a removed record went unnoticed")
    }

    /// FNV-1a of the input: picks the edit deterministically, so a finding replays.
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
