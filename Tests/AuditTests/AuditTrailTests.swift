import Foundation
import Glibc
import Testing
@testable import Audit
import Cryptography
import JSON
import Platform

@Suite struct AuditTrailTests {
    /// Checks the chain over every record of the directory: sequences 1…n in file order, each
    /// previousHash the SHA-256 of the line before (across files), the first one zeros; and that
    /// every record is the event given plus the chain member.
    func expectChain(_ directory: TemporaryDirectory, count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let records = directory.records()
        #expect(records.count == count, sourceLocation: sourceLocation)
        var previous = AuditFormat.zeroHash
        for (index, entry) in records.enumerated() {
            let chain = AuditFormat.chain(of: entry.record)
            #expect(chain?.sequence == UInt64(index + 1), "\(entry.file) line \(entry.line)", sourceLocation: sourceLocation)
            #expect(chain?.previousHash == previous, "\(entry.file) line \(entry.line)", sourceLocation: sourceLocation)
            guard case .object(var members) = entry.record else { continue }
            #expect(members.last?.key == "chain", sourceLocation: sourceLocation)
            members.removeLast()
            #expect(JSONValue.object(members) == event(index + 1), sourceLocation: sourceLocation)
            previous = SHA256.hash(entry.bytes)
        }
    }

    @Test func chainContinuesAcrossAppendsReopeningAndRotation() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let trail = try openTrail(directory, maxFileBytes: 2048)
            try appendEvents(trail, 1...12)
            #expect(trail.status.nextSequence == 13)
            try trail.close()
        }
        let afterFirstRun = directory.trailFiles()
        #expect(afterFirstRun.count >= 4, "about three 600-byte records per 2 KiB file: \(afterFirstRun)")
        for file in afterFirstRun {
            #expect(directory.files().contains(file + ".sig"), "close() seals every file")
            #expect(directory.bytes(file).count <= 2048)
        }
        do {
            let trail = try openTrail(directory, maxFileBytes: 2048)
            #expect(trail.status.nextSequence == 13)
            #expect(trail.status.activeFile == nil, "after a clean close the next record starts a new file")
            try appendEvents(trail, 13...14)
            #expect(trail.status.activeFile == AuditFormat.fileName(afterFirstRun.count + 1))
            try trail.rotate()
            try appendEvents(trail, 15...15)
            try trail.close()
        }
        expectChain(directory, count: 15)
        let verification = AuditVerifier.verify(directory: directory.audit, signingKey: testKey)
        #expect(verification.ok, "\(verification.problems)")
        #expect(verification.recordCount == 15)
        #expect(verification.fileCount == directory.trailFiles().count)
        #expect(verification.signedFileCount == verification.fileCount)
    }

    @Test func anUnsealedFileIsContinuedAfterACrash() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let trail = try openTrail(directory)
            try appendEvents(trail, 1...3)
            try trail.sync()
            // No close(): as after kill -9 (the lock goes with the object).
        }
        let trail = try openTrail(directory)
        #expect(trail.notices.isEmpty)
        #expect(trail.status.activeFile == "audit-000001.jsonl")
        #expect(trail.status.nextSequence == 4)
        try appendEvents(trail, 4...5)
        try trail.close()
        #expect(directory.trailFiles() == ["audit-000001.jsonl"])
        expectChain(directory, count: 5)
        #expect(AuditVerifier.verify(directory: directory.audit, signingKey: testKey).ok)
    }

    /// A final line without its newline, or NUL bytes where blocks were allocated but not
    /// written, is cut on open, kept in a .torn file and reported.
    @Test(arguments: [Array(#"{"eventVersion":"1.08","eventTi"#.utf8), [UInt8](repeating: 0, count: 5000), [0, 0, 0, 0x0A, 0, 0]])
    func aTornTailIsCutAndKept(tail: [UInt8]) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let trail = try openTrail(directory)
            try appendEvents(trail, 1...3)
        }
        let intact = directory.bytes("audit-000001.jsonl")
        directory.append(tail, to: "audit-000001.jsonl")
        let log = LogLines()
        let trail = try openTrail(directory, log: log)
        #expect(trail.notices.count == 1)
        #expect(trail.notices.first?.contains("cut a torn tail of \(tail.count) bytes") == true, "\(trail.notices)")
        #expect(log.all == trail.notices)
        #expect(directory.bytes("audit-000001.jsonl") == intact)
        #expect(directory.bytes("audit-000001.jsonl.torn") == tail)
        #expect(trail.status.nextSequence == 4)
        try appendEvents(trail, 4...4)
        try trail.close()
        expectChain(directory, count: 4)
        let verification = AuditVerifier.verify(directory: directory.audit, signingKey: testKey)
        #expect(verification.ok, "\(verification.problems)")
        #expect(verification.notes.contains { $0.contains("audit-000001.jsonl.torn") })
    }

    @Test func aSecondTornTailGetsItsOwnFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        for round in 1...2 {
            let trail = try openTrail(directory)
            try appendEvents(trail, round...round)
            directory.append(Array("{\"partial\":\(round)".utf8), to: "audit-000001.jsonl")
        }
        _ = try openTrail(directory)
        #expect(directory.bytes("audit-000001.jsonl.torn") == Array("{\"partial\":1".utf8))
        #expect(directory.bytes("audit-000001.jsonl.torn.2") == Array("{\"partial\":2".utf8))
    }

    @Test func aCorruptLastRecordStopsTheOpen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let trail = try openTrail(directory)
            try appendEvents(trail, 1...2)
        }
        directory.append(Array("not a record\n".utf8), to: "audit-000001.jsonl")
        let error = #expect(throws: AuditError.self) { _ = try openTrail(directory) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("audit-000001.jsonl") == true)
    }

    @Test func closeWithoutRecordsLeavesNoFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        try trail.reserve()
        #expect(directory.trailFiles() == ["audit-000001.jsonl"])
        try trail.close()
        try trail.close()
        #expect(directory.trailFiles().isEmpty)
        #expect(throws: AuditError.self) { try trail.append(event(1)) }
        #expect(throws: AuditError.self) { try trail.reserve() }
        let reopened = try openTrail(directory)
        #expect(reopened.status.nextSequence == 1)
    }

    @Test func aDirectoryIsOpenOnce() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        let error = #expect(throws: AuditError.self) { _ = try openTrail(directory) }
        #expect(error?.code == .locked)
        try trail.close()
        _ = try openTrail(directory)
    }

    @Test func reserveAllocatesAheadWithoutGrowingTheFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        try trail.reserve()
        let path = directory.audit + "/audit-000001.jsonl"
        var info = stat()
        try #require(stat(path, &info) == 0)
        #expect(info.st_size == 0)
        #expect(Int(info.st_blocks) * 512 >= AuditTrail.reserveAheadBytes, "ext4 and tmpfs support fallocate")
        try trail.append(event(1))
        try #require(stat(path, &info) == 0)
        #expect(Int(info.st_size) == directory.bytes("audit-000001.jsonl").count)
        try trail.close()
    }

    /// Control characters and line separators in values stay escaped: one record, one line.
    @Test func valuesCannotBreakTheLine() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        let nasty = "a\nb\rc\u{0}d\u{1B}[31m\u{2028}e\"\\"
        let record = event(1, secret: nasty)
        try trail.append(record)
        try trail.close()
        let lines = directory.lines("audit-000001.jsonl")
        #expect(lines.count == 1)
        let parsed = try JSONValue.parse(try #require(lines.first))
        #expect(parsed["requestParameters"]?["secretId"]?.stringValue == nasty)
    }

    @Test func invalidEventsAreRefusedWithoutConsumingASequence() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        let invalid: [JSONValue] = [
            .array([.string("x")]),
            .object([(key: "eventName", value: .string("x")), (key: "chain", value: .null)]),
            .object([(key: "count", value: .number("1\n2"))]),
            .object([(key: "count", value: .number("not a number"))]),
        ]
        for value in invalid {
            let error = #expect(throws: AuditError.self) { try trail.append(value) }
            #expect(error?.code == .invalidEvent)
            #expect(error?.isRetryable == false)
        }
        #expect(trail.status.nextSequence == 1)
        try trail.append(event(1))
        try trail.close()
        expectChain(directory, count: 1)
    }

    /// Over 64 KiB: first requestParameters and responseElements become {"truncated":true};
    /// if that is not enough, only the CloudTrail members are kept with strings clipped.
    @Test func oversizedRecordsAreCutDown() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        let big = String(repeating: "x", count: 100_000)
        guard case .object(var members) = event(1, secret: big) else { return }
        try trail.append(.object(members))
        members.append((key: "errorMessage", value: .string(String(repeating: "\u{1}", count: 70_000))))
        members.append((key: "additionalEventData", value: .array(Array(repeating: .string("y"), count: 20_000))))
        try trail.append(.object(members))
        try trail.close()

        let lines = directory.lines("audit-000001.jsonl")
        try #require(lines.count == 2)
        let truncated = JSONValue.object([(key: "truncated", value: .bool(true))])
        for line in lines { #expect(line.count <= AuditFormat.maximumRecordBytes) }
        let first = try JSONValue.parse(lines[0])
        #expect(first["requestParameters"] == truncated)
        #expect(first["responseElements"] == truncated)
        #expect(first["eventID"]?.stringValue == "evt-1")
        let second = try JSONValue.parse(lines[1])
        #expect(second["requestParameters"] == truncated)
        #expect(second["additionalEventData"] == nil)
        #expect(second["errorMessage"]?.stringValue?.hasSuffix("...[truncated]") == true)
        #expect(second["userIdentity"]?["arn"]?.stringValue == "arn:aws:iam::123456789012:user/admin")
        #expect(AuditFormat.chain(of: second)?.sequence == 2)
        #expect(AuditVerifier.verify(directory: directory.audit, signingKey: testKey).ok)
    }

    /// Parameters nested deeper than the parser reads back are replaced like oversized ones, so
    /// that every record stays readable.
    @Test func deeplyNestedParametersAreReplaced() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        var deep = JSONValue.string("bottom")
        for _ in 0..<70 { deep = .array([deep]) }
        guard case .object(var members) = event(1) else { return }
        members = members.map { $0.key == "requestParameters" ? (key: $0.key, value: .object([(key: "nested", value: deep)])) : $0 }
        try trail.append(.object(members))
        try trail.close()
        let record = try JSONValue.parse(try #require(directory.lines("audit-000001.jsonl").first))
        #expect(record["requestParameters"] == .object([(key: "truncated", value: .bool(true))]))
        #expect(record["eventID"]?.stringValue == "evt-1")
    }

    /// A crash after reserve() created the next file but before a record went in: the empty file
    /// is continued, chained to the previous file's last record.
    @Test func anEmptyNewestFileIsContinued() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let trail = try openTrail(directory)
            try appendEvents(trail, 1...2)
            try trail.rotate()
            try trail.reserve()
            #expect(directory.trailFiles() == ["audit-000001.jsonl", "audit-000002.jsonl"])
        }
        let trail = try openTrail(directory)
        #expect(trail.status.activeFile == "audit-000002.jsonl")
        #expect(trail.status.nextSequence == 3)
        try appendEvents(trail, 3...3)
        try trail.close()
        #expect(directory.trailFiles() == ["audit-000001.jsonl", "audit-000002.jsonl"])
        expectChain(directory, count: 3)
        #expect(AuditVerifier.verify(directory: directory.audit, signingKey: testKey).ok)
    }

    /// The example in the report: one line and its signature, as the files hold them.
    @Test func fileFormat() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        try trail.append(event(1))
        try trail.close()
        let line = String(decoding: try #require(directory.lines("audit-000001.jsonl").first), as: UTF8.self)
        #expect(line.hasPrefix(#"{"eventVersion":"1.08","eventTime":"2026-11-23T10:00:00Z","#))
        #expect(line.hasSuffix(#""chain":{"sequence":1,"previousHash":"0000000000000000000000000000000000000000000000000000000000000000"}}"#))
        let signature = try JSONValue.parse(directory.bytes("audit-000001.jsonl.sig"))
        guard case .object(let members) = signature else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["version", "file", "firstSequence", "lastSequence", "recordCount", "sha256", "lastRecordHash", "hmac"])
        #expect(signature["file"]?.stringValue == "audit-000001.jsonl")
        #expect(signature["sha256"]?.stringValue == Hex.encode(SHA256.hash(directory.bytes("audit-000001.jsonl"))))
        #expect(signature["lastRecordHash"]?.stringValue == Hex.encode(SHA256.hash(Array(line.utf8))))
        #expect(Files.exists(directory.audit + "/audit-000001.jsonl.sig"))
        #expect(try Files.permissions(of: directory.audit + "/audit-000001.jsonl.sig") == 0o600)
    }

    @Test func concurrentAppendsKeepTheChain() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory, maxFileBytes: 16 * 1024)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<25 {
                        try? trail.reserve()
                        try? trail.append(event(1 + task * 25 + i))
                    }
                }
            }
        }
        #expect(trail.status.nextSequence == 201)
        try trail.close()
        let verification = AuditVerifier.verify(directory: directory.audit, signingKey: testKey)
        #expect(verification.ok, "\(verification.problems)")
        #expect(verification.recordCount == 200)
        #expect(Set(directory.records().compactMap { $0.record["eventID"]?.stringValue }).count == 200)
    }
}

