import Foundation
import Testing
import JSON
@testable import Cryptography

/// The keyring file read and written with the project's JSON parser and writer: what earlier
/// versions wrote still loads and is written back the same, and the mistakes the parser now
/// sees (a member given twice, an optional member of the wrong type) are refused by path.
@Suite struct KeyringFileTests {
    static let material = Data(repeating: 7, count: 32).base64EncodedString()

    /// A keyring file as earlier versions wrote it (JSONSerialization: `" : "`, '/' escaped).
    static let writtenByEarlierVersions = """
        {
          "keys" : [
            {
              "accountId" : "123456789012",
              "aliases" : [
                "alias\\/aws\\/secretsmanager"
              ],
              "description" : "Default key for Secrets Manager in account 123456789012",
              "keyId" : "0b4a9c3e-1111-4222-8333-944455556666",
              "material" : "\(material)",
              "region" : "us-east-1"
            },
            {
              "accountId" : "123456789012",
              "aliases" : [
                "alias\\/dev-shared"
              ],
              "allowedAccounts" : [
                "111122223333"
              ],
              "description" : "Customer key of 123456789012 shared with 111122223333",
              "keyId" : "1c5b0d4f-1111-4222-8333-944455556666",
              "material" : "\(material)",
              "region" : "us-east-1"
            }
          ]
        }
        """

    @Test func aFileOfAnEarlierVersionLoadsAndIsWrittenBackTheSame() throws {
        let ring = try Keyring(json: Data(Self.writtenByEarlierVersions.utf8))
        #expect(ring.keys.map(\.aliases) == [["alias/aws/secretsmanager"], ["alias/dev-shared"]])
        #expect(ring.keys[1].allowedAccounts == ["111122223333"] && ring.keys[0].allowedAccounts.isEmpty)
        #expect(ring.keys[0].description == "Default key for Secrets Manager in account 123456789012")
        #expect(ring.keys[1].material == SecureBytes(Array(repeating: 7, count: 32)))
        // Same members, order and values; only whitespace and the escaping of '/' differ.
        #expect(try JSONValue.parse(Array(ring.encoded())) == JSONValue.parse(Array(Self.writtenByEarlierVersions.utf8)))
        #expect(String(decoding: ring.encoded(), as: UTF8.self).hasPrefix("{\n  \"keys\": [\n    {\n      \"accountId\": "))
    }

    func key(_ extra: String) -> String {
        #"{"keyId": "k1", "accountId": "123456789012", "region": "us-east-1", "material": "\#(Self.material)""# + extra + "}"
    }

    @Test(arguments: [
        (#", "material": "\#(Data(repeating: 1, count: 32).base64EncodedString())""#, "keys[0].material: given twice"),
        (#", "keyId": "k2""#, "keys[0].keyId: given twice"),
        (#", "aliases": "alias/aws/secretsmanager""#, "keys[0].aliases: must be an array of alias names"),
        (#", "aliases": ["alias/a", 1]"#, "keys[0].aliases: must be an array of alias names"),
        (#", "allowedAccounts": "111122223333""#, "keys[0].allowedAccounts: must be an array of account ids"),
        (#", "allowedAccounts": [111122223333]"#, "keys[0].allowedAccounts: must be an array of account ids"),
        (#", "description": 5"#, "keys[0].description: must be a string"),
        (#", "accountId": 123456789012"#, "keys[0].accountId: given twice"),
    ])
    func keyMistakesAreRefusedByPath(extra: String, expected: String) {
        expectRefusal(#"{"keys": ["# + key(extra) + "]}", expected)
    }

    @Test(arguments: [
        ("[]", "not a JSON object"), ("\"keys\"", "not a JSON object"), ("{\"keys\": {}}", "'keys' must be an array of objects"),
        ("{\"keys\": [1]}", "'keys' must be an array of objects"), ("{\"keys\": [], \"keys\": []}", "keys: given twice"),
        ("{\"keys\": [}", "not a JSON object: invalid JSON at byte 10"), ("", "not a JSON object: invalid JSON at byte 0"),
        ("{\"keys\": [" + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "]}", "nesting deeper than 64"),
    ])
    func fileMistakesAreRefused(text: String, expected: String) {
        expectRefusal(text, expected)
    }

    @Test func anAccountIdGivenAsANumberIsRefused() {
        expectRefusal(#"{"keys": [{"keyId": "k1", "accountId": 123456789012, "region": "us-east-1", "material": "\#(Self.material)"}]}"#,
                      "keys[0].accountId: must be 12 digits")
    }

    func expectRefusal(_ text: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Keyring(json: Data(text.utf8))
            Issue.record("accepted \(text)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.message.contains(expected), "\(error.message)", sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
        }
    }
}
