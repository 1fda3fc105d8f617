import JSON
import SecretStore
public import Cryptography
public import Foundation
import Dispatch
import Synchronization
public import AWSProtocol
import SigV4

/// The AWS Secrets Manager API of one node: AWS JSON 1.1 over `POST /`, SigV4, the service
/// model's validation, and the operations of `OperationTable`.
///
/// Pure: no sockets, files or clocks. The caller passes the request time (`now`) and the
/// randomness; identities can be swapped at any time (SIGHUP reload) from any thread.
///
/// Every operation authorizes its caller (identity and resource policies, `Authorizer`)
/// before it reads or decides anything.
public final class SecretsManagerService: Sendable {
    /// The JSON 1.1 media type of every answer.
    public static let contentType = AWSJSON.contentType

    public let region: String
    private let random: any RandomSource
    private let requestIdRandom: any RandomSource
    private let identities: Mutex<IAMConfiguration>
    private let model: ServiceModel
    private let operations: OperationTable
    private let verifier: SigV4.Verifier
    /// Signing keys derived once per access key and day (see `SigV4.SigningKeyCache`).
    private let signingKeys = SigV4.SigningKeyCache()
    private let authorizer = Authorizer()
    private let audit = Mutex<(any AuditSink)?>(nil)

    /// - Parameters:
    ///   - region: the node's region; credential scopes must name it.
    ///   - identities: who may authenticate.
    ///   - random: the source of generated passwords, version ids and keys.
    ///   - requestIds: the source of request and event ids (default: `random`); the node passes
    ///     a ``BatchedRandomSource``.
    ///   - operations: the implemented operations (tests may pass their own table).
    public init(region: String, identities: IAMConfiguration, random: any RandomSource, requestIds: (any RandomSource)? = nil,
                operations: OperationTable = .standard) {
        self.region = region
        self.random = random
        self.requestIdRandom = requestIds ?? random
        self.identities = Mutex(identities)
        self.model = .secretsManager
        self.operations = operations
        self.verifier = SigV4.Verifier(region: region, service: ServiceModel.secretsManager.signingName)
    }

    /// Starts writing one audit record per request to `sink` (the node's trail), and refusing
    /// requests the sink cannot take.
    public func setAuditSink(_ sink: any AuditSink) {
        audit.withLock { $0 = sink }
    }

    /// Replaces the identities; requests already past authentication keep the principal they had.
    public func replaceIdentities(_ identities: IAMConfiguration) {
        self.identities.withLock { $0 = identities }
    }

    /// The identities in force (the rotation runner issues its sessions from them).
    public var currentIdentities: IAMConfiguration {
        identities.withLock { $0 }
    }

    /// Answers one request through `respond` (called exactly once, from any thread: a write
    /// answers once its record is durable). Every answer, errors included, carries
    /// `x-amzn-RequestId` and the JSON 1.1 content type.
    /// - Parameter batch: the calling event loop's batch: a record made on its thread waits there
    ///   and is written with the pass's others (`flush(_:)`), and the answer waits for it.
    public func handle(_ request: AWSRequest, now: Date, batch: AuditBatch? = nil, respond: @escaping @Sendable (AWSResponse) -> Void) {
        let requestId = makeRequestId()
        let headers = [(name: "x-amzn-RequestId", value: requestId), (name: "Content-Type", value: Self.contentType)]
        let send: @Sendable (Result<JSONValue, AWSError>) -> Void = { result in
            switch result {
            case .success(let output):
                respond(AWSResponse(status: 200, headers: headers, body: output.serializedBytes()))
            case .failure(let error):
                respond(AWSResponse(status: error.code.status, headers: headers, body: error.body.serializedBytes()))
            }
        }
        let audit = self.audit.withLock { $0 }
        if let audit {
            do {
                try audit.reserve()
            } catch {
                return send(.failure(.auditUnavailable))
            }
        }
        var facts = AuditFacts(requestId: requestId, eventId: makeRequestId(), eventTime: AWSTimestamp.extended(now),
                               region: region, sourceIP: request.sourceIP, userAgent: request.header("User-Agent"))
        // The audit record is written before the answer is sent; an answer that cannot be
        // audited is not sent. A write that is already durable is then answered with a
        // retryable error, and its retry (same ClientRequestToken) is answered from the log.
        let finish: @Sendable (AuditFacts, Result<JSONValue, AWSError>) -> Void = { facts, result in
            if audit != nil, let batch, batch.isOwnThread() {
                batch.add(facts.event(result)) { written in send(written ? result : .failure(.auditUnavailable)) }
                return
            }
            if let audit {
                do {
                    try audit.record(facts.event(result))
                } catch {
                    return send(.failure(.auditUnavailable))
                }
            }
            send(result)
        }
        let prepared: (operation: String, context: OperationContext, input: JSONValue)
        do {
            prepared = try prepare(request, now: now, requestId: requestId, facts: &facts)
        } catch {
            return finish(facts, .failure(error))
        }
        let known = facts
        operations.run(prepared.operation, context: prepared.context, input: prepared.input) { finish(known, $0) }
    }

