public import Cryptography
import JSON
import Platform

/// Checks a trail offline and names every record that was edited, removed or reordered.
///
/// What it checks, file by file in number order:
/// - every line is a JSON record with a `chain` member;
/// - sequence numbers rise by one: a jump whose missing numbers appear nowhere in the file is
///   "record(s) removed", a fall is "records reordered", a repeat "record duplicated";
/// - each record's `previousHash` is the SHA-256 of the record with the sequence number before
///   it (looked up by number, so a reordered record is not also called edited); a mismatch is
///   reported on that earlier record as "record edited";
/// - each file but the newest has a `.sig` whose HMAC verifies under the key, that names it,
///   whose SHA-256 matches the file's bytes and whose `lastRecordHash` matches its last record;
/// - no file is missing between the first and the newest (nor any whose `.sig` remains), and the
///   trail starts at sequence 1.
///
/// The limits, which are those of any hash chain without an outside witness:
/// - an edit of the **last record of the active (unsigned, newest) file** cannot be detected:
///   no record follows it and no signature covers it yet (a clean close signs it);
/// - removing the newest files **together with** their signatures, or truncating the active
///   file at a line end, leaves a shorter trail that is consistent in itself; compare the last
///   sequence with a copy kept elsewhere (shipped logs, monitoring) to catch that;
/// - whoever holds the signing key can rewrite the trail and sign it again.
///
/// Memory: one file's lines at a time (a file is at most `maxFileBytes` plus a few records).
public enum AuditVerifier {
    /// At most this many problems are listed (the rest are counted).
    public static let maximumProblems = 1000

    /// Verifies the trail in `directory`.
    /// - Parameter signingKey: the key the trail signs with; nil checks everything but the
    ///   signatures and reports that they were not checked.
    public static func verify(directory: String, signingKey: SecureBytes?) -> AuditVerification {
        var run = Run(directory: directory, key: signingKey)
        run.verify()
        return run.result
    }
}

extension AuditVerifier {
    /// One line of a file.
    struct Entry {
        var line: Int
        var sequence: UInt64
        var previousHash: [UInt8]
        var hash: [UInt8]
        var eventID: String?
    }

    /// The record of earlier files that the next file's first record links to.
    struct Carried {
        var file: String
        var entry: Entry
    }

    struct Run {
        let directory: String
        let key: SecureBytes?
        var result = AuditVerification()

        mutating func report(_ problem: AuditProblem) {
            if result.problems.count < AuditVerifier.maximumProblems {
                result.problems.append(problem)
            } else {
                result.omittedProblems += 1
            }
        }

        mutating func report(_ kind: AuditProblem.Kind, _ file: String, _ entry: Entry, _ message: String) {
            report(AuditProblem(kind: kind, file: file, line: entry.line, sequence: entry.sequence, eventID: entry.eventID, message: message))
        }

        mutating func verify() {
            let names: [String]
            do {
                names = try Files.listDirectory(directory)
            } catch {
                report(AuditProblem(kind: .unreadable, message: "\(directory): cannot list the audit directory: \(error)"))
                return
            }
            if key == nil {
                report(AuditProblem(kind: .signaturesNotChecked, message: "no signing key: signatures were not checked"))
            }
            let numbers = Set(names.compactMap(AuditFormat.fileNumber))
            let signed = Set(names.compactMap { name -> Int? in
                guard name.hasSuffix(AuditFormat.fileSuffix + AuditFormat.signatureSuffix) else { return nil }
                return AuditFormat.fileNumber(String(name.dropLast(AuditFormat.signatureSuffix.count)))
            })
            for name in names.sorted() where name.hasPrefix(AuditFormat.filePrefix) && name.contains(AuditFormat.fileSuffix + AuditFormat.tornSuffix) {
                result.notes.append("\(name) holds a torn tail cut off after a crash")
            }
            result.fileCount = numbers.count
            guard !numbers.isEmpty || !signed.isEmpty else {
                result.notes.append("no audit files yet")
                return
            }
            let newest = numbers.max()
            var carried: Carried?
            var missing: [ClosedRange<Int>] = []
            var atTrailStart = true
            var expected = 1
            // Numbers of files and of signatures, in order; the gaps between them are missing
            // files too (iterating over the gaps rather than every number bounds the work by
            // what is in the directory).
            for number in numbers.union(signed).sorted() {
                if number > expected { missing.append(expected...(number - 1)) }
                expected = number + 1
                let name = AuditFormat.fileName(number)
                guard numbers.contains(number) else {
                    missing.append(number...number)
                    continue
                }
                let bytes: [UInt8]
                do {
                    bytes = try Files.readContents(of: directory + "/" + name, limit: AuditFormat.maximumReadableFileBytes)
                } catch {
                    report(AuditProblem(kind: .unreadable, file: name, message: "cannot read the file: \(error)"))
                    carried = nil
                    atTrailStart = false
                    continue
                }
                let entries = parse(bytes, file: name, isNewest: number == newest)
                if !missing.isEmpty {
                    reportMissing(missing, signed: signed, after: carried, before: entries.first)
                    missing = []
                    carried = nil
                    atTrailStart = false
                }
                checkOrder(entries, file: name, carried: carried, atTrailStart: atTrailStart)
                checkLinks(entries, file: name, carried: carried)
                checkSignature(bytes, entries, file: name, signed: signed.contains(number), isNewest: number == newest)
                result.recordCount += entries.count
                for entry in entries {
                    result.firstSequence = min(result.firstSequence ?? entry.sequence, entry.sequence)
                    result.lastSequence = max(result.lastSequence ?? entry.sequence, entry.sequence)
                }
                if let last = entries.max(by: { $0.sequence < $1.sequence }) {
                    carried = Carried(file: name, entry: last)
                    atTrailStart = false
                }
            }
            if !missing.isEmpty { reportMissing(missing, signed: signed, after: carried, before: nil) }
        }

