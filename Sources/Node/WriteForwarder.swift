import Foundation
import HTTP1
import Platform
import SecretsAPI
import Synchronization
import TLS
import Links
import Logging
import AWSProtocol

/// On a standby: the writes it receives (`X-Amz-Target: secretsmanager.<an operation that
/// changes something>`) go to its region's primary over HTTPS, bytes as the client sent them,
/// so the primary authenticates, authorizes, decides, audits and answers them; the standby
/// relays the answer. SDKs see one endpoint that reads locally and writes through.
///
/// Each forwarded request has a thread of its own (the event loop never waits on the primary),
/// at most `maximumInFlight` at once; over it, or with the primary unreachable, the answer is a
/// retryable `InternalServiceError`, never a silent loss (the write did not happen, or — when
/// the primary stopped answering mid-way — its outcome is unknown, and a retry with the same
/// ClientRequestToken finds it).
final class WriteForwarder: Sendable {
    let primary: String
    let address: SocketAddress
    let context: TLSContext
    let timeout: Double
    let log: Logger
    private let inFlight = Atomic<Int>(0)

    static let maximumInFlight = 256
    /// The largest answer relayed (a write's answer is small; an error's too).
    static let maximumResponseBytes = 1 << 20

    /// The header a forwarded write carries: the highest epoch of the region the standby heard
    /// of. A node never forwards a request that has it (no forwarding loops while a promotion
    /// settles), and a primary that sees a higher epoch in it asks the region at once (the
    /// header is not authenticated: it only makes the primary ask, over mutual TLS).
    static let epochHeader = "X-Strongroom-Epoch"
    /// The epoch this standby knows of.
    let epoch: UInt64

    init(primary: String, address: SocketAddress, caFile: String, timeout: Double, epoch: UInt64, log: Logger) throws(TLSError) {
        self.epoch = epoch
        self.primary = primary
        self.address = address
        self.timeout = timeout
        self.log = log
        context = try TLSContext.client(trustedCAFile: caFile, minimumVersion: .tls12)
    }

    /// Whether `request` is a write this standby forwards.
    static func isWrite(_ request: HTTPRequest) -> Bool {
        guard let target = request.headers["X-Amz-Target"], target.hasPrefix("secretsmanager.") else { return false }
        return !SecretsManagerOperations.readOnly.contains(String(target.dropFirst("secretsmanager.".count)))
    }

    func forward(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        guard inFlight.add(1, ordering: .relaxed).newValue <= Self.maximumInFlight else {
            inFlight.subtract(1, ordering: .relaxed)
            return respond(Self.failure("this standby is forwarding \(Self.maximumInFlight) writes to its primary already; retry"))
        }
        do {
            try OSThread.startDetached(name: "forward") { [self] in
                defer { inFlight.subtract(1, ordering: .relaxed) }
                respond(relay(request))
            }
        } catch {
            inFlight.subtract(1, ordering: .relaxed)
            respond(Self.failure("cannot start a thread to forward the write: \(error)"))
        }
    }

    /// One request to the primary and its answer.
    func relay(_ request: HTTPRequest) -> HTTPResponse {
        let deadline = MonotonicClock.seconds() + timeout
        let stream: TLSStream
        do {
            stream = try TLSStream.connect(to: address, context: context, expectedPeerIP: address.host, timeout: timeout)
        } catch {
            log.repeated("forwarding writes: cannot reach \(primary)", "forwarding a write: cannot reach the primary \(primary) at \(address): \(error)")
            return Self.failure("this node is a standby and cannot reach its region's primary, \(primary); retry")
        }
        defer { stream.close() }
        do {
            try stream.write(Self.requestBytes(request, epoch: epoch), timeout: max(0, deadline - MonotonicClock.seconds()))
            var reader = HTTPResponseReader(
                parser: HTTPResponseParser(captureLimit: Self.maximumResponseBytes, captureSuccessBodies: true, keepHeaders: ["x-amzn-RequestId"]),
                byteLimit: Self.maximumResponseBytes + HTTPResponseParser.Limits().headBytes)
            let response = try reader.read(from: stream, deadline: deadline).response
            guard response.bodyBytes == response.bodyPrefix.count else {
                return Self.failure("the primary's answer was longer than \(Self.maximumResponseBytes) bytes; the write's outcome is unknown: retry it")
            }
            // The primary's request id, as the SDK reports it (the one in its audit trail).
            var headers = [(name: "Content-Type", value: AWSJSON.contentType)]
            if let requestId = response.keptHeaders["x-amzn-requestid"] { headers.append((name: "x-amzn-RequestId", value: requestId)) }
            return HTTPResponse(status: response.status, headers: headers, body: response.bodyPrefix)
        } catch {
            log.error("forwarding a write to \(primary): \(error)")
            return Self.failure("the primary \(primary) did not answer the forwarded write; its outcome is unknown: retry it")
        }
    }

    /// The request as the client sent it (its signed headers unchanged), closing the connection.
    static func requestBytes(_ request: HTTPRequest, epoch: UInt64) -> [UInt8] {
        var text = "\(request.method) \(request.target) HTTP/1.1\r\n"
        let framing: Set<String> = ["content-length", "transfer-encoding", "connection", "expect", "keep-alive", epochHeader.lowercased()]
        for header in request.headers where !framing.contains(header.name.lowercased()) { text += "\(header.name): \(header.value)\r\n" }
        text += "\(epochHeader): \(epoch)\r\n"
        text += "Content-Length: \(request.body.count)\r\nConnection: close\r\n\r\n"
        return Array(text.utf8) + request.body
    }

    static func failure(_ message: String) -> HTTPResponse {
        AWSError(.internalServiceError, "An error occurred on the server side: \(message).").httpResponse()
    }
}
