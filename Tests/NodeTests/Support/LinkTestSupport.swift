import Cryptography
import Foundation
@testable import Node
import Platform
import Synchronization
import Testing
import TLS
import Configuration
import Links

/// A cluster CA written to a fresh temporary directory, issuing node certificates to files
/// (keys 0600, as the TLS context factories require).
struct TestClusterPKI: Sendable {
    let directory: String
    let root: GeneratedCertificate
    var caFile: String { directory + "/ca.pem" }

    init(name: String = "Test Cluster CA") throws {
        directory = NSTemporaryDirectory() + "strongroom-link-\(UUID().uuidString)"
        try Files.makeDirectory(directory)
        root = try CertificateAuthority.generateRoot(commonName: name, now: Date())
        try Files.writeAtomically(Array(root.certificatePEM.utf8), to: directory + "/ca.pem", mode: 0o644)
    }

    /// A node certificate with the node identity URI (or `uris` instead) and IP 127.0.0.1.
    func issueNode(
        region: String, nodeId: String, uris: [String]? = nil, now: Date = Date(), validityDays: Int = 30
    ) throws -> (certificateFile: String, keyFile: String) {
        let issued = try CertificateAuthority.issue(
            commonName: nodeId, organizationalUnit: "node", dnsNames: [], ipAddresses: ["127.0.0.1"],
            uris: uris ?? [NodeIdentity.uri(region: region, nodeId: nodeId)], validityDays: validityDays,
            issuerCertificatePEM: root.certificatePEM, issuerPrivateKeyPEM: root.privateKeyPEM, now: now
        )
        let base = directory + "/\(nodeId)-\(UUID().uuidString.prefix(8))"
        try Files.writeAtomically(Array(issued.certificatePEM.utf8), to: base + ".pem", mode: 0o644)
        try issued.privateKeyPEM.withUnsafeBytes { key in
            try Files.writeAtomically(Array(key), to: base + ".key", mode: 0o600)
        }
        return (base + ".pem", base + ".key")
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// A listening socket on 127.0.0.1 (port chosen by the kernel).
final class TestListener: Sendable {
    let descriptor: FileDescriptor
    let address: SocketAddress

    init() throws {
        let fd = try TCPSocket.listen(on: SocketAddress(host: "127.0.0.1", port: 0)!)
        let port = try TCPSocket.localPort(fd)
        descriptor = fd
        address = SocketAddress(host: "127.0.0.1", port: port)!
    }

    /// Accepts one connection and runs the server side of the TLS handshake.
    func acceptTLS(context: TLSContext, timeout: Double = 5) throws(LinkError) -> TLSStream {
        let deadline = MonotonicClock.seconds() + timeout
        while true {
            let remaining = deadline - MonotonicClock.seconds()
            guard remaining > 0 else { throw LinkError(.timedOut, "nobody connected") }
            do {
                _ = try Poll.wait(descriptor.rawValue, for: .readable, timeout: remaining)
                if let accepted = try TCPSocket.accept(descriptor.rawValue) {
                    let peer = accepted.peer
                    return try TLSStream.accept(accepted.takeDescriptor(), context: context, timeout: remaining, peer: peer)
                }
            } catch let error as LinkError {
                throw error
            } catch {
                throw LinkError(.io, "accept: \(error)")
            }
        }
    }

    /// Runs `acceptTLS` then `body` on another thread; `wait()` returns what happened there.
    func serveOne(context: TLSContext, _ body: @escaping @Sendable (TLSStream) throws(LinkError) -> Void) throws -> Background<TLSStream> {
        try Background { () throws(LinkError) -> TLSStream in
            let stream = try self.acceptTLS(context: context)
            try body(stream)
            return stream
        }
    }
}

/// Work on a dedicated thread whose result (or typed error) the test collects.
final class Background<Value: Sendable>: Sendable {
    private let result = Mutex<Result<Value, LinkError>?>(nil)
    private let thread = Mutex<OSThread?>(nil)

    init(_ body: @escaping @Sendable () throws(LinkError) -> Value) throws {
        let started = try OSThread.start(name: "test-bg") { [self] in
            let outcome: Result<Value, LinkError>
            do throws(LinkError) { outcome = .success(try body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
        }
        thread.withLock { $0 = started }
    }

    /// Joins the thread and returns its outcome.
    func wait() -> Result<Value, LinkError> {
        thread.withLock { $0 }?.join()
        return result.withLock { $0 }!
    }
}
