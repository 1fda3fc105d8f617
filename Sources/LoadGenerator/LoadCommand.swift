import ArgumentParsing
import Foundation

/// The `strongroom-load` command: parse, run, print, and choose the exit status.
public enum LoadCommand {
    /// Exit statuses.
    public static let completed: Int32 = 0
    public static let nothingSucceeded: Int32 = 1
    public static let usageError: Int32 = 2

    /// Runs the command line `arguments` (without the program name).
    ///
    /// - Parameters:
    ///   - standardOutput: receives the report (the JSON object with `--json`) and the help.
    ///   - standardError: receives usage errors and run failures.
    /// - Returns: 0 when the run completed, even with errors (they are reported); 1 when no
    ///   request succeeded, seeding did not finish in time, or the run could not be carried out;
    ///   2 for a usage error.
    public static func run(
        _ arguments: [String],
        standardOutput: (String) -> Void = { print($0) },
        standardError: (String) -> Void = writeStandardError
    ) -> Int32 {
        let options: LoadOptions
        do {
            guard let parsed = try LoadOptions.parse(arguments) else {
                standardOutput(LoadOptions.usage)
                return completed
            }
            options = parsed
        } catch {
            standardError("strongroom-load: \(error.message)\n\n\(LoadOptions.usage)")
            return usageError
        }
        if let lag = LagOptions(options) { return runLag(lag, json: options.json, standardOutput: standardOutput, standardError: standardError) }
        let result: LoadResult
        do {
            result = try LoadRun.execute(options)
        } catch {
            standardError("strongroom-load: \(error.message)")
            return nothingSucceeded
        }
        let seedRequests = options.workload.isWorkQueue ? options.secrets * (1 + options.versions) : 0
        if options.json {
            standardOutput(result.jsonReport)
        } else {
            if seedRequests > 0 && result.requests == seedRequests {
                let versions = options.versions == 0 ? "" : " with \(options.versions) extra version\(options.versions == 1 ? "" : "s") each"
                standardOutput("seeded \(options.secrets) secrets\(versions) in \(String(format: "%.2f", result.seconds)) s")
            }
            standardOutput(result.humanReport)
        }
        if result.requests < seedRequests {
            standardError("strongroom-load: seeding incomplete: \(result.requests) of \(seedRequests) requests done within --duration \(options.duration) s")
            return nothingSucceeded
        }
        if result.successes == 0 {
            standardError("strongroom-load: no request succeeded")
            return nothingSucceeded
        }
        return completed
    }

    /// `sm-replication-lag`: 1 when an acknowledged write never showed on the replica or none
    /// was acknowledged.
    static func runLag(
        _ options: LagOptions, json: Bool, standardOutput: (String) -> Void, standardError: (String) -> Void
    ) -> Int32 {
        let result: LagResult
        do {
            result = try LagRun.execute(options)
        } catch {
            standardError("strongroom-load: \(error.message)")
            return nothingSucceeded
        }
        standardOutput(json ? result.jsonReport : result.humanReport)
        if result.neverSeen > 0 {
            standardError("strongroom-load: \(result.neverSeen) acknowledged write(s) never showed on the replica within --drain \(options.drain) s")
            return nothingSucceeded
        }
        if result.writesAcknowledged == 0 {
            standardError("strongroom-load: no write succeeded")
            return nothingSucceeded
        }
        return completed
    }

    /// Writes one line to the process's standard error.
    public static func writeStandardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
