import Cryptography
import Foundation
import Platform

/// Builds the bytes of each request of a workload: one per event-loop thread, used only there.
///
/// Guarantees:
/// - Every Secrets Manager request is signed with SigV4 (`RequestSigner`) at the moment it is
///   built (its own `X-Amz-Date`, body hash and signature): signing is part of what the
///   generator's CPU figure measures, as it is part of every real client's cost.
/// - Keys are chosen by a generator seeded from `--seed` and the thread's index, so a run is
///   repeatable; tokens and values of writes come from a generator seeded by the system, so a
///   second run never replays the first run's ClientRequestTokens.
/// - `sm-seed` requests are deterministic (token and value derive from the name and step), so
///   that seeding twice, or retrying a request, changes nothing.
struct RequestBuilder {
    let options: LoadOptions
    private var keys: Xorshift64
    private var fresh: Xorshift64
    private var signer: RequestSigner
    /// `http-get`: the same bytes every time.
    private let fixedRequest: [UInt8]

    /// The request line and the fixed headers of every Secrets Manager call.
    private let postHead: [UInt8]

    init(options: LoadOptions, thread: Int) {
        self.options = options
        keys = Xorshift64(seed: options.seed &+ UInt64(thread) &* 0x1000_0000_01B3)
        let entropy = (try? Random.bytes(8)) ?? []
        let systemSeed = entropy.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } ^ UInt64(thread)
        fresh = Xorshift64(seed: systemSeed ^ UInt64(bitPattern: Int64(Date().timeIntervalSince1970 * 1e6)))
        signer = RequestSigner(
            accessKeyId: options.accessKey ?? "", secretAccessKey: SecureBytes(Array((options.secretKey ?? "").utf8)),
            region: options.region, service: "secretsmanager", host: options.url.authority
        )
        fixedRequest = Array("GET \(options.path) HTTP/1.1\r\nHost: \(options.url.authority)\r\n\r\n".utf8)
        postHead = Array("POST / HTTP/1.1\r\nHost: \(options.url.authority)\r\nContent-Type: \(RequestSigner.contentType)\r\n".utf8)
    }

    /// The next request of a timed workload (not `sm-seed`).
    mutating func next() -> [UInt8] {
        switch options.workload {
        case .httpGet:
            return fixedRequest
        case .smGet:
            return secretsManager("GetSecretValue", #"{"SecretId":"\#(secretName(randomSecret()))"}"#)
        case .smDescribe:
            return secretsManager("DescribeSecret", #"{"SecretId":"\#(secretName(randomSecret()))"}"#)
        case .smList:
            return secretsManager("ListSecrets", #"{"MaxResults":100}"#)
        case .smPut:
            return randomPut()
        case .smMix:
            if keys.below(100) < options.readPercent {
                return secretsManager("GetSecretValue", #"{"SecretId":"\#(secretName(randomSecret()))"}"#)
            }
            return randomPut()
        case .etcdPut:
            let key = Self.base64(keyName(keys.below(options.keys)))
            return etcd("/v3/kv/put", #"{"key":"\#(key)","value":"\#(Self.base64(fresh.hex(100)))"}"#)
        case .etcdGet:
            return etcd("/v3/kv/range", #"{"key":"\#(Self.base64(keyName(keys.below(options.keys))))"}"#)
        case .smSeed:
            preconditionFailure("sm-seed requests come from seedRequest")
        case .smReplicationLag:
            preconditionFailure("sm-replication-lag requests come from LagWorker")
        }
    }

    /// Request `step` of seeding secret `index`: step 0 creates it, steps 1…versions put a
    /// version.
    mutating func seedRequest(secret index: Int, step: Int) -> [UInt8] {
        let name = secretName(index)
        let digest = Hex.encode(SHA256.hash(Array("strongroom-load seed \(name) \(step)".utf8)))
        let token = String(digest.prefix(32))
        let value = String(("seed \(name) v\(step) " + digest + digest).prefix(100))
        if step == 0 {
            return secretsManager("CreateSecret", #"{"Name":"\#(name)","ClientRequestToken":"\#(token)","SecretString":"\#(value)"}"#)
        }
        return secretsManager("PutSecretValue", #"{"SecretId":"\#(name)","ClientRequestToken":"\#(token)","SecretString":"\#(value)"}"#)
    }

    // MARK: - Pieces

    private mutating func randomSecret() -> Int { keys.below(options.secrets) }

    private mutating func randomPut() -> [UInt8] {
        let name = secretName(randomSecret())
        let token = fresh.hex(32)
        let value = fresh.hex(100)
        return secretsManager("PutSecretValue", #"{"SecretId":"\#(name)","ClientRequestToken":"\#(token)","SecretString":"\#(value)"}"#)
    }

    func secretName(_ index: Int) -> String { options.secretPrefix + Self.sixDigits(index) }

    func keyName(_ index: Int) -> String { options.keyPrefix + Self.sixDigits(index) }

    static func sixDigits(_ n: Int) -> String {
        precondition(n >= 0 && n < LoadOptions.maximumNames, "name index \(n) out of range")
        let text = String(n)
        return String(repeating: "0", count: 6 - text.count) + text
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// An AWS JSON 1.1 call, signed now.
    private mutating func secretsManager(_ operation: String, _ body: String) -> [UInt8] {
        Self.signedCall(head: postHead, signer: &signer, operation: operation, body: body)
    }

    /// `POST /` with the fixed head, the target, date, signature and body.
    static func signedCall(head: [UInt8], signer: inout RequestSigner, operation: String, body: String) -> [UInt8] {
        let bodyBytes = Array(body.utf8)
        let target = "secretsmanager." + operation
        let (amzDate, authorization) = signer.sign(target: target, body: bodyBytes, now: Date())
        var out = head
        out.reserveCapacity(head.count + 320 + bodyBytes.count)
        out.append(contentsOf: "X-Amz-Target: ".utf8)
        out.append(contentsOf: target.utf8)
        out.append(contentsOf: "\r\nX-Amz-Date: ".utf8)
        out.append(contentsOf: amzDate)
        out.append(contentsOf: "\r\nAuthorization: ".utf8)
        out.append(contentsOf: authorization)
        out.append(contentsOf: "\r\nContent-Length: \(bodyBytes.count)\r\n\r\n".utf8)
        out.append(contentsOf: bodyBytes)
        return out
    }

    /// Signed Secrets Manager calls to one endpoint in one region (the lag run has two).
    struct Signed {
        private var signer: RequestSigner
        private let head: [UInt8]

        init(url: TargetURL, accessKey: String, secretKey: String, region: String) {
            signer = RequestSigner(
                accessKeyId: accessKey, secretAccessKey: SecureBytes(Array(secretKey.utf8)), region: region,
                service: "secretsmanager", host: url.authority
            )
            head = Array("POST / HTTP/1.1\r\nHost: \(url.authority)\r\nContent-Type: \(RequestSigner.contentType)\r\n".utf8)
        }

        /// `operation` with the JSON `body`, signed now.
        mutating func call(_ operation: String, _ body: String) -> [UInt8] {
            RequestBuilder.signedCall(head: head, signer: &signer, operation: operation, body: body)
        }
    }

    /// A POST to etcd's JSON gateway.
    private func etcd(_ path: String, _ body: String) -> [UInt8] {
        let bytes = Array(body.utf8)
        var out = Array(
            "POST \(path) HTTP/1.1\r\nHost: \(options.url.authority)\r\nContent-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n".utf8
        )
        out.append(contentsOf: bytes)
        return out
    }
}
