public import Cryptography
public import JSON
import Platform
import Synchronization
import Dispatch

/// The node's audit trail: one append-only, hash-chained JSON-lines record per request, allowed
/// or denied, in files `audit-000001.jsonl`, `audit-000002.jsonl`, … of one directory.
///
/// The service calls ``reserve()`` before it executes a request and ``append(_:)`` before it
/// answers. The guarantees:
///
/// - **No request is served unaudited because the disk filled.** `reserve()` keeps at least
///   256 KiB allocated beyond the end of the active file (fallocate with `FALLOC_FL_KEEP_SIZE`,
///   in 4 MiB chunks), so the appends that follow it do not meet ENOSPC; when the space cannot be
///   allocated it throws a retryable ``AuditError`` and the service refuses the request before
///   doing anything (as Vault does when its audit device fails). On a filesystem without
///   fallocate (EOPNOTSUPP) there is no reservation, and a full disk shows at `append`.
/// - **No partial record in the middle of a file.** Records are written at a tracked offset; a
///   failed write is cut back to the last complete record, the trail refuses further appends, and
///   the next successful `reserve()` resumes at the right offset. A crash can leave only a torn
///   *last* line, which the next ``open(directory:signingKey:maxFileBytes:log:)`` cuts off and
///   keeps in a `.torn` file.
/// - **Tamper evidence.** Every record carries its global sequence number and the SHA-256 of the
///   previous record's line; each finished file is sealed by a `.sig` with an HMAC under the
///   signing key. ``AuditVerifier`` checks both. The chain makes any edited, removed or reordered
///   record show, except an edit of the very last record of the unsealed active file (nothing
///   follows it yet): a clean ``close()`` seals that file too.
/// - **Durability like Vault's file device and CloudTrail's delivery, not like the region log:**
///   records are not fsynced one by one. ``sync()`` (which the node calls periodically) and every
///   rotation and close make them durable. A crash can lose the records written since the last
///   sync, never the chain's consistency: the next open continues from the last complete record.
///
/// Records are written under a mutex in the calling thread (a `pwrite` into the page cache);
/// rotation, which fdatasyncs, hashes and signs the finished file, also runs under it, about once
/// per `maxFileBytes` of records. The node's event loops hand over all the records of one pass
/// at once (``append(contentsOf:)``: one `pwrite`, one lock), which took a node from one write
/// and about half a futex wait per request to one write per 30 requests.
public final class AuditTrail: Sendable {
    /// The directory holding the trail's files.
    public let directory: String
    /// A file is sealed and a new one started before it would grow past this size.
    public let maxFileBytes: Int
    /// What ``open(directory:signingKey:maxFileBytes:log:)`` found and did: torn tails cut (and
    /// where their bytes were kept), interrupted signature writes removed. Also passed to `log`.
    public let notices: [String]

    /// `reserve()` keeps at least this much allocated beyond the end of the active file: four
    /// records of the maximum size, or hundreds of typical ones.
    static let reserveAheadBytes = 256 * 1024
    /// `reserve()` allocates in chunks of this size (falling back to `reserveAheadBytes` on a
    /// nearly full disk).
    static let allocationChunkBytes = 4 * 1024 * 1024
    /// `reserve()` seals the active file when less than this remains below `maxFileBytes`, so
    /// that the appends after it rarely have to: 256 KiB, or an eighth of a small `maxFileBytes`.
    var rotationHeadroom: Int { min(Self.reserveAheadBytes, maxFileBytes / 8) }
    /// The largest accepted `maxFileBytes`: sealing reads the whole file into memory to hash it.
    public static let maximumFileBytes = 1 << 30

    private let storage: any AuditStorage
    private let signingKey: SecureBytes
    private let log: @Sendable (String) -> Void
    private let state: Mutex<State>

