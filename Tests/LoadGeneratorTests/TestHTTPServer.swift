import Cryptography
import Foundation
import HTTP1
import JSON
import Platform
import Synchronization
import TLS
import AWSProtocol
import SigV4

/// A small HTTP/1.1 server on 127.0.0.1 for end-to-end tests of the generator: one thread, one
/// epoll loop, optional TLS, the project's own request parser, and configurable misbehaviour
/// (closing connections, failing requests, chunked answers). It counts and keeps what it got.
final class TestHTTPServer: Sendable {
    /// How the server answers.
    struct Behavior: Sendable {
        /// Answer every k-th response of a connection with `Connection: close` and close (0: never).
        var closeEvery = 0
        /// Answer every k-th request (across connections) with 500 (0: never).
        var failEvery = 0
        /// Frame bodies with chunked transfer coding instead of Content-Length.
        var chunked = false
        /// When set, requests must carry a valid SigV4 signature for these credentials and
        /// region (service secretsmanager); others get 403.
        var sigV4: (accessKey: String, secretKey: String, region: String)?
        /// Answer CreateSecret with 400 ResourceExistsException.
        var secretsExist = false
        var body = Array(#"{"ok":true}"#.utf8)
        /// When set, a toy Secrets Manager: PutSecretValue keeps the SecretString in `store`
        /// (unless `storeAcceptsWrites` is false: a replica), GetSecretValue answers the latest
        /// value put at least `visibleAfter` seconds ago, or "initial" (secrets in
        /// `hiddenSecrets` never show a put value).
        var store: SecretBox?
        var storeAcceptsWrites = true
        var visibleAfter = 0.0
        var hiddenSecrets: Set<String> = []
    }

    /// Values put, per secret, with when (monotonic ns); shared by a primary and a replica server.
    final class SecretBox: Sendable {
        let values = Mutex<[String: [(value: String, atNs: UInt64)]]>([:])
    }

    /// One request as received.
    struct Received: Sendable {
        var method: String
        var target: String
        var amzTarget: String?
        var body: String
    }

    let port: UInt16
    private let core: Core
    private let thread: OSThread

    /// Starts serving at once; `tls` makes it an HTTPS server.
    init(behavior: Behavior = Behavior(), tls: TLSContext? = nil) throws {
        let core = Core(behavior: behavior)
        let portBox = ConditionLock<UInt16?>(nil)
        thread = try OSThread.start(name: "test-http") {
            core.serve(tls: tls, publishPort: { port in
                portBox.withLock { $0 = port }
                portBox.broadcast()
            })
        }
        self.core = core
        port = portBox.withLock(waitingUntil: { $0 != nil }) { $0! }
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var requestsServed: Int { core.served.load(ordering: .relaxed) }
    var connectionsOpened: Int { core.connectionsAccepted.load(ordering: .relaxed) }
    var received: [Received] { core.log.withLock { $0 } }

    /// A port nothing listens on (bound, read and released; nothing else here takes it).
    static func unusedPort() throws -> UInt16 {
        let listener = try TCPSocket.listen(on: SocketAddress("127.0.0.1:0")!)
        return try TCPSocket.localPort(listener)
    }

    /// Stops the loop and waits for the thread.
    func stop() {
        core.stopFlag.store(true, ordering: .relaxed)
        thread.join()
    }
}

/// The server's state shared with its thread.
private final class Core: Sendable {
    typealias Behavior = TestHTTPServer.Behavior
    typealias Received = TestHTTPServer.Received

    let behavior: Behavior
    let stopFlag = Atomic<Bool>(false)
    let served = Atomic<Int>(0)
    let connectionsAccepted = Atomic<Int>(0)
    let log = Mutex<[Received]>([])

    init(behavior: Behavior) { self.behavior = behavior }

    private final class Client {
        let fd: FileDescriptor
        var tls: TLSConnection?
        var parser = HTTPRequestParser()
        var answered = 0
        var output: [UInt8] = []
        var closing = false
        init(fd: consuming FileDescriptor, tls: consuming TLSConnection?) {
            self.fd = fd
            self.tls = tls
        }
    }

    func serve(tls: TLSContext?, publishPort: (UInt16) -> Void) {
        guard let listener = try? TCPSocket.listen(on: SocketAddress("127.0.0.1:0")!),
              let epoll = try? Epoll(), (try? epoll.add(listener.rawValue, events: .readable, tag: 0)) != nil else {
            return publishPort(1)
        }
        publishPort((try? TCPSocket.localPort(listener)) ?? 1)
        var clients: [UInt64: Client] = [:]
        var nextTag: UInt64 = 1
        var events: [(tag: UInt64, events: EpollEvents)] = []
        while !stopFlag.load(ordering: .relaxed) {
            guard (try? epoll.wait(timeoutMilliseconds: 20, into: &events)) != nil else { continue }
            for event in events {
                if event.tag == 0 {
                    while let accepted = try? TCPSocket.accept(listener.rawValue) {
                        let fd = accepted.takeDescriptor()
                        let raw = fd.rawValue
                        let session = tls.flatMap { try? TLSConnection(context: $0) }
                        clients[nextTag] = Client(fd: fd, tls: session)
                        _ = try? epoll.add(raw, events: .readable, tag: nextTag)
                        nextTag += 1
                        connectionsAccepted.add(1, ordering: .relaxed)
                    }
                } else if let client = clients[event.tag], !handle(client) {
                    clients[event.tag] = nil
                }
            }
        }
    }

