import Foundation
import Testing
import JSON
import SecretsAPI
@testable import Provisioning

/// The documents `strongroom dev` and `strongroom cluster` write: members sorted at every depth
/// (as JSONSerialization's `.sortedKeys` wrote them), and an `iam.json` of an earlier version
/// brought up to date without losing anything.
@Suite struct ProvisioningDocumentTests {
    static func isSortedEverywhere(_ value: JSONValue) -> Bool {
        switch value {
        case .null, .bool, .number, .string: return true
        case .array(let items): return items.allSatisfy(isSortedEverywhere)
        case .object(let members):
            return zip(members, members.dropFirst()).allSatisfy { !$1.key.utf8.lexicographicallyPrecedes($0.key.utf8) }
                && members.allSatisfy { isSortedEverywhere($0.value) }
        }
    }

    @Test func everyFileOfAClusterIsSortedAndLoads() throws {
        let dir = NSTemporaryDirectory() + "strongroom-documents-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try ClusterEnvironment.initialize(directory: dir, regions: ["us-east-1", "eu-west-1"], now: Date())
        let manifest = try ClusterEnvironment.manifest(directory: dir, pids: ["us-east-1": 11, "eu-west-1": 12], frontPid: 13)
        var documents = [("cluster.json", manifest)]
        for name in ["iam.json", "front.json", "us-east-1/config.json", "us-east-1/keyring.json", "eu-west-1/config.json"] {
            documents.append((name, try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))))
        }
        for (name, data) in documents {
            let value = try JSONValue.parse(Array(data))
            #expect(Self.isSortedEverywhere(value), "\(name)")
            #expect(String(decoding: data, as: UTF8.self).hasPrefix("{\n  \""), "\(name)")
            // Foundation reads it too (as Python's json does for the scripts).
            #expect(try JSONSerialization.jsonObject(with: data) is [String: Any], "\(name)")
        }
        let iam = try IAMConfiguration(json: try Data(contentsOf: URL(fileURLWithPath: dir + "/iam.json")))
        #expect(iam.identity(arn: "arn:aws:iam::123456789012:role/app") != nil)
        let root = try JSONValue.parse(Array(manifest))
        #expect(root["frontPid"] == .number("13"))
        #expect(root["nodes"]?.arrayValue?.map { $0["pid"] } == [.number("12"), .number("11")])
        let noFront = try JSONValue.parse(Array(try ClusterEnvironment.manifest(directory: dir, pids: ["us-east-1": 11, "eu-west-1": 12], frontPid: nil)))
        #expect(noFront["front"] == .null && noFront["frontPid"] == .null)
        #expect(ClusterEnvironment.banner(manifest: manifest, directory: dir).contains("pid 13  (routes by the request's region)"))
        #expect(ClusterEnvironment.banner(manifest: manifest, directory: dir).contains("pid 11"))
    }

    /// An `iam.json` as the first `strongroom dev` wrote it: two users per account, nothing else.
    static let firstIAM = """
        {
          "accounts" : [
            {
              "accountId" : "123456789012",
              "principals" : [
                {"accessKeys" : [{"accessKeyId" : "AKIAAAAAAAAAAAAAAAAA", "secretAccessKey" : "s\\/1"}],
                 "arn" : "arn:aws:iam::123456789012:user\\/admin", "name" : "admin", "policies" : [], "tags" : {}, "type" : "user"}
              ]
            },
            {"accountId" : "111122223333", "principals" : [
              {"accessKeys" : [{"accessKeyId" : "AKIABBBBBBBBBBBBBBBB", "secretAccessKey" : "s2"}],
               "arn" : "arn:aws:iam::111122223333:user\\/admin", "name" : "admin", "policies" : [], "tags" : {}, "type" : "user"}
            ]},
            {"accountId" : "444455556666", "principals" : []}
          ]
        }
        """

    @Test func anEarlierIAMFileIsUpgradedKeepingWhatItHeld() throws {
        let upgraded = try #require(try DevEnvironment.upgradeIAM(Data(Self.firstIAM.utf8)))
        let root = try JSONValue.parse(Array(upgraded))
        #expect(Self.isSortedEverywhere(root))
        let accounts = try #require(root["accounts"]?.arrayValue)
        #expect(accounts.map { $0["accountId"]?.stringValue } == ["123456789012", "111122223333", "444455556666"])
        #expect(accounts.map { $0["organizationId"]?.stringValue } == [DevEnvironment.organizationId, DevEnvironment.organizationId, nil])
        let first = try #require(accounts[0]["principals"]?.arrayValue)
        #expect(first.map { $0["name"]?.stringValue } == ["admin", "app", "strongroom-rotation"])
        #expect(accounts[1]["principals"]?.arrayValue?.map { $0["name"]?.stringValue } == ["admin", "app", "strongroom-rotation"])
        #expect(first[0]["accessKeys"]?.arrayValue?.first?["secretAccessKey"] == .string("s/1"))
        #expect(accounts[2]["principals"]?.arrayValue?.isEmpty == true)
        #expect(root["admins"]?.arrayValue?.count == 2 && root["sessionSigningKey"]?.stringValue != nil)
        let iam = try IAMConfiguration(json: upgraded)
        #expect(iam.identity(arn: "arn:aws:iam::111122223333:role/app") != nil)
        // Up to date: nothing more to do.
        #expect(try DevEnvironment.upgradeIAM(upgraded) == nil)
        // What cannot be read is left alone.
        #expect(try DevEnvironment.upgradeIAM(Data("[]".utf8)) == nil)
        #expect(try DevEnvironment.upgradeIAM(Data("{\"accounts\": [1]}".utf8)) == nil)
    }
}