    /// The file records are appended to.
    struct Active {
        let number: Int
        let name: String
        let path: String
        let file: any AuditFile
        /// The end of the last complete record: where the next one is written.
        var end: Int
        /// Space is allocated up to here (at least `end`).
        var allocatedEnd: Int
        /// The sequence of the file's first record; nil while it has none.
        var firstSequence: UInt64?
        /// Whether the directory was fsynced since the file was created.
        var directorySynced: Bool
        /// The SHA-256 of the file's records and their count, kept as they are written, so that
        /// sealing does not read the file back under the lock. nil for a file continued after a
        /// restart: sealing that one reads it once.
        var running: (digest: SHA256.Hasher, records: Int)?
        /// Whether the early fdatasync before sealing was started (see `presyncDistance`).
        var presyncStarted = false
    }

    struct State {
        /// nil before the first `reserve()` or `append` of a new file (files are created lazily,
        /// so a node that stops without serving leaves no empty file).
        var active: Active?
        /// The number of the next file to create.
        var nextFileNumber: Int
        var nextSequence: UInt64
        /// The SHA-256 of the last record's line (zeros before the first).
        var lastHash: [UInt8]
        /// Set by a failed write; `append` refuses until a `reserve()` succeeds and clears it.
        var failure: AuditError?
        /// Set by a failed fdatasync; everything is refused until the process restarts.
        var fatal: AuditError?
        /// False once fallocate answered EOPNOTSUPP: reserve no more.
        var canAllocate = true
        var closed = false
        /// The directory lock, released by `close()`.
        var lock: LockHolder?
    }

    /// A held lock on the trail's directory.
    final class LockHolder: Sendable {
        let lock: DirectoryLock
        init(_ lock: consuming DirectoryLock) { self.lock = lock }
    }

    private init(directory: String, maxFileBytes: Int, notices: [String], storage: any AuditStorage, signingKey: SecureBytes,
                 log: @escaping @Sendable (String) -> Void, state: State) {
        self.directory = directory
        self.maxFileBytes = maxFileBytes
        self.notices = notices
        self.storage = storage
        self.signingKey = signingKey
        self.log = log
        self.state = Mutex(state)
    }

    /// Opens (creating when missing) the trail in `directory` and recovers it: the newest file's
    /// last complete record gives the next sequence number and previous hash; a torn tail (a last
    /// line without its newline, or NUL bytes, from a crash) is cut off, kept in
    /// `audit-00000N.jsonl.torn` and reported in ``notices`` and `log`. An unsealed newest file is
    /// continued; after a sealed one (a clean ``close()``) the next record starts a new file.
    ///
    /// The trail locks the directory (`LOCK`, flock) until ``close()``.
    /// - Parameters:
    ///   - signingKey: the HMAC key for the `.sig` files (``AuditSigningKey``).
    ///   - maxFileBytes: 1 byte to 1 GiB; a record larger than this still gets a file of its own.
    ///   - log: receives the notices of recovery and of later events worth an operator's eye.
    /// - Throws: `.locked` when the directory is open elsewhere, `.corrupt` when the newest file's
    ///   last complete line is not an audit record, `.io`/`.diskFull` for failed calls.
    public static func open(directory: String, signingKey: SecureBytes, maxFileBytes: Int = 64 << 20,
                            log: @escaping @Sendable (String) -> Void = { _ in }) throws(AuditError) -> AuditTrail {
        try open(directory: directory, signingKey: signingKey, maxFileBytes: maxFileBytes, storage: FileAuditStorage(), log: log)
    }

    /// ``open(directory:signingKey:maxFileBytes:log:)`` over `storage` (tests inject failures).
    static func open(directory: String, signingKey: SecureBytes, maxFileBytes: Int = 64 << 20, storage: any AuditStorage,
                     log: @escaping @Sendable (String) -> Void = { _ in }) throws(AuditError) -> AuditTrail {
        precondition((1...maximumFileBytes).contains(maxFileBytes), "maxFileBytes must be 1 byte to 1 GiB, got \(maxFileBytes)")
        precondition(!signingKey.isEmpty, "an empty audit signing key")
        do {
            try storage.makeDirectory(directory)
        } catch {
            throw AuditError.from(error, path: directory, "cannot create the audit directory")
        }
        let lock: LockHolder
        do {
            lock = LockHolder(try DirectoryLock(directory: directory))
        } catch {
            if error.code == Errno.lockHeld {
                throw AuditError(.locked, path: directory, errno: error.code, "\(directory): the audit trail is open in another process or object")
            }
            throw AuditError.from(error, path: directory, "cannot lock the audit directory")
        }
        let recovered = try Recovery(directory: directory, storage: storage).run()
        for notice in recovered.notices { log(notice) }
        var state = State(active: recovered.active, nextFileNumber: recovered.nextFileNumber,
                          nextSequence: recovered.nextSequence, lastHash: recovered.lastHash)
        state.lock = lock
        return AuditTrail(directory: directory, maxFileBytes: maxFileBytes, notices: recovered.notices, storage: storage,
                          signingKey: signingKey, log: log, state: state)
    }

