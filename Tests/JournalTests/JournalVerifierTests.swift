import Foundation
import Testing
@testable import Journal

@Suite struct JournalVerifierTests {
    @Test func cleanJournalVerifiesWithoutPrintingPayloads() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let source = FixedSnapshotSource()
        let (journal, _) = try openJournal(directory, options: JournalOptions(segmentBytes: 4096))
        journal.setSnapshotSource(source)
        for n in 1...30 { _ = try await journal.append(type: 1, epoch: 1, payload: Array("TOP-SECRET-\(n)".utf8) + [UInt8](repeating: 65, count: 300)) }
        source.set(lsn: 12, epoch: 1, state: Array("TOP-SECRET-STATE".utf8))
        try journal.snapshotNow()
        journal.close()
        let (ok, lines) = JournalVerifier.verify(directory: directory.journal)
        #expect(ok, "\(lines)")
        #expect(lines.last == "OK")
        #expect(lines.contains { $0.hasPrefix(JournalFormat.snapshotName(lsn: 12) + ": LSN 12") })
        #expect(lines.contains { $0.contains("segment-") && $0.contains("records") })
        #expect(!lines.joined().contains("TOP-SECRET"))
        #expect(!lines.joined().contains("AAAA"))
    }

    @Test func problemsNameFileAndOffset() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (journal, _) = try openJournal(directory)
        try await appendAll(journal, 1...5)
        journal.close()
        let name = try #require(directory.segments().last)
        var bytes = directory.bytes(name)
        let second = frameOffsets(bytes)[1]
        bytes[second + 20] ^= 0xFF

        directory.write(bytes, to: name)
        let (ok, lines) = JournalVerifier.verify(directory: directory.journal)
        #expect(!ok)
        #expect(lines.contains { $0.hasPrefix("ERROR \(name) at offset \(second): checksum mismatch") }, "\(lines)")
        #expect(lines.last == "FAILED: 1 problem")

        // A torn tail is reported, not a failure.
        directory.write(Array(directory.bytes(name).prefix(second + 10)), to: name)
        let torn = JournalVerifier.verify(directory: directory.journal)
        #expect(torn.ok, "\(torn.lines)")
        #expect(torn.lines.contains { $0.contains("torn tail at offset \(second)") })
    }

    @Test func missingDirectoryFails() {
        let (ok, lines) = JournalVerifier.verify(directory: "/nonexistent/journal/dir")
        #expect(!ok)
        #expect(lines.first?.hasPrefix("ERROR") == true)
    }
}