    /// Writes the records a pass held back (with one write where the sink can) and releases
    /// their answers: each is sent as decided when its record was written, and as the retryable
    /// audit failure when it was not. Called on the batch's own thread.
    public func flush(_ batch: AuditBatch) {
        let (events, answers) = batch.take()
        guard !events.isEmpty else { return }
        let written = audit.withLock { $0 }?.record(contentsOf: events) ?? 0
        for (index, answer) in answers.enumerated() { answer(index < written) }
    }

    /// Answers one request and waits for the answer (tests and tools; the node never blocks a
    /// request thread).
    public func handle(_ request: AWSRequest, now: Date) -> AWSResponse {
        let box = Mutex<AWSResponse?>(nil)
        let done = DispatchSemaphore(value: 0)
        handle(request, now: now) { response in
            box.withLock { $0 = response }
            done.signal()
        }
        done.wait()
        return box.withLock { $0! }
    }

    /// Everything before the operation: protocol, operation name, SigV4, body, model checks.
    private func prepare(
        _ request: AWSRequest, now: Date, requestId: String, facts: inout AuditFacts
    ) throws(AWSError) -> (operation: String, context: OperationContext, input: JSONValue) {
        // 1. Only `POST /` with the JSON 1.1 media type is the protocol. Anything else is
        //    refused the way AWS's frontend refuses a request it cannot map to an operation.
        guard request.method == "POST", request.path == "/", Self.isJSONMediaType(request.header("Content-Type")) else {
            if request.header("Authorization") != nil {
                throw AWSError(.accessDenied, "Unable to determine service/operation name to be authorized")
            }
            throw AWSError(.missingAuthenticationTokenForbidden, "Missing Authentication Token")
        }

        // 2. The operation, from `X-Amz-Target: secretsmanager.<Operation>`.
        //    Strongroom's own node operations (`Strongroom.<Operation>`) sit beside AWS's.
        let prefix = model.targetPrefix + "."
        guard let target = request.header("X-Amz-Target"),
              let operation = target.hasPrefix(prefix)
                  ? model.operation(named: String(target.dropFirst(prefix.count)))
                  : Self.nodeOperations.first(where: { "Strongroom." + $0.name == target })
        else {
            throw AWSError(.unknownOperation, nil)
        }

        // 3. Who is calling. The configuration is copied out of the lock (copy-on-write, cheap)
        //    so that the HMAC work runs without holding it.
        let configuration = identities.withLock { $0 }
        facts.operation = operation.name
        // A node operation is not a regional one: it is signed for whatever region the caller
        // names (the signature is still checked against that scope).
        let isNodeOperation = Self.nodeOperations.contains { $0.name == operation.name } && !target.hasPrefix(prefix)
        let caller = try authenticate(request, now: now, configuration: configuration,
                                      verifier: isNodeOperation
                                          ? SigV4.Verifier(region: try SigV4.credentialRegion(of: request), service: ServiceModel.secretsManager.signingName)
                                          : verifier)
        facts.caller = caller

        // 4. The body: an empty body is `{}`; anything else must be a JSON document.
        let input: JSONValue
        if request.body.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            input = .object([])
        } else {
            do {
                input = try JSONValue.parse(request.body)
            } catch {
                throw AWSError(.serialization, nil)
            }
        }

        facts.input = input

