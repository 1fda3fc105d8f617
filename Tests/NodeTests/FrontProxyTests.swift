import Foundation
import HTTP1
import JSON
@testable import Node
import Platform
import SecretsAPI
import Testing
import TLS
@testable import Configuration
@testable import Front
@testable import HTTPServer
@testable import Links
@testable import Logging
import AWSProtocol

/// The front proxy between a TLS client and two tiny TLS HTTP backends (the node's own
/// HTTPServer with a handler that says which region it is), all on 127.0.0.1.
@Suite struct FrontProxyTests {
    /// Answers every request with "region method target body-length x-test".
    struct RegionEcho: RequestHandler {
        let region: String
        func handle(_ request: HTTPRequest, connection: ConnectionInfo, respond: @escaping @Sendable (HTTPResponse) -> Void) {
            let text = "\(region) \(request.method) \(request.target) \(request.body.count) \(request.headers["X-Test"] ?? "-")"
            respond(HTTPResponse(status: 200, headers: [(name: "Content-Type", value: "text/plain")], body: Array(text.utf8)))
        }
    }

    /// A running front with backends for us-east-1 and eu-west-1, and a route for ap-southeast-2
    /// to a port where nothing listens.
    final class Cluster {
        let pki: TestClusterPKI
        let backends: [HTTPServer]
        let front: FrontProxy
        let clientContext: TLSContext

        init() throws {
            pki = try TestClusterPKI()
            var routes: [String: SocketAddress] = [:]
            var backends: [HTTPServer] = []
            for region in ["us-east-1", "eu-west-1"] {
                let files = try pki.issueNode(region: region, nodeId: "\(region)-a")
                let context = try TLSContext.server(certificateChainFile: files.certificateFile, privateKeyFile: files.keyFile)
                let server = try HTTPServer(addresses: [SocketAddress(host: "127.0.0.1", port: 0)!], context: context,
                                            handler: RegionEcho(region: region), limits: ServerLimits(), eventLoops: 1,
                                            log: Logger(label: "backend-\(region)"))
                try server.start()
                backends.append(server)
                routes[region] = server.boundAddresses[0]
            }
            routes["ap-southeast-2"] = try TestListener().address  // closed at once: nothing listens
            self.backends = backends
            let frontFiles = try pki.issueNode(region: "front", nodeId: "front")
            var configuration = FrontConfiguration(
                listen: SocketAddress(host: "127.0.0.1", port: 0)!, certificateFile: frontFiles.certificateFile,
                privateKeyFile: frontFiles.keyFile, caFile: pki.caFile, routes: routes
            )
            configuration.connectTimeout = 2
            configuration.responseTimeout = 5
            front = try FrontProxy(configuration: configuration, log: Logger(label: "front"))
            try front.start()
            clientContext = try TLSContext.client(trustedCAFile: pki.caFile)
        }

        func connect() throws -> TLSStream {
            try TLSStream.connect(to: front.boundAddress, context: clientContext, expectedPeerIP: "127.0.0.1", timeout: 5)
        }

        func stop() {
            front.stopAndJoin()
            for backend in backends { backend.stopAndJoin() }
            pki.remove()
        }
    }

    static func request(region: String?, body: String = "{}", extraHeaders: String = "", close: Bool = false) -> [UInt8] {
        var text = "POST / HTTP/1.1\r\nHost: secretsmanager.\(region ?? "none").amazonaws.com\r\nX-Amz-Date: 20261123T100000Z\r\n"
        if let region {
            text += "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/\(region)/secretsmanager/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=0123abcd\r\n"
        }
        text += extraHeaders + (close ? "Connection: close\r\n" : "")
        text += "Content-Type: application/x-amz-json-1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        return Array(text.utf8)
    }

    /// Reads one response (and returns it with its body), or nil if the connection closed first.
    /// Bytes read past it (the next of pipelined responses, in the same read) stay in `pending`
    /// for the next call.
    static func readResponse(_ stream: TLSStream, _ pending: inout [UInt8]) throws -> (HTTPResponseSummary, String)? {
        var parser = HTTPResponseParser(captureLimit: 1 << 20, captureSuccessBodies: true)
        while true {
            let bytes: [UInt8]
            if pending.isEmpty {
                bytes = try stream.read(maxBytes: 65536, timeout: 10)
                if bytes.isEmpty { return nil }
            } else {
                bytes = pending
                pending = []
            }
            let (consumed, response) = try parser.parse(bytes[...])
            if let response {
                pending = Array(bytes[consumed...])
                return (response, String(decoding: response.bodyPrefix, as: UTF8.self))
            }
        }
    }

