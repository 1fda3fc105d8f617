import Foundation
public import HTTP1
import JSON

extension AWSError {
    /// The error as an HTTP answer of a process that does not run the service itself (the
    /// front, a standby forwarding a write): AWS JSON 1.1's error body, a request id of its own
    /// and the date.
    public func httpResponse() -> HTTPResponse {
        HTTPResponse(
            status: code.status,
            headers: [
                (name: "x-amzn-RequestId", value: UUID().uuidString.lowercased()),
                (name: "Content-Type", value: AWSJSON.contentType),
                (name: "Date", value: HTTPDate.format(epochSeconds: Int(Date().timeIntervalSince1970))),
            ],
            body: body.serializedBytes()
        )
    }
}
