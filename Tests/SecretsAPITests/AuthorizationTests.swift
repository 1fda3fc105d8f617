import AWSTestSupport
import Cryptography
import Foundation
import JSON
import SecretStore
import Synchronization
import Testing
@testable import SecretsAPI
import SigV4
import AWSProtocol

/// The service's authorization, sessions and audit records, through signed requests against a
/// `MemorySecretStorage`: two accounts, an admin and a reader in the first, an admin in the
/// second, and a customer key of the first that the second may use.
@Suite struct AuthorizationTests {
    static let owner = "123456789012"
    static let other = "111122223333"
    static let signingKey = SecureBytes(Array(repeating: 7, count: 32))

    struct User {
        var accessKeyId: String
        var secret: String
    }

    static let admin = User(accessKeyId: "AKIAADMINOWNER000000", secret: "admin-owner-secret")
    static let reader = User(accessKeyId: "AKIAREADEROWNER00000", secret: "reader-owner-secret")
    static let otherAdmin = User(accessKeyId: "AKIAADMINOTHER000000", secret: "admin-other-secret")

    static let iamJSON = """
    {"accounts": [
      {"accountId": "123456789012", "organizationId": "o-exampleorg1", "principals": [
        {"type": "user", "name": "admin", "arn": "arn:aws:iam::123456789012:user/admin",
         "accessKeys": [{"accessKeyId": "AKIAADMINOWNER000000", "secretAccessKey": "admin-owner-secret"}],
         "policies": [{"name": "all", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}}]},
        {"type": "user", "name": "reader", "arn": "arn:aws:iam::123456789012:user/reader",
         "accessKeys": [{"accessKeyId": "AKIAREADEROWNER00000", "secretAccessKey": "reader-owner-secret"}]},
        {"type": "role", "name": "app", "arn": "arn:aws:iam::123456789012:role/app", "tags": {"team": "payments"},
         "policies": [{"name": "abac", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
           "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}]}}]}]},
      {"accountId": "111122223333", "organizationId": "o-exampleorg1", "principals": [
        {"type": "user", "name": "admin", "arn": "arn:aws:iam::111122223333:user/admin",
         "accessKeys": [{"accessKeyId": "AKIAADMINOTHER000000", "secretAccessKey": "admin-other-secret"}],
         "policies": [{"name": "all", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}}]}]}],
     "admins": ["arn:aws:iam::123456789012:user/admin"],
     "sessionSigningKey": "\(Data(Array(repeating: UInt8(7), count: 32)).base64EncodedString())"}
    """

    static func keyring() -> Keyring {
        func key(_ id: String, _ account: String, _ aliases: [String], _ fill: UInt8, shared: [String] = []) -> Keyring.Key {
            Keyring.Key(keyId: id, accountId: account, region: Fixture.region, aliases: aliases,
                        material: SecureBytes(Array(repeating: fill, count: 32)), allowedAccounts: shared)
        }
        return Keyring(keys: [
            key("11111111-1111-4111-8111-111111111111", owner, [Keyring.defaultAlias], 1),
            key("22222222-2222-4222-8222-222222222222", owner, ["alias/shared"], 2, shared: [other]),
            key("33333333-3333-4333-8333-333333333333", other, [Keyring.defaultAlias], 3),
        ])
    }

    /// Records every event; can be told to fail.
    final class RecordingSink: AuditSink {
        struct Refused: Error {}
        let events = Mutex<[JSONValue]>([])
        let failing = Atomic<Bool>(false)

        func reserve() throws { if failing.load(ordering: .relaxed) { throw Refused() } }
        func record(_ event: JSONValue) throws {
            if failing.load(ordering: .relaxed) { throw Refused() }
            events.withLock { $0.append(event) }
        }
    }

    struct World {
        let service: SecretsManagerService
        let storage = MemorySecretStorage()
        let sink = RecordingSink()
        let configuration: IAMConfiguration
        var now = Fixture.now

        init() throws {
            configuration = try IAMConfiguration(json: Data(AuthorizationTests.iamJSON.utf8))
            let random = SeededRandomSource(seed: 11)
            service = SecretsManagerService(
                region: Fixture.region, identities: configuration, random: random,
                operations: .secrets(storage: storage, sealer: ValueSealer(keyring: AuthorizationTests.keyring(), random: random)))
            service.setAuditSink(sink)
        }

