import Cryptography
import Foundation
import Testing
import TLS

@Suite struct TLSConnectionTests {
    static let versionsAndChunks: [(TLSVersion, Int)] = [(.tls12, Int.max), (.tls13, Int.max), (.tls12, 1), (.tls13, 1)]

    @Test(arguments: versionsAndChunks)
    func handshakeAndEchoInBothDirections(version: TLSVersion, chunkSize: Int) throws {
        let pki = try TestPKI()
        let serverContext = try TLSContext.server(
            certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM,
            minimumVersion: version, maximumVersion: version
        )
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM, minimumVersion: version, maximumVersion: version)
        var pair = try ConnectionPair(client: clientContext, server: serverContext, expectedPeerIP: "127.0.0.1")
        pair.chunkSize = chunkSize

        // The client writes before the handshake: the bytes wait and go out when it completes.
        try pair.client.writePlaintext(Array("ping".utf8))
        let before = pair.snapshot
        #expect(!before.clientHandshakeComplete)
        #expect(before.clientHasPendingCiphertext, "a client's first write starts the handshake")
        pair.pump()
        let after = pair.snapshot
        #expect(after.clientError == nil)
        #expect(after.serverError == nil)
        #expect(after.clientHandshakeComplete)
        #expect(after.serverHandshakeComplete)
        #expect(after.serverReceived == Array("ping".utf8))
        let expectedVersion = version == .tls12 ? "TLSv1.2" : "TLSv1.3"
        #expect(after.clientVersion == expectedVersion)
        #expect(after.serverVersion == expectedVersion)
        if version == .tls12 {
            let suite = try #require(after.clientCipherSuite)
            #expect(suite.hasPrefix("ECDHE-ECDSA-") && (suite.contains("GCM") || suite.contains("CHACHA20")), "\(suite)")
        }