        /// The records of a file; lines that are not records are reported here.
        mutating func parse(_ bytes: [UInt8], file: String, isNewest: Bool) -> [Entry] {
            var entries: [Entry] = []
            var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            // The element after the final newline is empty; anything else there is unterminated.
            if let tail = lines.popLast(), !tail.isEmpty {
                if isNewest {
                    result.notes.append("\(file) ends with an unterminated line of \(tail.count) bytes (a write in progress, or a crash: the trail moves it to a .torn file when it next opens)")
                } else {
                    report(AuditProblem(kind: .unterminated, file: file, line: lines.count + 1,
                                        message: "the last line has no line end (\(tail.count) bytes)"))
                }
            }
            for (index, line) in lines.enumerated() {
                let number = index + 1
                guard !line.isEmpty else {
                    report(AuditProblem(kind: .notARecord, file: file, line: number, message: "empty line (not an audit record)"))
                    continue
                }
                let record: JSONValue
                do {
                    record = try JSONValue.parse(Array(line))
                } catch {
                    report(AuditProblem(kind: .notARecord, file: file, line: number, message: "line is not JSON (\(error)): the record was edited or damaged"))
                    continue
                }
                let eventID = record["eventID"]?.stringValue
                guard let chain = AuditFormat.chain(of: record) else {
                    report(AuditProblem(kind: .notARecord, file: file, line: number, eventID: eventID,
                                        message: "record has no valid chain member (sequence and previousHash)"))
                    continue
                }
                entries.append(Entry(line: number, sequence: chain.sequence, previousHash: chain.previousHash,
                                     hash: AuditFormat.hash(line), eventID: eventID))
            }
            return entries
        }

        /// Missing files between the last file read and the next one; the sequence numbers they
        /// held are those between the records on either side.
        mutating func reportMissing(_ ranges: [ClosedRange<Int>], signed: Set<Int>, after carried: Carried?, before next: Entry?) {
            var held = ""
            if let carried, let next, next.sequence > carried.entry.sequence + 1 {
                held = "; sequences \(carried.entry.sequence + 1) to \(next.sequence - 1) are not in the trail"
            } else if carried == nil, let next, next.sequence > 1 {
                held = "; sequences 1 to \(next.sequence - 1) are not in the trail"
            }
            for (index, range) in ranges.enumerated() {
                // The sequences are those of the whole gap: said once, on its last file.
                let suffix = index == ranges.count - 1 ? held : ""
                let first = AuditFormat.fileName(range.lowerBound)
                if range.count > 1 {
                    let last = AuditFormat.fileName(range.upperBound)
                    report(AuditProblem(kind: .fileMissing, file: first, message: "files \(first) to \(last) missing\(suffix)"))
                } else {
                    let evidence = signed.contains(range.lowerBound) ? " (its signature \(first + AuditFormat.signatureSuffix) is present)" : ""
                    report(AuditProblem(kind: .fileMissing, file: first, message: "file \(first) missing\(evidence)\(suffix)"))
                }
            }
        }

        /// Sequence numbers in file order: jumps (removed), falls (reordered), repeats.
        mutating func checkOrder(_ entries: [Entry], file: String, carried: Carried?, atTrailStart: Bool) {
            let sorted = entries.map(\.sequence).sorted()
            /// How many of this file's records have a sequence number in `range`.
            func present(_ range: Range<UInt64>) -> Int {
                AuditVerifier.lowerBound(sorted, range.upperBound) - AuditVerifier.lowerBound(sorted, range.lowerBound)
            }
            var last = carried?.entry.sequence
            var lastLine = 0
            var seen = Set<UInt64>()
            for entry in entries {
                let sequence = entry.sequence
                // Lines between the two that are not records (reported already) may be the
                // missing ones, damaged.
                let damaged = UInt64(entry.line - lastLine - 1)
                if let previous = last {
                    if sequence > previous + 1 {
                        let gap = sequence - previous - 1
                        // Missing from the whole file: taken out. Present elsewhere: moved, which
                        // the fall where it turns up reports.
                        if UInt64(present(previous + 1..<sequence)) + damaged < gap {
                            report(.removed, file, entry, "record(s) removed (sequence jumps from \(previous) to \(sequence))")
                        }
                    } else if sequence <= previous {
                        if seen.contains(sequence) {
                            report(.duplicated, file, entry, "record duplicated (sequence \(sequence) appears again)")
                        } else {
                            report(.reordered, file, entry, "records reordered (sequence \(sequence) after \(previous))")
                        }
                    }
                } else if atTrailStart && sequence != 1 {
                    report(.removed, file, entry, "record(s) removed (the trail starts at sequence \(sequence), not 1)")
                }
                seen.insert(sequence)
                last = sequence
                lastLine = entry.line
            }
        }

