import Foundation
import JSON
import LoadGenerator
import Testing
import TLS

/// End-to-end runs against `TestHTTPServer` on 127.0.0.1: counts, reconnects, errors, TLS and
/// SigV4, seeding. Every run is bounded by `--requests` or a short `--duration`.
@Suite(.serialized) struct LoadRunTests {
    static let keys = (accessKey: "AKIDLOADTEST0000", secretKey: "load-test-secret-key", region: "eu-west-1")

    func run(_ arguments: [String]) throws -> LoadResult {
        let options = try #require(try LoadOptions.parse(arguments))
        return try LoadRun.execute(options)
    }

    @Test func aRequestCapCountsExactlyThatManyResponses() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let result = try run([
            "--url", server.url, "--workload", "http-get", "--requests", "500", "--concurrency", "4",
            "--threads", "2", "--warmup", "0", "--duration", "30",
        ])
        #expect(result.requests == 500)
        #expect(result.errors == 0)
        #expect(result.histogram.count == 500)
        #expect(server.requestsServed == 500)
        #expect(server.connectionsOpened == 4, "keep-alive: one connection per loop")
        #expect(result.seconds > 0 && result.seconds < 30)
        #expect(server.received.allSatisfy { $0.method == "GET" && $0.target == "/" })
    }

    @Test func serverClosesAndChunkedBodiesAreHandled() throws {
        let server = try TestHTTPServer(behavior: .init(closeEvery: 7, chunked: true))
        defer { server.stop() }
        let result = try run([
            "--url", server.url + "/x", "--workload", "http-get", "--requests", "300", "--concurrency", "3",
            "--threads", "1", "--warmup", "0",
        ])
        #expect(result.requests == 300 && result.errors == 0)
        #expect(server.requestsServed == 300)
        #expect(server.connectionsOpened >= 300 / 7, "a new connection after every close")
        #expect(server.received.allSatisfy { $0.target == "/x" })
    }

    @Test func non2xxAnswersAreCountedAsErrorsWithTheFirstKept() throws {
        let server = try TestHTTPServer(behavior: .init(failEvery: 10))
        defer { server.stop() }
        var printed: [String] = []
        let status = LoadCommand.run(
            ["--url", server.url, "--workload", "http-get", "--requests", "100", "--concurrency", "2", "--warmup", "0", "--json"],
            standardOutput: { printed.append($0) }, standardError: { _ in }
        )
        #expect(status == 0, "a completed run exits 0 even with errors")
        let report = try JSONValue.parse(Array(try #require(printed.first).utf8))
        #expect(report["requests"] == .number("100"))
        #expect(report["errors"] == .number("10"))
        #expect(report["firstError"]?["status"] == .number("500"))
        #expect(report["firstError"]?["message"]?.stringValue?.hasPrefix("failure ") == true)
        for field in ["target", "workload", "concurrency", "threads", "seconds", "rps", "p50Ms", "p90Ms", "p99Ms",
                      "p999Ms", "maxMs", "meanMs", "cpuPercent", "cores"] {
            #expect(report[field] != nil, "field \(field)")
        }
    }

    @Test func signedSecretsManagerCallsOverTLSVerify() throws {
        let pki = try TestCertificates()
        let server = try TestHTTPServer(behavior: .init(sigV4: Self.keys), tls: pki.serverContext())
        defer { server.stop() }
        let result = try run([
            "--url", "https://127.0.0.1:\(server.port)", "--ca", pki.caFile, "--workload", "sm-mix", "--read-percent", "50",
            "--access-key", Self.keys.accessKey, "--secret-key", Self.keys.secretKey, "--region", Self.keys.region,
            "--secrets", "10", "--secret-prefix", "t/s", "--requests", "200", "--concurrency", "4", "--warmup", "0",
        ])
        #expect(result.errors == 0, "every signature verified: \(result.firstError?.description ?? "")")
        #expect(result.requests == 200)
        let received = server.received
        let gets = received.filter { $0.amzTarget == "secretsmanager.GetSecretValue" }
        let puts = received.filter { $0.amzTarget == "secretsmanager.PutSecretValue" }
        #expect(gets.count + puts.count == 200 && gets.count > 50 && puts.count > 50)
        #expect(gets.allSatisfy { $0.body.range(of: #"^\{"SecretId":"t/s00000[0-9]"\}$"#, options: .regularExpression) != nil })
        let tokens = Set(puts.compactMap { try? JSONValue.parse(Array($0.body.utf8))["ClientRequestToken"]?.stringValue })
        #expect(tokens.count == puts.count && tokens.allSatisfy { $0.count == 32 }, "a fresh token per put")
    }

    @Test func aWrongKeyIsRefusedAndTheRunSaysNothingSucceeded() throws {
        let server = try TestHTTPServer(behavior: .init(sigV4: Self.keys))
        defer { server.stop() }
        var errors: [String] = []
        let status = LoadCommand.run(
            ["--url", server.url, "--workload", "sm-get", "--access-key", Self.keys.accessKey, "--secret-key", "wrong",
             "--region", Self.keys.region, "--requests", "20", "--warmup", "0", "--concurrency", "2"],
            standardOutput: { _ in }, standardError: { errors.append($0) }
        )
        #expect(status == 1)
        #expect(errors.contains { $0.contains("no request succeeded") })
    }

    @Test(arguments: [false, true])
    func seedingSendsEachRequestOnce(secretsExist: Bool) throws {
        let server = try TestHTTPServer(behavior: .init(sigV4: Self.keys, secretsExist: secretsExist))
        defer { server.stop() }
        let result = try run([
            "--url", server.url, "--workload", "sm-seed", "--secrets", "25", "--versions", "2", "--secret-prefix", "seed/",
            "--access-key", Self.keys.accessKey, "--secret-key", Self.keys.secretKey, "--region", Self.keys.region,
            "--concurrency", "6", "--threads", "2",
        ])
        #expect(result.requests == 75 && result.errors == 0, "ResourceExistsException counts as already there")
        let received = server.received
        #expect(received.count == 75)
        func names(_ operation: String, _ field: String) -> [String] {
            received.filter { $0.amzTarget == "secretsmanager." + operation }
                .compactMap { try? JSONValue.parse(Array($0.body.utf8))[field]?.stringValue }
        }
        let created = names("CreateSecret", "Name")
        #expect(created.sorted() == (0..<25).map { "seed/" + String(format: "%06d", $0) })
        let puts = names("PutSecretValue", "SecretId")
        #expect(Dictionary(grouping: puts, by: { $0 }).values.allSatisfy { $0.count == 2 } && puts.count == 50)
    }

    @Test func seedingThatRunsOutOfTimeSaysSoAndFails() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        var errors: [String] = []
        let status = LoadCommand.run(
            ["--url", server.url, "--workload", "sm-seed", "--secrets", "50000", "--access-key", "a", "--secret-key", "b",
             "--concurrency", "1", "--duration", "0.05"],
            standardOutput: { _ in }, standardError: { errors.append($0) }
        )
        #expect(status == 1)
        #expect(errors.contains { $0.contains("seeding incomplete") && $0.contains("of 50000 requests") })
    }

    @Test func etcdRequestsUseTheJSONGateway() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        _ = try run(["--url", server.url, "--workload", "etcd-put", "--keys", "3", "--requests", "30", "--warmup", "0"])
        _ = try run(["--url", server.url, "--workload", "etcd-get", "--keys", "3", "--requests", "30", "--warmup", "0"])
        let received = server.received
        #expect(received.count == 60)
        let keys = Set(["bench/k000000", "bench/k000001", "bench/k000002"].map { Data($0.utf8).base64EncodedString() })
        for request in received {
            let body = try JSONValue.parse(Array(request.body.utf8))
            #expect(keys.contains(body["key"]?.stringValue ?? ""))
            #expect(request.target == (body["value"] == nil ? "/v3/kv/range" : "/v3/kv/put"))
        }
    }

    @Test func anUnreachableServerEndsOnTimeWithConnectionErrors() throws {
        let port = try TestHTTPServer.unusedPort()
        let started = Date()
        let result = try run(["--url", "http://127.0.0.1:\(port)", "--workload", "http-get", "--duration", "0.3", "--warmup", "0"])
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(result.requests == result.errors && result.errors > 0)
        #expect(result.firstError?.status == nil && result.firstError?.message.contains("refused") == true)
    }
}

