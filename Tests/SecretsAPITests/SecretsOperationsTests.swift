import AWSTestSupport
import JSON
import Cryptography
import Foundation
import SecretStore
import Testing
import AWSProtocol
@testable import SecretsAPI

/// The secrets operations end to end inside the service (signed JSON in, JSON out) over an
/// in-memory storage; the journal-backed storage is exercised by NodeTests and the e2e tests.
@Suite struct SecretsOperationsTests {
    static let account = "123456789012"

    static func keyring() -> Keyring {
        func key(_ id: String, _ aliases: [String], _ fill: UInt8) -> Keyring.Key {
            Keyring.Key(keyId: id, accountId: account, region: Fixture.region, aliases: aliases,
                        material: SecureBytes(Array(repeating: fill, count: 32)))
        }
        return Keyring(keys: [key("11111111-1111-4111-8111-111111111111", [Keyring.defaultAlias], 1),
                              key("22222222-2222-4222-8222-222222222222", ["alias/custom"], 2)])
    }

    /// A service with its storage, so tests can look at what was stored.
    struct World {
        let service: SecretsManagerService
        let storage: MemorySecretStorage
        var now = Fixture.now

        init(seed: UInt64 = 7) throws {
            storage = MemorySecretStorage()
            let random = SeededRandomSource(seed: seed)
            service = SecretsManagerService(
                region: Fixture.region, identities: try Fixture.identities(), random: random,
                operations: .secrets(storage: storage, sealer: ValueSealer(keyring: SecretsOperationsTests.keyring(), random: random)))
        }

        /// Calls `operation` with `body` (a JSON object literal) and returns status and output.
        func call(_ operation: String, _ body: String) throws -> (status: Int, output: JSONValue) {
            let response = service.handle(Fixture.signed(operation, body: body, at: now), now: now)
            return (response.status, try JSONValue.parse(response.body))
        }

        @discardableResult
        func ok(_ operation: String, _ body: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
            let (status, output) = try call(operation, body)
            #expect(status == 200, "\(operation) answered \(output.serialized())", sourceLocation: sourceLocation)
            return output
        }

        func error(_ operation: String, _ body: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (type: String?, message: String?) {
            let (status, output) = try call(operation, body)
            #expect(status >= 400, sourceLocation: sourceLocation)
            return (output["__type"]?.stringValue, (output["message"] ?? output["Message"])?.stringValue)
        }

        func secret(_ name: String) -> Secret? {
            storage.read { $0.lookup(name, accountId: SecretsOperationsTests.account, region: Fixture.region) }.value
        }
    }

    /// A new ClientRequestToken (SDKs send one with every value).
    static func fresh() -> String { UUID().uuidString.lowercased() }

    static let token1 = String(repeating: "a", count: 32)
    static let token2 = String(repeating: "b", count: 32)

    @Test func createThenGetStringAndBinary() throws {
        let world = try World()
        let created = try world.ok("CreateSecret", #"{"Name": "app/db", "SecretString": "hunter2", "ClientRequestToken": "\#(Self.token1)"}"#)
        let arn = try #require(created["ARN"]?.stringValue)
        #expect(arn.hasPrefix("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-"))
        #expect(arn.count == "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-".count + 6)
        #expect(created["Name"] == .string("app/db"))
        #expect(created["VersionId"] == .string(Self.token1))

        let value = try world.ok("GetSecretValue", #"{"SecretId": "app/db"}"#)
        #expect(value["SecretString"] == .string("hunter2"))
        #expect(value["VersionStages"] == .array([.string("AWSCURRENT")]))
        #expect(value["ARN"] == .string(arn))
        #expect(value["SecretBinary"] == nil)
        if case .number(let date)? = value["CreatedDate"] {
            #expect(Double(date) == Fixture.now.timeIntervalSince1970)
        } else {
            Issue.record("CreatedDate is not a number")
        }
        // By full ARN, by partial ARN (no suffix), by name.
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "\#(arn)"}"#)["SecretString"] == .string("hunter2"))
        let partial = String(arn.dropLast(7))
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "\#(partial)"}"#)["SecretString"] == .string("hunter2"))

        let bytes: [UInt8] = [0, 1, 2, 255, 254]
        try world.ok("CreateSecret", #"{"Name": "bin", "SecretBinary": "\#(Data(bytes).base64EncodedString())", "ClientRequestToken": "\#(Self.fresh())"}"#)
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "bin"}"#)["SecretBinary"] == .string(Data(bytes).base64EncodedString()))
    }