@Suite struct AuditPresyncTests {
    /// A large file is fdatasynced once in the background shortly before it fills (so that the
    /// seal, under the lock, has little left to flush); the trail stays whole and verifies.
    @Test func aLargeFileIsSyncedBeforeItsSeal() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let storage = FaultyStorage()
        let trail = try AuditTrail.open(directory: directory.audit, signingKey: testKey, maxFileBytes: 8 << 20, storage: storage)
        #expect(trail.presyncDistance == 1 << 20)
        let filler = JSONValue.object([(key: "eventName", value: .string("PutSecretValue")),
                                       (key: "padding", value: .string(String(repeating: "p", count: 60_000)))])
        var appended = 0
        // Up to just past the presync point (7 MiB), still short of sealing.
        func size() -> Int {
            ((try? FileManager.default.attributesOfItem(atPath: directory.audit + "/audit-000001.jsonl"))?[.size] as? Int) ?? 0
        }
        while trail.status.nextSequence < 200, size() < (7 << 20) + 100_000 {
            try trail.reserve()
            try trail.append(filler)
            appended += 1
        }
        let deadline = MonotonicClock.seconds() + 10
        while storage.with({ $0.syncs }) == 0 && MonotonicClock.seconds() < deadline { usleep(10_000) }
        #expect(storage.with { $0.syncs } == 1)
        #expect(!FileManager.default.fileExists(atPath: directory.audit + "/audit-000001.jsonl.sig"))
        // On past the end: the file is sealed and the next one begun; one presync per file.
        while !FileManager.default.fileExists(atPath: directory.audit + "/audit-000002.jsonl") {
            try trail.reserve()
            try trail.append(filler)
            appended += 1
        }
        try trail.close()
        #expect(AuditVerifier.verify(directory: directory.audit, signingKey: testKey).ok)
        #expect(appended > 120)
    }
}
