import Foundation
import HTTP1
import Testing
@testable import Node
import Platform
import TLS
@testable import Configuration
@testable import HTTPServer
@testable import Logging

/// New connections are spread over the event loops, although EPOLLEXCLUSIVE wakes one loop,
/// which accepts the whole backlog.
@Suite struct EventLoopBalanceTests {
    struct NoAnswer: RequestHandler {
        func handle(_ request: HTTPRequest, connection: ConnectionInfo, respond: @escaping @Sendable (HTTPResponse) -> Void) {}
    }

    @Test func aBurstOfConnectionsIsSpreadOverTheLoops() throws {
        let root = try CertificateAuthority.generateRoot(commonName: "test CA", now: Date())
        let leaf = try CertificateAuthority.issue(commonName: "node", organizationalUnit: nil, dnsNames: ["localhost"],
                                                 ipAddresses: ["127.0.0.1"], uris: [], issuerCertificatePEM: root.certificatePEM,
                                                 issuerPrivateKeyPEM: root.privateKeyPEM, now: Date())
        let context = try TLSContext.server(certificateChainPEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
        let server = try HTTPServer(addresses: [try #require(SocketAddress(host: "127.0.0.1", port: 0))], context: context,
                                    handler: NoAnswer(), limits: ServerLimits(), eventLoops: 2, log: Logger(label: "test"))
        try server.start()
        defer { server.stopAndJoin() }
        let address = try #require(SocketAddress(host: "127.0.0.1", port: server.boundAddresses[0].port))
        var clients: [Int32] = []
        defer { for fd in clients { _ = close(fd) } }
        // Connected all at once, before the loops wake: one loop finds the whole backlog.
        for _ in 0..<32 { clients.append(try TCPSocket.connect(to: address).releaseOwnership()) }
        let deadline = Date().addingTimeInterval(10)
        while server.connectionsPerLoop.reduce(0, +) < 32 && Date() < deadline { usleep(5_000) }
        let loads = server.connectionsPerLoop
        #expect(loads.reduce(0, +) == 32)
        #expect(abs(loads[0] - loads[1]) <= 2, "\(loads)")
    }
}
