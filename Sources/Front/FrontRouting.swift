import Foundation
package import HTTP1
import JSON
package import AWSProtocol
import SigV4

/// The front's decisions that need no socket: which region a request is for, and the answers it
/// gives itself (AWS JSON errors, as a node gives them).
package enum FrontRouting {
    /// The error for a region the front has no route to: the text AWS (and a node) gives for a
    /// credential scoped to another region.
    package static func unknownRegion(_ region: String) -> AWSError {
        AWSError(.invalidSignature, "Credential should be scoped to a valid region. ")
    }

    /// A node that cannot be reached, failed in the middle, or did not answer in time. Not one of
    /// Secrets Manager's modeled errors: AWS's frontends send this type with 503, which SDKs retry.
    package static let serviceUnavailable = AWSError.Code(type: "ServiceUnavailableException", status: 503)

    /// The region the request's SigV4 credential scope names (header or query form).
    /// - Throws: the `AWSError` a node answers for missing or malformed authentication
    ///   (`MissingAuthenticationTokenException`, `IncompleteSignatureException`, …).
    package static func region(of request: HTTPRequest) throws(AWSError) -> String {
        let (path, query) = request.pathAndQuery
        // The body is not needed to read the scope: not copied.
        let awsRequest = AWSRequest(method: request.method, path: path, query: query,
                                    headers: request.headers.map { (name: $0.name, value: $0.value) })
        return try SigV4.credentialRegion(of: awsRequest)
    }

    /// The front's own answer for `error`, shaped as a node's.
    package static func response(for error: AWSError) -> HTTPResponse { error.httpResponse() }

    /// The answer to a request that is not valid HTTP/1.1, as a node gives it.
    package static func response(for error: HTTPParseError) -> HTTPResponse {
        let body = JSONValue.object([(key: "message", value: .string(error.reason))]).serializedBytes()
        return HTTPResponse(status: error.status, headers: [(name: "Content-Type", value: "application/json"),
                                                            (name: "Date", value: HTTPDate.format(epochSeconds: Int(Date().timeIntervalSince1970)))], body: body)
    }
}
