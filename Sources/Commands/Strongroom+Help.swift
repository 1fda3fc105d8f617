import ArgumentParsing

extension Strongroom {
    /// `strongroom help [COMMAND]`: the usage of every command, or of the one named.
    struct Help: StrongroomCommand {
        static let syntax = Strongroom.syntax(["help"], operands: "[COMMAND [SUBCOMMAND]]", """
            Print this, or the usage of COMMAND (e.g. help cluster, help cluster init).
            """)

        var text: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            guard !arguments.operands.isEmpty else {
                text = usage()
                return
            }
            guard let named = commands(named: arguments.operands) else {
                throw UsageError("no command '\(arguments.operands.joined(separator: " "))'")
            }
            text = usage(of: named)
        }

        func run(_ console: Console) -> Int32 {
            console.say(text)
            return succeeded
        }
    }
}
