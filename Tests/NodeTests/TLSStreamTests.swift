import Foundation
@testable import Node
import Platform
import Testing
import TLS
@testable import Configuration
@testable import Links

/// TLSStream and the node mutual-TLS contexts over real sockets on 127.0.0.1.
@Suite struct TLSStreamTests {
    let pki: TestClusterPKI

    init() throws { pki = try TestClusterPKI() }

    func serverContext(region: String = "us-east-1", nodeId: String = "us-east-1-a") throws -> TLSContext {
        let files = try pki.issueNode(region: region, nodeId: nodeId)
        return try MutualTLS.serverContext(certificateFile: files.certificateFile, privateKeyFile: files.keyFile, caFile: pki.caFile)
    }

    func clientContext(region: String = "eu-west-1", nodeId: String = "eu-west-1-a") throws -> TLSContext {
        let files = try pki.issueNode(region: region, nodeId: nodeId)
        return try MutualTLS.clientContext(certificateFile: files.certificateFile, privateKeyFile: files.keyFile, caFile: pki.caFile)
    }

    @Test func aGoodPairExchangesBytesBothWaysAndSeesEachOthersIdentity() throws {
        defer { pki.remove() }
        let listener = try TestListener()
        let server = try listener.serveOne(context: try serverContext()) { (stream: TLSStream) throws(LinkError) in
            var received: [UInt8] = []
            while received.count < 5 {
                let bytes = try stream.read(maxBytes: 1024, timeout: 5)
                if bytes.isEmpty { break }
                received += bytes
            }
            try stream.write(Array("pong:".utf8) + received, timeout: 5)
            #expect(try stream.read(maxBytes: 16, timeout: 5) == [])  // the client's close_notify
        }
        let client = try TLSStream.connect(to: listener.address, context: try clientContext(), expectedPeerIP: "127.0.0.1", timeout: 5)
        try client.write(Array("ping!".utf8), timeout: 5)
        var answer: [UInt8] = []
        while answer.count < 10 {
            let bytes = try client.read(maxBytes: 3, timeout: 5)  // small reads: the rest stays buffered
            #expect(!bytes.isEmpty && bytes.count <= 3)
            if bytes.isEmpty { break }
            answer += bytes
        }
        #expect(String(decoding: answer, as: UTF8.self) == "pong:ping!")
        let serverIdentity = try #require(client.peerCertificate.flatMap(NodeIdentity.identity(of:)))
        #expect(serverIdentity.region == "us-east-1" && serverIdentity.nodeId == "us-east-1-a")
        client.close()
        let serverStream = try server.wait().get()
        let clientIdentity = try #require(serverStream.peerCertificate.flatMap(NodeIdentity.identity(of:)))
        #expect(clientIdentity.region == "eu-west-1" && clientIdentity.nodeId == "eu-west-1-a")
    }

    @Test func aClientWithACertificateFromAnotherCAIsRefusedByTheServer() throws {
        defer { pki.remove() }
        let other = try TestClusterPKI(name: "Another CA")
        defer { other.remove() }
        let listener = try TestListener()
        let server = try listener.serveOne(context: try serverContext()) { _ in }
        // The client trusts our CA (so it accepts the server) but holds a certificate of another.
        let foreign = try other.issueNode(region: "eu-west-1", nodeId: "intruder")
        let context = try MutualTLS.clientContext(certificateFile: foreign.certificateFile, privateKeyFile: foreign.keyFile, caFile: pki.caFile)
        // TLS 1.3: the client's side of the handshake completes; the refusal comes on its first read.
        let clientError = Result { () throws(LinkError) in
            let client = try TLSStream.connect(to: listener.address, context: context, expectedPeerIP: "127.0.0.1", timeout: 5)
            _ = try client.read(maxBytes: 16, timeout: 5)
        }
        guard case .failure(let serverError) = server.wait() else {
            Issue.record("the server accepted a client of another CA")
            return
        }
        #expect(serverError.kind == .tls)
        #expect(serverError.message.contains("certificate verification failed"), "\(serverError)")
        guard case .failure(let error) = clientError else {
            Issue.record("the client was not told")
            return
        }
        #expect(error.kind == .tls || error.kind == .io, "\(error)")
    }