/// A CA and a server certificate for 127.0.0.1, the CA written to a file for `--ca`.
struct TestCertificates {
    let root: GeneratedCertificate
    let server: GeneratedCertificate
    let caFile: String

    init() throws {
        let now = Date()
        root = try CertificateAuthority.generateRoot(commonName: "Load Test Root", now: now)
        server = try CertificateAuthority.issue(
            commonName: "load-test", organizationalUnit: "node", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"],
            uris: [], issuerCertificatePEM: root.certificatePEM, issuerPrivateKeyPEM: root.privateKeyPEM, now: now
        )
        caFile = NSTemporaryDirectory() + "load-test-ca-\(UUID().uuidString).pem"
        try root.certificatePEM.write(toFile: caFile, atomically: true, encoding: .utf8)
    }

    func serverContext() throws -> TLSContext {
        try TLSContext.server(certificateChainPEM: server.certificatePEM, privateKeyPEM: server.privateKeyPEM)
    }
}

/// `sm-replication-lag` end to end against two in-test servers sharing one toy store: a primary
/// that keeps each put, a replica that shows it `visibleAfter` later.
@Suite(.serialized) struct LagRunTests {
    func servers(visibleAfter: Double, hidden: Set<String> = []) throws -> (TestHTTPServer, TestHTTPServer) {
        let store = TestHTTPServer.SecretBox()
        let primary = try TestHTTPServer(behavior: .init(store: store))
        let replica = try TestHTTPServer(behavior: .init(store: store, storeAcceptsWrites: false, visibleAfter: visibleAfter, hiddenSecrets: hidden))
        return (primary, replica)
    }

