public import Foundation

/// A test target's fuzz corpus and past findings: the files of its `Regressions` resource folder.
public enum Regressions {
    /// The file names in `bundle`'s Regressions folder, sorted (hidden files left out).
    public static func names(in bundle: Bundle) -> [String] {
        guard let directory = bundle.url(forResource: "Regressions", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [] }
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    /// The bytes of one file of `bundle`'s Regressions folder.
    public static func bytes(_ name: String, in bundle: Bundle) throws -> [UInt8] {
        guard let directory = bundle.url(forResource: "Regressions", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile)
        }
        return Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}
