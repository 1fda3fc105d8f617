import Audit
import Foundation
import Cryptography
import Journal
public import Platform
import SecretsAPI
import TLS
public import Configuration
import HTTPServer
public import Logging
import NodeStorage
import ReplicationTransport
import Synchronization
import AWSProtocol
import Failover
import JSON

/// One running node: configuration checked, data directory locked, HTTPS served until a
/// shutdown signal. `SIGHUP` reloads the IAM configuration; an invalid file keeps the old one.
public final class Node: Sendable {
    public let configuration: NodeConfiguration
    private let server: HTTPServer
    private let service: SecretsManagerService
    private let log: Logger
    /// The region log. Opened (and recovered) at start; the secrets are rebuilt from it.
    private let journal: Journal
    private let storage: JournalSecretStorage
    private let purger: Purger
    private let rotation: RotationRunner
    private let rotationInvoker: RotationInvoker
    /// The audit trail: one record per request, before its answer.
    private let audit: AuditTrail
    /// Log shipping to and from the other regions; nil for a node without a replication section.
    private let replication: ReplicationService?
    // Safety: the lock is taken in init and released when the node stops (so that a restart
    // in another role, in this process, can take it again).
    private let lock: LockHolder
    /// This node's durable place in its region (highest epoch heard of, epoch history).
    private let term: RegionTermKeeper
    /// Why the node asked to restart in another role (nil: it did not).
    private let restartReason = RestartRequest()

    /// The first reason given for a restart (later ones are the same restart).
    private final class RestartRequest: Sendable {
        private let reason = Mutex<String?>(nil)
        /// Records `text` unless a reason is already recorded; whether it was the first.
        func set(_ text: String) -> Bool {
            reason.withLock { current in
                guard current == nil else { return false }
                current = text
                return true
            }
        }
        var value: String? { reason.withLock { $0 } }
    }

    private final class LockHolder: Sendable {
        let lock: Mutex<DirectoryLock?>
        init(_ lock: consuming DirectoryLock) { self.lock = Mutex(Optional(lock)) }
        func release() { lock.withLock { $0 = nil } }
    }

    /// How `runUntilSignalled` ended.
    public enum Outcome: Sendable, Equatable {
        /// SIGINT or SIGTERM: the node stopped.
        case stopped
        /// The node's role changed (promoted, fenced, a new primary to follow, a tail to set
        /// aside): it stopped, and the caller starts it again from the same configuration.
        case restart(String)
    }

    static func promotionAnswer(_ outcome: ReplicationService.PromotionOutcome) -> Result<JSONValue, AWSError> {
        switch outcome {
        case .promoted(let answer): return .success(answer)
        case .refused(let reason): return .failure(AWSError(.invalidRequest, reason))
        }
    }

    /// The restart a promotion leaves to do, once its answer is on its way (the stop gives
    /// requests in flight half a second).
    static func restartAfterAnswer(_ replication: ReplicationService, reason: String?) -> (@Sendable () -> Void)? {
        guard let reason else { return nil }
        return {
            OSThread.sleep(seconds: 0.1)
            replication.restart(reason)
        }
    }

    /// How long requests in flight may take when the node restarts in another role.
    static let roleChangeGraceSeconds = 0.5

    /// Descriptors kept free of client connections.
    static let reservedDescriptors = 128