    // MARK: - Requests

    /// Makes sure the next records can be written: call it before executing a request, and
    /// refuse the request (retryable HTTP 500) when it throws.
    ///
    /// Seals the active file first when less than 256 KiB (an eighth of a small `maxFileBytes`)
    /// remains below `maxFileBytes`, creates
    /// the next file when needed, and keeps at least 256 KiB allocated beyond the end. After a
    /// failed write it re-checks: cuts the file back to the last complete record and allocates
    /// again, and only then lets appends through.
    /// - Throws: `.diskFull` (ENOSPC, EDQUOT, EFBIG) or `.io` when the space cannot be allocated
    ///   or the file cannot be created or sealed; `.closed`; `.syncFailed` after an fdatasync
    ///   failure.
    public func reserve() throws(AuditError) {
        if reserveIsIdle.load(ordering: .acquiring) { return }
        let presync = try locked { (state: inout State) throws(AuditError) -> Bool in
            try reserve(&state)
            guard let distance = presyncDistance, var active = state.active, !active.presyncStarted,
                  active.end + distance > maxFileBytes else { return false }
            active.presyncStarted = true
            state.active = active
            return true
        }
        if presync {
            // A failure is logged and makes the trail refuse requests, as any failed sync does.
            presyncQueue.async { [self] in try? sync() }
        }
    }

    /// Sealing fdatasyncs the file under the trail's lock: with 64 MiB of records still only in
    /// the page cache that stalled every request for tens of milliseconds. So when a large
    /// file is this close to its end, it is fdatasynced once in the background, outside the
    /// lock, and the seal flushes only what came after. nil (never) for small files.
    var presyncDistance: Int? { maxFileBytes >= 8 << 20 ? maxFileBytes / 8 : nil }
    private let presyncQueue = DispatchQueue(label: "audit-presync")

    /// True (set under the lock after every change) while `reserve()` would do nothing: the
    /// trail is usable, an active file has at least twice `reserveAheadBytes` allocated past its
    /// end, and sealing and the early sync are far off. `reserve()` then returns without taking
    /// the lock, which every request of both event loops otherwise took once, only to find
    /// nothing to do. The margin keeps `reserveAheadBytes` for appends that race the check.
    private let reserveIsIdle = Atomic<Bool>(false)

    private func isIdle(_ state: State) -> Bool {
        guard !state.closed, state.fatal == nil, state.failure == nil, let active = state.active else { return false }
        if active.end + 2 * rotationHeadroom > maxFileBytes { return false }
        if state.canAllocate && active.allocatedEnd - active.end < 2 * Self.reserveAheadBytes { return false }
        if let distance = presyncDistance, !active.presyncStarted, active.end + distance + Self.reserveAheadBytes > maxFileBytes {
            return false
        }
        return true
    }