        // Larger than one record and than the client's 7000-byte reads, in both directions.
        let request = [UInt8].pattern(40_000, seed: 1)
        let response = [UInt8].pattern(50_001, seed: 2)
        try pair.client.writePlaintext(request)
        try pair.server.writePlaintext(response)
        pair.pump()
        let echoed = pair.snapshot
        #expect(echoed.serverReceived == Array("ping".utf8) + request)
        #expect(echoed.clientReceived == response)
        #expect(echoed.clientError == nil && echoed.serverError == nil)
    }

    @Test func readWithoutCiphertextWantsMoreAndStartsTheClientHandshake() throws {
        let pki = try TestPKI()
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        var client = try TLSConnection(context: clientContext, expectedHostName: "localhost")
        var out: [UInt8] = []
        let status = try client.readPlaintext(into: &out)
        #expect(status == .wantMoreCiphertext)
        #expect(out.isEmpty)
        var hello: [UInt8] = []
        client.drainCiphertext(into: &hello)
        #expect(hello.first == 0x16, "a TLS handshake record")
        let pending = client.hasPendingCiphertext
        let version = client.negotiatedVersion
        let peer = client.peerCertificate
        #expect(!pending)
        #expect(version == nil && peer == nil)
        client.close()
    }

    static let names: [(ip: String?, host: String?, accepted: Bool)] = [
        ("127.0.0.1", nil, true), ("::1", nil, true), (nil, "localhost", true), (nil, "127.0.0.1", true),
        ("10.0.0.1", nil, false), ("::2", nil, false), (nil, "node-1.example", false),
    ]

    @Test(arguments: names)
    func serverNameIsVerified(name: (ip: String?, host: String?, accepted: Bool)) throws {
        let pki = try TestPKI()
        let serverContext = try TLSContext.server(certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM)
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        var pair = try ConnectionPair(client: clientContext, server: serverContext, expectedPeerIP: name.ip, expectedHostName: name.host)
        try pair.client.writePlaintext(Array("hello".utf8))
        pair.pump()
        let result = pair.snapshot
        if name.accepted {
            #expect(result.clientError == nil)
            #expect(result.serverReceived == Array("hello".utf8))
            let peer = try #require(result.clientPeer)
            #expect(peer.commonName == "node-1")
            #expect(peer.ipAddresses == ["127.0.0.1", "::1"])
            #expect(peer.dnsNames == ["localhost"])
        } else {
            let error = try #require(result.clientError)
            #expect(error.kind == .handshakeFailed)
            #expect(error.message.contains("mismatch"), "\(error)")
            #expect(result.serverReceived.isEmpty)
            #expect(result.serverError != nil, "the client's alert reaches the server")
        }
    }

    @Test func ipIsNeverSentAsServerNameIndication() throws {
        let pki = try TestPKI()
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        var withIP = try TLSConnection(context: clientContext, expectedHostName: "127.0.0.1")
        var withName = try TLSConnection(context: clientContext, expectedHostName: "localhost")
        var ipHello: [UInt8] = []
        var nameHello: [UInt8] = []
        var ignored: [UInt8] = []
        _ = try withIP.readPlaintext(into: &ignored)
        _ = try withName.readPlaintext(into: &ignored)
        withIP.drainCiphertext(into: &ipHello)
        withName.drainCiphertext(into: &nameHello)
        #expect(!contains(ipHello, Array("127.0.0.1".utf8)))
        #expect(contains(nameHello, Array("localhost".utf8)))
    }

    @Test func badExpectedNamesAreConfigurationErrors() throws {
        let pki = try TestPKI()
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        let serverContext = try TLSContext.server(certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM)
        let notAnIP = #expect(throws: TLSError.self) { _ = try TLSConnection(context: clientContext, expectedPeerIP: "localhost") }
        #expect(notAnIP?.kind == .configuration)
        let differ = #expect(throws: TLSError.self) {
            _ = try TLSConnection(context: clientContext, expectedPeerIP: "10.0.0.1", expectedHostName: "10.0.0.2")
        }
        #expect(differ?.kind == .configuration)
        let onServer = #expect(throws: TLSError.self) { _ = try TLSConnection(context: serverContext, expectedPeerIP: "127.0.0.1") }
        #expect(onServer?.kind == .configuration)
    }

    @Test(arguments: TLSVersion.allCases)
    func clientTrustingAnotherCAFails(version: TLSVersion) throws {
        let pki = try TestPKI()
        let other = try TestPKI(name: "Other Root")
        let serverContext = try TLSContext.server(certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM)
        let clientContext = try TLSContext.client(trustedCAPEM: other.root.certificatePEM, maximumVersion: version)
        var pair = try ConnectionPair(client: clientContext, server: serverContext, expectedPeerIP: "127.0.0.1")
        try pair.client.writePlaintext(Array("secret".utf8))
        pair.pump()
        let result = pair.snapshot
        let error = try #require(result.clientError)
        #expect(error.kind == .handshakeFailed)
        #expect(error.message.contains("unable to get local issuer certificate"), "\(error)")
        #expect(result.serverReceived.isEmpty)
        // A failed connection refuses further use.
        #expect(throws: TLSError(kind: .closed, message: "cannot write: the TLS connection is closed")) {
            try pair.client.writePlaintext([1])
        }
    }

    @Test func versionRangesThatDoNotOverlapFail() throws {
        let pki = try TestPKI()
        let serverContext = try TLSContext.server(
            certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM, minimumVersion: .tls13
        )
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM, maximumVersion: .tls12)
        var pair = try ConnectionPair(client: clientContext, server: serverContext, expectedPeerIP: "127.0.0.1")
        pair.pump()
        let result = pair.snapshot
        #expect(result.serverError?.kind == .handshakeFailed)
        #expect(result.clientError?.kind == .handshakeFailed)
    }

    @Test func orderlyShutdownInBothDirections() throws {
        let pki = try TestPKI()
        let serverContext = try TLSContext.server(certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM)
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        var pair = try ConnectionPair(client: clientContext, server: serverContext, expectedHostName: "localhost")
        try pair.client.writePlaintext(Array("last words".utf8))
        pair.pump()
        pair.client.shutdown()
        #expect(pair.snapshot.clientHasPendingCiphertext, "close_notify is queued")
        let writeAfterShutdown = #expect(throws: TLSError.self) { try pair.client.writePlaintext([1]) }
        #expect(writeAfterShutdown?.kind == .closed)
        pair.pump()
        #expect(pair.snapshot.serverClosed)
        #expect(pair.snapshot.serverReceived == Array("last words".utf8))
        var scratch: [UInt8] = []
        let again = try pair.server.readPlaintext(into: &scratch)
        #expect(again == .closed, "closed stays closed")
        let writeAfterPeerClosed = #expect(throws: TLSError.self) { try pair.server.writePlaintext([1]) }
        #expect(writeAfterPeerClosed?.kind == .closed)
        pair.server.shutdown()
        pair.pump()
        let result = pair.snapshot
        #expect(result.clientClosed)
        #expect(result.clientError == nil && result.serverError == nil)
    }

    @Test(arguments: TLSVersion.allCases)
    func corruptedRecordIsAProtocolError(version: TLSVersion) throws {
        let pki = try TestPKI()
        let serverContext = try TLSContext.server(
            certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM, maximumVersion: version
        )
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        var pair = try ConnectionPair(client: clientContext, server: serverContext, expectedPeerIP: "::1")
        try pair.client.writePlaintext(Array("first".utf8))
        pair.pump()
        #expect(pair.snapshot.serverReceived == Array("first".utf8))
        try pair.client.writePlaintext(Array("second".utf8))
        var record: [UInt8] = []
        pair.client.drainCiphertext(into: &record)
        record[record.count - 3] ^= 0x01  // inside the AEAD tag
        pair.server.receiveCiphertext(record)
        var plaintext: [UInt8] = []
        let error = #expect(throws: TLSError.self) { _ = try pair.server.readPlaintext(into: &plaintext) }
        #expect(error?.kind == .protocolError)
        #expect(error?.message.contains("bad record mac") == true || error?.message.contains("decryption failed") == true, "\(String(describing: error))")
        #expect(plaintext.isEmpty)
        let again = #expect(throws: TLSError.self) { _ = try pair.server.readPlaintext(into: &plaintext) }
        #expect(again?.kind == .closed)
    }

    @Test func pendingPlaintextBeforeTheHandshakeIsBounded() throws {
        let pki = try TestPKI()
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        var client = try TLSConnection(context: clientContext, expectedPeerIP: "127.0.0.1")
        try client.writePlaintext([UInt8](repeating: 1, count: TLSConnection.maximumPendingPlaintextBytes))
        let error = #expect(throws: TLSError.self) { try client.writePlaintext([1]) }
        #expect(error?.kind == .protocolError)
    }

    /// How the node holds a connection: a `var` in a final class, mutated through it.
    final class ConnectionOwner {
        var connection: TLSConnection
        init(_ connection: consuming TLSConnection) { self.connection = connection }
    }

    @Test func connectionCanLiveInAClassProperty() throws {
        let pki = try TestPKI()
        let clientContext = try TLSContext.client(trustedCAPEM: pki.root.certificatePEM)
        let owner = ConnectionOwner(try TLSConnection(context: clientContext, expectedPeerIP: "127.0.0.1"))
        try owner.connection.writePlaintext([1])
        var hello: [UInt8] = []
        owner.connection.drainCiphertext(into: &hello)
        #expect(hello.count > 100)
        owner.connection.shutdown()
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<$0 + needle.count]) == needle }
    }
}
