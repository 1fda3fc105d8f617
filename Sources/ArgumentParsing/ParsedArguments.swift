/// What a command line said, checked against its command's syntax: each option's values in the
/// order given, and the operands (arguments that are not options).
public struct ParsedArguments: Sendable, Equatable {
    /// `--help` or `-h` was given: print the command's usage and do nothing else.
    public var help: Bool
    /// Option name (`--dir`) → its values in order; `[""]` for a flag that was given.
    public var values: [String: [String]]
    /// The arguments that are not options, in order (only for a syntax that takes operands).
    public var operands: [String]

    public init(help: Bool = false, values: [String: [String]] = [:], operands: [String] = []) {
        self.help = help
        self.values = values
        self.operands = operands
    }

    /// The value of a single-valued option, or nil when it was not given.
    public func value(_ name: String) -> String? { values[name]?.last }

    /// Every value of a repeatable option, in the order given.
    public func all(_ name: String) -> [String] { values[name] ?? [] }

    /// Whether an option (a flag, usually) was given.
    public func has(_ name: String) -> Bool { values[name] != nil }
}
