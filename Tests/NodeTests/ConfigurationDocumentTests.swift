import Foundation
import Testing
import JSON
import Journal
import Platform
@testable import Configuration

/// The configuration file read with the project's JSON parser: number spellings as
/// `JSONSerialization` took them, members given twice, documents that are not objects, and the
/// documents written, compared with what earlier versions wrote.
@Suite struct ConfigurationDocumentTests {
    /// A valid document as raw text with `extra` spliced in before its closing brace (raw, so
    /// that number spellings and duplicate members reach the decoder as written).
    static func document(_ extra: String = "") -> Data {
        Data((#"{"nodeId": "n1", "region": "eu-west-1", "listen": "127.0.0.1:7443", "dataDirectory": "data", "#
            + #""tls": {"certificate": "node.pem", "privateKey": "/keys/node.key", "ca": "ca.pem"}, "#
            + #""iam": "iam.json", "keyring": "keyring.json""# + extra + "}").utf8)
    }

    func decode(_ extra: String) throws(NodeConfiguration.Problem) -> NodeConfiguration {
        try NodeConfiguration.decode(Self.document(extra), relativeTo: "/etc/strongroom")
    }

    static let replication = #""replication": {"listen": "127.0.0.1:7543", "peers": []"#

    // MARK: numbers

    @Test(arguments: [
        ("1e3", 1000), ("1E3", 1000), ("1e+3", 1000), ("10.0", 10), ("2.5e1", 25), ("100000e-2", 1000), ("64.000", 64),
        // Beyond Double's precision the nearest Double is taken, as JSONSerialization did.
        ("4096.0000000000001", 4096),
    ])
    func integerLimitSpellings(text: String, expected: Int) throws {
        #expect(try decode(#", "limits": {"maxConnections": \#(text)}"#).limits.maxConnections == expected)
    }

    @Test(arguments: [("1e0", 1.0), ("0.5", 0.5), ("5e-1", 0.5), ("10", 10.0), ("3600.0", 3600.0)])
    func secondsLimitSpellings(text: String, expected: Double) throws {
        #expect(try decode(#", "limits": {"headerTimeoutSeconds": \#(text)}"#).limits.headerTimeout == expected)
        guard expected <= 60 else { return }
        let heartbeat = try decode(#", \#(Self.replication), "heartbeatSeconds": \#(text), "deadAfterSeconds": 3600}"#)
        #expect(heartbeat.replication?.heartbeatSeconds == expected)
    }

    @Test(arguments: [("2", 2), ("2.0", 2), ("2e0", 2), ("200e-2", 2), ("64", 64)])
    func eventLoopSpellings(text: String, expected: Int) throws {
        #expect(try decode(#", "eventLoops": \#(text)"#).eventLoops == expected)
    }

    @Test(arguments: [("4096", 4096), ("4096.0", 4096), ("4.096e3", 4096)])
    func journalSpellings(text: String, expected: Int) throws {
        #expect(try decode(#", "journal": {"segmentBytes": \#(text)}"#).journal.segmentBytes == expected)
    }

    /// Each refusal names the member. A number beyond `Double`'s range (`1e400`) made the whole
    /// file "not a JSON object" for JSONSerialization; it is now refused as out of range.
    @Test(arguments: [
        (#""limits": {"maxConnections": true}"#, "'limits.maxConnections' must be a number from 1.0 to 1000000.0"),
        (#""limits": {"maxConnections": false}"#, "'limits.maxConnections' must be a number from"),
        (#""limits": {"maxConnections": "10"}"#, "'limits.maxConnections' must be a number from"),
        (#""limits": {"maxConnections": null}"#, "'limits.maxConnections' must be a number from"),
        (#""limits": {"maxConnections": [10]}"#, "'limits.maxConnections' must be a number from"),
        (#""limits": {"maxConnections": 1e400}"#, "'limits.maxConnections' must be a number from"),
        (#""limits": {"maxConnections": -1e400}"#, "'limits.maxConnections' must be a number from"),
        (#""limits": {"maxConnections": 99999999999999999999}"#, "'limits.maxConnections' must be a number from"),
        (#""limits": {"maxConnections": 1e-400}"#, "'limits.maxConnections' must be a number from"),
        (#""limits": {"maxConnections": 1.5}"#, "'limits.maxConnections' must be a whole number"),
        (#""limits": {"logMaxBytes": 1e300}"#, "'limits.logMaxBytes' must be a number from"),
        (#""limits": {"idleTimeoutSeconds": 1e400}"#, "'limits.idleTimeoutSeconds' must be a number from"),
        (#""eventLoops": true"#, "'eventLoops' must be a whole number from 1 to 64"),
        (#""eventLoops": 2.5"#, "'eventLoops' must be a whole number from 1 to 64"),
        (#""eventLoops": 1e400"#, "'eventLoops' must be a whole number from 1 to 64"),
        (#""eventLoops": 99999999999999999999"#, "'eventLoops' must be a whole number from 1 to 64"),
        (#""eventLoops": "2""#, "'eventLoops' must be a whole number from 1 to 64"),
        (#""journal": {"segmentBytes": 1e400}"#, "'journal.segmentBytes' must be a whole number from 4096"),
        (#""journal": {"snapshotEveryRecords": true}"#, "'journal.snapshotEveryRecords' must be a whole number"),
        (Self.replication + #", "heartbeatSeconds": 1e400}"#, "'replication.heartbeatSeconds' must be a number from"),
        (Self.replication + #", "deadAfterSeconds": false}"#, "'replication.deadAfterSeconds' must be a number from"),
    ])
    func numberRefusals(member: String, expected: String) {
        expectProblem(", " + member, expected)
    }

    // MARK: members given twice

    @Test(arguments: [
        (#""region": "us-east-1""#, "'region' is given twice"),
        (#""tls": {"certificate": "a.pem", "privateKey": "a.key", "ca": "ca.pem"}"#, "'tls' is given twice"),
        (#""limits": {"maxConnections": 10, "maxConnections": 20}"#, "'limits.maxConnections' is given twice"),
        (#""journal": {"segmentBytes": 4096, "segmentBytes": 8192}"#, "'journal.segmentBytes' is given twice"),
        (Self.replication + #", "peers": []}"#, "'replication.peers' is given twice"),
        (#""replication": {"listen": "127.0.0.1:7543", "peers": [{"nodeId": "b", "region": "us-east-1", "#
            + #""address": "127.0.0.1:1", "address": "127.0.0.1:2"}]}"#, "'replication.peers[0].address' is given twice"),
    ])
    func membersGivenTwiceAreRefused(member: String, expected: String) {
        expectProblem(", " + member, expected)
    }

    @Test func aTLSMemberGivenTwiceIsRefused() {
        let text = #"{"nodeId": "n1", "region": "eu-west-1", "listen": "127.0.0.1:7443", "dataDirectory": "data", "#
            + #""tls": {"certificate": "node.pem", "privateKey": "node.key", "ca": "ca.pem", "ca": "other.pem"}, "#
            + #""iam": "iam.json", "keyring": "keyring.json"}"#
        #expect(throws: NodeConfiguration.Problem.self) { try NodeConfiguration.decode(Data(text.utf8), relativeTo: "/") }
        do {
            _ = try NodeConfiguration.decode(Data(text.utf8), relativeTo: "/")
        } catch {
            #expect(error.message == "'tls.ca' is given twice")
        }
    }

    // MARK: documents that are not a configuration object

    @Test(arguments: ["[]", "1", "\"config\"", "null", "true", "[{\"nodeId\": \"n1\"}]"])
    func aValueThatIsNotAnObjectIsRefused(text: String) {
        do {
            _ = try NodeConfiguration.decode(Data(text.utf8), relativeTo: "/")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message == "not a JSON object")
        }
    }

    /// Text that is not JSON says where the parser stopped, after the words the e2e tests and
    /// scripts have always looked for.
    @Test(arguments: [
        ("", "invalid JSON at byte 0"), ("{not json", "invalid JSON at byte 1"), ("{\"a\": 1} x", "trailing characters"),
        ("{\"nodeId\": \"\\ud800\"}", "unpaired surrogate"), ("{\"a\": 01}", "invalid JSON"),
        ("{\"limits\": " + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}", "nesting deeper than 64"),
    ])
    func textThatIsNotJSONIsRefused(text: String, expected: String) {
        do {
            _ = try NodeConfiguration.decode(Data(text.utf8), relativeTo: "/")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.hasPrefix("not a JSON object: "), "\(error.message)")
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func loadNamesTheFileOfANonObject() throws {
        let path = NSTemporaryDirectory() + "strongroom-config-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("[1, 2]".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try NodeConfiguration.load(path: path)
            Issue.record("loaded a list")
        } catch {
            #expect(error.message == "\(path): not a JSON object")
        }
    }

    func expectProblem(_ extra: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decode(extra)
            Issue.record("accepted \(extra)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.message.contains(expected), "\(error.message)", sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
        }
    }

    // MARK: what is written

    /// A configuration with every section, non-default journal settings and fractional timeouts.
    static var full: NodeConfiguration {
        var limits = ServerLimits()
        limits.headerTimeout = 0.5
        limits.maxBodyBytes = 2048
        var c = NodeConfiguration(
            nodeId: "us-east-1-a", region: "us-east-1", listen: [SocketAddress("127.0.0.1:7443")!, SocketAddress("[::1]:7444")!],
            dataDirectory: "/srv/strongroom/data", certificateFile: "/srv/node.pem", privateKeyFile: "/srv/node.key",
            caFile: "/srv/ca.pem", iamFile: "/srv/iam.json", keyringFile: "/srv/keyring.json", eventLoops: 3, limits: limits,
            replication: ReplicationSettings(listen: SocketAddress("127.0.0.1:7543")!, peers: [
                .init(nodeId: "eu-west-1-a", region: "eu-west-1", address: SocketAddress("127.0.0.1:7544")!),
            ], heartbeatSeconds: 0.25, deadAfterSeconds: 5))
        c.journal.segmentBytes = 8192
        return c
    }

    /// The document as the JSONSerialization-based writer of earlier versions made it.
    static func writtenByEarlierVersions(_ c: NodeConfiguration) -> Data {
        var limits: [String: Any] = [:]
        for (name, intPath, doublePath, _) in ServerLimits.fields {
            if let intPath { limits[name] = c.limits[keyPath: intPath] }
            if let doublePath { limits[name] = c.limits[keyPath: doublePath] }
        }
        var object: [String: Any] = [
            "nodeId": c.nodeId, "region": c.region, "listen": c.listen.map(\.description), "dataDirectory": c.dataDirectory,
            "tls": ["certificate": c.certificateFile, "privateKey": c.privateKeyFile, "ca": c.caFile],
            "iam": c.iamFile, "keyring": c.keyringFile, "eventLoops": c.eventLoops, "limits": limits,
        ]
        if let r = c.replication {
            object["replication"] = [
                "listen": r.listen.description,
                "peers": r.peers.map { ["nodeId": $0.nodeId, "region": $0.region, "address": $0.address.description] },
                "heartbeatSeconds": r.heartbeatSeconds, "deadAfterSeconds": r.deadAfterSeconds,
            ]
        }
        if c.journal != JournalOptions() {
            var journal: [String: Any] = [:]
            for (name, path, _) in JournalSettings.fields { journal[name] = c.journal[keyPath: path] }
            object["journal"] = journal
        }
        return try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Same members, same order, same number texts (`10`, not `10.0`, for a whole timeout) as
    /// earlier versions wrote; only whitespace and the escaping of '/' differ.
    @Test(arguments: [Self.full, try! NodeConfiguration.decode(Self.document(), relativeTo: "/etc")])
    func writtenAsEarlierVersionsWrote(_ c: NodeConfiguration) throws {
        let old = Self.writtenByEarlierVersions(c)
        #expect(try JSONValue.parse(Array(c.encoded())) == JSONValue.parse(Array(old)))
        // What they wrote loads, and what this writes loads, as the same configuration.
        #expect(try NodeConfiguration.decode(old, relativeTo: "/elsewhere") == c)
        #expect(try NodeConfiguration.decode(c.encoded(), relativeTo: "/elsewhere") == c)
        let text = String(decoding: c.encoded(), as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"dataDirectory\": \""), "\(text.prefix(40))")
        #expect(text.contains("\"headerTimeoutSeconds\": 10") || text.contains("\"headerTimeoutSeconds\": 0.5"))
    }
}
