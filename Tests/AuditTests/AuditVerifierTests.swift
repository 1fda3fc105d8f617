import Foundation
import Testing
@testable import Audit
import Cryptography
import JSON
import Platform

@Suite struct AuditVerifierTests {
    /// A closed trail of 20 records, five to a file: audit-000001 holds 1–5, …, audit-000004 16–20.
    func makeTrail(_ directory: TemporaryDirectory, close: Bool = true) throws {
        let trail = try openTrail(directory, maxFileBytes: 4096)
        try appendEvents(trail, 1...20)
        if close { try trail.close() }
        try #require(directory.trailFiles() == (1...4).map(AuditFormat.fileName))
        for sequence in [1, 5, 6, 10, 16, 20] as [UInt64] {
            let place = try #require(directory.locate(sequence))
            try #require(place.file == AuditFormat.fileName(Int(sequence - 1) / 5 + 1) && place.line == Int(sequence - 1) % 5 + 1)
        }
    }

    func verify(_ directory: TemporaryDirectory, key: SecureBytes = testKey) -> AuditVerification {
        AuditVerifier.verify(directory: directory.audit, signingKey: key)
    }

    /// Changes one byte of a line: "GetSecretValue" becomes "GetSecretValuf".
    func editByte(_ directory: TemporaryDirectory, file: String, line: Int) {
        var lines = directory.lines(file)
        let text = String(decoding: lines[line - 1], as: UTF8.self).replacingOccurrences(of: "GetSecretValue", with: "GetSecretValuf")
        lines[line - 1] = Array(text.utf8)
        directory.writeLines(lines, to: file)
    }

