import Foundation
import Testing
@testable import Node
import Platform
@testable import Configuration

@Suite struct ReplicationSettingsTests {
    static var replication: [String: Any] {
        [
            "listen": "127.0.0.1:7543",
            "peers": [
                ["nodeId": "us-east-1-a", "region": "us-east-1", "address": "127.0.0.1:7544"],
                ["nodeId": "ap-southeast-2-a", "region": "ap-southeast-2", "address": "[::1]:7545"],
            ],
            "heartbeatSeconds": 0.5, "deadAfterSeconds": 3,
        ]
    }

    /// A valid node document (region eu-west-1, node n1) with `replication` as given.
    func decode(replication: Any) throws(NodeConfiguration.Problem) -> NodeConfiguration {
        var object = NodeConfigurationTests.valid
        object["replication"] = replication
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try NodeConfiguration.decode(data, relativeTo: "/etc/strongroom")
    }

    @Test func decodesAndRoundTrips() throws {
        let c = try decode(replication: Self.replication)
        let r = try #require(c.replication)
        #expect(r.listen == SocketAddress("127.0.0.1:7543"))
        #expect(r.peers.map(\.nodeId) == ["us-east-1-a", "ap-southeast-2-a"])
        #expect(r.peers.map(\.region) == ["us-east-1", "ap-southeast-2"])
        #expect(r.peers[1].address.isIPv6 && r.peers[1].address.port == 7545)
        #expect(r.heartbeatSeconds == 0.5 && r.deadAfterSeconds == 3)
        #expect(try NodeConfiguration.decode(c.encoded(), relativeTo: "/elsewhere") == c)
    }

    @Test func defaultsAndNoPeers() throws {
        let r = try #require(try decode(replication: ["listen": "127.0.0.1:7543", "peers": [Any]()]).replication)
        #expect(r.peers.isEmpty && r.heartbeatSeconds == 1 && r.deadAfterSeconds == 5)
    }

    @Test func absentSectionIsNil() throws {
        let data = try JSONSerialization.data(withJSONObject: NodeConfigurationTests.valid)
        let c = try NodeConfiguration.decode(data, relativeTo: "/")
        #expect(c.replication == nil)
        #expect(!String(decoding: c.encoded(), as: UTF8.self).contains("replication"))
    }

