import HTTP1
package import Platform
import Synchronization
import TLS
import Configuration
package import Links
import Admission
import Logging
import AWSProtocol

/// One client connection of the front, run on its own thread: reads requests (with the node's
/// parser and limits), sends each one's bytes unchanged to its region's node, and relays the
/// node's response bytes unchanged.
///
/// Request bytes are cut exactly at request boundaries: the parser consumes a request's bytes
/// entirely when it returns it, so the bytes received and not yet forwarded, minus those the
/// parser still buffers, are that request as the client sent it (chunked framing included).
/// Responses are read by `HTTPResponseReader` and relayed as they arrive.
// Safety: `run` and everything it calls execute on the connection's own thread only; other
// threads call `isBusy` (an atomic) and `closeAll`, which reads `client` (immutable, Sendable) and
// `nodes` under its mutex, and only closes streams, which TLSStream allows from any thread.
package final class FrontConnection: @unchecked Sendable {
    /// A kept-alive connection to one region's node.
    package struct NodeLink: Sendable {
        package var stream: TLSStream
        package var lastUsed: Double
        package var address: SocketAddress
    }

    /// A node connection idle longer than this is not reused: a node closes idle connections
    /// after its `idleTimeout` (60 s by default), and reusing one it is closing would fail.
    package static let nodeLinkIdleSeconds = 20.0
    /// Bytes asked for per read from the client (`HTTPResponseReader` reads a node's answer).
    package static let readChunk = 64 * 1024

    private let client: TLSStream
    private let proxy: FrontProxy
    private let nodes = Mutex<[String: NodeLink]>([:])
    private let busy = Atomic<Bool>(false)
    private let limits: ServerLimits

    /// Tells the front's admission what this connection is worth (idle ones may be given up
    /// for new connections when the front is full).
    private let ticket: GuardedAcceptor.Ticket

    package init(client: TLSStream, proxy: FrontProxy, ticket: GuardedAcceptor.Ticket) {
        self.client = client
        self.proxy = proxy
        self.ticket = ticket
        self.limits = proxy.configuration.limits
    }

    /// Whether a request is being received, forwarded or answered (stop lets those finish).
    package var isBusy: Bool { busy.load(ordering: .acquiring) }

    /// Closes the client connection and every node connection: blocked reads and writes on
    /// this connection's thread return at once.
    package func closeAll() {
        client.close()
        for link in nodes.withLock({ Array($0.values) }) { link.stream.close() }
    }

    // MARK: - Requests

    /// Serves requests until the client goes, a request says `Connection: close`, a limit or
    /// timeout ends the connection, or the front stops.
    package func run() {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxHeaderBytes: limits.maxHeaderBytes, maxBodyBytes: limits.maxBodyBytes))
        /// Bytes received from the client and not yet forwarded.
        var unforwarded: [UInt8] = []
        var requestStartedAt: Double?
        while true {
            let event: HTTPParserEvent?
            do {
                event = try parser.next()
            } catch {
                answer(FrontRouting.response(for: error), keepAlive: false)
                return
            }
            guard let event else {
                // More bytes needed; the timeout depends on where the request is.
                let now = MonotonicClock.seconds()
                let timeout: Double
                if parser.isIdle {
                    busy.store(false, ordering: .releasing)
                    ticket.update(.idle)
                    if proxy.isStopping { return }
                    requestStartedAt = nil
                    timeout = limits.idleTimeout
                } else {
                    let started = requestStartedAt ?? now
                    requestStartedAt = started
                    timeout = started + (parser.isReadingHeaders ? limits.headerTimeout : limits.requestTimeout) - now
                }
                let bytes: [UInt8]
                do {
                    bytes = try client.read(maxBytes: Self.readChunk, timeout: max(0, timeout))
                } catch {
                    if error.kind == .timedOut && !parser.isIdle {
                        answer(FrontRouting.response(for: HTTPParseError(status: 408, reason: "Request Timeout")), keepAlive: false)
                    }
                    return
                }
                if bytes.isEmpty { return }
                if !busy.load(ordering: .relaxed) { ticket.update(.reading) }
                busy.store(true, ordering: .releasing)
                parser.append(bytes)
                unforwarded.append(contentsOf: bytes)
                continue
            }
            switch event {
            case .expectContinue:
                // The whole request is forwarded at once, so the client's body is asked for here.
                do { try client.write(HTTPResponse.continueBytes, timeout: limits.requestTimeout) } catch { return }
            case .request(let request):
                let length = unforwarded.count - parser.bufferedByteCount
                precondition(length > 0 && length <= unforwarded.count, "a request's bytes are the consumed prefix")
                let raw = Array(unforwarded[0..<length])
                unforwarded.removeSubrange(0..<length)
                requestStartedAt = nil
                ticket.update(nil)  // with a node: never given up until answered
                guard forward(request, raw: raw), !proxy.isStopping else { return }
                ticket.update(.reading)
            }
        }
    }

    /// Routes one request and relays the answer; false when the client connection must close.
    private func forward(_ request: HTTPRequest, raw: [UInt8]) -> Bool {
        let region: String
        do {
            region = try FrontRouting.region(of: request)
        } catch {
            return answer(FrontRouting.response(for: error), keepAlive: request.keepAlive)
        }
        let candidates = proxy.configuration.nodes(of: region)
        guard !candidates.isEmpty else {
            return answer(FrontRouting.response(for: FrontRouting.unknownRegion(region)), keepAlive: request.keepAlive)
        }
        // The node that answered last first, then the others in the order configured.
        let preferred = proxy.preferred.withLock { $0[region] }
        let ordered = (preferred.map { [$0] } ?? []) + candidates.filter { $0 != preferred }
        var connected: TLSStream?
        for address in ordered {
            do {
                connected = try nodeLink(region: region, address: address)
                if address != preferred { proxy.preferred.withLock { $0[region] = address } }
                break
            } catch {
                proxy.log.error("region \(region): \(address): \(error)")
            }
        }
        guard let link = connected else { return unavailable(region, "cannot be reached", keepAlive: request.keepAlive) }
        do {
            try link.write(raw, timeout: limits.requestTimeout)
        } catch {
            drop(region)
            proxy.log.error("region \(region): sending a request: \(error)")
            return unavailable(region, "failed while receiving the request", keepAlive: request.keepAlive)
        }
        return relayResponse(from: link, region: region, requestKeepAlive: request.keepAlive)
    }

    /// Relays the node's response as it arrives; false when the client connection must close.
    private func relayResponse(from link: TLSStream, region: String, requestKeepAlive: Bool) -> Bool {
        var reader = HTTPResponseReader(parser: HTTPResponseParser(captureLimit: 0))
        var relayed = 0
        let deadline = MonotonicClock.seconds() + proxy.configuration.responseTimeout
        let read: HTTPResponseReader.Read
        do {
            read = try reader.read(from: link, deadline: deadline) { (bytes: ArraySlice<UInt8>) throws(LinkError) in
                try client.write(Array(bytes), timeout: limits.requestTimeout)
                relayed += bytes.count
            }
        } catch {
            drop(region)  // the rest of the response (if any) would be left unread on the link
            let what: String
            switch error.kind {
            case .delivery, .closedMidResponse:
                // The client got part of the answer: only closing tells it that is all.
                return false
            case .timedOut, .link:
                proxy.log.error("region \(region): reading the response: \(error)")
                what = error.kind == .timedOut
                    ? "did not answer within \(Int(proxy.configuration.responseTimeout)) s (the request may have taken effect)"
                    : "failed before answering (the request may have taken effect)"
            case .malformed:
                proxy.log.error("region \(region): \(error)")
                what = "sent a malformed response"
            case .closedWithoutAnswer:
                what = "closed the connection before answering (the request may have taken effect)"
            case .tooLong:
                preconditionFailure("the front's reader has no byte limit")
            }
            guard relayed == 0 else { return false }
            return unavailable(region, what, keepAlive: requestKeepAlive)
        }
        if read.excessBytes || !read.response.keepAlive {
            // Bytes after the response were not asked for: the link is out of step. (A body
            // delimited by the close ended with it: the client's connection closes too, as that
            // is how it learns where the body ends.)
            drop(region)
        } else {
            nodes.withLock { $0[region]?.lastUsed = MonotonicClock.seconds() }
        }
        return requestKeepAlive && read.response.keepAlive
    }

    // MARK: - Node connections

    /// The kept-alive connection to the region's node if it is still good, else a new one.
    private func nodeLink(region: String, address: SocketAddress) throws(LinkError) -> TLSStream {
        if let link = nodes.withLock({ $0[region] }) {
            if link.address == address && MonotonicClock.seconds() - link.lastUsed < Self.nodeLinkIdleSeconds && Self.isStillOpen(link.stream) {
                return link.stream
            }
            drop(region)
        }
        let stream = try TLSStream.connect(to: address, context: proxy.nodeContext, expectedPeerIP: address.host,
                                           timeout: proxy.configuration.connectTimeout)
        nodes.withLock { $0[region] = NodeLink(stream: stream, lastUsed: MonotonicClock.seconds(), address: address) }
        if client.isClosed { stream.close() }  // closeAll ran meanwhile: this one must not outlive it
        return stream
    }

    /// Whether an idle node connection is still open: a zero-timeout read must find nothing
    /// (TLS 1.3 session tickets are consumed on the way); an end of file, a close_notify,
    /// unexpected bytes or an error mean it is not.
    package static func isStillOpen(_ stream: TLSStream) -> Bool {
        do {
            _ = try stream.read(maxBytes: 1, timeout: 0)
            return false
        } catch {
            return error.kind == .timedOut
        }
    }

    private func drop(_ region: String) {
        nodes.withLock { $0.removeValue(forKey: region) }?.stream.close()
    }

    // MARK: - The front's own answers

    /// Writes the front's own response; returns whether the connection stays open.
    @discardableResult
    private func answer(_ response: HTTPResponse, keepAlive: Bool) -> Bool {
        do {
            try client.write(response.serialized(keepAlive: keepAlive), timeout: limits.requestTimeout)
        } catch {
            return false
        }
        return keepAlive
    }

    private func unavailable(_ region: String, _ what: String, keepAlive: Bool) -> Bool {
        answer(FrontRouting.response(for: AWSError(FrontRouting.serviceUnavailable, "The node for region \(region) \(what).")),
               keepAlive: keepAlive)
    }
}