    /// Reads, answers, writes; false when the connection is done.
    private func handle(_ client: Client) -> Bool {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        let result = scratch.withUnsafeMutableBytes { try? TCPSocket.read(client.fd.rawValue, into: $0) }
        guard case .transferred(let n)? = result else { return true }
        if n == 0 { return false }
        let input = Array(scratch[0..<n])
        if client.tls != nil {
            client.tls!.receiveCiphertext(input)
            var plain: [UInt8] = []
            while case .progressed? = try? client.tls!.readPlaintext(into: &plain) {}
            client.parser.append(plain)
        } else {
            client.parser.append(input)
        }
        while !client.closing, let event = try? client.parser.next(), case .request(let request) = event {
            let count = served.add(1, ordering: .relaxed).newValue
            client.answered += 1
            let close = behavior.closeEvery > 0 && client.answered % behavior.closeEvery == 0
            let response = answer(request, number: count, close: close)
            if client.tls != nil {
                _ = try? client.tls!.writePlaintext(response)
            } else {
                client.output.append(contentsOf: response)
            }
            client.closing = close
        }
        if client.tls != nil { client.tls!.drainCiphertext(into: &client.output) }
        // Test answers are small: a blocking-style loop is enough.
        var offset = 0
        while offset < client.output.count {
            switch try? TCPSocket.write(client.fd.rawValue, client.output, from: offset) {
            case .transferred(let w)?: offset += w
            case .wouldBlock?: OSThread.sleep(seconds: 0.001)
            case nil: return false
            }
        }
        client.output.removeAll()
        return !client.closing
    }

    private func answer(_ request: HTTPRequest, number: Int, close: Bool) -> [UInt8] {
        let body = String(decoding: request.body, as: UTF8.self)
        log.withLock {
            $0.append(Received(method: request.method, target: request.target, amzTarget: request.headers["X-Amz-Target"], body: body))
        }
        var status = 200
        var responseBody = behavior.body
        if let keys = behavior.sigV4 {
            let aws = AWSRequest(method: request.method, path: request.target, headers: Array(request.headers), body: request.body)
            let verifier = SigV4.Verifier(region: keys.region, service: "secretsmanager")
            do {
                _ = try verifier.verify(aws, now: Date()) { id, _ in id == keys.accessKey ? SecureBytes(Array(keys.secretKey.utf8)) : nil }
            } catch {
                status = 403
                responseBody = Array(#"{"__type":"InvalidSignatureException","message":"\#(error.message ?? "")"}"#.utf8)
            }
        }
        if status == 200, let store = behavior.store, let input = try? JSONValue.parse(request.body),
           let id = input["SecretId"]?.stringValue {
            let now = MonotonicClock.nanoseconds()
            switch request.headers["X-Amz-Target"] {
            case "secretsmanager.PutSecretValue" where behavior.storeAcceptsWrites:
                store.values.withLock { $0[id, default: []].append((input["SecretString"]?.stringValue ?? "", now)) }
                responseBody = Array(#"{"ARN":"arn","VersionId":"v"}"#.utf8)
            case "secretsmanager.GetSecretValue":
                let delay = UInt64(behavior.visibleAfter * 1e9)
                var value = "initial"
                if !behavior.hiddenSecrets.contains(id),
                   let shown = store.values.withLock({ $0[id]?.last { $0.atNs + delay <= now } }) {
                    value = shown.value
                }
                responseBody = JSONValue.object([("Name", .string(id)), ("SecretString", .string(value))]).serializedBytes()
            default:
                break
            }
        }
        if status == 200, behavior.secretsExist, request.headers["X-Amz-Target"] == "secretsmanager.CreateSecret" {
            status = 400
            responseBody = Array(#"{"__type":"ResourceExistsException","message":"exists"}"#.utf8)
        }
        if status == 200, behavior.failEvery > 0, number % behavior.failEvery == 0 {
            status = 500
            responseBody = Array("failure \(number)".utf8)
        }
        var head = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\n"
        if close { head += "Connection: close\r\n" }
        guard behavior.chunked else {
            return Array((head + "Content-Length: \(responseBody.count)\r\n\r\n").utf8) + responseBody
        }
        // Two chunks and a trailer, to exercise the client's chunked decoding end to end.
        let half = responseBody.count / 2
        var out = Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8)
        for part in [responseBody[..<half], responseBody[half...]] where !part.isEmpty {
            out += Array((String(part.count, radix: 16) + ";x=y\r\n").utf8) + part + Array("\r\n".utf8)
        }
        return out + Array("0\r\nX-Trailer: t\r\n\r\n".utf8)
    }
}
