public import Cryptography
public import Foundation
import HTTP1
import JSON
public import Platform
import SecretsAPI
import TLS
import Links
import AWSProtocol
import SigV4

/// The client of `strongroom status`: one SigV4-signed `Strongroom.GetNodeStatus` call over
/// TLS to a node, answered with the node's status document (see `ReplicationService.status()`).
///
/// It is a plain blocking call on the caller's thread (one request, `Connection: close`): the
/// command runs it once and exits. Signing is `SigV4.sign`, the reference signer the server's
/// verifier is tested against; the stream is the replication links' `TLSStream`; the response is
/// read by `HTTPResponseReader`, as the front proxy reads a node's.
public struct NodeStatusClient: Sendable {
    /// AWS credentials, as the SDKs read them from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
    /// and `AWS_SESSION_TOKEN`.
    public struct Credentials: Sendable {
        public var accessKeyId: String
        public var secretAccessKey: SecureBytes
        /// The session token of temporary credentials (`strongroom iam issue-session`).
        public var sessionToken: String?

        public init(accessKeyId: String, secretAccessKey: SecureBytes, sessionToken: String? = nil) {
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// The node's URL; https only (nodes serve nothing else).
    public var endpoint: TargetURL
    /// The PEM CA bundle the node's certificate must chain to.
    public var caBundle: String
    public var credentials: Credentials
    /// The region in the credential scope.
    public var region: String
    /// Seconds allowed for the whole call: connect, handshake, request and response.
    public var timeout: Double

    /// The largest status document accepted; a node's is a few hundred bytes per region.
    public static let maximumResponseBytes = 1 << 20
    /// The operation called, as `X-Amz-Target`.
    public static let target = "Strongroom.GetNodeStatus"

    public init(endpoint: TargetURL, caBundle: String, credentials: Credentials, region: String, timeout: Double = 10) {
        self.endpoint = endpoint
        self.caBundle = caBundle
        self.credentials = credentials
        self.region = region
        self.timeout = timeout
    }

    /// Calls `Strongroom.GetNodeStatus`.
    ///
    /// - Parameter now: the signing time.
    /// - Returns: the response body exactly as the node sent it (a JSON object).
    /// - Throws: `NodeStatusError` with code `.connection` when the node cannot be reached or
    ///   answers something that is not an HTTP response, `.configuration` for a CA bundle that
    ///   cannot be used or an http URL, `.service` for an AWS error answer (its `__type` and
    ///   message).
    public func fetch(now: Date) throws(NodeStatusError) -> [UInt8] {
        try call(Self.target, body: Array("{}".utf8), now: now)
    }

    /// Calls the Strongroom operation `target` (`Strongroom.<Operation>`) with the JSON `body`.
    ///
    /// - Returns: the response body exactly as the node sent it (a JSON object).
    /// - Throws: as ``fetch(now:)``.
    public func call(_ target: String, body requestBody: [UInt8], now: Date) throws(NodeStatusError) -> [UInt8] {
        guard endpoint.isTLS else {
            throw NodeStatusError(.configuration, "\(endpoint.authority): nodes serve https only; use an https:// endpoint")
        }
        let context: TLSContext
        do {
            context = try TLSContext.client(trustedCAFile: caBundle, minimumVersion: .tls12)
        } catch {
            throw NodeStatusError(.configuration, "CA bundle: \(error)")
        }
        let request = Self.requestBytes(signedRequest(target: target, body: requestBody, now: now))
        let deadline = MonotonicClock.seconds() + timeout
        let stream: TLSStream
        do {
            stream = try TLSStream.connect(to: endpoint.address, context: context, expectedPeerIP: nil,
                                           expectedHostName: endpoint.host, timeout: timeout)
        } catch {
            throw NodeStatusError(.connection, error.message)
        }
        defer { stream.close() }
        do {
            try stream.write(request, timeout: max(0, deadline - MonotonicClock.seconds()))
        } catch {
            throw NodeStatusError(.connection, error.message)
        }
        let response = try readResponse(from: stream, deadline: deadline)
        let body = response.bodyPrefix
        guard response.isSuccess else { throw Self.serviceError(status: response.status, body: body) }
        guard response.bodyBytes == body.count, case .object = try? JSONValue.parse(body) else {
            throw NodeStatusError(.connection, "\(endpoint.authority): the answer is not a JSON document")
        }
        return body
    }

    /// `POST /` with the AWS JSON 1.1 headers and `body`, signed (all headers present are).
    func signedRequest(target: String = Self.target, body: [UInt8] = Array("{}".utf8), now: Date) -> AWSRequest {
        let request = AWSRequest(method: "POST", path: "/", headers: [
            (name: "Host", value: endpoint.authority),
            (name: "Content-Type", value: "application/x-amz-json-1.1"),
            (name: "X-Amz-Target", value: target),
        ], body: body)
        return SigV4.sign(request, accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey,
                          region: region, service: "secretsmanager", now: now, sessionToken: credentials.sessionToken)
    }

    /// The HTTP/1.1 request: the signed headers, then the framing ones (not signed, as SDKs do).
    static func requestBytes(_ request: AWSRequest) -> [UInt8] {
        var text = "\(request.method) \(request.path) HTTP/1.1\r\n"
        for (name, value) in request.headers { text += "\(name): \(value)\r\n" }
        text += "Content-Length: \(request.body.count)\r\nConnection: close\r\n\r\n"
        return Array(text.utf8) + request.body
    }

    /// Reads until one response is complete (or the node closes after a close-delimited one),
    /// keeping its body; what follows it is ignored (the request said `Connection: close`).
    func readResponse(from stream: TLSStream, deadline: Double) throws(NodeStatusError) -> HTTPResponseSummary {
        var reader = HTTPResponseReader(
            parser: HTTPResponseParser(captureLimit: Self.maximumResponseBytes, captureSuccessBodies: true),
            byteLimit: Self.maximumResponseBytes + HTTPResponseParser.Limits().headBytes
        )
        do {
            return try reader.read(from: stream, deadline: deadline).response
        } catch {
            switch error.kind {
            case .timedOut, .link, .delivery:
                throw NodeStatusError(.connection, error.message)
            case .closedWithoutAnswer:
                throw NodeStatusError(.connection, "\(endpoint.authority) closed the connection without answering")
            case .tooLong:
                throw NodeStatusError(.connection, "\(endpoint.authority): the answer is longer than \(Self.maximumResponseBytes) bytes")
            case .closedMidResponse, .malformed:
                throw NodeStatusError(.connection, "\(endpoint.authority): \(error.message)")
            }
        }
    }

    /// An AWS JSON 1.1 error answer: `{"__type": …, "message": …}` (botocore also reads
    /// `Message`); anything else is reported by its HTTP status.
    static func serviceError(status: Int, body: [UInt8]) -> NodeStatusError {
        let document = try? JSONValue.parse(body)
        guard let type = document?["__type"]?.stringValue else {
            return NodeStatusError(.service, "HTTP \(status) without an AWS error", type: "HTTP\(status)")
        }
        // `__type` may carry a namespace (`com.amazonaws.…#Name`): the name is what callers match.
        let name = type.split(separator: "#").last.map(String.init) ?? type
        let message = document?["message"]?.stringValue ?? document?["Message"]?.stringValue ?? ""
        return NodeStatusError(.service, message, type: name)
    }
}

/// Why `strongroom status` got no status: the code says what kind of problem it is (and so the
/// exit status), the message is one line for standard error.
public struct NodeStatusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is.
    public enum Code: Sendable, Hashable {
        /// Something the user gave cannot be used (CA bundle, URL): exit status 2.
        case configuration
        /// The node could not be reached or did not answer in HTTP: exit status 1.
        case connection
        /// The node answered with an AWS error (`type` holds its `__type`): exit status 1.
        case service
    }

    public var code: Code
    public var message: String
    /// The AWS error type of a `.service` error, e.g. `AccessDeniedException`.
    public var type: String?

    public init(_ code: Code, _ message: String, type: String? = nil) {
        self.code = code
        self.message = message
        self.type = type
    }

    public var description: String {
        guard let type else { return message }
        return message.isEmpty ? type : "\(type): \(message)"
    }
}
