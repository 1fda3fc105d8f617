import Cryptography
import Foundation
@testable import LoadGenerator
import Platform
import Testing
import TestSupport
import AWSProtocol
import SigV4

@Suite struct RequestSignerTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    /// What the reference implementation produces for the same call.
    func reference(target: String, body: [UInt8], host: String, now: Date) -> AWSRequest {
        let request = AWSRequest(
            method: "POST", path: "/",
            headers: [(name: "Host", value: host), (name: "Content-Type", value: RequestSigner.contentType),
                      (name: "X-Amz-Target", value: target)],
            body: body
        )
        return SigV4.sign(request, accessKeyId: "AKIDEXAMPLE", secretAccessKey: SecureBytes(Array(Self.secret.utf8)),
                          region: "eu-west-1", service: "secretsmanager", now: now)
    }

    @Test func signsExactlyAsTheReferenceImplementationAcrossSecondsAndDays() {
        var random = SplitMix64(seed: 3)
        let host = "127.0.0.1:7443"
        var signer = RequestSigner(accessKeyId: "AKIDEXAMPLE", secretAccessKey: SecureBytes(Array(Self.secret.utf8)),
                                   region: "eu-west-1", service: "secretsmanager", host: host)
        // 23:59:58 on one day, then across midnight: the cached date and key must both move on.
        var now = Date(timeIntervalSince1970: 1_767_225_598.25)
        for i in 0..<200 {
            let target = ["secretsmanager.GetSecretValue", "secretsmanager.PutSecretValue", "secretsmanager.ListSecrets"][i % 3]
            let body = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 32...126, using: &random) }
            let (amzDate, authorization) = signer.sign(target: target, body: body, now: now)
            let expected = reference(target: target, body: body, host: host, now: now)
            #expect(String(decoding: amzDate, as: UTF8.self) == expected.header("X-Amz-Date"))
            #expect(String(decoding: authorization, as: UTF8.self) == expected.header("Authorization"))
            now += Double.random(in: 0...0.05, using: &random)
        }
        #expect(now.timeIntervalSince1970 > 1_767_225_600, "the run crossed midnight")
    }

    @Test func theBuiltRequestVerifies() throws {
        var options = LoadOptions(url: TargetURL("http://127.0.0.1:9000")!, workload: .smPut)
        options.accessKey = "AKIDEXAMPLE"
        options.secretKey = Self.secret
        options.region = "eu-west-1"
        var builder = RequestBuilder(options: options, thread: 0)
        let bytes = builder.next()
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let lines = parts[0].components(separatedBy: "\r\n")
        #expect(lines[0] == "POST / HTTP/1.1")
        let headers = lines.dropFirst().map { line -> (name: String, value: String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        #expect(headers.first { $0.name == "Content-Length" }?.value == String(parts[1].utf8.count))
        let request = AWSRequest(method: "POST", path: "/", headers: headers, body: Array(parts[1].utf8))
        let verified = try SigV4.Verifier(region: "eu-west-1", service: "secretsmanager").verify(request, now: Date()) { id, _ in
            id == "AKIDEXAMPLE" ? SecureBytes(Array(Self.secret.utf8)) : nil
        }
        #expect(verified.accessKeyId == "AKIDEXAMPLE")
    }
}
