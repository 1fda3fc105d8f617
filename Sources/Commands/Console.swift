import Foundation

/// Where a command writes and what it reads from its process: standard output and standard
/// error (one call per line or block, without the final newline) and the environment (the
/// process's when nil). Tests pass their own to capture both streams.
public struct Console: Sendable {
    public var standardOutput: @Sendable (String) -> Void
    public var standardError: @Sendable (String) -> Void
    public var environment: [String: String]

    public init(
        standardOutput: @escaping @Sendable (String) -> Void = Console.writeStandardOutput,
        standardError: @escaping @Sendable (String) -> Void = Console.writeStandardError,
        environment: [String: String]? = nil
    ) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.environment = environment ?? ProcessInfo.processInfo.environment
    }

    /// Writes `text` and a newline to the process's standard output.
    public static func writeStandardOutput(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes `text` and a newline to the process's standard error.
    public static func writeStandardError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Prints one line of output.
    func say(_ text: String) { standardOutput(text) }

    /// Reports `message` as `strongroom: message` on standard error and returns the exit status
    /// of a usage or configuration problem, 2.
    func fail(_ message: String) -> Int32 {
        standardError("strongroom: \(message)")
        return Strongroom.usageProblem
    }

    /// Reports a problem that is not one of usage (`strongroom: message`), for commands whose
    /// own functions choose the exit status.
    func warn(_ message: String) { standardError("strongroom: \(message)") }
}
