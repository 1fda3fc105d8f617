/// A command's syntax: the words that name it (`cluster init`), its options, and what it does.
/// `parse` reads a command line with it and `usage` prints it, so the usage a user reads is the
/// syntax the parser enforces.
///
/// The syntax, the same for every command:
/// - `--name value` and `--name=value` (the second form allows a value that begins with `--`);
/// - flags without a value (`--json`; `--json=x` is an error);
/// - an unknown option, a missing value, and a second use of an option that is not repeatable
///   are errors, as is a missing required option or two options of an exclusive group;
/// - `--help` or `-h` asks for the usage, whatever else is given after it.
public struct CommandSyntax: Sendable {
    /// The program's name as the usage shows it (`strongroom`).
    public let program: String
    /// The words after the program that select this command: `["cluster", "init"]`; empty for a
    /// program that is one command (`strongroom-load`).
    public let path: [String]
    /// The options, in the order the usage lists them.
    public let options: [Option]
    /// Groups of options of which at most one may be given; the usage shows `[--a A | --b B]`.
    public let exclusive: [[String]]
    /// What the usage shows for operands (`[COMMAND]`), or nil when the command takes none.
    public let operands: String?
    /// What the command does: the lines printed under its synopsis.
    public let description: String

    public init(
        program: String, path: [String], options: [Option] = [], exclusive: [[String]] = [], operands: String? = nil,
        description: String
    ) {
        let names = options.map(\.name)
        precondition(Set(names).count == names.count, "\(path): an option is declared twice")
        precondition(!names.contains("--help"), "\(path): --help is every command's")
        for group in exclusive {
            precondition(group.count > 1 && group.allSatisfy(names.contains), "\(path): exclusive group \(group) names undeclared options")
            precondition(group.allSatisfy { name in options.first { $0.name == name }?.required == false },
                         "\(path): an exclusive option cannot be required")
        }
        self.program = program
        self.path = path
        self.options = options
        self.exclusive = exclusive
        self.operands = operands
        self.description = description
    }

    /// `strongroom cluster init`.
    public var name: String { ([program] + path).joined(separator: " ") }

    /// Reads `arguments` (the words after the command's path).
    /// - Throws: `UsageError` naming the first unknown, valueless, repeated or missing option.
    public func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" {
                return ParsedArguments(help: true)
            }
            guard argument.hasPrefix("-"), argument.count > 1 else {
                guard operands != nil else { throw UsageError("unexpected argument '\(argument)'") }
                parsed.operands.append(argument)
                continue
            }
            var name = argument
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            }
            guard let option = options.first(where: { $0.name == name }) else { throw UsageError("unknown option '\(name)'") }
            let value: String
            if option.arity == .flag {
                guard inline == nil else { throw UsageError("\(name) takes no value") }
                value = ""
            } else if let inline {
                value = inline
            } else {
                // A following option is not taken for a value: `--dir --json` lacks the directory.
                guard index < arguments.endIndex, !arguments[index].hasPrefix("--") else {
                    throw UsageError("\(name) needs a value (\(option.placeholder))")
                }
                value = arguments[index]
                index += 1
            }
            if option.arity != .repeatable && parsed.values[name] != nil {
                throw UsageError("\(name) is given twice")
            }
            parsed.values[name, default: []].append(value)
        }
        for option in options where option.required && parsed.values[option.name] == nil {
            // A program that is one command (`strongroom-load`) is named before the message already.
            throw UsageError(path.isEmpty ? "\(option.spelled) is required" : "\(path.joined(separator: " ")) needs \(option.spelled)")
        }
        for group in exclusive {
            let given = group.filter { parsed.values[$0] != nil }
            if given.count > 1 {
                throw UsageError("give \(given.dropLast().joined(separator: ", ")) or \(given.last ?? ""), not both")
            }
        }
        return parsed
    }

    /// The synopsis line(s): the command, then each option as the parser takes it, wrapped at
    /// `width` columns with continuation lines aligned after the command's name.
    public func synopsis(width: Int = 100) -> String {
        var words: [String] = []
        var shown = Set<String>()
        for option in options where !shown.contains(option.name) {
            if let group = exclusive.first(where: { $0.contains(option.name) }) {
                let members = group.compactMap { name in options.first { $0.name == name } }
                words.append("[" + members.map(\.spelled).joined(separator: " | ") + "]")
                shown.formUnion(group)
                continue
            }
            shown.insert(option.name)
            switch (option.arity, option.required) {
            case (.repeatable, true): words.append("\(option.spelled) [\(option.spelled)]...")
            case (.repeatable, false): words.append("[\(option.spelled)]...")
            case (_, true): words.append(option.spelled)
            case (_, false): words.append("[\(option.spelled)]")
            }
        }
        if let operands { words.append(operands) }
        let head = name
        let indent = String(repeating: " ", count: head.count + 1)
        var lines: [String] = []
        var line = head
        for word in words {
            if line.count + 1 + word.count > width && line != head && line != indent {
                lines.append(line)
                line = indent + word
            } else {
                line += (line == indent ? "" : " ") + word
            }
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    /// The synopsis and, indented under it, the description (its empty lines left empty).
    public func usage(indent: String = "") -> String {
        let synopsisLines = synopsis().split(separator: "\n", omittingEmptySubsequences: false).map { indent + $0 }
        let descriptionLines = description.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : indent + "    " + $0 }
        return (synopsisLines + descriptionLines).joined(separator: "\n")
    }
}