    /// `state.withLock`, with `reserveIsIdle` brought up to date after `body`.
    private func locked<R: Sendable, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        try state.withLock { (state: inout State) throws(E) -> R in
            defer { reserveIsIdle.store(isIdle(state), ordering: .releasing) }
            return try body(&state)
        }
    }

    /// Appends one record: `event` (a CloudTrail-shaped JSON object, already free of secret
    /// values) with the `chain` member added. Call it before answering the request.
    ///
    /// A record longer than 64 KiB has `requestParameters` and `responseElements` replaced by
    /// `{"truncated":true}` (and, if still too long, is reduced further; see `AuditFormat`).
    /// When the record would take the active file past `maxFileBytes` the file is sealed first;
    /// if sealing fails the record still goes into the current file (an audit record matters more
    /// than the file size) and the failure is logged.
    /// - Throws: `.invalidEvent` for an event that is not a JSON object or has a `chain` member;
    ///   `.diskFull`/`.io` when the write fails (the trail then refuses appends until a
    ///   `reserve()` succeeds); `.failed` while it refuses; `.closed`; `.syncFailed`.
    public func append(_ event: JSONValue) throws(AuditError) {
        let prepared = try AuditFormat.prepare(event: event)
        try locked { (state: inout State) throws(AuditError) in try append(prepared, &state) }
    }

    /// Appends several records with one write (the records of one event-loop pass): each as
    /// ``append(_:)`` would, in order, with consecutive sequence numbers.
    ///
    /// The lines go to the file in one `pwrite` (several when a file has to be sealed between
    /// them). Either a write's records are all appended or none is: a failed write is cut back as
    /// in ``append(_:)``, and neither it nor the records after it are appended.
    /// - Returns: how many records, from the first, were appended, and the error that stopped
    ///   the rest (nil when all were). An event that is not an object, or has a `chain` member,
    ///   is refused with the ones after it.
    public func append(contentsOf events: [JSONValue]) -> (appended: Int, error: AuditError?) {
        var prepared: [AuditFormat.PreparedEvent] = []
        prepared.reserveCapacity(events.count)
        var refusal: AuditError?
        for event in events {
            do {
                prepared.append(try AuditFormat.prepare(event: event))
            } catch {
                refusal = error
                break
            }
        }
        let (appended, failure) = locked { (state: inout State) -> (Int, AuditError?) in
            appendBatch(prepared, &state)
        }
        return (appended, failure ?? refusal)
    }

    /// Seals the active file now (when it has records): fdatasync, `.sig`, and the next record
    /// starts a new file.
    public func rotate() throws(AuditError) {
        try locked { (state: inout State) throws(AuditError) in
            try checkUsable(state)
            try seal(&state)
        }
    }

    /// fdatasyncs the active file (and, the first time, the directory that holds it), making
    /// every record appended before the call durable.
    /// - Throws: `.syncFailed` when fdatasync fails; the trail then refuses everything (see
    ///   ``AuditError/Code-swift.struct/syncFailed``).
    public func sync() throws(AuditError) {
        let target = try state.withLock { (state: inout State) throws(AuditError) -> (file: any AuditFile, path: String, syncDirectory: Bool)? in
            try checkUsable(state)
            guard let active = state.active else { return nil }
            return (active.file, active.path, !active.directorySynced)
        }
        guard let target else { return }
        // Outside the lock: appends go on while the disk flushes.
        do {
            try target.file.synchronize()
        } catch {
            let failure = AuditError(.syncFailed, path: target.path, errno: error.code,
                                     "\(target.path): fdatasync failed (\(error)); restart the node to recover the trail")
            locked { $0.fatal = failure }
            log(failure.message)
            throw failure
        }
        if target.syncDirectory {
            do {
                try storage.syncDirectory(directory)
            } catch {
                throw AuditError.from(error, path: directory, "cannot sync the audit directory")
            }
            state.withLock { state in
                if state.active?.path == target.path { state.active?.directorySynced = true }
            }
        }
    }

    /// Seals the active file (so that a clean stop leaves every file signed), removes an empty
    /// one, and releases the directory. Idempotent. After it every call throws `.closed`.
    /// - Throws: when sealing fails; the trail then stays open so that `close()` can be retried.
    public func close() throws(AuditError) {
        try locked { (state: inout State) throws(AuditError) in
            guard !state.closed else { return }
            if state.fatal == nil, let active = state.active {
                if active.end > 0 {
                    try seal(&state)
                } else {
                    do {
                        try storage.remove(active.path)
                        try storage.syncDirectory(directory)
                    } catch {
                        log("\(active.path): cannot remove the empty audit file: \(error)")
                    }
                    state.active = nil
                }
            }
            state.active = nil
            state.closed = true
            state.lock = nil
        }
    }

    /// A snapshot of the trail's position, for status pages and tests.
    public struct Status: Sendable, Equatable {
        /// The file the next record goes to, when one is open.
        public var activeFile: String?
        /// The sequence number the next record gets.
        public var nextSequence: UInt64
        /// Hex SHA-256 of the last record's line (64 zeros before the first record).
        public var lastRecordHash: String
        /// The failed write that makes the trail refuse appends, until a `reserve()` succeeds.
        public var failure: AuditError?
    }

    public var status: Status {
        state.withLock { state in
            Status(activeFile: state.active?.name, nextSequence: state.nextSequence,
                   lastRecordHash: Hex.encode(state.lastHash), failure: state.fatal ?? state.failure)
        }
    }
}