        func call(_ operation: String, _ body: String, as user: User = AuthorizationTests.admin, token: String? = nil) throws -> Answer {
            let request = SigV4.sign(Fixture.call(operation, body: body), accessKeyId: user.accessKeyId,
                                     secretAccessKey: SecureBytes(Array(user.secret.utf8)), region: Fixture.region,
                                     service: "secretsmanager", now: now, sessionToken: token)
            return try Answer(service.handle(request, now: now))
        }

        func session(_ arn: String, tags: [String: String] = [:], seconds: Int64 = 3600, seed: UInt64 = 5) throws -> (User, String) {
            let issued = try configuration.issueSession(principalArn: arn, sessionName: "unit", durationSeconds: seconds, tags: tags,
                                                        now: now, random: SeededRandomSource(seed: seed))
            let secret = String(decoding: issued.secretAccessKey.unsafeCopiedBytes, as: UTF8.self)
            return (User(accessKeyId: issued.accessKeyId, secret: secret), issued.sessionToken)
        }
    }

    /// `Strongroom.GetNodeStatus` needs both a policy that allows it and a place in `admins`:
    /// the list says who operates the cluster, the policy what each principal may do.
    @Test(arguments: [
        ("admin", "allows", nil),
        ("operator", "allows", "because it is not one of the cluster's admins"),
        ("admin", "denies", "because no identity-based policy allows the strongroom:GetNodeStatus action"),
        ("app", "allows", nil),
    ] as [(String, String, String?)])
    func nodeOperationsAreForAdminsWhosePoliciesAllowThem(user: String, adminPolicy: String, refusal: String?) throws {
        let allow = #"{"name": "ops", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "strongroom:*", "Resource": "*"}]}}"#
        let iam = """
        {"accounts": [{"accountId": "123456789012", "principals": [
          {"type": "user", "name": "admin", "arn": "arn:aws:iam::123456789012:user/admin",
           "accessKeys": [{"accessKeyId": "AKIAADMINOWNER000000", "secretAccessKey": "admin-secret"}],
           "policies": [\(adminPolicy == "allows" ? allow : "")]},
          {"type": "user", "name": "operator", "arn": "arn:aws:iam::123456789012:user/operator",
           "accessKeys": [{"accessKeyId": "AKIAOPERATOR00000000", "secretAccessKey": "operator-secret"}], "policies": [\(allow)]},
          {"type": "role", "name": "app", "arn": "arn:aws:iam::123456789012:role/app", "policies": [\(allow)]}]}],
         "admins": ["arn:aws:iam::123456789012:user/admin", "arn:aws:iam::123456789012:role/app"],
         "sessionSigningKey": "\(Data(Array(repeating: UInt8(7), count: 32)).base64EncodedString())"}
        """
        let configuration = try IAMConfiguration(json: Data(iam.utf8))
        var operations = OperationTable.standard
        operations.registerNodeStatus { .object([(key: "nodeId", value: .string("n1"))]) }
        let service = SecretsManagerService(region: Fixture.region, identities: configuration, random: SeededRandomSource(seed: 3),
                                            operations: operations)
        var credentials = (accessKeyId: "AKIA\(user.uppercased())", secret: "\(user)-secret", token: String?.none)
        if user == "admin" { credentials.accessKeyId = "AKIAADMINOWNER000000" }
        if user == "operator" { credentials.accessKeyId = "AKIAOPERATOR00000000" }
        if user == "app" {
            // A role listed in `admins` is an admin in its sessions.
            let issued = try configuration.issueSession(principalArn: "arn:aws:iam::123456789012:role/app", sessionName: "ops",
                                                        durationSeconds: 3600, tags: [:], now: Fixture.now,
                                                        random: SeededRandomSource(seed: 9))
            credentials = (issued.accessKeyId, String(decoding: issued.secretAccessKey.unsafeCopiedBytes, as: UTF8.self),
                           issued.sessionToken)
        }
        let request = SigV4.sign(
            AWSRequest(method: "POST", path: "/", headers: [
                (name: "Host", value: "127.0.0.1"), (name: "Content-Type", value: "application/x-amz-json-1.1"),
                (name: "X-Amz-Target", value: "Strongroom.GetNodeStatus"),
            ], body: Array("{}".utf8)),
            accessKeyId: credentials.accessKeyId, secretAccessKey: SecureBytes(Array(credentials.secret.utf8)),
            region: Fixture.region, service: "secretsmanager", now: Fixture.now, sessionToken: credentials.token)
        let answer = try Answer(service.handle(request, now: Fixture.now))
        if let refusal {
            #expect(answer.type == "AccessDeniedException")
            #expect(answer.message?.hasPrefix("User: arn:aws:iam::123456789012:user/\(user) is not authorized to perform: strongroom:GetNodeStatus because ") == true)
            #expect(answer.message?.hasSuffix(refusal) == true, "\(answer.message ?? "")")
        } else {
            #expect(answer.status == 200)
            #expect(answer.json["nodeId"] == .string("n1"))
        }
    }

