import AWSProtocol
import AWSTestSupport
import Foundation

/// The shared request fixture, under the name these tests use.
typealias Fixture = RequestFixture

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
