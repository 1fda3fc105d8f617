import ArgumentParsing

/// The `strongroom` command line: `strongroom COMMAND [SUBCOMMAND] [OPTIONS]`. Every command
/// reads its options with one parser (`CommandSyntax`), and its usage is printed from the same
/// declaration by `strongroom help [COMMAND]`, `COMMAND --help` and `COMMAND -h`.
public enum Strongroom {
    /// Exit statuses.
    public static let succeeded: Int32 = 0
    public static let checkFailed: Int32 = 1
    public static let usageProblem: Int32 = 2

    /// Every command, in the order the usage lists them.
    static let commands: [any StrongroomCommand.Type] = [
        Dev.self, Serve.self, ClusterInit.self, ClusterManifest.self, ClusterShow.self, Front.self, Status.self, RotationStatus.self, PromoteRegion.self, Promote.self,
        JournalVerify.self, JournalDump.self, JournalBench.self, IAMIssueSession.self, AuditVerify.self, AuditQuery.self,
        CAInit.self, CAIssue.self, ClusterPlanCommand.self,
        Help.self,
    ]

    /// Runs the command line `arguments` (without the program name).
    ///
    /// - Returns: the exit status: 0 when done (a server command: when it stopped on a signal);
    ///   1 when a check failed (`journal verify`, `audit verify`, an unreachable node for
    ///   `status`); 2 for a usage or configuration problem, said on standard error.
    public static func run(_ arguments: [String], console: Console = Console()) -> Int32 {
        switch resolve(arguments) {
        case .usage(let text):
            console.say(text)
            return succeeded
        case .problem(let message, let usage):
            console.standardError("strongroom: \(message)\n\n\(usage)")
            return usageProblem
        case .command(let command):
            return command.run(console)
        }
    }

    /// What a command line asks for, decided without touching anything.
    enum Resolution {
        /// Print this usage and exit 0.
        case usage(String)
        /// A usage problem: the message, and the usage of what was asked for.
        case problem(String, usage: String)
        /// Run this command.
        case command(any StrongroomCommand)
    }

    /// Finds the command `arguments` name and reads its options.
    static func resolve(_ arguments: [String]) -> Resolution {
        guard let first = arguments.first else { return .problem("no command given", usage: usage()) }
        if first == "--help" || first == "-h" { return .usage(usage()) }
        let group = commands.filter { $0.syntax.path[0] == first }
        guard !group.isEmpty else { return .problem("unknown command '\(first)'", usage: usage()) }
        let command: any StrongroomCommand.Type
        var rest = arguments.dropFirst()
        if group.count == 1 && group[0].syntax.path.count == 1 {
            command = group[0]
        } else {
            let second = rest.first
            if second == "--help" || second == "-h" { return .usage(usage(of: group)) }
            guard let found = group.first(where: { $0.syntax.path[1] == second }) else {
                let names = group.map { $0.syntax.path[1] }
                return .problem("\(first) needs \(alternatives(names))", usage: usage(of: group))
            }
            command = found
            rest = rest.dropFirst()
        }
        do throws(UsageError) {
            let parsed = try command.syntax.parse(Array(rest))
            if parsed.help { return .usage(usage(of: [command])) }
            return .command(try command.init(parsed))
        } catch {
            return .problem(error.message, usage: usage(of: [command]))
        }
    }

    /// The usage of `commands` (all of them by default).
    static func usage(of commands: [any StrongroomCommand.Type] = Strongroom.commands) -> String {
        var text = "usage:\n" + commands.map { $0.syntax.usage(indent: "  ") }.joined(separator: "\n")
        if commands.count == Self.commands.count {
            text += "\n\nEvery command also takes --help (or -h): its own usage. Options are --name VALUE or --name=VALUE."
        }
        return text
    }

    /// The commands `words` name: one command, a group (`cluster`), or nil when none.
    static func commands(named words: [String]) -> [any StrongroomCommand.Type]? {
        let found = commands.filter { Array($0.syntax.path.prefix(words.count)) == words }
        return found.isEmpty ? nil : found
    }

    /// `a, b or c`.
    static func alternatives(_ names: [String]) -> String {
        names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
    }

    /// A syntax of the `strongroom` program.
    static func syntax(
        _ path: [String], _ options: [Option] = [], exclusive: [[String]] = [], operands: String? = nil, _ description: String
    ) -> CommandSyntax {
        CommandSyntax(program: "strongroom", path: path, options: options, exclusive: exclusive, operands: operands,
                      description: description)
    }
}