    @Test func readerWithoutPolicyIsDeniedWithIAMsMessage() throws {
        let world = try World()
        let arn = try #require(try world.call("CreateSecret", #"{"Name": "db", "SecretString": "v", "ClientRequestToken": "\#(String(repeating: "a", count: 32))"}"#).json["ARN"]?.stringValue)
        let answer = try world.call("GetSecretValue", #"{"SecretId": "db"}"#, as: Self.reader)
        #expect(answer.status == 400)
        #expect(answer.type == "AccessDeniedException")
        // The resource is named as the caller sent it (AWS does so), never resolved to the ARN.
        #expect(answer.message == "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: secretsmanager:GetSecretValue on resource: db because no identity-based policy allows the secretsmanager:GetSecretValue action")
        #expect(try world.call("GetSecretValue", #"{"SecretId": "\#(arn)"}"#, as: Self.reader).message?.contains("on resource: \(arn) because") == true)
        #expect(try world.call("GetSecretValue", #"{"SecretId": "ghost"}"#, as: Self.reader).message?.contains("on resource: ghost because") == true)
        // A missing secret is not revealed to a caller who may not read it.
        #expect(try world.call("DescribeSecret", #"{"SecretId": "nope"}"#, as: Self.reader).type == "AccessDeniedException")
        #expect(try world.call("DescribeSecret", #"{"SecretId": "nope"}"#).type == "ResourceNotFoundException")
        #expect(try world.call("ListSecrets", "{}", as: Self.reader).type == "AccessDeniedException")
    }

    @Test func crossAccountNeedsBothPoliciesAndAShareableKey() throws {
        let world = try World()
        let token = String(repeating: "b", count: 32)
        let shared = try #require(try world.call("CreateSecret", #"{"Name": "shared", "SecretString": "s", "KmsKeyId": "alias/shared", "ClientRequestToken": "\#(token)"}"#).json["ARN"]?.stringValue)
        let plain = try #require(try world.call("CreateSecret", #"{"Name": "plain", "SecretString": "p", "ClientRequestToken": "\#(token)"}"#).json["ARN"]?.stringValue)
        var answer = try world.call("GetSecretValue", #"{"SecretId": "\#(shared)"}"#, as: Self.otherAdmin)
        #expect(answer.message?.hasSuffix("because no resource-based policy allows the secretsmanager:GetSecretValue action") == true)
        let policy = #"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"secretsmanager:GetSecretValue\",\"Resource\":\"*\"}]}"#
        for arn in [shared, plain] {
            #expect(try world.call("PutResourcePolicy", #"{"SecretId": "\#(arn)", "ResourcePolicy": "\#(policy)", "BlockPublicPolicy": true}"#).status == 200)
        }
        answer = try world.call("GetSecretValue", #"{"SecretId": "\#(shared)"}"#, as: Self.otherAdmin)
        #expect(answer.json["SecretString"] == .string("s"))
        answer = try world.call("GetSecretValue", #"{"SecretId": "\#(plain)"}"#, as: Self.otherAdmin)
        #expect(answer.type == "InvalidRequestException")
        #expect(answer.message == "You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key.")
        // Writes are not granted by that policy.
        answer = try world.call("PutSecretValue", #"{"SecretId": "\#(shared)", "SecretString": "x", "ClientRequestToken": "\#(String(repeating: "c", count: 32))"}"#, as: Self.otherAdmin)
        #expect(answer.type == "AccessDeniedException")
    }

    @Test func sessionsCarryTagsAndExpire() throws {
        var world = try World()
        let token = String(repeating: "d", count: 32)
        _ = try world.call("CreateSecret", #"{"Name": "pay", "SecretString": "p", "Tags": [{"Key": "team", "Value": "payments"}], "ClientRequestToken": "\#(token)"}"#)
        _ = try world.call("CreateSecret", #"{"Name": "srch", "SecretString": "s", "Tags": [{"Key": "team", "Value": "search"}], "ClientRequestToken": "\#(token)"}"#)
        let (app, appToken) = try world.session("arn:aws:iam::123456789012:role/app")
        #expect(try world.call("GetSecretValue", #"{"SecretId": "pay"}"#, as: app, token: appToken).json["SecretString"] == .string("p"))
        let denied = try world.call("GetSecretValue", #"{"SecretId": "srch"}"#, as: app, token: appToken)
        #expect(denied.message?.hasPrefix("User: arn:aws:sts::123456789012:assumed-role/app/unit is not authorized") == true)
        let (search, searchToken) = try world.session("arn:aws:iam::123456789012:role/app", tags: ["team": "search"], seed: 6)
        #expect(try world.call("GetSecretValue", #"{"SecretId": "srch"}"#, as: search, token: searchToken).status == 200)
        // Without its token, or with another's, the session key is unknown.
        #expect(try world.call("GetSecretValue", #"{"SecretId": "pay"}"#, as: app).type == "UnrecognizedClientException")
        #expect(try world.call("GetSecretValue", #"{"SecretId": "pay"}"#, as: app, token: searchToken).type == "UnrecognizedClientException")
        // One second before expiry it works; at expiry it does not.
        world.now = Fixture.now.addingTimeInterval(3599)
        #expect(try world.call("GetSecretValue", #"{"SecretId": "pay"}"#, as: app, token: appToken).status == 200)
        world.now = Fixture.now.addingTimeInterval(3600)
        let expired = try world.call("GetSecretValue", #"{"SecretId": "pay"}"#, as: app, token: appToken)
        #expect(expired.type == "ExpiredTokenException")
        #expect(expired.message == "The security token included in the request is expired")
    }

    @Test func tamperedSessionTokensAreRefused() throws {
        let world = try World()
        let (user, token) = try world.session("arn:aws:iam::123456789012:user/admin")
        var bytes = Array(token.utf8)
        bytes[10] = bytes[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let answer = try world.call("ListSecrets", "{}", as: user, token: String(decoding: bytes, as: UTF8.self))
        #expect(answer.type == "UnrecognizedClientException")
        #expect(SessionToken.open(token, key: SecureBytes(Array(repeating: 8, count: 32))) == nil)
        #expect(SessionToken.open(token, key: Self.signingKey)?.claims.principalArn == "arn:aws:iam::123456789012:user/admin")
        for junk in ["", "SRS1", "SRS1..", "SRS1.e30.AAAA", "XRS1.e30.AAAA", String(repeating: "A", count: 5000)] {
            #expect(SessionToken.open(junk, key: Self.signingKey) == nil)
        }
    }

    @Test func issueSessionChecksItsInput() throws {
        let world = try World()
        let config = world.configuration
        func refused(_ arn: String, name: String = "ok-name", seconds: Int64 = 3600) -> Bool {
            (try? config.issueSession(principalArn: arn, sessionName: name, durationSeconds: seconds, tags: [:], now: world.now,
                                      random: SeededRandomSource(seed: 1))) == nil
        }
        #expect(refused("arn:aws:iam::123456789012:user/nobody"))
        #expect(refused("arn:aws:iam::123456789012:user/admin", seconds: 899))
        #expect(refused("arn:aws:iam::123456789012:user/admin", seconds: 43_201))
        #expect(refused("arn:aws:iam::123456789012:user/admin", name: "x"))
        #expect(refused("arn:aws:iam::123456789012:user/admin", name: "has space"))
        #expect(!refused("arn:aws:iam::123456789012:user/admin"))
        let withoutKey = try IAMConfiguration(accounts: config.accounts)
        #expect((try? withoutKey.issueSession(principalArn: "arn:aws:iam::123456789012:user/admin", sessionName: "ok-name",
                                              durationSeconds: 3600, tags: [:], now: world.now, random: SeededRandomSource(seed: 1))) == nil)
    }

    @Test func everyRequestIsAuditedWithoutValues() throws {
        let world = try World()
        let token = String(repeating: "e", count: 32)
        _ = try world.call("CreateSecret", #"{"Name": "audited", "SecretString": "TOPSECRETVALUE", "ClientRequestToken": "\#(token)"}"#)
        _ = try world.call("GetSecretValue", #"{"SecretId": "audited"}"#)
        _ = try world.call("GetSecretValue", #"{"SecretId": "audited"}"#, as: Self.reader)
        let password = try #require(try world.call("GetRandomPassword", "{}").json["RandomPassword"]?.stringValue)
        _ = try world.call("NoSuchOperation", "{}")
        let events = world.sink.events.withLock { $0 }
        #expect(events.count == 5)
        let text = events.map { $0.serialized() }.joined(separator: "\n")
        #expect(!text.contains("TOPSECRETVALUE"))
        #expect(!text.contains(password))
        #expect(events[0]["eventName"] == .string("CreateSecret"))
        #expect(events[0]["readOnly"] == .bool(false))
        #expect(events[0]["requestParameters"]?["name"] == .string("audited"))
        #expect(events[0]["responseElements"]?["name"] == .string("audited"))
        #expect(events[1]["readOnly"] == .bool(true))
        #expect(events[1]["responseElements"] == .null)
        #expect(events[1]["userIdentity"]?["arn"] == .string("arn:aws:iam::123456789012:user/admin"))
        #expect(events[1]["userIdentity"]?["accessKeyId"] == .string(Self.admin.accessKeyId))
        #expect(events[2]["errorCode"] == .string("AccessDeniedException"))
        #expect(events[2]["userIdentity"]?["userName"] == .string("reader"))
        #expect(events[4]["errorCode"] == .string("UnknownOperationException"))
        for event in events {
            #expect(event["eventSource"] == .string("secretsmanager.amazonaws.com"))
            #expect(event["requestID"]?.stringValue?.count == 36)
            #expect(event["eventTime"]?.stringValue == "2015-08-30T12:36:00Z")
        }
    }

    @Test func aRequestThatCannotBeAuditedIsRefusedAndNotExecuted() throws {
        let world = try World()
        world.sink.failing.store(true, ordering: .relaxed)
        let answer = try world.call("CreateSecret", #"{"Name": "unaudited", "SecretString": "v", "ClientRequestToken": "\#(String(repeating: "f", count: 32))"}"#)
        #expect(answer.status == 500)
        #expect(answer.type == "InternalServiceError")
        #expect(world.storage.read { $0.lookup("unaudited", accountId: Self.owner, region: Fixture.region) }.value == nil)
        world.sink.failing.store(false, ordering: .relaxed)
        #expect(try world.call("CreateSecret", #"{"Name": "unaudited", "SecretString": "v", "ClientRequestToken": "\#(String(repeating: "f", count: 32))"}"#).status == 200)
    }

    @Test func identityPoliciesAreCheckedWhenTheFileIsLoaded() {
        let bad = Self.iamJSON.replacingOccurrences(of: #""Effect": "Allow", "Action": "secretsmanager:*""#,
                                                    with: #""Effect": "Maybe", "Action": "secretsmanager:*""#)
        #expect(throws: IAMConfigurationError.self) { try IAMConfiguration(json: Data(bad.utf8)) }
        let principal = Self.iamJSON.replacingOccurrences(of: #"{"Effect": "Allow", "Action": "secretsmanager:*""#,
                                                          with: #"{"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*""#)
        #expect(throws: IAMConfigurationError.self) { try IAMConfiguration(json: Data(principal.utf8)) }
        let org = Self.iamJSON.replacingOccurrences(of: "o-exampleorg1", with: "org-1")
        #expect(throws: IAMConfigurationError.self) { try IAMConfiguration(json: Data(org.utf8)) }
        let admins = Self.iamJSON.replacingOccurrences(of: #""admins": ["arn:aws:iam::123456789012:user/admin"]"#,
                                                       with: #""admins": ["arn:aws:iam::123456789012:user/ghost"]"#)
        #expect(throws: IAMConfigurationError.self) { try IAMConfiguration(json: Data(admins.utf8)) }
    }
}