    func arguments(_ primary: TestHTTPServer, _ replica: TestHTTPServer, rate: Int, duration: Double, drain: Double) -> [String] {
        ["--url", primary.url, "--replica-url", replica.url, "--replica-region", "eu-west-1", "--workload", "sm-replication-lag",
         "--access-key", "AK", "--secret-key", "SK", "--rate", String(rate), "--duration", String(duration),
         "--secrets", "10", "--secret-prefix", "lag/s", "--concurrency", "4", "--pollers", "2", "--drain", String(drain), "--json"]
    }

    @Test func lagIsTheReplicasDelayAndEveryWriteIsSeen() throws {
        let (primary, replica) = try servers(visibleAfter: 0.05)
        defer { primary.stop(); replica.stop() }
        var printed: [String] = []
        let status = LoadCommand.run(arguments(primary, replica, rate: 200, duration: 0.5, drain: 5),
                                     standardOutput: { printed.append($0) }, standardError: { printed.append($0) })
        #expect(status == 0, "\(printed)")
        let report = try JSONValue.parse(Array(try #require(printed.first).utf8))
        func number(_ key: String) -> Double {
            if case .number(let text)? = report[key] { return Double(text) ?? -1 }
            return -1
        }
        #expect(number("writes") == 100 && number("acknowledged") == 100 && number("neverSeen") == 0 && number("writeErrors") == 0)
        #expect(number("lagP50Ms") >= 40 && number("lagP50Ms") < 250, "the replica shows a put 50 ms after it: \(report)")
        #expect(number("writeP50Ms") < number("lagP50Ms"))
        #expect(number("regressions") == 0 && number("anomalies") == 0)
        #expect(number("pollIntervalP50Ms") >= 0 && number("achievedRate") > 150)
        // Writes carry their sequence number, go round robin over the secrets, each with its own token.
        let puts = primary.received.filter { $0.amzTarget == "secretsmanager.PutSecretValue" }
        #expect(puts.count == 100)
        #expect(puts.contains { $0.body.contains(#""SecretId":"lag/s000003""#) && $0.body.contains(" 0000000013 ") })
        #expect(Set(puts.map { $0.body }).count == 100)
        #expect(replica.received.allSatisfy { $0.amzTarget == "secretsmanager.GetSecretValue" })
    }

    @Test func aWriteTheReplicaNeverShowsFailsTheRun() throws {
        let (primary, replica) = try servers(visibleAfter: 0, hidden: ["lag/s000007"])
        defer { primary.stop(); replica.stop() }
        var printed: [String] = []
        var errors: [String] = []
        let status = LoadCommand.run(arguments(primary, replica, rate: 100, duration: 0.3, drain: 0.3),
                                     standardOutput: { printed.append($0) }, standardError: { errors.append($0) })
        #expect(status == 1)
        let report = try JSONValue.parse(Array(try #require(printed.first).utf8))
        #expect(report["neverSeen"] == .number("3"), "writes 7, 17 and 27 went to the hidden secret: \(report)")
        #expect(errors.first?.contains("never showed on the replica") == true)
    }
}