// MARK: - Transitions (all under the mutex)

extension AuditTrail {
    private func checkUsable(_ state: State) throws(AuditError) {
        if state.closed { throw AuditError(.closed, path: directory, "\(directory): the audit trail is closed") }
        if let fatal = state.fatal { throw fatal }
    }

    private func reserve(_ state: inout State) throws(AuditError) {
        try checkUsable(state)
        if state.failure != nil, var active = state.active {
            // A failed write may have left part of a line: cut back before anything else.
            do {
                try active.file.truncate(to: active.end)
            } catch {
                throw AuditError.from(error, path: active.path, "cannot cut back a failed audit write")
            }
            active.allocatedEnd = active.end
            state.active = active
        }
        if let active = state.active, active.end > 0, active.end + rotationHeadroom > maxFileBytes {
            try seal(&state)
        }
        try openNextFileIfNeeded(&state)
        guard var active = state.active else { preconditionFailure("no active audit file after creating one") }
        if state.canAllocate && active.allocatedEnd - active.end < Self.reserveAheadBytes {
            do {
                try active.file.allocate(at: active.end, count: Self.allocationChunkBytes)
                active.allocatedEnd = active.end + Self.allocationChunkBytes
            } catch where error.isNotSupported {
                state.canAllocate = false
                log("\(active.path): the filesystem cannot preallocate (\(error)); audit records are written without a reservation")
            } catch {
                guard error.isDiskFull || error.code == Errno.fileTooLarge else {
                    throw AuditError.from(error, path: active.path, "cannot reserve space for audit records")
                }
                // A nearly full disk may still hold the minimum.
                do {
                    try active.file.allocate(at: active.end, count: Self.reserveAheadBytes)
                    active.allocatedEnd = active.end + Self.reserveAheadBytes
                } catch {
                    throw AuditError.from(error, path: active.path, "cannot reserve space for audit records")
                }
            }
            state.active = active
        }
        if let failure = state.failure {
            log("\(directory): audit records are written again (after: \(failure.message))")
            state.failure = nil
        }
    }

    private func append(_ event: AuditFormat.PreparedEvent, _ state: inout State) throws(AuditError) {
        if let error = appendBatch([event], &state).1 { throw error }
    }

    /// `append` of several records, one `pwrite` per file they go into.
    private func appendBatch(_ events: [AuditFormat.PreparedEvent], _ state: inout State) -> (Int, AuditError?) {
        var done = 0
        while done < events.count {
            do throws(AuditError) {
                try checkUsable(state)
                if let failure = state.failure {
                    throw AuditError(.failed, path: failure.path, errno: failure.errno,
                                     "the audit trail refuses records since a write failed (\(failure.message)); reserve() must succeed first")
                }
                // The first record goes in as `append` puts it (sealing a full file first);
                // the ones after it join its write while the file has room.
                var buffer: [UInt8] = []
                var records = 0
                var sequence = state.nextSequence
                var previous = state.lastHash
                for event in events[done...] {
                    let line = AuditFormat.line(event, chain: AuditFormat.Chain(sequence: sequence, previousHash: previous))
                    let end = (state.active?.end ?? 0) + buffer.count + line.count + 1
                    if records > 0 && end > maxFileBytes { break }
                    if records == 0, let active = state.active, active.end > 0, end > maxFileBytes {
                        do {
                            try seal(&state)
                        } catch where error.code != .syncFailed {
                            log("\(active.path): cannot seal the file (\(error.message)); the record goes into it anyway")
                        }
                    }
                    previous = AuditFormat.hash(line)
                    buffer.append(contentsOf: line)
                    buffer.append(0x0A)
                    records += 1
                    sequence += 1
                }
                try openNextFileIfNeeded(&state)
                guard var active = state.active else { preconditionFailure("no active audit file after creating one") }
                do {
                    try active.file.write(buffer, at: active.end)
                } catch {
                    let what = records == 1 ? "record \(state.nextSequence)" : "records \(state.nextSequence)…\(sequence - 1)"
                    let failure = AuditError.from(error, path: active.path, "cannot append audit \(what)")
                    // Never leave part of a line behind: cut back to the last complete record. Should
                    // that fail as well, the next reserve() cuts again before anything is written.
                    try? active.file.truncate(to: active.end)
                    active.allocatedEnd = active.end
                    state.active = active
                    state.failure = failure
                    log(failure.message + "; audit records are refused until space is reserved again")
                    throw failure
                }
                active.end += buffer.count
                if let running = active.running {
                    running.digest.update(buffer)
                    active.running = (running.digest, running.records + records)
                }
                active.allocatedEnd = max(active.allocatedEnd, active.end)
                if active.firstSequence == nil { active.firstSequence = state.nextSequence }
                state.active = active
                state.lastHash = previous
                state.nextSequence = sequence
                done += records
            } catch {
                return (done, error)
            }
        }
        return (done, nil)
    }

