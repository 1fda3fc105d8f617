import ArgumentParsing
import Node

extension Strongroom {
    /// `strongroom journal verify`: check a region log and its snapshots offline.
    struct JournalVerify: StrongroomCommand {
        static let syntax = Strongroom.syntax(["journal", "verify"], [.value("--dir", "DIR", required: true)], """
            Check a data directory's region log and snapshots offline (exit 1 on a problem).
            """)

        var directory: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ""
        }

        func run(_ console: Console) -> Int32 {
            JournalTools.verify(directory: directory, print: console.standardOutput)
        }
    }

    /// `strongroom journal dump`: print records' metadata, never their values.
    struct JournalDump: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["journal", "dump"], [.value("--dir", "DIR", required: true), .value("--from", "LSN"), .value("--limit", "N"), .flag("--quarantine")], """
            Print record metadata (LSN, epoch, type, size; never values). The node must be stopped.
            With --quarantine, the records the node set aside instead (DIR/quarantine: a returning
            old primary's records the new primary never had); the node may be running.
            """)

        var directory: String
        var from: UInt64
        var limit: Int
        var quarantine: Bool

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ""
            guard let from = UInt64(arguments.value("--from") ?? "1"), let limit = Int(arguments.value("--limit") ?? "\(Int.max)"),
                  limit > 0 else {
                throw UsageError("--from and --limit take positive whole numbers")
            }
            self.from = from
            self.limit = limit
            quarantine = arguments.has("--quarantine")
        }

        func run(_ console: Console) -> Int32 {
            if quarantine { return JournalTools.dumpQuarantine(directory: directory, print: console.standardOutput) }
            return JournalTools.dump(directory: directory, from: from, limit: limit, print: console.standardOutput)
        }
    }

    /// `strongroom journal bench`: this disk's fdatasync rate against group-committed appends.
    struct JournalBench: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["journal", "bench"], [.value("--dir", "DIR", required: true), .value("--seconds", "N"), .value("--payload-bytes", "N")], """
            Measure the disk: raw fdatasync rate, and group-committed journal appends at 1, 16, 64
            (N seconds each, default 3; records of --payload-bytes, default 200).
            """)

        var directory: String
        var seconds: Double
        var payloadBytes: Int

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ""
            guard let seconds = Double(arguments.value("--seconds") ?? "3"), seconds > 0, seconds <= 600,
                  let payload = Int(arguments.value("--payload-bytes") ?? "200"), (1...1_048_576).contains(payload) else {
                throw UsageError("--seconds takes 0 to 600, --payload-bytes 1 to 1048576")
            }
            self.seconds = seconds
            payloadBytes = payload
        }

        func run(_ console: Console) -> Int32 {
            JournalTools.bench(directory: directory, seconds: seconds, payloadBytes: payloadBytes, print: console.standardOutput)
        }
    }
}