    @Test func storedValuesAreSealedNotPlain() throws {
        let world = try World()
        let plaintext = "correct horse battery staple"
        try world.ok("CreateSecret", #"{"Name": "s", "SecretString": "\#(plaintext)", "ClientRequestToken": "\#(Self.fresh())"}"#)
        let version = try #require(world.secret("s")?.versions.first)
        let stored = Fact.encode(list: [.versionAdded(arn: "a", version: version, moves: [], date: 0)])
        #expect(!contains(stored, Array(plaintext.utf8)))
        #expect(!contains(stored, Array("horse".utf8)))
        #expect(version.sealed.keyId == "11111111-1111-4111-8111-111111111111")
        #expect(world.storage.read { $0.encode() }.count > 0)
        #expect(!contains(world.storage.read { $0.encode() }, Array("battery".utf8)))
    }

    @Test func putSecretValueMovesLabelsAndAnswersStages() throws {
        let world = try World()
        try world.ok("CreateSecret", #"{"Name": "s", "SecretString": "v1", "ClientRequestToken": "\#(Self.token1)"}"#)
        let put = try world.ok("PutSecretValue", #"{"SecretId": "s", "SecretString": "v2", "ClientRequestToken": "\#(Self.token2)"}"#)
        #expect(put["VersionStages"] == .array([.string("AWSCURRENT")]))
        #expect(put["VersionId"] == .string(Self.token2))
        let previous = try world.ok("GetSecretValue", #"{"SecretId": "s", "VersionStage": "AWSPREVIOUS"}"#)
        #expect(previous["SecretString"] == .string("v1"))
        #expect(previous["VersionId"] == .string(Self.token1))

        let token3 = String(repeating: "c", count: 40)
        let pending = try world.ok("PutSecretValue",
                                   #"{"SecretId": "s", "SecretString": "v3", "ClientRequestToken": "\#(token3)", "VersionStages": ["AWSPENDING"]}"#)
        #expect(pending["VersionStages"] == .array([.string("AWSPENDING")]))
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "s"}"#)["SecretString"] == .string("v2"))
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "s", "VersionStage": "AWSPENDING"}"#)["SecretString"] == .string("v3"))
    }

    @Test func clientRequestTokenIsIdempotent() throws {
        let world = try World()
        let body = #"{"Name": "s", "SecretString": "v1", "ClientRequestToken": "\#(Self.token1)"}"#
        let first = try world.ok("CreateSecret", body)
        let again = try world.ok("CreateSecret", body)
        #expect(first == again)
        #expect(world.secret("s")?.versions.count == 1)
        let conflict = try world.error("CreateSecret", #"{"Name": "s", "SecretString": "other", "ClientRequestToken": "\#(Self.token1)"}"#)
        #expect(conflict.type == "ResourceExistsException")

        let put = #"{"SecretId": "s", "SecretString": "v2", "ClientRequestToken": "\#(Self.token2)"}"#
        #expect(try world.ok("PutSecretValue", put) == world.ok("PutSecretValue", put))
        #expect(world.secret("s")?.versions.count == 2)
        #expect(try world.error("PutSecretValue", #"{"SecretId": "s", "SecretBinary": "AAAA", "ClientRequestToken": "\#(Self.token2)"}"#).type
                == "ResourceExistsException")
    }

    @Test func valueChecks() throws {
        let world = try World()
        #expect(try world.error("CreateSecret", #"{"Name": "s", "SecretString": "a", "SecretBinary": "AAAA", "ClientRequestToken": "\#(Self.fresh())"}"#).type == "InvalidParameterException")
        try world.ok("CreateSecret", #"{"Name": "s"}"#)
        #expect(try world.error("PutSecretValue", #"{"SecretId": "s"}"#).type == "InvalidRequestException")
        let untokened = try world.error("PutSecretValue", #"{"SecretId": "s", "SecretString": "v"}"#)
        #expect(untokened.type == "InvalidRequestException")
        #expect(untokened.message == "You must provide a ClientRequestToken value. We recommend a UUID-type value.")
        #expect(try world.error("GetSecretValue", #"{"SecretId": "s"}"#).type == "ResourceNotFoundException")
        #expect(try world.error("CreateSecret", #"{"Name": "k", "SecretString": "a", "KmsKeyId": "alias/nope", "ClientRequestToken": "\#(Self.fresh())"}"#).type != nil)
        #expect(world.secret("k") == nil)
    }

    @Test func changingKmsKeyIdRewrapsLabelledVersions() throws {
        let world = try World()
        try world.ok("CreateSecret", #"{"Name": "s", "SecretString": "v1", "ClientRequestToken": "\#(Self.token1)"}"#)
        try world.ok("PutSecretValue", #"{"SecretId": "s", "SecretString": "v2", "ClientRequestToken": "\#(Self.token2)"}"#)
        let updated = try world.ok("UpdateSecret", #"{"SecretId": "s", "KmsKeyId": "alias/custom"}"#)
        #expect(updated["VersionId"] == nil)
        let secret = try #require(world.secret("s"))
        #expect(secret.kmsKeyId == "alias/custom")
        #expect(secret.versions.allSatisfy { $0.sealed.keyId == "22222222-2222-4222-8222-222222222222" })
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "s", "VersionStage": "AWSPREVIOUS"}"#)["SecretString"] == .string("v1"))
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "s"}"#)["SecretString"] == .string("v2"))
        // New values go under the new key too.
        let third = try world.ok("UpdateSecret", #"{"SecretId": "s", "SecretString": "v3", "ClientRequestToken": "\#(Self.fresh())"}"#)
        let thirdId = try #require(third["VersionId"]?.stringValue)
        #expect(world.secret("s")?.version(id: thirdId)?.sealed.keyId == "22222222-2222-4222-8222-222222222222")
        #expect(try world.ok("DescribeSecret", #"{"SecretId": "s"}"#)["KmsKeyId"] == .string("alias/custom"))
    }

    @Test func deleteRestoreAndForceDelete() throws {
        var world = try World()
        try world.ok("CreateSecret", #"{"Name": "s", "SecretString": "v", "ClientRequestToken": "\#(Self.fresh())"}"#)
        let deleted = try world.ok("DeleteSecret", #"{"SecretId": "s", "RecoveryWindowInDays": 7}"#)
        guard case .number(let date)? = deleted["DeletionDate"] else { Issue.record("no DeletionDate"); return }
        #expect(Double(date) == Fixture.now.timeIntervalSince1970 + 7 * 86_400)
        #expect(try world.error("GetSecretValue", #"{"SecretId": "s"}"#).type == "InvalidRequestException")
        #expect(try world.ok("DescribeSecret", #"{"SecretId": "s"}"#)["DeletedDate"] != nil)
        #expect(try world.ok("ListSecrets", "{}")["SecretList"] == .array([]))
        guard case .array(let planned)? = try world.ok("ListSecrets", #"{"IncludePlannedDeletion": true}"#)["SecretList"] else {
            Issue.record("no SecretList"); return
        }
        #expect(planned.count == 1)
        try world.ok("RestoreSecret", #"{"SecretId": "s"}"#)
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "s"}"#)["SecretString"] == .string("v"))
        try world.ok("DeleteSecret", #"{"SecretId": "s", "ForceDeleteWithoutRecovery": true}"#)
        #expect(world.secret("s") == nil)
        world.now += 1
        try world.ok("DeleteSecret", #"{"SecretId": "gone", "ForceDeleteWithoutRecovery": true}"#)
        // A recreated name gets a new ARN (another random suffix).
        let again = try world.ok("CreateSecret", #"{"Name": "s", "SecretString": "v", "ClientRequestToken": "\#(Self.fresh())"}"#)
        #expect(again["ARN"] != nil)
    }

    @Test func describeListAndVersionIds() throws {
        let world = try World()
        try world.ok("CreateSecret", #"{"Name": "a/one", "Description": "first", "SecretString": "1", "Tags": [{"Key": "team", "Value": "blue"}], "ClientRequestToken": "\#(Self.fresh())"}"#)
        try world.ok("CreateSecret", #"{"Name": "b/two", "SecretString": "2", "ClientRequestToken": "\#(Self.fresh())"}"#)
        let described = try world.ok("DescribeSecret", #"{"SecretId": "a/one"}"#)
        #expect(described["Description"] == .string("first"))
        #expect(described["Tags"] == .array([.object([(key: "Key", value: .string("team")), (key: "Value", value: .string("blue"))])]))
        #expect(described["KmsKeyId"] == nil)
        #expect(described["PrimaryRegion"] == nil)
        #expect(described["RotationEnabled"] == nil)
        #expect(try world.ok("DescribeSecret", #"{"SecretId": "b/two"}"#)["Tags"] == nil)
        guard case .object(let stages)? = described["VersionIdsToStages"] else { Issue.record("no VersionIdsToStages"); return }
        #expect(stages.count == 1 && stages[0].value == .array([.string("AWSCURRENT")]))

        let filtered = try world.ok("ListSecrets", #"{"Filters": [{"Key": "tag-key", "Values": ["team"]}]}"#)
        guard case .array(let list)? = filtered["SecretList"] else { Issue.record("no SecretList"); return }
        #expect(list.map { $0["Name"] } == [.string("a/one")])
        #expect(list.first?["SecretVersionsToStages"] != nil)
        let negated = try world.ok("ListSecrets", #"{"Filters": [{"Key": "name", "Values": ["!a/"]}]}"#)
        guard case .array(let others)? = negated["SecretList"] else { Issue.record("no SecretList"); return }
        #expect(others.map { $0["Name"] } == [.string("b/two")])

        let paged = try world.ok("ListSecrets", #"{"MaxResults": 1}"#)
        let token = try #require(paged["NextToken"]?.stringValue)
        let next = try world.ok("ListSecrets", #"{"MaxResults": 1, "NextToken": "\#(token)"}"#)
        #expect(paged["SecretList"] != next["SecretList"])
        #expect(next["NextToken"] == nil)

        let versions = try world.ok("ListSecretVersionIds", #"{"SecretId": "a/one"}"#)
        guard case .array(let entries)? = versions["Versions"] else { Issue.record("no Versions"); return }
        #expect(entries.count == 1)
        #expect(entries.first?["KmsKeyIds"] == .array([.string("DefaultEncryptionKey")]))
    }

    @Test func batchGetReportsPerSecretErrors() throws {
        let world = try World()
        try world.ok("CreateSecret", #"{"Name": "x", "SecretString": "1", "ClientRequestToken": "\#(Self.fresh())"}"#)
        try world.ok("CreateSecret", #"{"Name": "y", "SecretString": "2", "ClientRequestToken": "\#(Self.fresh())"}"#)
        let batch = try world.ok("BatchGetSecretValue", #"{"SecretIdList": ["x", "nope", "y"]}"#)
        guard case .array(let values)? = batch["SecretValues"], case .array(let errors)? = batch["Errors"] else {
            Issue.record("bad shape \(batch.serialized())"); return
        }
        #expect(values.map { $0["SecretString"] } == [.string("1"), .string("2")])
        #expect(errors.count == 1)
        #expect(errors.first?["SecretId"] == .string("nope"))
        #expect(errors.first?["ErrorCode"] == .string("ResourceNotFoundException"))
        let byFilter = try world.ok("BatchGetSecretValue", #"{"Filters": [{"Key": "name", "Values": ["y"]}]}"#)
        guard case .array(let filtered)? = byFilter["SecretValues"] else { Issue.record("no SecretValues"); return }
        #expect(filtered.map { $0["Name"] } == [.string("y")])
        #expect(try world.error("BatchGetSecretValue", "{}").type == "InvalidParameterException")
        #expect(try world.error("BatchGetSecretValue", #"{"SecretIdList": ["x"], "Filters": [{"Key": "name", "Values": ["y"]}]}"#).type
                == "InvalidParameterException")
    }

    @Test func tagsPoliciesAndRotationMetadata() throws {
        let world = try World()
        try world.ok("CreateSecret", #"{"Name": "s", "SecretString": "v", "ClientRequestToken": "\#(Self.fresh())"}"#)
        #expect(try world.ok("TagResource", #"{"SecretId": "s", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}"#)
                == .object([]))
        try world.ok("UntagResource", #"{"SecretId": "s", "TagKeys": ["a"]}"#)
        #expect(world.secret("s")?.tags == [SecretTag(key: "b", value: "2")])
        #expect(try world.error("TagResource", #"{"SecretId": "s", "Tags": [{"Key": "aws:x", "Value": "1"}]}"#).type
                == "InvalidParameterException")

        let policy = #"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"secretsmanager:GetSecretValue\",\"Resource\":\"*\"}]}"#
        try world.ok("PutResourcePolicy", #"{"SecretId": "s", "ResourcePolicy": "\#(policy)"}"#)
        let got = try world.ok("GetResourcePolicy", #"{"SecretId": "s"}"#)
        #expect(got["ResourcePolicy"]?.stringValue?.contains("111122223333") == true)
        #expect(try world.error("PutResourcePolicy", #"{"SecretId": "s", "ResourcePolicy": "{not json"}"#).type
                == "MalformedPolicyDocumentException")
        #expect(try world.ok("ValidateResourcePolicy", #"{"ResourcePolicy": "\#(policy)"}"#)["PolicyValidationPassed"] == .bool(true))
        try world.ok("DeleteResourcePolicy", #"{"SecretId": "s"}"#)
        #expect(try world.ok("GetResourcePolicy", #"{"SecretId": "s"}"#)["ResourcePolicy"] == nil)

        let lambda = "arn:aws:lambda:us-east-1:123456789012:function:rotate"
        // Without a ClientRequestToken (SDKs always send one), AWS answers that first.
        #expect(try world.error("RotateSecret", #"{"SecretId": "s"}"#).type == "InvalidParameterException")
        #expect(try world.error("RotateSecret", #"{"SecretId": "s", "ClientRequestToken": "\#(Self.token1)"}"#).type == "InvalidRequestException")
        try world.ok("RotateSecret", #"{"SecretId": "s", "ClientRequestToken": "\#(Self.token2)", "RotationLambdaARN": "\#(lambda)", "RotationRules": {"AutomaticallyAfterDays": 30}}"#)
        let described = try world.ok("DescribeSecret", #"{"SecretId": "s"}"#)
        #expect(described["RotationEnabled"] == .bool(true))
        #expect(described["RotationLambdaARN"] == .string(lambda))
        #expect(described["NextRotationDate"] != nil)
        try world.ok("CancelRotateSecret", #"{"SecretId": "s"}"#)
        #expect(try world.ok("DescribeSecret", #"{"SecretId": "s"}"#)["RotationEnabled"] == .bool(false))
    }

    @Test func updateSecretVersionStageMovesCustomLabels() throws {
        let world = try World()
        try world.ok("CreateSecret", #"{"Name": "s", "SecretString": "v1", "ClientRequestToken": "\#(Self.token1)"}"#)
        try world.ok("PutSecretValue", #"{"SecretId": "s", "SecretString": "v2", "ClientRequestToken": "\#(Self.token2)"}"#)
        try world.ok("UpdateSecretVersionStage", #"{"SecretId": "s", "VersionStage": "AWSCURRENT", "RemoveFromVersionId": "\#(Self.token2)", "MoveToVersionId": "\#(Self.token1)"}"#)
        #expect(try world.ok("GetSecretValue", #"{"SecretId": "s"}"#)["SecretString"] == .string("v1"))
        #expect(try world.error("UpdateSecretVersionStage", #"{"SecretId": "s", "VersionStage": "AWSCURRENT", "MoveToVersionId": "\#(Self.token2)"}"#).type
                == "InvalidParameterException")
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}

extension Result {
    var value: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}