    @Test func anIntactMultiFileTrailVerifies() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        let result = verify(directory)
        #expect(result.ok, "\(result.problems)")
        #expect(result.recordCount == 20 && result.fileCount == 4 && result.signedFileCount == 4)
        #expect(result.firstSequence == 1 && result.lastSequence == 20)
        #expect(result.summary == "audit trail intact: 20 records (sequences 1 to 20) in 4 files, 4 signed")
    }

    @Test func anEditedMiddleRecordIsNamed() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        editByte(directory, file: "audit-000002.jsonl", line: 2)
        let result = verify(directory)
        #expect(!result.ok)
        #expect(result.problems.map(\.description) == [
            "audit-000002.jsonl line 2 (sequence 7, eventID evt-7): record edited (its hash does not match the next record's previousHash)",
            "audit-000002.jsonl: file audit-000002.jsonl changed after signing (SHA-256 mismatch)",
        ])
        #expect(result.problems.first?.kind == .edited)
    }

    @Test func aRemovedRecordIsNamed() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        var lines = directory.lines("audit-000002.jsonl")
        lines.remove(at: 2)  // sequence 8
        directory.writeLines(lines, to: "audit-000002.jsonl")
        let result = verify(directory)
        #expect(result.problems.map(\.description) == [
            "audit-000002.jsonl line 3 (sequence 9, eventID evt-9): record(s) removed (sequence jumps from 7 to 9)",
            "audit-000002.jsonl: file audit-000002.jsonl changed after signing (SHA-256 mismatch)",
        ])
    }

    @Test func swappedRecordsAreNamedOnceAsReordered() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        var lines = directory.lines("audit-000003.jsonl")
        lines.swapAt(1, 2)  // sequences 12 and 13
        directory.writeLines(lines, to: "audit-000003.jsonl")
        let result = verify(directory)
        #expect(result.problems.map(\.description) == [
            "audit-000003.jsonl line 3 (sequence 12, eventID evt-12): records reordered (sequence 12 after 13)",
            "audit-000003.jsonl: file audit-000003.jsonl changed after signing (SHA-256 mismatch)",
        ])
        #expect(result.problems.first?.kind == .reordered)
    }

    /// The last record of the trail has no successor: its file's signature names it.
    @Test func anEditedLastRecordOfASignedFileIsCaughtByTheSignature() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        editByte(directory, file: "audit-000004.jsonl", line: 5)
        let result = verify(directory)
        #expect(result.problems.map(\.description) == [
            "audit-000004.jsonl: file audit-000004.jsonl changed after signing (SHA-256 mismatch)",
            "audit-000004.jsonl line 5 (sequence 20, eventID evt-20): record edited (its hash does not match the signature's lastRecordHash)",
        ])
    }

    /// The last record of a file that is not the last: named once, by its signature (the next
    /// file's first link says the same).
    @Test func anEditedLastRecordOfAnEarlierFileIsNamedOnce() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        editByte(directory, file: "audit-000001.jsonl", line: 5)
        let result = verify(directory)
        #expect(result.problems.filter { $0.kind == .edited }.map(\.sequence) == [5])
        #expect(result.problems.filter { $0.kind == .changedAfterSigning }.map(\.file) == ["audit-000001.jsonl"])
        #expect(result.problems.count == 2)
    }

    @Test func aRemovedSignatureIsReported() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        directory.removeFile("audit-000002.jsonl.sig")
        let result = verify(directory)
        #expect(result.problems.map(\.description) == [
            "audit-000002.jsonl: audit-000002.jsonl is not signed but is not the newest file (its .sig was removed?)",
        ])
        #expect(result.signedFileCount == 3)
    }

    @Test func aRemovedFileIsReportedWithTheSequencesItHeld() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        directory.removeFile("audit-000002.jsonl")
        directory.removeFile("audit-000002.jsonl.sig")
        #expect(verify(directory).problems.map(\.description) == [
            "audit-000002.jsonl: file audit-000002.jsonl missing; sequences 6 to 10 are not in the trail",
        ])
        directory.removeFile("audit-000003.jsonl")
        directory.removeFile("audit-000003.jsonl.sig")
        directory.removeFile("audit-000004.jsonl")
        #expect(verify(directory).problems.map(\.description) == [
            "audit-000002.jsonl: files audit-000002.jsonl to audit-000003.jsonl missing",
            "audit-000004.jsonl: file audit-000004.jsonl missing (its signature audit-000004.jsonl.sig is present)",
        ])
        directory.removeFile("audit-000001.jsonl")
        directory.removeFile("audit-000001.jsonl.sig")
        directory.removeFile("audit-000004.jsonl.sig")
        directory.write(Array("x".utf8), to: "audit-000005.jsonl")
        #expect(verify(directory).problems.map(\.description) == [
            "audit-000001.jsonl: files audit-000001.jsonl to audit-000004.jsonl missing",
        ], "the newest file is unsigned and unterminated: a note, not a problem")
    }

    /// The documented limit: the newest file removed with its signature leaves a consistent,
    /// shorter trail.
    @Test func theNewestFileRemovedWithItsSignatureIsNotDetectable() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        directory.removeFile("audit-000004.jsonl")
        directory.removeFile("audit-000004.jsonl.sig")
        let result = verify(directory)
        #expect(result.ok)
        #expect(result.lastSequence == 15)
    }

    @Test func aLineThatIsNotJSONIsNamedAndNotCalledARemoval() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        var lines = directory.lines("audit-000003.jsonl")
        lines[3] = Array("garbage".utf8)
        directory.writeLines(lines, to: "audit-000003.jsonl")
        let result = verify(directory)
        #expect(result.problems.map(\.kind) == [.notARecord, .changedAfterSigning])
        #expect(result.problems.first?.file == "audit-000003.jsonl" && result.problems.first?.line == 4)
        #expect(result.problems.first?.message.hasPrefix("line is not JSON") == true)
    }

    @Test func signaturesMadeWithAnotherKeyOrForAnotherFileAreInvalid() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        let other = verify(directory, key: SecureBytes(Array(repeating: 1, count: 32)))
        #expect(other.problems.map(\.kind) == Array(repeating: .signatureInvalid, count: 4))
        #expect(other.problems.first?.description == "audit-000001.jsonl: signature invalid for audit-000001.jsonl (audit-000001.jsonl.sig was edited, or made with another key)")
        #expect(other.signedFileCount == 0)

        directory.write(directory.bytes("audit-000001.jsonl.sig"), to: "audit-000002.jsonl.sig")
        #expect(verify(directory).problems.map(\.description) == [
            "audit-000002.jsonl: signature invalid for audit-000002.jsonl (audit-000002.jsonl.sig is the signature of audit-000001.jsonl)",
        ])
        directory.write(Array("{}".utf8), to: "audit-000002.jsonl.sig")
        #expect(verify(directory).problems.map(\.kind) == [.signatureInvalid])
    }

    /// In the active file the chain catches every edit but one of the last record, and says so.
    @Test func theActiveFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let trail = try openTrail(directory)
        try appendEvents(trail, 1...5)
        let intact = verify(directory)
        #expect(intact.ok)
        #expect(intact.summary.contains("audit-000001.jsonl is the active file, not signed yet"), "\(intact.summary)")

        editByte(directory, file: "audit-000001.jsonl", line: 5)
        #expect(verify(directory).ok, "the documented limit: the active file's last record")
        editByte(directory, file: "audit-000001.jsonl", line: 3)
        #expect(verify(directory).problems.map(\.sequence) == [3])

        directory.append(Array("{\"partial".utf8), to: "audit-000001.jsonl")
        #expect(verify(directory).notes.contains { $0.contains("unterminated line of 9 bytes") })
        _ = trail
    }

    @Test func withoutAKeyEverythingButSignaturesIsChecked() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        let result = AuditVerifier.verify(directory: directory.audit, signingKey: nil)
        #expect(result.problems.map(\.kind) == [.signaturesNotChecked])
        #expect(result.recordCount == 20)
    }

    @Test func emptyAndMissingDirectories() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        #expect(verify(directory).problems.map(\.kind) == [.unreadable])
        try FileManager.default.createDirectory(atPath: directory.audit, withIntermediateDirectories: true)
        let empty = verify(directory)
        #expect(empty.ok && empty.recordCount == 0)
        #expect(empty.summary == "audit trail intact: 0 records in 0 files, 0 signed; no audit files yet")
    }
}
