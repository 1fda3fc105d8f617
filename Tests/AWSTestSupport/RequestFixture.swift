public import AWSProtocol
import Cryptography
public import Foundation
import SigV4

/// Requests as botocore shapes them, and the credentials they are signed with: shared by the
/// SigV4 and the SecretsAPI tests.
public enum RequestFixture {
    public static let region = "us-east-1"
    public static let accessKeyId = "AKIAIOSFODNN7EXAMPLE"
    public static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    /// 2015-08-30T12:36:00Z.
    public static let now = AWSTimestamp.parseBasic("20150830T123600Z")!

    /// An unsigned Secrets Manager call as botocore shapes it.
    public static func call(_ operation: String?, body: String = "{}", extraHeaders: [(name: String, value: String)] = []) -> AWSRequest {
        var headers: [(name: String, value: String)] = [
            (name: "Host", value: "secretsmanager.us-east-1.amazonaws.com"),
            (name: "Content-Type", value: "application/x-amz-json-1.1"),
        ]
        if let operation { headers.append((name: "X-Amz-Target", value: "secretsmanager.\(operation)")) }
        headers += extraHeaders
        return AWSRequest(method: "POST", path: "/", headers: headers, body: Array(body.utf8), sourceIP: "127.0.0.1")
    }

    /// The same call, signed with the fixture's credentials at `at`.
    public static func signed(
        _ operation: String?, body: String = "{}", at: Date = now, region: String = region,
        service: String = "secretsmanager", accessKeyId: String = accessKeyId, secret: String = secretAccessKey
    ) -> AWSRequest {
        SigV4.sign(
            call(operation, body: body), accessKeyId: accessKeyId, secretAccessKey: SecureBytes(Array(secret.utf8)),
            region: region, service: service, now: at
        )
    }
}
