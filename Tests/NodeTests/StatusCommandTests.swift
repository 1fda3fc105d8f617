import Cryptography
import Foundation
import JSON
@testable import Node
import Platform
import Testing
@testable import Logging
@testable import Provisioning
@testable import Configuration

/// `strongroom status` against a real node: a dev environment in a temporary directory served
/// on an ephemeral 127.0.0.1 port over TLS, called through `NodeStatusClient` and `StatusCommand`.
@Suite(.serialized) struct StatusCommandTests {
    /// A started dev node and what a client needs to call it.
    struct Running {
        let node: Node
        let directory: String
        let endpoint: TargetURL
        let caBundle: String
        /// Access key id and secret of the first account's users, by user name.
        let users: [String: (accessKeyId: String, secret: String)]

        func client(_ user: String, region: String = "eu-west-1") throws -> NodeStatusClient {
            let keys = try #require(users[user])
            return NodeStatusClient(
                endpoint: endpoint, caBundle: caBundle,
                credentials: .init(accessKeyId: keys.accessKeyId, secretAccessKey: SecureBytes(Array(keys.secret.utf8))),
                region: region, timeout: 10)
        }

        func environment(_ user: String) throws -> [String: String] {
            let keys = try #require(users[user])
            return ["AWS_ACCESS_KEY_ID": keys.accessKeyId, "AWS_SECRET_ACCESS_KEY": keys.secret,
                    "AWS_CA_BUNDLE": caBundle, "AWS_REGION": "eu-west-1"]
        }
    }

    /// Starts a single dev node (region eu-west-1), runs `body`, stops the node and removes its
    /// directory.
    func withNode(_ body: (Running) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "strongroom-status-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try DevEnvironment.prepare(directory: directory, port: 0, region: "eu-west-1", now: Date())
        let node = try Node(configuration: configuration, log: Logger(label: "status-test"))
        try node.start()
        defer { node.stop() }
        let port = try #require(node.boundAddresses.first?.port)
        let endpoint = try #require(TargetURL("https://127.0.0.1:\(port)"))
        let accounts = try DevEnvironment.describeAccounts(iamFile: configuration.iamFile)
        var users: [String: (accessKeyId: String, secret: String)] = [:]
        for principal in accounts.arrayValue?.first?["principals"]?.arrayValue ?? [] {
            if let name = principal["name"]?.stringValue, let id = principal["accessKeyId"]?.stringValue,
               let secret = principal["secretAccessKey"]?.stringValue {
                users[name] = (id, secret)
            }
        }
        try body(Running(node: node, directory: directory, endpoint: endpoint, caBundle: configuration.caFile, users: users))
    }

    @Test func adminGetsTheNodesRegionRoleAndLog() throws {
        try withNode { running in
            let body = try running.client("admin").fetch(now: Date())
            let status = try JSONValue.parse(body)
            #expect(status["nodeId"] == .string("dev"))
            #expect(status["region"] == .string("eu-west-1"))
            #expect(status["role"] == .string("primary"))
            #expect(status["replication"] == .null)
            guard case .array(let logs)? = status["logs"] else {
                Issue.record("no logs in \(String(decoding: body, as: UTF8.self))")
                return
            }
            #expect(logs.count == 1)
            #expect(logs.first?["region"] == .string("eu-west-1"))
            #expect(logs.first?["role"] == .string("primary"))
            #expect(logs.first?["subscribers"] == .array([]))
            guard case .number? = logs.first?["lsn"], case .number? = logs.first?["epoch"] else {
                Issue.record("the log has no numeric epoch and lsn")
                return
            }
        }
    }

    @Test func commandPrintsTheSummaryAndTheJSON() throws {
        try withNode { running in
            var printed: [String] = []
            var errors: [String] = []
            let environment = try running.environment("admin")
            let text = StatusCommand.run(endpoint: "https://127.0.0.1:\(running.endpoint.address.port)", caBundle: nil, region: nil,
                                         json: false, environment: environment, now: Date(),
                                         print: { printed.append($0) }, error: { errors.append($0) })
            #expect(text == 0)
            #expect(errors.isEmpty)
            let summary = printed.joined(separator: "\n")
            #expect(summary.contains("node dev  region eu-west-1  role primary"))
            #expect(summary.contains("log eu-west-1  primary  epoch "))
            #expect(summary.contains("no subscribers connected"))

            printed.removeAll()
            let json = StatusCommand.run(endpoint: "https://localhost:\(running.endpoint.address.port)", caBundle: running.caBundle,
                                         region: "eu-west-1", json: true, environment: environment, now: Date(),
                                         print: { printed.append($0) }, error: { errors.append($0) })
            #expect(json == 0)
            #expect(errors.isEmpty)
            let document = try JSONValue.parse(Array(printed.joined().utf8))
            #expect(document["region"] == .string("eu-west-1"))
        }
    }

    @Test func readerIsDenied() throws {
        try withNode { running in
            let error = try #require(throws: NodeStatusError.self) { try running.client("reader").fetch(now: Date()) }
            #expect(error.code == .service)
            #expect(error.type == "AccessDeniedException")
            #expect(error.message.contains("strongroom:GetNodeStatus"))

            var errors: [String] = []
            let status = StatusCommand.run(endpoint: "https://127.0.0.1:\(running.endpoint.address.port)", caBundle: nil, region: nil,
                                           json: true, environment: try running.environment("reader"), now: Date(),
                                           print: { Issue.record("printed \($0)") }, error: { errors.append($0) })
            #expect(status == 1)
            #expect(errors.first?.hasPrefix("AccessDeniedException: ") == true)
        }
    }