    /// Why a node could not start: one line for the operator, exit status 2.
    public struct StartupError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Checks everything the configuration names and binds the listeners; nothing is served
    /// until `start`. Any problem throws a `StartupError` naming the file and the reason.
    public init(configuration: NodeConfiguration, log: Logger? = nil) throws(StartupError) {
        self.configuration = configuration
        let log = log ?? Logger(label: "strongroom", maxBytes: configuration.limits.logMaxBytes)
        self.log = log
        // Secret values, data keys and keyring keys live in this process's memory: never in a core file.
        if !ResourceLimits.disableCoreDumps() { log.error("could not disable core dumps (setrlimit RLIMIT_CORE)") }
        let keyring = try Self.loadKeyring(configuration.keyringFile)
        let identities = try Self.loadIAM(configuration.iamFile)
        let context: TLSContext
        do {
            context = try TLSContext.server(certificateChainFile: configuration.certificateFile,
                                            privateKeyFile: configuration.privateKeyFile)
        } catch {
            throw StartupError("TLS: \(error)")
        }
        do {
            try Files.makeDirectory(configuration.dataDirectory)
        } catch {
            throw StartupError("\(configuration.dataDirectory): cannot create the data directory: \(error.message)")
        }
        do {
            lock = LockHolder(try DirectoryLock(directory: configuration.dataDirectory))
        } catch {
            throw StartupError(error.isWouldBlock
                ? "\(configuration.dataDirectory): the data directory is in use by another strongroom process"
                : "\(configuration.dataDirectory): cannot lock the data directory: \(error.message)")
        }
        let following: ReplicationSettings.RegionNode?
        do {
            let (journal, recovered, termFile) = try Self.openJournal(configuration, log: log)
            self.journal = journal
            term = RegionTermKeeper(dataDirectory: configuration.dataDirectory, file: termFile)
            let epoch = max(1, termFile.history.current, recovered.records.last?.epoch ?? recovered.snapshot?.epoch ?? 1)
            do {
                // A standby of its region follows the owner of the highest epoch it has heard
                // of and decides nothing; the primary is that owner, once its log is at it.
                let role = Self.role(configuration, term: termFile)
                following = role.following
                let standbyOf = role.standbyOf
                log.info("region \(configuration.region): epochs \(termFile.history), highest heard of \(termFile.highestSeen); "
                    + (standbyOf.map { "a standby following \($0)" } ?? "the primary"))
                storage = try JournalSecretStorage(journal: journal, recovered: recovered, epoch: epoch, log: log, standbyOf: standbyOf,
                                                   syncStandbys: configuration.replication?.syncStandbys ?? 0,
                                                   syncTimeoutSeconds: configuration.replication?.syncTimeoutSeconds ?? 10)
            } catch {
                journal.close()
                throw StartupError("journal: cannot rebuild the secrets: \(error)")
            }
            journal.setSnapshotSource(storage)
            log.info("journal recovered: last LSN \(journal.lastDurableLSN), \(recovered.records.count) records after "
                + (recovered.snapshot.map { "the snapshot at LSN \($0.lsn)" } ?? "no snapshot")
                + ", \(storage.secretCount) secrets")
        } catch let error as StartupError {
            throw error
        } catch {
            throw StartupError("journal: \(error)")
        }
        do {
            let key = try AuditSigningKey.loadOrCreate(path: configuration.dataDirectory + "/audit-signing.key")
            audit = try AuditTrail.open(directory: configuration.dataDirectory + "/audit", signingKey: key) { [log] in log.info($0) }
        } catch {
            journal.close()
            throw StartupError("audit trail: \(error)")
        }
        let random = SystemRandomSource()
        let cacheKeys = configuration.limits.dataKeyCacheKeys
        let dataKeys = cacheKeys == 0 ? nil : DataKeyCache(capacity: cacheKeys,
                                                            maxAgeNanoseconds: UInt64(configuration.limits.dataKeyCacheSeconds * 1e9),
                                                            now: { MonotonicClock.nanoseconds() })
        if dataKeys == nil && cacheKeys > 0 {
            log.error("cannot lock memory for the data key cache (RLIMIT_MEMLOCK); every read unwraps its data key")
        }
        let sealer = ValueSealer(keyring: keyring, random: random, dataKeys: dataKeys)
        if let settings = configuration.replication {
            do {
                replication = try ReplicationService(
                    nodeId: configuration.nodeId, region: configuration.region, settings: settings,
                    certificateFile: configuration.certificateFile, privateKeyFile: configuration.privateKeyFile,
                    caFile: configuration.caFile, storage: storage, journal: journal, sealer: sealer, log: log,
                    term: term, following: following, restart: { [restartReason, log] reason in
                        guard restartReason.set(reason) else { return }
                        log.info("restarting: \(reason)")
                        Signals.requestRestart()
                    })
            } catch {
                journal.close()
                throw StartupError("\(error)")
            }
        } else {
            replication = nil
        }
        let identitiesHolder = IdentitiesHolder(identities)
        let invoker = RotationInvoker(settings: configuration.rotation, region: configuration.region, caFile: configuration.caFile,
                                      identities: { identitiesHolder.current }, storage: storage, sealer: sealer, log: log,
                                      random: random)
        rotationInvoker = invoker
        let rotationRunner = RotationRunner(settings: configuration.rotation, region: configuration.region, storage: storage,
                                            sealer: sealer, invoker: invoker, audit: audit, log: log, random: random,
                                            runs: storage.standbyOf == nil,
                                            mayAct: { [storage] in !storage.isConfirming && storage.fencedBy == nil })
        rotation = rotationRunner
        var operations = OperationTable.secrets(storage: storage, sealer: sealer, replicaRegions: replication?.peerRegions ?? [],
                                                rotation: rotationRunner.hooks)
        let node = configuration.nodeId
        let region = configuration.region
        operations.registerNodeStatus { [replication, storage, journal, rotationRunner] in
            let status = replication?.status() ?? ReplicationService.standaloneStatus(nodeId: node, region: region, storage: storage,
                                                                                       journal: journal)
            guard case .object(var members) = status else { return status }
            members.append((key: "rotation", value: rotationRunner.status()))
            return .object(members)
        }
        operations.registerPromoteNode({ [replication, node] force in
            guard let replication else {
                return (.failure(AWSError(.invalidRequest, "Node \(node) has no replication section: it is its region's only node.")), nil)
            }
            let result = replication.promote(force: force)
            return (Self.promotionAnswer(result.outcome), Self.restartAfterAnswer(replication, reason: result.restartReason))
        }, onThread: { [replication] body in
            guard let replication else { body(); return true }
            return replication.spawn("promote", body)
        })
        let service = SecretsManagerService(region: configuration.region, identities: identities, random: random,
                                            requestIds: BatchedRandomSource(base: random), operations: operations)
        self.service = service
        service.setAuditSink(AuditTrailSink(trail: audit, log: log))
        identitiesHolder.service.withLock { $0 = service }
        let trail = audit
        purger = Purger(storage: storage, region: configuration.region, log: log, purges: storage.standbyOf == nil) { [log] in
            // Records are written without an fsync each (as Vault's file device and CloudTrail's
            // delivery); once a minute they are made durable. A failed fdatasync means the page
            // cache can no longer be trusted: the trail refuses records, so the node refuses
            // requests, until it is restarted.
            do {
                try trail.sync()
            } catch {
                log.error("audit trail: \(error)")
            }
            dataKeys?.sweep()
        }
        // A standby forwards the writes it receives to its primary's API, when it knows where
        // that is; otherwise it answers them with a retryable error naming the primary.
        var forwarder: WriteForwarder?
        if let primary = following, let api = primary.api {
            do {
                forwarder = try WriteForwarder(primary: primary.nodeId, address: api, caFile: configuration.caFile,
                                               timeout: configuration.limits.requestTimeout, epoch: term.highestSeen, log: log)
            } catch {
                journal.close()
                throw StartupError("forwarding writes to \(primary): TLS: \(error)")
            }
        }
        // Every connection is a descriptor: keep maxConnections inside the process's limit (with
        // room for listeners, the journal and files), so accept never fails for want of one.
        var limits = configuration.limits
        let descriptors = ResourceLimits.raiseOpenFileLimit()
        if limits.maxConnections > descriptors - Self.reservedDescriptors {
            limits.maxConnections = max(1, descriptors - Self.reservedDescriptors)
            log.info("open-file limit is \(descriptors): serving at most \(limits.maxConnections) connections")
        }
        do {
            server = try HTTPServer(addresses: configuration.listen, context: context, handler: APIHandler(service: service, forwarder: forwarder, heardEpoch: { [replication] epoch in
                replication?.heard(epoch: epoch)
            }),
                                    limits: limits, eventLoops: configuration.eventLoops, log: log)
        } catch {
            replication?.stop()
            try? audit.close()
            journal.close()
            throw StartupError("cannot listen on \(configuration.listen.map(\.description).joined(separator: ", ")): \(error.message)")
        }
    }

