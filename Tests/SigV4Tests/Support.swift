import AWSProtocol
import Cryptography
import Foundation
import SigV4

/// Requests as botocore shapes them, and the credentials they are signed with.
enum Fixture {
    static let region = "us-east-1"
    static let accessKeyId = "AKIAIOSFODNN7EXAMPLE"
    static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    /// 2015-08-30T12:36:00Z.
    static let now = AWSTimestamp.parseBasic("20150830T123600Z")!

    /// An unsigned Secrets Manager call as botocore shapes it.
    static func call(_ operation: String?, body: String = "{}", extraHeaders: [(name: String, value: String)] = []) -> AWSRequest {
        var headers: [(name: String, value: String)] = [
            (name: "Host", value: "secretsmanager.us-east-1.amazonaws.com"),
            (name: "Content-Type", value: "application/x-amz-json-1.1"),
        ]
        if let operation { headers.append((name: "X-Amz-Target", value: "secretsmanager.\(operation)")) }
        headers += extraHeaders
        return AWSRequest(method: "POST", path: "/", headers: headers, body: Array(body.utf8), sourceIP: "127.0.0.1")
    }

    /// The same call, signed with the fixture's credentials at `at`.
    static func signed(
        _ operation: String?, body: String = "{}", at: Date = now, region: String = region,
        service: String = "secretsmanager", accessKeyId: String = accessKeyId, secret: String = secretAccessKey
    ) -> AWSRequest {
        SigV4.sign(
            call(operation, body: body), accessKeyId: accessKeyId, secretAccessKey: SecureBytes(Array(secret.utf8)),
            region: region, service: service, now: at
        )
    }
}

/// Parses a test-suite `.req` file: request line, `Name:value` header lines (optional whitespace
/// after the colon removed as an HTTP parser does), a blank line, then the body.
func parseTestSuiteRequest(_ text: String) -> AWSRequest {
    let (head, body): (Substring, Substring)
    if let range = text.range(of: "\n\n") {
        head = text[..<range.lowerBound]
        body = text[range.upperBound...]
    } else {
        head = text[...]
        body = ""
    }
    var lines = head.split(separator: "\n", omittingEmptySubsequences: false)
    let requestLine = lines.removeFirst()
    let method = requestLine.prefix { $0 != " " }
    let target = requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count)
    let path: Substring
    let query: Substring
    if let q = target.firstIndex(of: "?") {
        path = target[..<q]
        query = target[target.index(after: q)...]
    } else {
        path = target
        query = ""
    }
    let headers = lines.map { line -> (name: String, value: String) in
        let colon = line.firstIndex(of: ":")!
        let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
        return (name: String(line[..<colon]), value: String(value))
    }
    return AWSRequest(method: String(method), path: String(path), query: String(query), headers: headers, body: Array(body.utf8))
}
