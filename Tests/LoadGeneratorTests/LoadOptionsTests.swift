import ArgumentParsing
import Foundation
@testable import LoadGenerator
import Platform
import Testing

@Suite struct LoadOptionsTests {
    static let credentials = ["--access-key", "AK", "--secret-key", "SK"]

    func parse(_ arguments: [String]) throws(UsageError) -> LoadOptions {
        guard let options = try LoadOptions.parse(arguments) else { throw UsageError("help") }
        return options
    }

    @Test func defaults() throws {
        let options = try parse(["--url", "http://127.0.0.1:8080", "--workload", "sm-get"] + Self.credentials)
        #expect(options.concurrency == 16 && options.warmup == 1 && options.duration == 10 && options.requests == nil)
        #expect(options.secrets == 100 && options.secretPrefix == "bench/s" && options.region == "us-east-1")
        #expect(options.url.authority == "127.0.0.1:8080" && !options.url.isTLS && options.path == "/")
        #expect(options.label == "http://127.0.0.1:8080" && !options.json)
        let seed = try parse(["--url=http://127.0.0.1:1", "--workload=sm-seed"] + Self.credentials)
        #expect(seed.warmup == 0 && seed.duration == 300, "seeding has no warm-up and a long time limit")
    }

    @Test func threadsNeverExceedConnections() throws {
        let options = try parse(["--url", "http://127.0.0.1:1", "--workload", "http-get", "--concurrency", "3", "--threads", "8"])
        #expect(options.threads == 3)
        #expect(LoadRun.connections(concurrency: 10, threads: 3) == [4, 3, 3])
    }

    @Test(arguments: [
        "http://127.0.0.1:8080": ("127.0.0.1:8080", false, "127.0.0.1", "/"),
        "https://localhost:8443/a/b": ("localhost:8443", true, "localhost", "/a/b"),
        "https://[::1]:9/": ("[::1]:9", true, "::1", "/"),
        "http://127.0.0.1": ("127.0.0.1", false, "127.0.0.1", "/"),
    ])
    func urls(text: String, expected: (String, Bool, String, String)) throws {
        let url = try #require(TargetURL(text))
        #expect(url.authority == expected.0 && url.isTLS == expected.1 && url.host == expected.2 && url.path == expected.3)
    }

    @Test(arguments: ["ftp://127.0.0.1:1", "http://example.com:80", "http://127.0.0.1:0", "http://127.0.0.1:99999",
                      "http://", "127.0.0.1:80", "http://user@127.0.0.1:1", "https://[::1"])
    func badURLs(text: String) {
        #expect(TargetURL(text) == nil)
    }

