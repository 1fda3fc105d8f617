import ArgumentParsing
import Audit
import Provisioning

extension Strongroom {
    /// The data directory of `strongroom dev`, where the audit commands look by default.
    static var defaultDataDirectory: String { DevEnvironment.defaultDirectory + "/data" }

    /// `strongroom audit verify`: exit 0 with one line when intact, 1 with every problem otherwise.
    struct AuditVerify: StrongroomCommand {
        static let syntax = Strongroom.syntax(["audit", "verify"], [.value("--dir", "DATA_DIR")], """
            Check the audit trail in DATA_DIR/audit (default \(defaultDataDirectory), the dev
            environment's) against its hash chain and signatures (key DATA_DIR/audit-signing.key).
            Prints one line and exits 0 when intact; lists each edited, removed or reordered record
            and exits 1 otherwise.
            """)

        var dataDirectory: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            dataDirectory = arguments.value("--dir") ?? defaultDataDirectory
        }

        func run(_ console: Console) -> Int32 {
            let keyPath = dataDirectory + "/audit-signing.key"
            let key = Result { () throws(AuditError) in try AuditSigningKey.load(path: keyPath) }
            if case .failure(let error) = key {
                console.warn("\(error.message); signatures are not checked")
            }
            let result = AuditVerifier.verify(directory: dataDirectory + "/audit", signingKey: try? key.get())
            console.say(result.summary)
            guard !result.ok else { return succeeded }
            for problem in result.problems { console.say("  " + problem.description) }
            if result.omittedProblems > 0 { console.say("  … and \(result.omittedProblems) more problems") }
            for note in result.notes { console.say("  note: " + note) }
            return checkFailed
        }
    }

    /// `strongroom audit query`: the matching records as a table, or the stored lines with --json.
    struct AuditQuery: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["audit", "query"],
            [
                .value("--dir", "DATA_DIR"), .value("--since", "T"), .value("--until", "T"), .value("--principal", "P"),
                .value("--secret", "S"), .value("--event", "E"), .flag("--denied"), .flag("--json"),
            ], """
            Print the audit records that match every filter given, as a table or (--json) as the
            stored JSON lines. T: 2026-11-23T10:00:00Z or a date 2026-11-23 (UTC, the whole day);
            P: a user or role ARN, its name, a principal id or an access key id; S: a secret name
            or ARN; E: an operation name such as GetSecretValue; --denied: AccessDeniedException only.
            """)

        var dataDirectory: String
        var query: Audit.AuditQuery
        var json: Bool

        init(_ arguments: ParsedArguments) throws(UsageError) {
            dataDirectory = arguments.value("--dir") ?? defaultDataDirectory
            json = arguments.has("--json")
            do {
                query = try Audit.AuditQuery(
                    since: arguments.value("--since"), until: arguments.value("--until"), principal: arguments.value("--principal"),
                    secret: arguments.value("--secret"), event: arguments.value("--event"), deniedOnly: arguments.has("--denied"))
            } catch {
                throw UsageError(error.message)
            }
        }

        func run(_ console: Console) -> Int32 {
            var rows: [Audit.AuditQuery.Row] = []
            let statistics: Audit.AuditQuery.Statistics
            do {
                statistics = try query.run(directory: dataDirectory + "/audit") { match in
                    if json { console.say(match.text) } else { rows.append(match.row) }
                }
            } catch {
                return console.fail(error.message)
            }
            if !json { console.say(rows.isEmpty ? "no matching records (\(statistics.records) read)" : Audit.AuditQuery.table(rows)) }
            if statistics.skippedLines > 0 {
                console.warn("\(statistics.skippedLines) lines are not JSON and were skipped; run strongroom audit verify")
            }
            return succeeded
        }
    }
}
