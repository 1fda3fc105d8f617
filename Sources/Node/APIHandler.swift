import Foundation
import HTTP1
import Platform
import SecretsAPI
import HTTPServer
import AWSProtocol

/// Bridges the HTTP server to the Secrets Manager service: one HTTP request in, one AWS JSON
/// response out. Reads answer on the event loop's thread; writes answer from the journal's writer
/// thread once their record is durable (the loop never waits for a disk).
struct APIHandler: RequestHandler {
    let service: SecretsManagerService
    /// On a standby whose primary's API address is known: where writes go.
    var forwarder: WriteForwarder? = nil
    /// A forwarded write named this epoch of the region (``WriteForwarder/epochHeader``).
    var heardEpoch: (@Sendable (UInt64) -> Void)? = nil

    func handle(_ request: HTTPRequest, connection: ConnectionInfo, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let forwardedAt = request.headers[WriteForwarder.epochHeader].flatMap { UInt64($0) }
        if let forwardedAt { heardEpoch?(forwardedAt) }
        if forwardedAt == nil, let forwarder, WriteForwarder.isWrite(request) { return forwarder.forward(request, respond: respond) }
        let (path, query) = request.pathAndQuery
        let awsRequest = AWSRequest(
            method: request.method, path: path, query: query,
            headers: request.headers.map { (name: $0.name, value: $0.value) },
            body: request.body, sourceIP: connection.peer?.host ?? "")
        service.handle(awsRequest, now: Date(), batch: connection.pass.map(auditBatch)) { answer in
            respond(HTTPResponse(status: answer.status, headers: answer.headers, body: answer.body))
        }
    }

    /// The audit batch of the loop that owns `pass` (made on first use): a pass's records are
    /// written together at its end, before its answers leave.
    private func auditBatch(_ pass: LoopPass) -> AuditBatch {
        if let batch = pass.attachment as? AuditBatch { return batch }
        let service = self.service
        let batch = AuditBatch(isOwnThread: { [weak pass] in pass?.isCurrentThread ?? false }) { [weak pass] batch in
            pass?.atEnd { service.flush(batch) }
        }
        pass.attachment = batch
        return batch
    }
}
