import AWSTestSupport
import JSON
import Cryptography
import Foundation
import Testing
@testable import SecretsAPI

@Suite struct IAMConfigurationTests {
    func decode(_ json: String) throws(IAMConfigurationError) -> IAMConfiguration {
        try IAMConfiguration(json: Data(json.utf8))
    }

    /// A one-principal document with `principal` spliced in as the principal object's text.
    func document(principal: String, accountId: String = "123456789012") -> String {
        #"{"accounts": [{"accountId": "\#(accountId)", "principals": [\#(principal)]}]}"#
    }

    static let validPrincipal = #"{"type": "user", "name": "admin", "arn": "arn:aws:iam::123456789012:user/admin", "accessKeys": [{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "s3cr3t"}]}"#

    @Test func decodesTheDocumentedFormat() throws {
        let config = try Fixture.identities()
        let found = try #require(config.credentials(forAccessKeyId: Fixture.accessKeyId))
        #expect(found.principal == Principal(accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/admin",
                                             name: "admin", type: .user, tags: ["team": "platform"]))
        #expect(found.secretAccessKey == SecureBytes(Array(Fixture.secretAccessKey.utf8)))
        #expect(config.credentials(forAccessKeyId: "AKIAUNKNOWNKEY000000") == nil)
        let policies = config.policies(forPrincipalARN: "arn:aws:iam::123456789012:user/admin")
        #expect(policies.map(\.name) == ["admin"])
        let document = try JSONValue.parse(Array(try #require(policies.first).document))
        #expect(document["Version"] == .string("2012-10-17"))
    }

    @Test func encodeRoundTrips() throws {
        let config = try Fixture.identities()
        let again = try IAMConfiguration(json: config.encode())
        #expect(again.encode() == config.encode())
        let found = try #require(again.credentials(forAccessKeyId: Fixture.accessKeyId))
        #expect(found.principal.tags == ["team": "platform"])
        #expect(found.secretAccessKey == SecureBytes(Array(Fixture.secretAccessKey.utf8)))
        #expect(again.policies(forPrincipalARN: found.principal.arn).count == 1)
    }

    @Test func secretsNeverPrint() throws {
        let found = try #require(try Fixture.identities().credentials(forAccessKeyId: Fixture.accessKeyId))
        #expect(!"\(found.secretAccessKey)".contains("EXAMPLEKEY"))
    }

    @Test func rolesAndPathsAreAccepted() throws {
        let role = #"{"type": "role", "name": "deployer", "arn": "arn:aws:iam::123456789012:role/ci/deployer"}"#
        let config = try decode(document(principal: role))
        #expect(config.accounts[0].identities[0].principal.type == .role)
    }

    @Test(arguments: [
        // (document, expected error)
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a", "arn": "arn:aws:iam::123456789012:user/a", "accessKeys": [{"accessKeyId": "AKIAIOSFODNN7EXAMPLE"}]}]}]}"#,
         "accounts[0].principals[0].accessKeys[0].secretAccessKey: missing"),
        (#"{}"#, "accounts: missing"),
        (#"[]"#, "expected an object"),
        (#"{"accounts": {}}"#, "accounts: expected an array"),
        (#"{"accounts": [{"principals": []}]}"#, "accounts[0].accountId: missing"),
        (#"{"accounts": [{"accountId": 123456789012, "principals": []}]}"#, "accounts[0].accountId: expected a string"),
        (#"{"accounts": [{"accountId": "12345", "principals": []}]}"#, "accounts[0].accountId: must be exactly 12 digits"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": []}, {"accountId": "123456789012", "principals": []}]}"#,
         "accounts[1].accountId: duplicate account id (also at accounts[0])"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "group", "name": "a", "arn": "x"}]}]}"#,
         #"accounts[0].principals[0].type: must be "user" or "role", not "group""#),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a", "arn": "arn:aws:iam::210987654321:user/a"}]}]}"#,
         "accounts[0].principals[0].arn: must be arn:aws:iam::123456789012:user/a (optionally with a path before the name)"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a", "arn": "arn:aws:iam::123456789012:user/b"}]}]}"#,
         "accounts[0].principals[0].arn: must be arn:aws:iam::123456789012:user/a (optionally with a path before the name)"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a b", "arn": "arn:aws:iam::123456789012:user/a b"}]}]}"#,
         "accounts[0].principals[0].name: must be 1 to 64 characters of letters, digits and +=,.@_-"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a", "arn": "arn:aws:iam::123456789012:user/a", "accessKeys": [{"accessKeyId": "akiaiosfodnn7example", "secretAccessKey": "x"}]}]}]}"#,
         "accounts[0].principals[0].accessKeys[0].accessKeyId: must be 16 to 128 upper-case letters and digits"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a", "arn": "arn:aws:iam::123456789012:user/a", "accessKeys": [{"accessKeyId": "AKIASHORT", "secretAccessKey": "x"}]}]}]}"#,
         "accounts[0].principals[0].accessKeys[0].accessKeyId: must be 16 to 128 upper-case letters and digits"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a", "arn": "arn:aws:iam::123456789012:user/a", "accessKeys": [{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": ""}]}]}]}"#,
         "accounts[0].principals[0].accessKeys[0].secretAccessKey: must not be empty"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a", "arn": "arn:aws:iam::123456789012:user/a", "policies": [{"name": "p", "document": "Allow"}]}]}]}"#,
         "accounts[0].principals[0].policies[0].document: expected an object"),
        (#"{"accounts": [{"accountId": "123456789012", "principals": [{"type": "user", "name": "a", "arn": "arn:aws:iam::123456789012:user/a", "tags": {"team": 1}}]}]}"#,
         "accounts[0].principals[0].tags.team: expected a string"),
        (#"{"accounts": [}"#, "not valid JSON (invalid JSON at byte 14: unexpected character)"),
    ])
    func decodingErrorsNameThePath(_ json: String, _ expected: String) {
        #expect(throws: IAMConfigurationError.self) { try self.decode(json) }
        do {
            _ = try decode(json)
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func accessKeyIdsAreUniqueAcrossTheFile() {
        let other = #"{"type": "user", "name": "ops", "arn": "arn:aws:iam::210987654321:user/ops", "accessKeys": [{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "x"}]}"#
        let json = #"{"accounts": [{"accountId": "123456789012", "principals": [\#(Self.validPrincipal)]}, {"accountId": "210987654321", "principals": [\#(other)]}]}"#
        #expect(throws: IAMConfigurationError(
            path: "accounts[1].principals[0].accessKeys[0].accessKeyId",
            message: "duplicate access key id (also at accounts[0].principals[0].accessKeys[0])"
        )) { try self.decode(json) }
    }
}
