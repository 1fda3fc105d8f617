/// One option of a command: its name, whether it takes a value, whether it may be given more
/// than once, and whether the command needs it. The parser and the usage text both read it, so
/// the two cannot disagree.
public struct Option: Sendable, Hashable {
    /// How many values an option takes.
    public enum Arity: Sendable, Hashable {
        /// No value (`--json`); given at most once.
        case flag
        /// One value, given at most once: a second `--dir` is a usage error, never a silent overwrite.
        case single
        /// One value each time, given any number of times (`--tag K=V --tag K2=V2`), in order.
        case repeatable
    }

    /// The spelling, with its dashes: `--dir`.
    public let name: String
    /// What the value is, for the usage text (`DIR`, `KEY=VALUE`); empty for a flag.
    public let placeholder: String
    public let arity: Arity
    /// Whether the command refuses to run without it.
    public let required: Bool

    /// A flag without a value.
    public static func flag(_ name: String) -> Option {
        Option(name: name, placeholder: "", arity: .flag, required: false)
    }

    /// An option with one value, given at most once.
    public static func value(_ name: String, _ placeholder: String, required: Bool = false) -> Option {
        Option(name: name, placeholder: placeholder, arity: .single, required: required)
    }

    /// An option with one value each time, given any number of times.
    public static func repeatable(_ name: String, _ placeholder: String, required: Bool = false) -> Option {
        Option(name: name, placeholder: placeholder, arity: .repeatable, required: required)
    }

    init(name: String, placeholder: String, arity: Arity, required: Bool) {
        precondition(name.hasPrefix("--") && name.count > 2 && !name.contains("="), "an option is spelled --name: \(name)")
        precondition((arity == .flag) == placeholder.isEmpty, "\(name): a flag has no placeholder, a valued option has one")
        precondition(!(arity == .flag && required), "\(name): a required flag is not an option")
        self.name = name
        self.placeholder = placeholder
        self.arity = arity
        self.required = required
    }

    /// `--dir DIR`, or `--json` for a flag.
    var spelled: String { placeholder.isEmpty ? name : name + " " + placeholder }
}
