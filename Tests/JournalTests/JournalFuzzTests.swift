import Foundation
import Journal
import Testing

@Suite struct JournalFuzzTests {
    /// Every file in Regressions/ (the fuzz corpus and past findings), by name.
    static let regressionFiles: [String] = {
        guard let directory = Bundle.module.url(forResource: "Regressions", withExtension: nil),
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [] }
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }()

    @Test func corpusIsPresent() {
        #expect(Self.regressionFiles.count >= 3)
    }

    @Test(arguments: regressionFiles)
    func replay(_ name: String) throws {
        let directory = try #require(Bundle.module.url(forResource: "Regressions", withExtension: nil))
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        JournalFuzz.decodeFrames(Array(data))
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
