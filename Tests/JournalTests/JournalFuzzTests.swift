import Foundation
import Journal
import Testing
import TestSupport

@Suite struct JournalFuzzTests {
    /// Every file in Regressions/ (the fuzz corpus and past findings), by name.
    static let regressionFiles = Regressions.names(in: .module)

    @Test func corpusIsPresent() {
        #expect(Self.regressionFiles.count >= 3)
    }

    @Test(arguments: regressionFiles)
    func replay(_ name: String) throws {
        JournalFuzz.decodeFrames(try Regressions.bytes(name, in: .module))
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