    /// The addresses the node listens on (with real ports when 0 was configured).
    public var boundAddresses: [SocketAddress] { server.boundAddresses }

    /// Where the node listens for other regions' nodes, when it replicates.
    public var replicationAddress: SocketAddress? { replication?.boundAddress }

    public func start() throws(StartupError) {
        do {
            try server.start()
        } catch {
            throw StartupError("cannot start event loops: \(error)")
        }
        do {
            try purger.start()
        } catch {
            throw StartupError("cannot start the purge thread: \(error)")
        }
        do {
            try replication?.start()
        } catch {
            throw StartupError("\(error)")
        }
        if let api = server.boundAddresses.first { rotationInvoker.setEndpoint(api) }
        do {
            try rotation.start()
        } catch {
            throw StartupError("cannot start the rotation thread: \(error)")
        }
        log.info("node \(configuration.nodeId) serving region \(configuration.region) on "
            + server.boundAddresses.map { "https://\($0)" }.joined(separator: ", "))
    }

    /// Serves until SIGINT or SIGTERM, or until its role changes (then it stops without a
    /// shutdown snapshot, whose state could hold records it must set aside); reloads IAM on
    /// SIGHUP. Call `Signals.prepare()` first.
    @discardableResult
    public func runUntilSignalled() -> Outcome {
        while true {
            switch Signals.wait() {
            case .hangup:
                reloadIAM()
            case .interrupt, .terminate:
                stop()
                return .stopped
            case .restart:
                guard let reason = restartReason.value else { continue }
                stop(snapshot: false)
                return .restart(reason)
            }
        }
    }