    @Test func wrongSecretIsRefusedByTheNode() throws {
        try withNode { running in
            var client = try running.client("admin")
            client.credentials.secretAccessKey = SecureBytes(Array("not-the-secret".utf8))
            let error = try #require(throws: NodeStatusError.self) { try client.fetch(now: Date()) }
            #expect(error.code == .service)
            #expect(error.type == "InvalidSignatureException")
        }
    }

    @Test func nothingListeningIsAConnectionError() throws {
        // Bind a port, then release it: nothing listens there afterwards.
        let listener = try TCPSocket.listen(on: try #require(SocketAddress(host: "127.0.0.1", port: 0)))
        let port = try TCPSocket.localPort(listener)
        listener.close()
        let client = NodeStatusClient(
            endpoint: try #require(TargetURL("https://127.0.0.1:\(port)")), caBundle: "/nonexistent/ca.pem",
            credentials: .init(accessKeyId: "AKIDEXAMPLE", secretAccessKey: SecureBytes(Array("secret".utf8))), region: "us-east-1")
        // The CA bundle is read first: a missing one is the user's problem, not the node's.
        let missingCA = try #require(throws: NodeStatusError.self) { try client.fetch(now: Date()) }
        #expect(missingCA.code == .configuration)

        let directory = NSTemporaryDirectory() + "strongroom-status-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try DevEnvironment.prepare(directory: directory, port: 0, region: nil, now: Date())
        var reachable = client
        reachable.caBundle = configuration.caFile
        let refused = try #require(throws: NodeStatusError.self) { try reachable.fetch(now: Date()) }
        #expect(refused.code == .connection)
        #expect(refused.message.contains("127.0.0.1:\(port)"))
    }

    @Test(arguments: [
        (["AWS_SECRET_ACCESS_KEY": "s", "AWS_CA_BUNDLE": "/ca.pem"], "https://127.0.0.1:7443", "no credentials"),
        (["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "s"], "https://127.0.0.1:7443", "no CA bundle"),
        (["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "s", "AWS_CA_BUNDLE": "/ca.pem"], "127.0.0.1:7443", "--endpoint takes"),
        (["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "s", "AWS_CA_BUNDLE": "/ca.pem"], "http://127.0.0.1:7443", "https only"),
    ])
    func usageProblemsExitTwo(environment: [String: String], endpoint: String, expected: String) {
        var errors: [String] = []
        let status = StatusCommand.run(endpoint: endpoint, caBundle: nil, region: nil, json: false, environment: environment,
                                       now: Date(), print: { Issue.record("printed \($0)") }, error: { errors.append($0) })
        #expect(status == 2)
        #expect(errors.count == 1)
        #expect(errors.first?.contains(expected) == true, "\(errors)")
    }

    @Test func summaryShowsSubscribersAndReplicaLogs() throws {
        let document = try JSONValue.parse(Array("""
            {"nodeId":"us-east-1-a","region":"us-east-1","role":"primary","replication":"127.0.0.1:7543","logs":[
              {"region":"us-east-1","role":"primary","epoch":1,"lsn":42,"subscribers":[
                {"nodeId":"eu-west-1-a","region":"eu-west-1","link":"connected","ackedEpoch":1,"ackedLSN":40,
                 "shippedLSN":42,"lagRecords":2,"lagMillis":15,"lastHeardMillisAgo":120}]},
              {"region":"eu-west-1","role":"replica","source":"eu-west-1-a at 127.0.0.1:7544","epoch":1,"lsn":30,
               "sourceLSN":32,"lagRecords":2,"link":"disconnected","lastHeardMillisAgo":null,"lastError":"connection refused"}]}
            """.utf8))
        let summary = StatusCommand.summary(document)
        #expect(summary == """
            node us-east-1-a  region us-east-1  role primary
            replication listens on 127.0.0.1:7543

            log us-east-1  primary  epoch 1  lsn 42
              subscriber eu-west-1-a (eu-west-1)  acked lsn 40  lag 2 records, 15 ms  link connected  last heard 120 ms ago

            log eu-west-1  replica  epoch 1  lsn 30
              source eu-west-1-a at 127.0.0.1:7544  link disconnected  last heard never
              applied lsn 30  source lsn 32  lag 2 records
              last error: connection refused
            """)
    }

    @Test func summaryShowsAStandbysPrimaryAndLag() throws {
        let document = try JSONValue.parse(Array("""
            {"nodeId":"us-east-1-b","region":"us-east-1","role":"standby","replication":"127.0.0.1:7553",
             "following":{"primary":"us-east-1-a at 127.0.0.1:7543","link":"connected","primaryLSN":44,"lagRecords":2,
                          "lastHeardMillisAgo":80,"lastError":null},
             "logs":[{"region":"us-east-1","role":"standby","epoch":1,"lsn":42,"subscribers":[]}]}
            """.utf8))
        #expect(StatusCommand.summary(document) == """
            node us-east-1-b  region us-east-1  role standby
            replication listens on 127.0.0.1:7553
            following us-east-1-a at 127.0.0.1:7543  link connected  primary lsn 44  lag 2 records  last heard 80 ms ago

            log us-east-1  standby  epoch 1  lsn 42
            """)
    }

    @Test func summaryOfAnUnexpectedDocumentDoesNotTrap() throws {
        for text in ["{}", #"{"logs": 3}"#, #"{"logs": [1, {"subscribers": [null, {"nodeId": []}]}]}"#] {
            let summary = StatusCommand.summary(try JSONValue.parse(Array(text.utf8)))
            #expect(summary.hasPrefix("node -  region -  role -"))
        }
    }
}
