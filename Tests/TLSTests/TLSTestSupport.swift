import Cryptography
import Foundation
import Testing
import TLS

/// A CA with a server certificate (localhost, 127.0.0.1, ::1) and a client certificate, issued
/// at the real current time: handshakes verify against the wall clock inside OpenSSL.
struct TestPKI: Sendable {
    var root: GeneratedCertificate
    var server: GeneratedCertificate
    var client: GeneratedCertificate

    init(name: String = "Test Root", now: Date = Date()) throws {
        root = try CertificateAuthority.generateRoot(commonName: name, now: now)
        server = try CertificateAuthority.issue(
            commonName: "node-1", organizationalUnit: "node",
            dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"], uris: ["spiffe://strongroom/node/1"],
            issuerCertificatePEM: root.certificatePEM, issuerPrivateKeyPEM: root.privateKeyPEM, now: now
        )
        client = try CertificateAuthority.issue(
            commonName: "node-2", organizationalUnit: "replica",
            dnsNames: [], ipAddresses: [], uris: ["spiffe://strongroom/node/2"],
            issuerCertificatePEM: root.certificatePEM, issuerPrivateKeyPEM: root.privateKeyPEM, now: now
        )
    }
}

/// A client and a server connection with ciphertext carried between them in memory.
struct ConnectionPair: ~Copyable {
    var client: TLSConnection
    var server: TLSConnection
    var clientReceived: [UInt8] = []
    var serverReceived: [UInt8] = []
    var clientClosed = false
    var serverClosed = false
    var clientError: TLSError?
    var serverError: TLSError?
    /// Bytes handed to the peer per `receiveCiphertext` call (1 exercises every split point).
    var chunkSize = Int.max
    /// Ciphertext moved in each direction so far.
    var clientToServerBytes = 0
    var serverToClientBytes = 0

    init(client: TLSContext, server: TLSContext, expectedPeerIP: String? = nil, expectedHostName: String? = nil) throws {
        let clientConnection = try TLSConnection(context: client, expectedPeerIP: expectedPeerIP, expectedHostName: expectedHostName)
        let serverConnection = try TLSConnection(context: server)
        self.client = clientConnection
        self.server = serverConnection
    }

    /// A copyable view for `#expect`, which cannot look into ~Copyable values.
    struct Snapshot {
        var clientHandshakeComplete: Bool
        var serverHandshakeComplete: Bool
        var clientVersion: String?
        var serverVersion: String?
        var clientCipherSuite: String?
        var clientPeer: PeerCertificate?
        var serverPeer: PeerCertificate?
        var clientHasPendingCiphertext: Bool
        var clientReceived: [UInt8]
        var serverReceived: [UInt8]
        var clientClosed: Bool
        var serverClosed: Bool
        var clientError: TLSError?
        var serverError: TLSError?
    }

    var snapshot: Snapshot {
        Snapshot(
            clientHandshakeComplete: client.isHandshakeComplete, serverHandshakeComplete: server.isHandshakeComplete,
            clientVersion: client.negotiatedVersion, serverVersion: server.negotiatedVersion,
            clientCipherSuite: client.negotiatedCipherSuite,
            clientPeer: client.peerCertificate, serverPeer: server.peerCertificate,
            clientHasPendingCiphertext: client.hasPendingCiphertext,
            clientReceived: clientReceived, serverReceived: serverReceived,
            clientClosed: clientClosed, serverClosed: serverClosed,
            clientError: clientError, serverError: serverError
        )
    }

    /// Reads, moves ciphertext, reads again, until neither side has anything to send.
    mutating func pump() {
        var rounds = 0
        while true {
            readClient()
            readServer()
            var toServer: [UInt8] = []
            client.drainCiphertext(into: &toServer)
            var toClient: [UInt8] = []
            server.drainCiphertext(into: &toClient)
            if toServer.isEmpty && toClient.isEmpty { return }
            clientToServerBytes += toServer.count
            serverToClientBytes += toClient.count
            for chunk in chunks(of: toServer) {
                chunk.withUnsafeBytes { server.receiveCiphertext($0) }
                readServer()
            }
            for chunk in chunks(of: toClient) {
                chunk.withUnsafeBytes { client.receiveCiphertext($0) }
                readClient()
            }
            rounds += 1
            precondition(rounds < 1000, "pump did not settle")
        }
    }

    private func chunks(of bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: bytes.count, by: min(chunkSize, max(bytes.count, 1))).map {
            bytes[$0..<min($0 + chunkSize, bytes.count)]
        }
    }

    private mutating func readClient() {
        guard clientError == nil, !clientClosed else { return }
        do {
            while true {
                switch try client.readPlaintext(into: &clientReceived, maxBytes: 7000) {
                case .progressed(let count): #expect(count > 0 && count <= 7000, "maxBytes is honoured")
                case .wantMoreCiphertext: return
                case .closed: clientClosed = true; return
                }
            }
        } catch { clientError = error }
    }

    private mutating func readServer() {
        guard serverError == nil, !serverClosed else { return }
        do {
            while true {
                switch try server.readPlaintext(into: &serverReceived) {
                case .progressed(let count): #expect(count > 0)
                case .wantMoreCiphertext: return
                case .closed: serverClosed = true; return
                }
            }
        } catch { serverError = error }
    }
}

/// A temporary directory removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("tls-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    /// Writes `bytes` to `name` with the given mode and returns the full path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o600) throws -> String {
        let file = path + "/" + name
        guard FileManager.default.createFile(atPath: file, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown)
        }
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        return file
    }

    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
        try write(name, Array(text.utf8), mode: mode)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

extension Array where Element == UInt8 {
    /// A recognisable, non-repeating test payload.
    static func pattern(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ $0 >> 8) }
    }
}