    @Test(arguments: [
        ([], "--workload NAME is required"),
        (["--workload", "http-get"], "--url is required"),
        (["--url", "http://127.0.0.1:1"], "--workload NAME is required"),
        (["--url", "http://127.0.0.1:1", "--workload", "nope"], "--workload nope: expected one of"),
        (["--url", "http://x:1", "--workload", "http-get"], "--url http://x:1: expected"),
        (["--url", "https://127.0.0.1:1", "--workload", "http-get"], "an https URL needs --ca FILE"),
        (["--url", "http://127.0.0.1:1", "--workload", "sm-get"], "sm-get signs requests"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--concurrency", "0"], "--concurrency 0: expected an integer in 1…10000"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--concurrency"], "--concurrency needs a value"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--label", "--json"], "--label needs a value"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--duration", "-1"], "--duration -1: expected seconds"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--warmup", "nan"], "--warmup nan: expected seconds"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--bogus"], "unknown option '--bogus'"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--bogus=1"], "unknown option '--bogus'"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--help=1"], "unknown option '--help'"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "stray"], "unexpected argument 'stray'"),
        (["--url", "http://127.0.0.1:1", "--url", "http://127.0.0.1:2"], "--url is given twice"),
        (["--workload", "http-get", "--url=http://127.0.0.1:1", "--workload=sm-get"], "--workload is given twice"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--json", "--json"], "--json is given twice"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--json=yes"], "--json takes no value"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--secret-prefix", "a b"], "--secret-prefix a b: expected"),
        (["--url", "http://127.0.0.1:1", "--workload", "http-get", "--path", "x"], "--path x: expected an absolute path"),
        (["--url", "http://127.0.0.1:1", "--workload", "sm-seed", "--requests", "5", "--access-key", "a", "--secret-key", "b"], "--requests does not apply"),
        (["--url", "http://127.0.0.1:1", "--workload", "sm-seed", "--warmup", "1", "--access-key", "a", "--secret-key", "b"], "--warmup does not apply"),
        (["--workload", "http-get", "--endpoint-json", "/nonexistent/endpoint.json"], "--endpoint-json /nonexistent/endpoint.json: "),
    ])
    func usageErrors(arguments: [String], message: String) {
        #expect {
            _ = try LoadOptions.parse(arguments)
        } throws: { error in
            (error as? UsageError)?.message.hasPrefix(message) == true
        }
    }

    @Test func usageErrorsExitWithTwoAndHelpWithZero() {
        var errors: [String] = []
        var output: [String] = []
        #expect(LoadCommand.run(["--workload", "x"], standardOutput: { output.append($0) }, standardError: { errors.append($0) }) == 2)
        #expect(errors.count == 1 && errors[0].hasPrefix("strongroom-load: --url is required") && output.isEmpty)
        #expect(errors[0].hasSuffix("\n\n" + LoadOptions.usage))
        #expect(LoadCommand.run(["--help"], standardOutput: { output.append($0) }, standardError: { errors.append($0) }) == 0)
        #expect(LoadCommand.run(["--url", "http://127.0.0.1:1", "-h"], standardOutput: { output.append($0) },
                                standardError: { errors.append($0) }) == 0)
        #expect(output == [LoadOptions.usage, LoadOptions.usage] && errors.count == 1)
    }

    @Test func bothSpellingsOfAValueReadTheSame() throws {
        let spaced = try parse(["--url", "http://127.0.0.1:1", "--workload", "http-get", "--concurrency", "5", "--label", "a=b"])
        let joined = try parse(["--url=http://127.0.0.1:1", "--workload=http-get", "--concurrency=5", "--label=a=b"])
        #expect(spaced.concurrency == 5 && joined.concurrency == 5 && spaced.label == "a=b" && joined.label == "a=b")
        #expect(spaced.url.authority == joined.url.authority && spaced.workload == joined.workload)
    }

    @Test func theUsageIsTheDeclaration() {
        let usage = LoadOptions.usage
        #expect(usage.hasPrefix("usage:\n  strongroom-load [--url URL] "))
        for option in LoadOptions.syntax.options {
            let spelled = option.placeholder.isEmpty ? option.name : option.name + " " + option.placeholder
            #expect(usage.contains("  " + spelled), "\(option.name) explained under its heading")
        }
        // The flags cluster/bench, bench-replication and the end-to-end tests pass.
        let contract = ["--url", "--ca", "--endpoint-json", "--label", "--workload", "--secrets", "--secret-prefix", "--versions",
                        "--read-percent", "--keys", "--key-prefix", "--path", "--access-key", "--secret-key", "--region",
                        "--replica-url", "--replica-region", "--rate", "--pollers", "--hot-secrets", "--drain", "--concurrency",
                        "--threads", "--warmup", "--duration", "--requests", "--seed", "--timeout", "--json"]
        #expect(Set(LoadOptions.syntax.options.map(\.name)) == Set(contract))
        // The synopsis wraps at 100 columns under a two-space indent; no line ends in a space.
        #expect(usage.split(separator: "\n").allSatisfy { $0.count <= 102 && $0.last != " " })
    }

    @Test func endpointJSONSuppliesTargetAndAdminKeysAndFlagsWin() throws {
        let path = NSTemporaryDirectory() + "load-endpoint-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let document = """
            {"endpoint": "https://127.0.0.1:7443", "region": "eu-central-1", "caBundle": "/d/ca.pem", "nodeId": "n",
             "accounts": [{"accountId": "111122223333", "principals": [
                {"name": "reader", "accessKeyId": "AKREADER", "secretAccessKey": "r"},
                {"name": "admin", "accessKeyId": "AKADMIN", "secretAccessKey": "s3cret"}], "roles": []}]}
            """
        try document.write(toFile: path, atomically: true, encoding: .utf8)
        let options = try parse(["--endpoint-json", path, "--workload", "sm-get"])
        #expect(options.url.authority == "127.0.0.1:7443" && options.url.isTLS)
        #expect(options.caFile == "/d/ca.pem" && options.region == "eu-central-1")
        #expect(options.accessKey == "AKADMIN" && options.secretKey == "s3cret")
        let overridden = try parse(["--endpoint-json", path, "--workload", "sm-get", "--region", "us-west-2", "--ca", "/x.pem"])
        #expect(overridden.region == "us-west-2" && overridden.caFile == "/x.pem")
    }
}

@Suite struct LagOptionsTests {
    static let base = ["--url", "http://127.0.0.1:1", "--workload", "sm-replication-lag", "--access-key", "AK", "--secret-key", "SK"]

    @Test func aLagRunNeedsAReplicaItsRegionAndARate() throws {
        let full = Self.base + ["--replica-url", "http://127.0.0.1:2", "--replica-region", "eu-west-1", "--rate", "1000", "--duration", "2.5"]
        let options = try #require(try LoadOptions.parse(full))
        let lag = try #require(LagOptions(options))
        #expect(lag.writes == 2_500 && lag.replicaRegion == "eu-west-1" && lag.primaryRegion == "us-east-1")
        #expect(lag.pollers == 4 && lag.drain == 10 && lag.writeConnections == 16)
        for missing in ["--replica-url", "--replica-region", "--rate"] {
            var args = full
            let i = try #require(args.firstIndex(of: missing))
            args.removeSubrange(i...(i + 1))
            #expect(throws: UsageError.self, "without \(missing)") { try LoadOptions.parse(args) }
        }
        #expect(throws: UsageError.self) { try LoadOptions.parse(full + ["--warmup", "1"]) }
        #expect(throws: UsageError.self, "more writes than a run holds") {
            try LoadOptions.parse(Self.base + ["--replica-url", "http://127.0.0.1:2", "--replica-region", "eu-west-1", "--rate", "100000", "--duration", "100"])
        }
        #expect(throws: UsageError.self, "lag options on another workload") {
            try LoadOptions.parse(["--url", "http://127.0.0.1:1", "--workload", "http-get", "--rate", "5"])
        }
        #expect(LagOptions(try #require(try LoadOptions.parse(["--url", "http://127.0.0.1:1", "--workload", "http-get"]))) == nil)
    }
}