    @Test func anExpiredClientCertificateIsRefused() throws {
        defer { pki.remove() }
        let listener = try TestListener()
        let server = try listener.serveOne(context: try serverContext()) { _ in }
        let issuedAt = Date().addingTimeInterval(-10 * 86400)
        let expired = try pki.issueNode(region: "eu-west-1", nodeId: "old", now: issuedAt, validityDays: 1)
        // The context's own validity check runs at `now`: build it as of the issuing day.
        let context = try MutualTLS.clientContext(certificateFile: expired.certificateFile, privateKeyFile: expired.keyFile,
                                                  caFile: pki.caFile, now: issuedAt)
        let clientResult = Result { () throws(LinkError) in
            let client = try TLSStream.connect(to: listener.address, context: context, expectedPeerIP: "127.0.0.1", timeout: 5)
            _ = try client.read(maxBytes: 16, timeout: 5)
        }
        guard case .failure(let serverError) = server.wait() else {
            Issue.record("the server accepted an expired client certificate")
            return
        }
        #expect(serverError.kind == .tls)
        #expect(serverError.message.contains("expired"), "\(serverError)")
        #expect(throws: LinkError.self) { try clientResult.get() }
    }

    @Test func aServerWithACertificateFromAnotherCAIsRefusedByTheClient() throws {
        defer { pki.remove() }
        let other = try TestClusterPKI(name: "Another CA")
        defer { other.remove() }
        let foreign = try other.issueNode(region: "us-east-1", nodeId: "impostor")
        let serverContext = try MutualTLS.serverContext(certificateFile: foreign.certificateFile, privateKeyFile: foreign.keyFile,
                                                        caFile: pki.caFile)
        let listener = try TestListener()
        let server = try listener.serveOne(context: serverContext) { _ in }
        do {
            _ = try TLSStream.connect(to: listener.address, context: try clientContext(), expectedPeerIP: "127.0.0.1", timeout: 5)
            Issue.record("the client accepted a server of another CA")
        } catch let error as LinkError {
            #expect(error.kind == .tls)
            #expect(error.message.contains("certificate verification failed"), "\(error)")
        }
        #expect(throws: LinkError.self) { try server.wait().get() }
    }

    @Test func connectingWhereNothingListensIsRefused() throws {
        defer { pki.remove() }
        let address = try {
            let listener = try TestListener()
            return listener.address
        }()  // closed again: nothing listens on that port now
        do {
            _ = try TLSStream.connect(to: address, context: try clientContext(), expectedPeerIP: "127.0.0.1", timeout: 5)
            Issue.record("connected to a closed port")
        } catch let error as LinkError {
            #expect(error.kind == .refused, "\(error)")
        }
    }

    @Test func aReadTimesOutAndTheStreamStaysUsable() throws {
        defer { pki.remove() }
        let listener = try TestListener()
        let server = try listener.serveOne(context: try serverContext()) { (stream: TLSStream) throws(LinkError) in
            _ = try stream.read(maxBytes: 1, timeout: 5)  // "go"
            try stream.write(Array("late".utf8), timeout: 5)
        }
        let client = try TLSStream.connect(to: listener.address, context: try clientContext(), expectedPeerIP: "127.0.0.1", timeout: 5)
        defer { client.close() }
        let started = MonotonicClock.seconds()
        do {
            _ = try client.read(maxBytes: 16, timeout: 0.2)
            Issue.record("a read with nothing to read returned")
        } catch {
            #expect(error.kind == .timedOut)
        }
        let waited = MonotonicClock.seconds() - started
        #expect(waited >= 0.19 && waited < 2, "waited \(waited) s")
        try client.write([1], timeout: 5)
        #expect(try client.read(maxBytes: 16, timeout: 5) == Array("late".utf8))
        _ = try server.wait().get()
    }

