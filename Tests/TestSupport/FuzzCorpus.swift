public import Foundation

/// The committed libFuzzer corpus of one fuzz target, `FuzzTesting/Corpus/<target>/`, which
/// `scripts/fuzz` grows and minimises. Not a resource of the test targets (it changes with every
/// fuzzing run, and belongs to FuzzTesting/): found from this file's place in the source tree,
/// which `swift test` always builds from.
public enum FuzzCorpus {
    /// The corpus folder of `target` (`json`, `sigv4`, …: the names `scripts/fuzz --list` prints).
    public static func directory(_ target: String) -> URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // TestSupport
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // the package
            .appendingPathComponent("FuzzTesting/Corpus/\(target)")
    }

    /// Every input of `target`'s corpus, by file name, sorted (hidden files left out); empty
    /// when the folder is missing.
    public static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = directory(target)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return try names.filter { !$0.hasPrefix(".") }.sorted().map { name in
            (name, Array(try Data(contentsOf: folder.appendingPathComponent(name))))
        }
    }
}

/// Replays a fuzz target's inputs through its entry point (which traps when a property
/// breaks): the test target's Regressions/ folder (seeds and past findings) and the committed
/// corpus. One call per fuzz suite, so that each suite says only what is its own.
public enum FuzzReplay {
    /// How many inputs were replayed from each source.
    public struct Counts: Sendable {
        public var regressions: Int
        public var corpus: Int
    }

    /// Replays every input of `bundle`'s Regressions/ folder and of `target`'s corpus.
    public static func replay(_ target: String, bundle: Bundle, run: ([UInt8]) -> Void) throws -> Counts {
        let names = Regressions.names(in: bundle)
        for name in names { run(try Regressions.bytes(name, in: bundle)) }
        let corpus = try FuzzCorpus.inputs(target)
        for input in corpus { run(input.bytes) }
        return Counts(regressions: names.count, corpus: corpus.count)
    }
}
