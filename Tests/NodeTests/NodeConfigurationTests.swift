import Foundation
import Testing
@testable import Node
import Platform
import Journal
@testable import Configuration
import HTTP1
import JSON

@Suite struct NodeConfigurationTests {
    static var valid: [String: Any] {
        [
        "nodeId": "n1", "region": "eu-west-1", "listen": "127.0.0.1:7443", "dataDirectory": "data",
        "tls": ["certificate": "node.pem", "privateKey": "/keys/node.key", "ca": "ca.pem"],
        "iam": "iam.json", "keyring": "keyring.json",
        ]
    }

    func decode(_ object: [String: Any]) throws(NodeConfiguration.Problem) -> NodeConfiguration {
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try NodeConfiguration.decode(data, relativeTo: "/etc/strongroom")
    }

    @Test func decodesWithDefaultsAndResolvesRelativePaths() throws {
        let c = try decode(Self.valid)
        #expect(c.nodeId == "n1" && c.region == "eu-west-1")
        #expect(c.listen.map(\.description) == ["127.0.0.1:7443"])
        #expect(c.dataDirectory == "/etc/strongroom/data")
        #expect(c.privateKeyFile == "/keys/node.key")
        #expect(c.limits == ServerLimits())
        let again = try NodeConfiguration.decode(c.encoded(), relativeTo: "/elsewhere")
        #expect(again == c)
    }

    @Test func limitsAndLoops() throws {
        var object = Self.valid
        object["limits"] = ["maxBodyBytes": 2048, "headerTimeoutSeconds": 0.5]
        object["eventLoops"] = 3
        object["listen"] = ["127.0.0.1:1", "[::1]:2"]
        let c = try decode(object)
        #expect(c.limits.maxBodyBytes == 2048 && c.limits.headerTimeout == 0.5 && c.eventLoops == 3)
        #expect(c.listen.count == 2 && c.listen[1].isIPv6)
    }

    @Test func journalSettings() throws {
        var object = Self.valid
        object["journal"] = ["segmentBytes": 4096, "snapshotEveryRecords": 8]
        let c = try decode(object)
        #expect(c.journal.segmentBytes == 4096 && c.journal.snapshotEveryRecords == 8)
        #expect(c.journal.snapshotEveryBytes == JournalOptions().snapshotEveryBytes)
        #expect(try NodeConfiguration.decode(c.encoded(), relativeTo: "/elsewhere") == c)
        // The defaults are not written out.
        let plain = try decode(Self.valid)
        #expect(plain.journal == JournalOptions())
        let written = try JSONSerialization.jsonObject(with: plain.encoded()) as? [String: Any]
        #expect(written?["journal"] == nil)
    }

    @Test(arguments: [
        ("nodeId", nil, "'nodeId' is missing"),
        ("region", "mars", "'region' must look like"),
        ("listen", "127.0.0.1", "is not an IP address and port"),
        ("listen", [String](), "non-empty list"),
        ("tls", "x", "'tls' must be an object"),
        ("eventLoops", 0, "'eventLoops'"),
        ("limits", ["maxBodyBytes": -1], "'limits.maxBodyBytes'"),
        ("limits", ["maxConnections": 1.5], "whole number"),
        ("limits", ["bogus": 1], "unknown setting 'limits.bogus'"),
        ("journal", 5, "'journal' must be an object"),
        ("journal", ["segmentBytes": 100], "'journal.segmentBytes' must be a whole number from 4096"),
        ("journal", ["snapshotEveryRecords": 0], "'journal.snapshotEveryRecords'"),
        ("journal", ["snapshotEveryRecords": 2.5], "'journal.snapshotEveryRecords'"),
        ("journal", ["snapshotEveryBytes": true], "'journal.snapshotEveryBytes'"),
        ("journal", ["maxQueuedBytes": 1], "unknown setting 'journal.maxQueuedBytes'"),
        ("colour", "red", "unknown setting 'colour'"),
    ] as [(String, (any Sendable)?, String)])
    func rejections(key: String, value: (any Sendable)?, expected: String) {
        var object = Self.valid
        object[key] = value
        do {
            _ = try decode(object)
            Issue.record("accepted \(key)=\(String(describing: value))")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func loadNamesTheFile() {
        do {
            _ = try NodeConfiguration.load(path: "/nonexistent/strongroom.json")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.message.hasPrefix("/nonexistent/strongroom.json: "))
        }
    }
}

@Suite struct JSONBooleanTests {
    @Test func numbersAreNotBooleans() throws {
        // What the numeric settings read: a number's value, and nothing for a boolean.
        let values = try #require(try JSONValue.parse(Array("[1, 0, true, false, 2.5]".utf8)).arrayValue)
        #expect(values.map { $0.doubleValue == nil } == [false, false, true, true, false])
    }

    @Test func integerLimitsDecode() throws {
        var object = NodeConfigurationTests.valid
        object["limits"] = ["headerTimeoutSeconds": 1, "maxConnections": 1]
        object["eventLoops"] = 1
        let data = try JSONSerialization.data(withJSONObject: object)
        let c = try NodeConfiguration.decode(data, relativeTo: "/")
        #expect(c.limits.headerTimeout == 1 && c.limits.maxConnections == 1 && c.eventLoops == 1)
        object["eventLoops"] = true
        #expect(throws: NodeConfiguration.Problem.self) {
            try NodeConfiguration.decode(try JSONSerialization.data(withJSONObject: object), relativeTo: "/")
        }
    }
}