        // 5. The model's constraints, then 6. the operation.
        if let inputShape = operation.input {
            try RequestValidator(model: model).validate(input, shapeName: inputShape)
        }
        let normalized = input == .null ? JSONValue.object([]) : input
        // 5b. A SecretId's characters, before anything looks for the secret (AWS validates the
        //     request before existence and authorization): docs/API-FIDELITY.md, "Order of checks".
        if case .string(let secretId)? = normalized["SecretId"], !Names.isValidSecretId(secretId) {
            throw AWSError(SecretStoreError.invalidName)
        }
        facts.input = normalized
        let context = OperationContext(
            operation: operation.name, caller: caller, region: region, now: now, random: random, requestId: requestId,
            identityPolicies: configuration.identityPolicies(forPrincipalARN: caller.principal.arn),
            requestKeys: RequestKeys.make(input: normalized, sourceIP: request.sourceIP, now: now, region: region,
                                          session: caller.session),
            identities: configuration, authorizer: authorizer
        )
        return (operation.name, context, normalized)
    }

    /// Operations of Strongroom itself (not of AWS's model), named `Strongroom.<Operation>` in
    /// `X-Amz-Target`, authorized as `strongroom:<Operation>`.
    static let nodeOperations = [ServiceModel.Operation(name: "GetNodeStatus", input: nil),
                                 ServiceModel.Operation(name: "PromoteRegion", input: nil),
                                 ServiceModel.Operation(name: "PromoteNode", input: nil)]

    /// Whether a `Content-Type` value names the JSON 1.1 media type: the part before any `;`,
    /// without the optional white space around it (RFC 9110: spaces and tabs), compared
    /// case-insensitively.
    static func isJSONMediaType(_ value: String?) -> Bool {
        guard let value else { return false }
        var bytes = Substring(value).utf8
        if let semicolon = bytes.firstIndex(of: UInt8(ascii: ";")) { bytes = bytes[..<semicolon] }
        let isBlank = { (b: UInt8) in b == 0x20 || b == 0x09 }
        while let first = bytes.first, isBlank(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, isBlank(last) { bytes = bytes.dropLast() }
        return AWSRequest.equalIgnoringASCIICase(bytes, contentType.utf8)
    }

    /// SigV4 with long-term keys or session credentials: the caller, or the error AWS gives.
    private func authenticate(
        _ request: AWSRequest, now: Date, configuration: IAMConfiguration, verifier: SigV4.Verifier
    ) throws(AWSError) -> Caller {
        var session: SessionClaims?
        let verified = try verifier.verify(request, now: now, signingKeys: signingKeys) { accessKeyId, token in
            guard let token else { return configuration.credentials(forAccessKeyId: accessKeyId)?.secretAccessKey }
            guard let key = configuration.sessionSigningKey, let opened = SessionToken.open(token, key: key),
                  opened.claims.accessKeyId == accessKeyId
            else { return nil }
            session = opened.claims
            return opened.secretAccessKey
        }
        let principal: Principal
        if let session {
            // The principal must still be configured: removing a user or role from the file
            // (and SIGHUP) ends its sessions too.
            guard let identity = configuration.identity(arn: session.principalArn) else {
                throw AWSError(.unrecognizedClient, SigV4.Verifier.unrecognizedClientMessage)
            }
            guard Int64(now.timeIntervalSince1970.rounded(.down)) < session.expiresAt else {
                throw AWSError(.expiredToken, "The security token included in the request is expired")
            }
            principal = identity.principal
        } else {
            guard let found = configuration.credentials(forAccessKeyId: verified.accessKeyId)?.principal else {
                throw AWSError(.unrecognizedClient, SigV4.Verifier.unrecognizedClientMessage)
            }
            principal = found
        }
        return Caller(principal: principal, accessKeyId: verified.accessKeyId, session: session,
                      organizationId: configuration.organizationId(ofAccount: principal.accountId))
    }

    /// A random (version 4) UUID from the node's random source, lower case as AWS prints them.
    private func makeRequestId() -> String {
        // The random source failed: still answer with a well-formed id rather than none.
        (try? Random.uuidString(using: requestIdRandom)) ?? "00000000-0000-4000-8000-000000000000"
    }
}
