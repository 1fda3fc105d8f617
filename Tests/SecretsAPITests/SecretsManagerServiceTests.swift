import AWSTestSupport
import JSON
import Cryptography
import Foundation
import Testing
@testable import SecretsAPI
import AWSProtocol

@Suite struct SecretsManagerServiceTests {
    func answer(_ request: AWSRequest, now: Date = Fixture.now, service: SecretsManagerService? = nil) throws -> (AWSResponse, Answer) {
        let response = try (service ?? Fixture.service()).handle(request, now: now)
        return (response, try Answer(response))
    }

    func expectError(_ request: AWSRequest, status: Int, type: String, message: String?,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (response, a) = try answer(request)
        #expect(a.status == status, sourceLocation: sourceLocation)
        #expect(a.type == type, sourceLocation: sourceLocation)
        #expect(a.message == message, sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/x-amz-json-1.1", sourceLocation: sourceLocation)
        #expect(response.header("x-amzn-RequestId") != nil, sourceLocation: sourceLocation)
    }

    // MARK: Round trips

    @Test func getRandomPasswordRoundTrip() throws {
        let (response, a) = try answer(Fixture.signed("GetRandomPassword", body: #"{"PasswordLength": 20, "ExcludePunctuation": true}"#))
        #expect(a.status == 200)
        let password = try #require(a.json["RandomPassword"]?.stringValue)
        #expect(password.count == 20)
        #expect(password.allSatisfy { $0.isLetter || $0.isNumber })
        #expect(response.header("Content-Type") == "application/x-amz-json-1.1")
        #expect(a.json["__type"] == nil)
    }

    @Test func emptyBodyMeansDefaults() throws {
        let (_, a) = try answer(Fixture.signed("GetRandomPassword", body: ""))
        #expect(a.status == 200)
        #expect(a.json["RandomPassword"]?.stringValue?.count == 32)
    }

    @Test func unknownMembersAreIgnoredAndNullIsAbsent() throws {
        let (_, a) = try answer(Fixture.signed("GetRandomPassword", body: #"{"Whatever": [1, 2], "PasswordLength": null}"#))
        #expect(a.status == 200)
        #expect(a.json["RandomPassword"]?.stringValue?.count == 32)
    }

    @Test func sameSeedSameAnswer() throws {
        let request = Fixture.signed("GetRandomPassword")
        let first = try Fixture.service(seed: 7).handle(request, now: Fixture.now)
        let second = try Fixture.service(seed: 7).handle(request, now: Fixture.now)
        #expect(first.body == second.body)
        #expect(first.header("x-amzn-RequestId") == second.header("x-amzn-RequestId"))
    }

    @Test func requestIdsAreVersion4UUIDs() throws {
        let service = try Fixture.service()
        var seen = Set<String>()
        for _ in 0..<50 {
            let id = try #require(service.handle(Fixture.signed("GetRandomPassword"), now: Fixture.now).header("x-amzn-RequestId"))
            let parts = id.split(separator: "-")
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
            #expect(id == id.lowercased())
            #expect(parts[2].first == "4")
            #expect("89ab".contains(parts[3].first!))
            seen.insert(id)
        }
        #expect(seen.count == 50)
    }

    @Test func impossiblePasswordRequest() throws {
        try expectError(Fixture.signed("GetRandomPassword", body: #"{"PasswordLength": 3}"#), status: 400,
                        type: "InvalidParameterException", message: "Password length is too short based on the required types.")
    }

    @Test func randomFailureIsAServerError() throws {
        let service = SecretsManagerService(region: Fixture.region, identities: try Fixture.identities(), random: FailingRandomSource())
        let (response, a) = try answer(Fixture.signed("GetRandomPassword"), service: service)
        #expect(a.status == 500)
        #expect(a.type == "InternalServiceError")
        #expect(response.header("x-amzn-RequestId") == "00000000-0000-4000-8000-000000000000")
    }

    /// Every other operation of the model answers honestly that it is not there yet, after
    /// authentication and validation.
    @Test(arguments: ServiceModel.secretsManager.operations.map(\.name).filter { $0 != "GetRandomPassword" })
    func notYetAvailableOperations(_ operation: String) throws {
        let bodies: [String: String] = [
            "PutResourcePolicy": #"{"SecretId": "s", "ResourcePolicy": "{}"}"#,
            "RemoveRegionsFromReplication": #"{"SecretId": "s", "RemoveReplicaRegions": ["eu-west-1"]}"#,
            "ReplicateSecretToRegions": #"{"SecretId": "s", "AddReplicaRegions": [{"Region": "eu-west-1"}]}"#,
            "TagResource": #"{"SecretId": "s", "Tags": []}"#,
            "UntagResource": #"{"SecretId": "s", "TagKeys": []}"#,
            "UpdateSecretVersionStage": #"{"SecretId": "s", "VersionStage": "AWSCURRENT"}"#,
            "ValidateResourcePolicy": #"{"ResourcePolicy": "{}"}"#,
            "CreateSecret": #"{"Name": "s"}"#,
            "BatchGetSecretValue": "{}",
            "ListSecrets": "{}",
        ]
        try expectError(Fixture.signed(operation, body: bodies[operation] ?? #"{"SecretId": "s"}"#), status: 400,
                        type: "InvalidRequestException", message: "\(operation) is not available on this Strongroom node yet.")
    }

    @Test func theModelHas23Operations() {
        #expect(ServiceModel.secretsManager.operations.count == 23)
        #expect(OperationTable.standard.implements("GetRandomPassword"))
    }

    @Test func identitiesCanBeReplaced() throws {
        let service = try Fixture.service()
        service.replaceIdentities(IAMConfiguration())
        let (_, a) = try answer(Fixture.signed("GetRandomPassword"), service: service)
        #expect(a.type == "UnrecognizedClientException")
        service.replaceIdentities(try Fixture.identities())
        #expect(try answer(Fixture.signed("GetRandomPassword"), service: service).1.status == 200)
    }

    // MARK: Protocol errors

    @Test(arguments: [("GET", "/"), ("PUT", "/"), ("POST", "/other"), ("DELETE", "/")])
    func onlyPostSlashIsTheProtocol(_ method: String, _ path: String) throws {
        var request = Fixture.call("GetRandomPassword")
        request.method = method
        request.path = path
        try expectError(request, status: 403, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token")
        var signed = Fixture.signed("GetRandomPassword")
        signed.method = method
        signed.path = path
        try expectError(signed, status: 403, type: "AccessDeniedException", message: "Unable to determine service/operation name to be authorized")
    }

    @Test func wrongContentTypeIsNotTheProtocol() throws {
        var request = Fixture.call("GetRandomPassword")
        request.headers = request.headers.map { $0.name == "Content-Type" ? (name: $0.name, value: "text/plain") : $0 }
        try expectError(request, status: 403, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token")
    }

    @Test(arguments: [nil, "GetSecretValues", "dynamodb.ListTables", "secretsmanager.", "SecretsManager.GetRandomPassword"] as [String?])
    func unknownOperation(_ target: String?) throws {
        var request = Fixture.call(nil)
        if let target { request.headers.append((name: "X-Amz-Target", value: target)) }
        try expectError(request, status: 400, type: "UnknownOperationException", message: nil)
    }

    @Test func unknownOperationIsCheckedBeforeAuthentication() throws {
        var request = Fixture.call(nil)
        request.headers.append((name: "X-Amz-Target", value: "secretsmanager.Nope"))
        try expectError(request, status: 400, type: "UnknownOperationException", message: nil)
    }

    @Test func authenticationIsRequired() throws {
        try expectError(Fixture.call("GetRandomPassword"), status: 400, type: "MissingAuthenticationTokenException",
                        message: "Missing Authentication Token")
        try expectError(Fixture.signed("GetRandomPassword", accessKeyId: "AKIAUNKNOWNKEY000000"), status: 400,
                        type: "UnrecognizedClientException", message: "The security token included in the request is invalid.")
        try expectError(Fixture.signed("GetRandomPassword", region: "eu-west-1"), status: 400,
                        type: "InvalidSignatureException", message: "Credential should be scoped to a valid region. ")
        let (_, late) = try answer(Fixture.signed("GetRandomPassword"), now: Fixture.now.addingTimeInterval(25 * 60))
        #expect(late.type == "InvalidSignatureException")
        #expect(late.message == "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z (20150830T130100Z - 15 min.)")
    }

    @Test(arguments: ["{", "hi", "{\"a\":}", "[1,", "\u{FF}"])
    func malformedJSON(_ body: String) throws {
        try expectError(Fixture.signed("GetRandomPassword", body: body), status: 400, type: "SerializationException", message: nil)
    }

    @Test(arguments: [
        (#"[]"#, "Start of list found where not expected"),
        (#""text""#, "Expected null"),
        (#"{"PasswordLength": "32"}"#, "STRING_VALUE can not be converted to a Long"),
        (#"{"PasswordLength": true}"#, "TRUE_VALUE can not be converted to a Long"),
        (#"{"PasswordLength": [32]}"#, "Start of list found where not expected"),
        (#"{"PasswordLength": {"n": 32}}"#, "Start of structure or map found where not expected."),
        (#"{"PasswordLength": 1e30}"#, "NUMBER_VALUE can not be converted to a Long"),
        (#"{"PasswordLength": -3.7}"#, "NUMBER_VALUE can not be converted to a Long"),
        (#"{"PasswordLength": 10.5}"#, "NUMBER_VALUE can not be converted to a Long"),
        (#"{"ExcludeNumbers": "true"}"#, "STRING_VALUE can not be converted to a Boolean"),
        (#"{"ExcludeNumbers": 1}"#, "NUMBER_VALUE can not be converted to a Boolean"),
        (#"{"ExcludeCharacters": 5}"#, "NUMBER_VALUE can not be converted to a String"),
        (#"{"ExcludeCharacters": false}"#, "FALSE_VALUE can not be converted to a String"),
    ])
    func wrongJSONTypes(_ body: String, _ message: String) throws {
        try expectError(Fixture.signed("GetRandomPassword", body: body), status: 400, type: "SerializationException", message: message)
    }

    @Test func aFractionalMaxResultsIsNotTruncated() throws {
        try expectError(Fixture.signed("ListSecrets", body: #"{"MaxResults": 10.5}"#), status: 400,
                        type: "SerializationException", message: "NUMBER_VALUE can not be converted to an Integer")
    }

    @Test func serializationBeatsValidation() throws {
        try expectError(Fixture.signed("GetSecretValue", body: #"{"VersionId": 1}"#), status: 400,
                        type: "SerializationException", message: "NUMBER_VALUE can not be converted to a String")
    }

    @Test(arguments: [
        ("GetSecretValue", "{}", "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"),
        ("GetSecretValue", #"{"SecretId": null}"#, "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"),
        ("PutResourcePolicy", "{}", "2 validation errors detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null; Value null at 'resourcePolicy' failed to satisfy constraint: Member must not be null"),
        ("GetRandomPassword", #"{"PasswordLength": 5000}"#, "1 validation error detected: Value '5000' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096"),
        ("GetRandomPassword", #"{"PasswordLength": 0}"#, "1 validation error detected: Value '0' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        ("GetSecretValue", #"{"SecretId": ""}"#, "1 validation error detected: Value '' at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ("GetSecretValue", #"{"SecretId": "s", "VersionId": "short"}"#, "1 validation error detected: Value 'short' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32"),
        ("ListSecrets", #"{"MaxResults": 101, "SortOrder": "up"}"#, "2 validation errors detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100; Value 'up' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]"),
        ("PutSecretValue", #"{"SecretId": "s", "SecretString": ""}"#, "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ("RemoveRegionsFromReplication", #"{"SecretId": "s", "RemoveReplicaRegions": ["EU"]}"#, #"1 validation error detected: Value 'EU' at 'removeReplicaRegions.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-)+\d+$"#),
        ("RemoveRegionsFromReplication", #"{"SecretId": "s", "RemoveReplicaRegions": []}"#, "1 validation error detected: Value '[]' at 'removeReplicaRegions' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        ("RotateSecret", #"{"SecretId": "s", "RotationRules": {"AutomaticallyAfterDays": 0}}"#, "1 validation error detected: Value '0' at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        ("CreateSecret", #"{"Name": "n", "SecretBinary": "AAAA", "Tags": [{"Key": ""}]}"#, "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    ])
    func validationErrors(_ operation: String, _ body: String, _ message: String) throws {
        try expectError(Fixture.signed(operation, body: body), status: 400, type: "ValidationException", message: message)
    }

    @Test func secretIdMaximumLength() throws {
        let id = String(repeating: "a", count: 2049)
        try expectError(Fixture.signed("DescribeSecret", body: #"{"SecretId": "\#(id)"}"#), status: 400, type: "ValidationException",
                        message: "1 validation error detected: Value '\(id)' at 'secretId' failed to satisfy constraint: Member must have length less than or equal to 2048")
    }

    @Test func invalidBase64BlobIsASerializationError() throws {
        let (_, a) = try answer(Fixture.signed("CreateSecret", body: #"{"Name": "n", "SecretBinary": "not base64!"}"#))
        #expect(a.type == "SerializationException")
    }
}

@Suite struct AWSRequestHeaderTests {
    @Test(arguments: [("Content-Type", "content-type", true), ("X-Amz-Date", "x-amz-datE", true), ("a", "A", true),
                      ("[", "{", false), ("@", "`", false), ("Host", "Hos", false), ("Hóst", "hóst", true), ("é", "É", false)])
    func namesCompareIgnoringASCIICase(_ a: String, _ b: String, _ same: Bool) {
        #expect(AWSRequest.sameName(a, b) == same)
        let request = AWSRequest(method: "POST", path: "/", headers: [(name: a, value: "v")])
        #expect((request.header(b) != nil) == same)
    }
}

@Suite struct MediaTypeTests {
    @Test(arguments: [
        ("application/x-amz-json-1.1", true), ("Application/X-Amz-JSON-1.1", true),
        ("application/x-amz-json-1.1; charset=utf-8", true), (" \tapplication/x-amz-json-1.1 ;x", true),
        ("application/x-amz-json-1.0", false), ("application/x-amz-json-1.1x", false), ("", false),
        ("application/x-amz-json-1.", false), ("text/plain", false), (";application/x-amz-json-1.1", false),
    ])
    func jsonMediaType(_ value: String, _ accepted: Bool) {
        #expect(SecretsManagerService.isJSONMediaType(value) == accepted)
    }

    @Test func absentContentTypeIsRefused() {
        #expect(!SecretsManagerService.isJSONMediaType(nil))
    }
}

@Suite struct AuditMemberNameTests {
    @Test(arguments: [("SecretId", "secretId"), ("ARN", "arn"), ("KMSKeyId", "kmsKeyId"), ("A", "a"), ("", ""),
                      ("ClientRequestToken", "clientRequestToken"), ("already", "already"), ("_X", "_x"), ("ÉTat", "éTat")])
    func examples(_ name: String, _ expected: String) {
        #expect(AuditFacts.camelCase(name) == expected)
    }

    /// The byte path gives what the Character path gives, for any ASCII name.
    @Test func bytePathMatchesCharacterPath() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("AbZz0_-KMS")
        for _ in 0..<3000 {
            let name = String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            #expect(AuditFacts.camelCase(name) == AuditFacts.camelCaseCharacters(name), "\(name)")
        }
    }
}

@Suite struct ARNAccountTests {
    static func reference(_ secretId: String) -> String? {
        let parts = secretId.split(separator: ":", maxSplits: 6, omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0] == "arn", parts[2] == "secretsmanager", parts[4].utf8.count == 12 else { return nil }
        return String(parts[4])
    }

    @Test(arguments: [
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", "123456789012"),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:a:b:c", "123456789012"),
        ("arn:aws:secretsmanager:us-east-1:12345678901:secret:x", nil), ("arn:aws:kms:us-east-1:123456789012:key/k", nil),
        ("prod/db", nil), ("arn:aws:secretsmanager:us-east-1:123456789012", nil), ("", nil),
    ] as [(String, String?)])
    func examples(_ id: String, _ expected: String?) {
        #expect(SecretsOperations.arnAccount(id) == expected)
    }

    @Test func matchesTheSplitReference() {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["arn", "aws", "secretsmanager", "us-east-1", "123456789012", "1234", "secret", "x", "", ":", "é"]
        for _ in 0..<5000 {
            let id = (0..<Int.random(in: 0...9, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }
                .joined(separator: Bool.random(using: &rng) ? ":" : "")
            #expect(SecretsOperations.arnAccount(id) == Self.reference(id), "\(id)")
        }
    }
}
