/// AWS JSON 1.1, the protocol Secrets Manager speaks: `POST /`, the operation in `X-Amz-Target`,
/// JSON bodies both ways.
public enum AWSJSON {
    /// The media type of requests and answers, errors included.
    public static let contentType = "application/x-amz-json-1.1"
}