    @Test func closeUnblocksAReaderBlockedInAnotherThread() throws {
        defer { pki.remove() }
        let listener = try TestListener()
        let server = try listener.serveOne(context: try serverContext()) { (stream: TLSStream) throws(LinkError) in
            _ = try stream.read(maxBytes: 16, timeout: 10)  // until the client goes
        }
        let client = try TLSStream.connect(to: listener.address, context: try clientContext(), expectedPeerIP: "127.0.0.1", timeout: 5)
        let reader = try Background { () throws(LinkError) -> Double in
            let started = MonotonicClock.seconds()
            _ = try client.read(maxBytes: 16, timeout: 30)
            return MonotonicClock.seconds() - started
        }
        OSThread.sleep(seconds: 0.2)
        let closedAt = MonotonicClock.seconds()
        client.close()
        guard case .failure(let error) = reader.wait() else {
            Issue.record("the blocked read returned data")
            return
        }
        #expect(error.kind == .closed, "\(error)")
        #expect(MonotonicClock.seconds() - closedAt < 2)
        #expect(throws: LinkError.self) { try client.write([1], timeout: 1) }
        _ = server.wait()
    }
}

/// Node identities in certificates.
@Suite struct NodeIdentityTests {
    @Test func theURIRoundTrips() {
        let uri = NodeIdentity.uri(region: "eu-west-1", nodeId: "eu-west-1-a")
        #expect(uri == "spiffe://strongroom/region/eu-west-1/node/eu-west-1-a")
        let parsed = NodeIdentity.parse(uri)
        #expect(parsed?.region == "eu-west-1" && parsed?.nodeId == "eu-west-1-a")
    }

    @Test(arguments: [
        "", "spiffe://strongroom/region/eu-west-1/node/", "spiffe://strongroom/region//node/a",
        "https://strongroom/region/eu-west-1/node/a", "spiffe://other/region/eu-west-1/node/a",
        "spiffe://strongroom/region/eu-west-1/node/a/b", "spiffe://strongroom/region/eu-west-1/node/a?x=1",
        "spiffe://strongroom/region/eu-west-1/node/a#f", "spiffe://strongroom/region/eu west/node/a",
        "spiffe://strongroom/region/eu-west-1", "SPIFFE://strongroom/region/eu-west-1/node/a",
        "spiffe://strongroom/region/\(String(repeating: "x", count: 65))/node/a",
    ])
    func malformedURIsNameNoNode(uri: String) {
        #expect(NodeIdentity.parse(uri) == nil)
    }

    func certificate(uris: [String]) throws -> PeerCertificate {
        let root = try CertificateAuthority.generateRoot(commonName: "CA", now: Date())
        let leaf = try CertificateAuthority.issue(
            commonName: "n", organizationalUnit: nil, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], uris: uris,
            issuerCertificatePEM: root.certificatePEM, issuerPrivateKeyPEM: root.privateKeyPEM, now: Date()
        )
        return try PeerCertificate(pem: leaf.certificatePEM)
    }

    @Test func aCertificateWithOneNodeURINamesThatNode() throws {
        let identity = NodeIdentity.identity(of: try certificate(uris: [NodeIdentity.uri(region: "ap-southeast-2", nodeId: "n1")]))
        #expect(identity?.region == "ap-southeast-2" && identity?.nodeId == "n1")
    }

    @Test func noURITwoURIsOrAnotherSchemeNameNoNode() throws {
        #expect(NodeIdentity.identity(of: try certificate(uris: [])) == nil)
        let two = [NodeIdentity.uri(region: "us-east-1", nodeId: "a"), NodeIdentity.uri(region: "us-east-1", nodeId: "b")]
        #expect(NodeIdentity.identity(of: try certificate(uris: two)) == nil)
        #expect(NodeIdentity.identity(of: try certificate(uris: ["https://strongroom/region/us-east-1/node/a"])) == nil)
    }
}
