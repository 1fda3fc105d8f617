import Foundation
@testable import Journal
import Testing
import TestSupport

@Suite struct JournalFuzzTests {
    /// Seeds, past findings and the committed corpus (scripts/fuzz journal grows it).
    @Test func replaysRegressionsAndCorpus() throws {
        let counts = try FuzzReplay.replay("journal", bundle: .module, run: JournalFuzz.run)
        #expect(counts.regressions >= 3, "Regressions/ is missing or nearly empty")
        #expect(counts.corpus >= 10, "FuzzTesting/Corpus/journal is missing or nearly empty")
    }

    /// A valid snapshot loads and re-encodes; damaged, cut or lengthened ones are refused
    /// (each a `.badSnapshot`, or the entry point traps).
    @Test func snapshots() {
        let state: [UInt8] = Array("state".utf8)
        let valid = JournalFormat.encodeSnapshotHeader(lsn: 7, epoch: 2, state: state) + state
        JournalFuzz.run(valid)
        JournalFuzz.run(valid + [0])
        JournalFuzz.run(Array(valid.dropLast()))
        for index in [0, 9, 13, 30, 37, 41, 44] {
            var damaged = valid
            damaged[index] ^= 0x01
            JournalFuzz.run(damaged)
        }
        JournalFuzz.run(JournalFormat.encodeSnapshotHeader(lsn: 1, epoch: 0, state: []))
    }

    @Test func edgeInputs() {
        JournalFuzz.decodeFrames([])
        JournalFuzz.decodeFrames([0])
        JournalFuzz.decodeFrames([UInt8](repeating: 0, count: 100))
        JournalFuzz.decodeFrames([UInt8](repeating: 0xFF, count: 100))
        let frames = (1...3).flatMap { RecordFrame.encode(JournalRecord(lsn: UInt64($0), epoch: 1, type: 1, payload: [UInt8($0)])) }
        JournalFuzz.decodeFrames(frames)
        JournalFuzz.decodeFrames(frames + [1, 2, 3])
        JournalFuzz.decodeFrames([7] + frames)
    }
}