    /// Stops serving and closes the node: listeners and event loops, the purge and replication
    /// threads, the audit trail (sealed) and the journal (after a shutdown snapshot). Call once;
    /// the node cannot be started again.
    public func stop(snapshot: Bool = true) {
        log.info("shutting down")
        // A restart in another role gives requests in flight half a second (a forwarded write
        // waiting on a primary that is gone would hold the new role back for seconds): what is
        // cut off is answered by a closed connection, which SDKs retry.
        server.stopAndJoin(grace: snapshot ? EventLoop.stopGraceSeconds : Self.roleChangeGraceSeconds)
        rotation.stop()
        purger.stop()
        replication?.stop()
        do {
            try audit.close()
        } catch {
            log.error("audit trail: could not seal the active file: \(error)")
        }
        // A shutdown snapshot (PostgreSQL's shutdown checkpoint): the next start loads it
        // and replays nothing, instead of up to a snapshot interval of records. After the
        // audit file is sealed, as a failed directory sync during it stops the process.
        let began = MonotonicClock.seconds()
        if snapshot {
            do {
                try journal.snapshotNow()
                log.info("shutdown snapshot done in \(String(format: "%.2f", MonotonicClock.seconds() - began)) s")
            } catch {
                log.error("shutdown snapshot: \(error); the next start replays the log instead")
            }
        }
        journal.close()
        lock.release()
        log.info("stopped")
    }

    private func reloadIAM() {
        do {
            service.replaceIdentities(try Self.loadIAM(configuration.iamFile))
            log.info("reloaded IAM configuration from \(configuration.iamFile)")
        } catch {
            log.error("IAM reload refused, previous configuration stays in force: \(error)")
        }
    }

    /// Files that hold secrets must not be readable by group or others.
    static func checkPrivate(_ path: String, what: String) throws(StartupError) {
        let mode: UInt32?
        do {
            mode = try Files.permissions(of: path)
        } catch {
            throw StartupError("\(path): cannot read the \(what): \(error.message)")
        }
        guard let mode else { throw StartupError("\(path): the \(what) does not exist") }
        if let violation = Files.ownerOnlyViolation(mode: mode) {
            throw StartupError("\(path): the \(what) \(violation)")
        }
    }

    static func loadKeyring(_ path: String) throws(StartupError) -> Keyring {
        try checkPrivate(path, what: "keyring")
        guard let data = FileManager.default.contents(atPath: path) else { throw StartupError("\(path): cannot read the keyring") }
        do {
            return try Keyring(json: data)
        } catch {
            throw StartupError("\(path): invalid keyring: \(error.message)")
        }
    }

    static func loadIAM(_ path: String) throws(StartupError) -> IAMConfiguration {
        try checkPrivate(path, what: "IAM configuration")
        guard let data = FileManager.default.contents(atPath: path) else { throw StartupError("\(path): cannot read the IAM configuration") }
        do {
            return try IAMConfiguration(json: data)
        } catch {
            throw StartupError("\(path): invalid IAM configuration: \(error)")
        }
    }
}

/// The identities the rotation runner issues sessions from: the service's, which SIGHUP
/// replaces (the file's as loaded until the service exists).
final class IdentitiesHolder: Sendable {
    private let loaded: IAMConfiguration
    let service = Mutex<SecretsManagerService?>(nil)

    init(_ loaded: IAMConfiguration) {
        self.loaded = loaded
    }

    var current: IAMConfiguration { service.withLock { $0?.currentIdentities } ?? loaded }
}
