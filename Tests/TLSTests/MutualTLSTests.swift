import Cryptography
import Foundation
import Testing
import TLS

/// Servers that require client certificates (node-to-node replication).
@Suite struct MutualTLSTests {
    private func serverContext(_ pki: TestPKI, version: TLSVersion) throws -> TLSContext {
        try TLSContext.server(
            certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM,
            clientCAPEM: pki.root.certificatePEM, requireClientCertificate: true, maximumVersion: version
        )
    }

    @Test(arguments: TLSVersion.allCases)
    func clientFromTheRightCAIsAcceptedAndIdentified(version: TLSVersion) throws {
        let pki = try TestPKI()
        let clientContext = try TLSContext.client(
            trustedCAPEM: pki.root.certificatePEM,
            certificateChainPEM: pki.client.certificatePEM, privateKeyPEM: pki.client.privateKeyPEM
        )
        var pair = try ConnectionPair(client: clientContext, server: try serverContext(pki, version: version), expectedPeerIP: "127.0.0.1")
        try pair.client.writePlaintext(Array("replicate".utf8))
        pair.pump()
        try pair.server.writePlaintext(Array("ack".utf8))
        pair.pump()
        let result = pair.snapshot
        #expect(result.clientError == nil && result.serverError == nil)
        #expect(result.serverReceived == Array("replicate".utf8))
        #expect(result.clientReceived == Array("ack".utf8))
        let peer = try #require(result.serverPeer)
        #expect(peer.commonName == "node-2")
        #expect(peer.organizationalUnit == "replica")
        #expect(peer.uris == ["spiffe://strongroom/node/2"])
        #expect(peer.dnsNames.isEmpty && peer.ipAddresses.isEmpty)
        #expect(peer == (try PeerCertificate(pem: pki.client.certificatePEM)))
        #expect(result.clientPeer?.commonName == "node-1")
    }

    @Test(arguments: TLSVersion.allCases)
    func clientWithoutCertificateIsRejected(version: TLSVersion) throws {
        let pki = try TestPKI()
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        var pair = try ConnectionPair(client: clientContext, server: try serverContext(pki, version: version), expectedPeerIP: "127.0.0.1")
        try pair.client.writePlaintext(Array("let me in".utf8))
        pair.pump()
        let result = pair.snapshot
        let serverError = try #require(result.serverError)
        #expect(serverError.kind == .handshakeFailed)
        #expect(serverError.message.contains("peer did not return a certificate"), "\(serverError)")
        #expect(result.serverReceived.isEmpty)
        #expect(result.serverPeer == nil)
        let clientError = try #require(result.clientError)
        #expect(clientError.kind == .handshakeFailed, "\(clientError)")
        if version == .tls13 {
            // The client's side of a TLS 1.3 handshake completes before the server judges its
            // (missing) certificate: the refusal arrives on the first read.
            #expect(result.clientHandshakeComplete)
            #expect(clientError.message.contains("certificate required"), "\(clientError)")
        } else {
            #expect(!result.clientHandshakeComplete)
        }
    }

    @Test(arguments: TLSVersion.allCases)
    func clientFromAnotherCAIsRejected(version: TLSVersion) throws {
        let pki = try TestPKI()
        let other = try TestPKI(name: "Other Root")
        let clientContext = try TLSContext.client(
            trustedCAPEM: pki.root.certificatePEM,
            certificateChainPEM: other.client.certificatePEM, privateKeyPEM: other.client.privateKeyPEM
        )
        var pair = try ConnectionPair(client: clientContext, server: try serverContext(pki, version: version), expectedPeerIP: "127.0.0.1")
        try pair.client.writePlaintext(Array("let me in".utf8))
        pair.pump()
        let result = pair.snapshot
        let serverError = try #require(result.serverError)
        #expect(serverError.kind == .handshakeFailed)
        #expect(serverError.message.contains("unable to get local issuer certificate"), "\(serverError)")
        #expect(result.serverReceived.isEmpty)
        let clientError = try #require(result.clientError)
        #expect(clientError.kind == .handshakeFailed)
        #expect(clientError.message.contains("unknown ca"), "\(clientError)")
        #expect(result.clientHandshakeComplete == (version == .tls13))
    }

    @Test func optionalClientCertificatesAreVerifiedWhenSent() throws {
        let pki = try TestPKI()
        let serverContext = try TLSContext.server(
            certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM,
            clientCAPEM: pki.root.certificatePEM
        )
        let anonymous = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        var first = try ConnectionPair(client: anonymous, server: serverContext, expectedPeerIP: "127.0.0.1")
        try first.client.writePlaintext([1, 2, 3])
        first.pump()
        #expect(first.snapshot.serverReceived == [1, 2, 3])
        #expect(first.snapshot.serverPeer == nil)

        let identified = try TLSContext.client(
            trustedCAPEM: pki.root.certificatePEM,
            certificateChainPEM: pki.client.certificatePEM, privateKeyPEM: pki.client.privateKeyPEM
        )
        var second = try ConnectionPair(client: identified, server: serverContext, expectedPeerIP: "127.0.0.1")
        try second.client.writePlaintext([4])
        second.pump()
        #expect(second.snapshot.serverPeer?.commonName == "node-2")
    }

    @Test func serverWithoutClientCAAsksForNoCertificate() throws {
        let pki = try TestPKI()
        let serverContext = try TLSContext.server(certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM)
        let clientContext = try TLSContext.client(
            trustedCAPEM: pki.root.certificatePEM,
            certificateChainPEM: pki.client.certificatePEM, privateKeyPEM: pki.client.privateKeyPEM
        )
        var pair = try ConnectionPair(client: clientContext, server: serverContext, expectedPeerIP: "127.0.0.1")
        try pair.client.writePlaintext([9])
        pair.pump()
        #expect(pair.snapshot.serverReceived == [9])
        #expect(pair.snapshot.serverPeer == nil)
    }
}