    private func openNextFileIfNeeded(_ state: inout State) throws(AuditError) {
        guard state.active == nil else { return }
        let number = state.nextFileNumber
        let name = AuditFormat.fileName(number)
        let path = directory + "/" + name
        let file: any AuditFile
        let size: Int
        do {
            file = try storage.openFile(path, create: true)
            size = try file.size()
        } catch {
            throw AuditError.from(error, path: path, "cannot create the audit file")
        }
        guard size == 0 else {
            throw AuditError(.corrupt, path: path, "\(path): a new audit file already exists with \(size) bytes")
        }
        state.active = Active(number: number, name: name, path: path, file: file, end: 0, allocatedEnd: 0,
                              firstSequence: nil, directorySynced: false, running: (SHA256.Hasher(), 0))
        state.nextFileNumber = number + 1
    }

    /// Seals the active file if it has records: fdatasync, hash, `.sig` (fsynced with the
    /// directory); the next record starts a new file.
    private func seal(_ state: inout State) throws(AuditError) {
        guard let active = state.active, active.end > 0 else { return }
        guard let firstSequence = active.firstSequence else { preconditionFailure("a non-empty audit file without a first sequence") }
        if state.failure != nil {
            do {
                try active.file.truncate(to: active.end)
            } catch {
                throw AuditError.from(error, path: active.path, "cannot cut back a failed audit write")
            }
        }
        do {
            try active.file.synchronize()
        } catch {
            let failure = AuditError(.syncFailed, path: active.path, errno: error.code,
                                     "\(active.path): fdatasync failed (\(error)); restart the node to recover the trail")
            state.fatal = failure
            log(failure.message)
            throw failure
        }
        let digest: [UInt8]
        let recordCount: Int
        if let running = active.running, running.digest.byteCount == active.end {
            digest = running.digest.finalize()
            recordCount = running.records
        } else {
            let bytes: [UInt8]
            do {
                bytes = try active.file.readBytes(at: 0, count: active.end)
            } catch {
                throw AuditError.from(error, path: active.path, "cannot read the audit file to seal it")
            }
            guard bytes.count == active.end else {
                throw AuditError(.corrupt, path: active.path, "\(active.path): shorter (\(bytes.count) bytes) than the \(active.end) written")
            }
            digest = SHA256.hash(bytes)
            recordCount = bytes.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        }
        let seal = AuditSeal(file: active.name, firstSequence: firstSequence, lastSequence: state.nextSequence - 1,
                             recordCount: recordCount, sha256: digest, lastRecordHash: state.lastHash)
        let signaturePath = active.path + AuditFormat.signatureSuffix
        do {
            try storage.writeAtomically(seal.signedBytes(key: signingKey), to: signaturePath)
        } catch {
            // The file stays active and unsigned: a half-written signature must not be left
            // claiming a file that will still grow.
            try? storage.remove(signaturePath)
            throw AuditError.from(error, path: signaturePath, "cannot write the audit file's signature")
        }
        state.active = nil
    }
}
