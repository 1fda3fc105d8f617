import ArgumentParsing
import Testing

/// The one command-line syntax: both spellings of a value, flags, repeatable options, and a
/// usage error for everything else; the synopsis printed from the same declaration.
@Suite struct CommandSyntaxTests {
    static let syntax = CommandSyntax(
        program: "tool", path: ["thing", "make"],
        options: [
            .value("--name", "NAME", required: true), .value("--dir", "DIR"), .flag("--json"),
            .repeatable("--tag", "KEY=VALUE"), .value("--file", "FILE"), .value("--url", "URL"),
        ],
        exclusive: [["--file", "--url"]], description: "Makes a thing.")

    @Test func bothSpellingsOfAValue() throws {
        let spaced = try Self.syntax.parse(["--name", "a", "--dir", "/x"])
        let joined = try Self.syntax.parse(["--name=a", "--dir=/x"])
        #expect(spaced == joined)
        #expect(spaced.value("--name") == "a" && spaced.value("--dir") == "/x")
        #expect(!spaced.help && spaced.operands.isEmpty)
    }

    @Test func anEqualsSpellingTakesAnyValue() throws {
        let parsed = try Self.syntax.parse(["--name=--odd=value", "--dir="])
        #expect(parsed.value("--name") == "--odd=value")
        #expect(parsed.value("--dir") == "")
        // The spaced spelling keeps '=' in the value, and a value may begin with one dash.
        #expect(try Self.syntax.parse(["--name", "a=b", "--dir", "-x"]).value("--dir") == "-x")
    }

    @Test func flags() throws {
        #expect(try Self.syntax.parse(["--name", "a", "--json"]).has("--json"))
        #expect(try !Self.syntax.parse(["--name", "a"]).has("--json"))
        #expect(throws: UsageError("--json takes no value")) { try Self.syntax.parse(["--name", "a", "--json=yes"]) }
    }

    @Test func repeatableOptionsKeepEveryValueInOrder() throws {
        let parsed = try Self.syntax.parse(["--tag", "a=1", "--name", "n", "--tag=b=2", "--tag", "a=3"])
        #expect(parsed.all("--tag") == ["a=1", "b=2", "a=3"])
        #expect(try Self.syntax.parse(["--name", "n"]).all("--tag") == [])
    }

    @Test(arguments: [
        (["--name", "a", "--colour", "red"], "unknown option '--colour'"),
        (["--name", "a", "--colour=red"], "unknown option '--colour'"),
        (["--name", "a", "-x"], "unknown option '-x'"),
        (["--name", "a", "stray"], "unexpected argument 'stray'"),
        (["--name"], "--name needs a value (NAME)"),
        (["--name", "--json"], "--name needs a value (NAME)"),
        (["--name", "a", "--name", "b"], "--name is given twice"),
        (["--name", "a", "--dir=x", "--dir", "y"], "--dir is given twice"),
        (["--name", "a", "--json", "--json"], "--json is given twice"),
        (["--dir", "x"], "thing make needs --name NAME"),
        ([], "thing make needs --name NAME"),
        (["--name", "a", "--file", "f", "--url", "u"], "give --file or --url, not both"),
    ] as [([String], String)])
    func usageErrors(arguments: [String], message: String) {
        #expect(throws: UsageError(message)) { try Self.syntax.parse(arguments) }
    }

    @Test(arguments: [["--help"], ["-h"], ["--name", "a", "--help"], ["--help", "--colour"], ["--dir", "x", "-h"]])
    func helpWinsOverWhatFollowsAndOverAMissingRequiredOption(arguments: [String]) throws {
        #expect(try Self.syntax.parse(arguments) == ParsedArguments(help: true))
    }

    @Test func operandsOnlyWhereTheSyntaxTakesThem() throws {
        let help = CommandSyntax(program: "tool", path: ["help"], operands: "[COMMAND]", description: "Help.")
        #expect(try help.parse(["thing", "make"]).operands == ["thing", "make"])
        #expect(throws: UsageError("unknown option '--x'")) { try help.parse(["thing", "--x"]) }
    }

    @Test func aProgramThatIsOneCommand() throws {
        let syntax = CommandSyntax(program: "tool", path: [], options: [.value("--name", "NAME", required: true)], description: "Tools.")
        #expect(syntax.name == "tool" && syntax.synopsis() == "tool --name NAME")
        #expect(throws: UsageError("--name NAME is required")) { try syntax.parse([]) }
        #expect(try syntax.parse(["--name=x"]).value("--name") == "x")
        let described = CommandSyntax(program: "tool", path: [], description: "One.\n\nTwo.")
        #expect(described.usage(indent: "  ") == "  tool\n      One.\n\n      Two.", "an empty line stays empty")
    }

        @Test func theSynopsisIsTheDeclaration() {
        #expect(Self.syntax.synopsis() == "tool thing make --name NAME [--dir DIR] [--json] [--tag KEY=VALUE]... [--file FILE | --url URL]")
        #expect(Self.syntax.usage(indent: "  ") == """
              tool thing make --name NAME [--dir DIR] [--json] [--tag KEY=VALUE]... [--file FILE | --url URL]
                  Makes a thing.
            """)
        let required = CommandSyntax(program: "tool", path: ["go"], options: [.repeatable("--route", "R", required: true)], description: "")
        #expect(required.synopsis() == "tool go --route R [--route R]...")
    }

    @Test func longSynopsesWrapUnderTheCommandName() {
        let synopsis = Self.syntax.synopsis(width: 50)
        #expect(synopsis == """
            tool thing make --name NAME [--dir DIR] [--json]
                            [--tag KEY=VALUE]...
                            [--file FILE | --url URL]
            """)
        #expect(synopsis.split(separator: "\n").allSatisfy { $0.count <= 50 })
    }
}