    @Test func requestsGoToTheNodeOfTheirRegionOverOneKeptAliveConnection() throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        let client = try cluster.connect()
        defer { client.close() }
        var pending: [UInt8] = []
        for (region, body) in [("us-east-1", "{\"a\":1}"), ("eu-west-1", "{}"), ("us-east-1", String(repeating: "x", count: 100_000))] {
            try client.write(Self.request(region: region, body: body, extraHeaders: "X-Test: kept\r\n"), timeout: 5)
            let (response, text) = try #require(try Self.readResponse(client, &pending))
            #expect(response.status == 200)
            #expect(response.keepAlive)
            #expect(text == "\(region) POST / \(body.utf8.count) kept")
        }
        // Two pipelined requests, the second chunked: cut at the right byte, in order.
        let chunked = Array("POST /?x=1 HTTP/1.1\r\nHost: h\r\nX-Amz-Date: 20261123T100000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".utf8)
        try client.write(Self.request(region: "us-east-1", body: "{}") + chunked, timeout: 5)
        #expect(try Self.readResponse(client, &pending)?.1 == "us-east-1 POST / 2 -")
        #expect(try Self.readResponse(client, &pending)?.1 == "eu-west-1 POST /?x=1 5 -")
        // Connection: close is relayed (the node's answer says it) and honoured.
        try client.write(Self.request(region: "eu-west-1", close: true), timeout: 5)
        let (last, _) = try #require(try Self.readResponse(client, &pending))
        #expect(!last.keepAlive)
        #expect(try client.read(maxBytes: 1, timeout: 5) == [])
    }

    @Test func missingOrUnknownRegionsAndDeadNodesGetAWSJSONErrorsAndTheConnectionStaysOpen() throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        let client = try cluster.connect()
        defer { client.close() }
        var pending: [UInt8] = []
        let cases: [(request: [UInt8], status: Int, type: String)] = [
            (Self.request(region: nil), 400, "MissingAuthenticationTokenException"),
            (Self.request(region: "us-west-2"), 400, "InvalidSignatureException"),
            (Self.request(region: "ap-southeast-2"), 503, "ServiceUnavailableException"),
        ]
        for (request, status, type) in cases {
            try client.write(request, timeout: 5)
            let (response, text) = try #require(try Self.readResponse(client, &pending))
            #expect(response.status == status)
            #expect(response.keepAlive)
            let json = try JSONValue.parse(Array(text.utf8))
            guard case .object(let members) = json else {
                Issue.record("not a JSON object: \(text)")
                continue
            }
            #expect(members.first { $0.key == "__type" }?.value == .string(type), "\(text)")
            #expect(members.contains { $0.key == "message" }, "\(text)")
        }
        // Still usable afterwards.
        try client.write(Self.request(region: "eu-west-1"), timeout: 5)
        #expect(try Self.readResponse(client, &pending)?.1 == "eu-west-1 POST / 2 -")
    }

    @Test func malformedHTTPIsAnsweredAndClosed() throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        let client = try cluster.connect()
        defer { client.close() }
        var pending: [UInt8] = []
        try client.write(Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n".utf8), timeout: 5)
        let (response, _) = try #require(try Self.readResponse(client, &pending))
        #expect(response.status == 413)
        #expect(!response.keepAlive)
        #expect(try client.read(maxBytes: 1, timeout: 5) == [])
    }

    @Test func stoppingClosesIdleClientConnections() throws {
        let cluster = try Cluster()
        let client = try cluster.connect()
        var pending: [UInt8] = []
        try client.write(Self.request(region: "us-east-1"), timeout: 5)
        #expect(try Self.readResponse(client, &pending)?.0.status == 200)
        let started = MonotonicClock.seconds()
        cluster.stop()
        #expect(MonotonicClock.seconds() - started < 3)
        #expect(cluster.front.openConnections == 0)
        #expect(try client.read(maxBytes: 1, timeout: 5) == [])
    }
}

/// Reading the region out of a request's credential scope, and the command line.
@Suite struct FrontRoutingTests {
    static func request(target: String = "/", _ headers: [(String, String)]) -> HTTPRequest {
        HTTPRequest(method: "POST", target: target, headers: HTTPHeaders(headers.map { (name: $0.0, value: $0.1) }))
    }

    static let date = ("X-Amz-Date", "20261123T100000Z")