        /// Each record's previousHash against the hash of the record numbered one before it.
        mutating func checkLinks(_ entries: [Entry], file: String, carried: Carried?) {
            var bySequence: [UInt64: Int] = [:]
            for (index, entry) in entries.enumerated() where bySequence[entry.sequence] == nil {
                bySequence[entry.sequence] = index
            }
            var blamed = Set<Int>()
            for (index, entry) in entries.enumerated() {
                if entry.sequence == 1 {
                    if entry.previousHash != AuditFormat.zeroHash {
                        report(.edited, file, entry, "record edited (the first record's previousHash is not 64 zeros)")
                    }
                    continue
                }
                if let before = bySequence[entry.sequence - 1], before != index {
                    if entries[before].hash != entry.previousHash, blamed.insert(before).inserted {
                        report(.edited, file, entries[before], "record edited (its hash does not match the next record's previousHash)")
                    }
                } else if let carried, carried.entry.sequence == entry.sequence - 1, carried.entry.hash != entry.previousHash {
                    // Its own file's signature may have named it already.
                    let named = result.problems.contains { $0.kind == .edited && $0.file == carried.file && $0.line == carried.entry.line }
                    if !named {
                        report(.edited, carried.file, carried.entry, "record edited (its hash does not match the next record's previousHash, in \(file))")
                    }
                }
            }
        }

        /// The `.sig` of a file: present unless it is the newest, authentic, about this file,
        /// and matching its bytes and last record.
        mutating func checkSignature(_ bytes: [UInt8], _ entries: [Entry], file: String, signed: Bool, isNewest: Bool) {
            guard signed else {
                if !isNewest {
                    report(AuditProblem(kind: .unsigned, file: file,
                                        message: "\(file) is not signed but is not the newest file (its \(AuditFormat.signatureSuffix) was removed?)"))
                } else if !entries.isEmpty {
                    result.notes.append("\(file) is the active file, not signed yet (an edit of its last record cannot be detected until it is sealed)")
                }
                return
            }
            guard let key else { return }
            let signatureName = file + AuditFormat.signatureSuffix
            let seal: AuditSeal
            do {
                let signature = try Files.readContents(of: directory + "/" + signatureName, limit: 4096)
                let parsed = try AuditSeal.parse(signature)
                guard parsed.seal.isAuthentic(hmac: parsed.hmac, key: key) else {
                    report(AuditProblem(kind: .signatureInvalid, file: file,
                                        message: "signature invalid for \(file) (\(signatureName) was edited, or made with another key)"))
                    return
                }
                seal = parsed.seal
            } catch let error as AuditSeal.ParseError {
                report(AuditProblem(kind: .signatureInvalid, file: file, message: "signature invalid for \(file) (\(signatureName): \(error.reason))"))
                return
            } catch {
                report(AuditProblem(kind: .unreadable, file: file, message: "cannot read \(signatureName): \(error)"))
                return
            }
            guard seal.file == file else {
                report(AuditProblem(kind: .signatureInvalid, file: file,
                                    message: "signature invalid for \(file) (\(signatureName) is the signature of \(seal.file))"))
                return
            }
            result.signedFileCount += 1
            if SHA256.hash(bytes) != seal.sha256 {
                report(AuditProblem(kind: .changedAfterSigning, file: file, message: "file \(file) changed after signing (SHA-256 mismatch)"))
            }
            // The signed last record: edited (the chain cannot see that in the newest file), or
            // followed by records appended after signing.
            if let last = entries.first(where: { $0.sequence == seal.lastSequence }), last.hash != seal.lastRecordHash {
                report(.edited, file, last, "record edited (its hash does not match the signature's lastRecordHash)")
            }
            if let extra = entries.first(where: { $0.sequence > seal.lastSequence }) {
                report(.changedAfterSigning, file, extra, "record(s) added after signing (the signature ends at sequence \(seal.lastSequence))")
            }
        }
    }

    /// The index of the first element of `sorted` not less than `value`.
    static func lowerBound(_ sorted: [UInt64], _ value: UInt64) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
