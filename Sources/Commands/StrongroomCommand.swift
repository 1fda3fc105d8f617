import ArgumentParsing

/// One `strongroom` command: its syntax (the parser's input and the usage's source), the
/// reading of its option values (pure: nothing is touched before `run`), and its run.
protocol StrongroomCommand: Sendable {
    /// The words that select it, its options and what it does.
    static var syntax: CommandSyntax { get }

    /// Reads the option values.
    /// - Throws: `UsageError` for a value the command cannot take (exit status 2).
    init(_ arguments: ParsedArguments) throws(UsageError)

    /// Runs the command and returns its exit status: 0 done, 1 a failed check, 2 a usage or
    /// configuration problem. Server commands (`dev`, `serve`, `front`) return when signalled.
    func run(_ console: Console) -> Int32
}