    @Test func theRegionComesFromTheCredentialScope() throws {
        let header = "AWS4-HMAC-SHA256 Credential=AKID/20261123/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=ab"
        #expect(try FrontRouting.region(of: Self.request([("authorization", header), Self.date])) == "eu-west-1")
        let query = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261123%2Fap-southeast-2%2Fsecretsmanager%2Faws4_request"
            + "&X-Amz-Date=20261123T100000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab"
        #expect(try FrontRouting.region(of: Self.request(target: query, [])) == "ap-southeast-2")
    }

    @Test(arguments: [
        ([], "MissingAuthenticationTokenException"),
        ([("Authorization", "Basic dXNlcjpwYXNz"), date], "MissingAuthenticationTokenException"),
        ([("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261123/eu-west-1, SignedHeaders=host, Signature=ab"), date],
         "IncompleteSignatureException"),
        ([("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261123/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host"), date],
         "IncompleteSignatureException"),
        ([("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261123/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=ab")],
         "IncompleteSignatureException"),
        ([("Authorization", "AWS4-HMAC-SHA256 Credential"), date], "IncompleteSignatureException"),
        ([("Authorization", "AWS4-"), date], "IncompleteSignatureException"),
    ] as [([(String, String)], String)])
    func badAuthorizationIsTheNodesError(headers: [(String, String)], type: String) {
        #expect {
            _ = try FrontRouting.region(of: Self.request(headers))
        } throws: { error in
            (error as? AWSError)?.code.type == type && (error as? AWSError)?.code.status == 400
        }
    }

    /// The option values of `strongroom front` (its syntax is tested in CommandsTests).
    @Test func theOptionValuesAreRead() throws {
        let configuration = try FrontConfiguration.parse(
            listen: "127.0.0.1:8443", certificateFile: "f.pem", privateKeyFile: "f.key", caFile: "ca.pem",
            routes: ["us-east-1=127.0.0.1:7001", "eu-west-1=localhost:7002"], maxConnections: "64", limits: ["silentTimeoutSeconds=3"])
        #expect(configuration.listen == SocketAddress("127.0.0.1:8443"))
        #expect(configuration.routes == ["us-east-1": SocketAddress("127.0.0.1:7001")!, "eu-west-1": SocketAddress("127.0.0.1:7002")!])
        #expect(configuration.limits.maxConnections == 64)
        #expect(configuration.caFile == "ca.pem")
    }

    @Test(arguments: [
        ("127.0.0.1:8443", [], nil, []),
        ("nowhere", ["a=127.0.0.1:1"], nil, []),
        ("127.0.0.1:1", ["a"], nil, []),
        ("127.0.0.1:1", ["a/b=127.0.0.1:1"], nil, []),
        ("127.0.0.1:1", ["a=127.0.0.1:1", "a=127.0.0.1:1"], nil, []),
        ("127.0.0.1:1", ["a=127.0.0.1:1"], "0", []),
        ("127.0.0.1:1", ["a=127.0.0.1:1"], nil, ["silentTimeoutSeconds"]),
        ("127.0.0.1:1", ["a=127.0.0.1:1"], nil, ["silentTimeoutSeconds=3", "silentTimeoutSeconds=4"]),
    ] as [(String, [String], String?, [String])])
    func badOptionValuesAreProblems(listen: String, routes: [String], maxConnections: String?, limits: [String]) {
        #expect(throws: FrontConfiguration.Problem.self) {
            try FrontConfiguration.parse(listen: listen, certificateFile: "f", privateKeyFile: "k", caFile: "c",
                                         routes: routes, maxConnections: maxConnections, limits: limits)
        }
    }

    /// A region given several times lists its nodes in order (the first is its route).
    @Test func aRegionMayNameSeveralNodes() throws {
        let configuration = try FrontConfiguration.parse(listen: "127.0.0.1:1", certificateFile: "f", privateKeyFile: "k", caFile: "c",
                                                         routes: ["a=127.0.0.1:1", "b=127.0.0.1:3", "a=127.0.0.1:2"], maxConnections: nil, limits: [])
        #expect(configuration.routes["a"] == SocketAddress("127.0.0.1:1"))
        #expect(configuration.nodes(of: "a") == [SocketAddress("127.0.0.1:1")!, SocketAddress("127.0.0.1:2")!])
        #expect(configuration.nodes(of: "b") == [SocketAddress("127.0.0.1:3")!] && configuration.nodes(of: "c").isEmpty)
    }
}