    /// Each case changes one thing in the valid section (nil removes the key) and names the
    /// setting the one-line problem must name.
    @Test(arguments: [
        ("listen", nil, "'replication.listen' is missing"),
        ("listen", "example.com:7543", "'replication.listen' must be an IP address and port"),
        ("listen", 7543, "'replication.listen' must be an IP address and port"),
        ("listen", "127.0.0.1:7443", "'replication.listen' 127.0.0.1:7443 is also in 'listen'"),
        ("peers", nil, "'replication.peers' is missing"),
        ("peers", "127.0.0.1:1", "'replication.peers' must be a list"),
        ("peers", ["x"], "'replication.peers[0]' must be an object"),
        ("peers", [["nodeId": "b", "region": "us-east-1"]], "'replication.peers[0].address' is missing"),
        ("peers", [["nodeId": "b", "region": "us-east-1", "address": "nowhere"]], "'replication.peers[0].address' must be an IP address"),
        ("peers", [["region": "us-east-1", "address": "127.0.0.1:1"]], "'replication.peers[0].nodeId' is missing"),
        ("peers", [["nodeId": "bad id", "region": "us-east-1", "address": "127.0.0.1:1"]], "'replication.peers[0].nodeId' may hold only"),
        ("peers", [["nodeId": "", "region": "us-east-1", "address": "127.0.0.1:1"]], "'replication.peers[0].nodeId' may hold only"),
        ("peers", [["nodeId": String(repeating: "a", count: 65), "region": "us-east-1", "address": "127.0.0.1:1"]],
         "'replication.peers[0].nodeId' may hold only"),
        ("peers", [["nodeId": "b", "address": "127.0.0.1:1"]], "'replication.peers[0].region' is missing"),
        ("peers", [["nodeId": "b", "region": "mars", "address": "127.0.0.1:1"]], "'replication.peers[0].region' must look like"),
        ("peers", [["nodeId": "b", "region": "eu-west-1", "address": "127.0.0.1:1"]], "'replication.peers[0].region' is eu-west-1, the node's own region"),
        ("peers", [["nodeId": "b", "region": "us-east-1", "address": "127.0.0.1:1"],
                   ["nodeId": "b", "region": "us-west-2", "address": "127.0.0.1:2"]], "'replication.peers[1].nodeId' b is already used by an earlier peer"),
        ("peers", [["nodeId": "n1", "region": "us-east-1", "address": "127.0.0.1:1"]], "'replication.peers[0].nodeId' n1 is already used by this node"),
        ("peers", [["nodeId": "b", "region": "us-east-1", "address": "127.0.0.1:1", "role": "standby"]], "unknown setting 'replication.peers[0].role'"),
        ("heartbeatSeconds", 0, "'replication.heartbeatSeconds' must be a number"),
        ("heartbeatSeconds", true, "'replication.heartbeatSeconds' must be a number"),
        ("heartbeatSeconds", "1", "'replication.heartbeatSeconds' must be a number"),
        ("deadAfterSeconds", -1, "'replication.deadAfterSeconds' must be a number"),
        ("deadAfterSeconds", 0.9, "'replication.deadAfterSeconds' (0.9) must be at least twice"),
        ("fencing", 1, "unknown setting 'replication.fencing'"),
    ] as [(String, (any Sendable)?, String)])
    func rejections(key: String, value: (any Sendable)?, expected: String) {
        var section = Self.replication
        section[key] = value
        do {
            _ = try decode(replication: section)
            Issue.record("accepted replication.\(key)=\(String(describing: value))")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    static var region: [Any] {
        [["nodeId": "n1", "address": "127.0.0.1:7543", "ordinal": 0, "api": "127.0.0.1:7443"], ["nodeId": "n2", "address": "127.0.0.1:7553", "ordinal": 1]]
    }

    @Test func aRegionOfSeveralNodesDecodesAndRoundTrips() throws {
        var section = Self.replication
        section["regionNodes"] = Self.region
        section["syncStandbys"] = 1
        let c = try decode(replication: section)
        let r = try #require(c.replication)
        #expect(r.regionNodes.map(\.nodeId) == ["n1", "n2"] && r.regionNodes.map(\.ordinal) == [0, 1])
        #expect(r.syncStandbys == 1 && r.isFirstPrimary("n1") && !r.isFirstPrimary("n2") && r.ordinal(of: "n2") == 1)
        #expect(r.firstPrimary?.nodeId == "n1" && r.firstPrimary?.api == SocketAddress("127.0.0.1:7443") && r.regionNodes[1].api == nil)
        #expect(try NodeConfiguration.decode(c.encoded(), relativeTo: "/elsewhere") == c)
        let alone = try #require(try decode(replication: Self.replication).replication)
        #expect(alone.regionNodes.isEmpty && alone.syncStandbys == 0 && alone.isFirstPrimary("n1"))
    }

    @Test(arguments: [
        ("regionNodes", "[]", "'replication.regionNodes' must be a list of 1 to 16"),
        ("regionNodes", #"[{"nodeId": "n1", "address": "127.0.0.1:7543"}]"#, "'replication.regionNodes[0].ordinal' must be a whole number from 0 to 15"),
        ("regionNodes", #"[{"nodeId": "n1", "address": "127.0.0.1:7543", "ordinal": 16}]"#, "'replication.regionNodes[0].ordinal' must be"),
        ("regionNodes", #"[{"nodeId": "n1", "address": "127.0.0.1:7543", "ordinal": 0}, {"nodeId": "n2", "address": "127.0.0.1:1", "ordinal": 0}]"#,
         "'replication.regionNodes[1].ordinal' 0 is already used"),
        ("regionNodes", #"[{"nodeId": "n1", "address": "127.0.0.1:7543", "ordinal": 0}, {"nodeId": "n1", "address": "127.0.0.1:1", "ordinal": 1}]"#,
         "'replication.regionNodes[1].nodeId' n1 is already used"),
        ("regionNodes", #"[{"nodeId": "n2", "address": "127.0.0.1:7543", "ordinal": 0}]"#, "does not name this node (n1)"),
        ("regionNodes", #"[{"nodeId": "n1", "address": "127.0.0.1:9", "ordinal": 0}]"#, "gives this node the address 127.0.0.1:9"),
        ("regionNodes", #"[{"nodeId": "n1", "address": "127.0.0.1:7543", "ordinal": 1}]"#, "has no node of ordinal 0"),
        ("regionNodes", #"[{"nodeId": "us-east-1-a", "address": "127.0.0.1:7543", "ordinal": 0}]"#, "us-east-1-a is already used"),
        ("regionNodes", #"[{"nodeId": "n1", "address": "127.0.0.1:7543", "ordinal": 0, "api": "host:1"}]"#, "'replication.regionNodes[0].api' must be an IP address"),
        ("syncStandbys", "1", "'replication.syncStandbys' must be a whole number from 0 to the region's standbys (0)"),
        ("syncStandbys", "-1", "'replication.syncStandbys' must be"),
    ])
    func regionRejections(key: String, json: String, expected: String) throws {
        var section = Self.replication
        section[key] = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        do {
            _ = try decode(replication: section)
            Issue.record("accepted replication.\(key)=\(json)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func sectionMustBeAnObject() {
        #expect(throws: NodeConfiguration.Problem.self) { try decode(replication: ["127.0.0.1:7543"]) }
    }

    @Test(arguments: ["dev", "us-east-1-a", "n.1_x", String(repeating: "a", count: 64)])
    func validNodeIds(_ id: String) { #expect(NodeConfiguration.isValidNodeId(id)) }

    @Test(arguments: ["", "a b", "a/b", "nœud", String(repeating: "a", count: 65)])
    func invalidNodeIds(_ id: String) { #expect(!NodeConfiguration.isValidNodeId(id)) }
}
