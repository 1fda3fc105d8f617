import Foundation
import JSON
import Testing
import TestSupport

/// Replays the JSON fuzz target's past findings and committed corpus (scripts/fuzz json grows
/// it) through ``JSONFuzz/run(_:)``, which traps when a property breaks.
@Suite struct JSONFuzzTests {
    /// Seeds, past findings and the committed corpus (scripts/fuzz json grows it).
    @Test func replaysRegressionsAndCorpus() throws {
        let counts = try FuzzReplay.replay("json", bundle: .module, run: JSONFuzz.run)
        #expect(counts.regressions >= 5, "Regressions/ is missing or nearly empty")
        #expect(counts.corpus >= 20, "FuzzTesting/Corpus/json is missing or nearly empty")
    }

    @Test func edgeInputs() {
        for text in ["", " ", "0", "-", "[]", "{}", "\"", "[", "{\"a\":", "1e", "tru", "nul", "\"\\u\"", "\"\\ud83d\\u0041\""] {
            JSONFuzz.run(Array(text.utf8))
        }
        JSONFuzz.run([0xFF])
        JSONFuzz.run([UInt8](repeating: UInt8(ascii: "["), count: 200))
    }

    /// The parser and ``JSONValue/isWellFormed`` agree on the nesting limit: at most
    /// ``JSONValue/maximumDepth`` containers, empty or not (a finding of the fuzzer: 65 nested
    /// empty arrays parsed, yet were not well-formed, so the audit trail would have cut down a
    /// readable record).
    @Test(arguments: [0, 1, 63, 64, 65, 66])
    func nestingLimit(_ depth: Int) {
        let empty = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let filled = String(repeating: "[", count: depth) + "0" + String(repeating: "]", count: depth)
        for text in [empty, filled] where !text.isEmpty {
            let parsed = try? JSONValue.parse(Array(text.utf8))
            #expect((parsed != nil) == (depth <= JSONValue.maximumDepth), "depth \(depth): \(text.prefix(3))…")
            #expect(parsed?.isWellFormed ?? true)
        }
    }
}
