import JSON
import Cryptography
import Foundation
import Journal
import Platform
import SecretStore
import Synchronization
import Testing
@testable import Logging
@testable import NodeStorage
@testable import ReplicationTransport
@testable import Node
@testable import SecretsAPI
import AWSProtocol
import SigV4

/// The journal-backed storage: pipelined writes, reads that see only durable writes, state
/// rebuilt from the log (with and without a snapshot), and a failed append that takes every
/// write queued behind it down with it and leaves nothing half-applied.
@Suite struct JournalSecretStorageTests {
    /// A real file storage whose writes can be made to fail with ENOSPC.
    final class FlakyStorage: JournalStorage {
        let failing = Atomic<Bool>(false)
        let base = FileJournalStorage()

        final class File: JournalFile {
            let file: any JournalFile
            let owner: FlakyStorage
            init(_ file: any JournalFile, _ owner: FlakyStorage) { self.file = file; self.owner = owner }
            func size() throws(Errno) -> Int { try file.size() }
            func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
                try file.read(into: buffer, at: offset)
            }
            func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) {
                if owner.failing.load(ordering: .acquiring) { throw Errno(code: Errno.noSpace, operation: "pwrite") }
                try file.write(bytes, at: offset)
            }
            func synchronize() throws(Errno) { try file.synchronize() }
            func truncate(to size: Int) throws(Errno) { try file.truncate(to: size) }
        }

        func makeDirectory(_ path: String) throws(Errno) { try base.makeDirectory(path) }
        func lockDirectory(_ directory: String) throws(Errno) -> any JournalDirectoryLock { try base.lockDirectory(directory) }
        func listDirectory(_ directory: String) throws(Errno) -> [String] { try base.listDirectory(directory) }
        func openFile(_ path: String, create: Bool) throws(Errno) -> any JournalFile {
            File(try base.openFile(path, create: create), self)
        }
        func rename(_ source: String, to destination: String) throws(Errno) { try base.rename(source, to: destination) }
        func remove(_ path: String) throws(Errno) { try base.remove(path) }
        func syncDirectory(_ directory: String) throws(Errno) { try base.syncDirectory(directory) }
    }

    struct Opened {
        let journal: Journal
        let storage: JournalSecretStorage
        let service: SecretsManagerService
    }

    static func directory() -> String {
        let path = NSTemporaryDirectory() + "strongroom-jss-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func open(_ directory: String, files: any JournalStorage = FileJournalStorage(), standbyOf: String? = nil,
                     syncStandbys: Int = 0) throws -> Opened {
        let (journal, recovered) = try Journal.open(directory: directory + "/journal", storage: files) { _ in }
        let storage = try JournalSecretStorage(journal: journal, recovered: recovered, epoch: 1, log: Logger(label: "test"), standbyOf: standbyOf,
                                               syncStandbys: syncStandbys, syncTimeoutSeconds: 5)
        journal.setSnapshotSource(storage)
        let random = SystemRandomSource()
        let keyring = Keyring(keys: [Keyring.Key(keyId: "k1", accountId: "123456789012", region: "us-east-1",
                                                 aliases: [Keyring.defaultAlias], material: SecureBytes(Array(repeating: 7, count: 32)))])
        let iam = try IAMConfiguration(json: Data("""
        {"accounts": [{"accountId": "123456789012", "principals": [
           {"type": "user", "name": "admin", "arn": "arn:aws:iam::123456789012:user/admin",
            "accessKeys": [{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}],
            "policies": [{"name": "all", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}}]}]}]}
        """.utf8))
        let service = SecretsManagerService(region: "us-east-1", identities: iam, random: random,
                                            operations: .secrets(storage: storage, sealer: ValueSealer(keyring: keyring, random: random)))
        return Opened(journal: journal, storage: storage, service: service)
    }

    static func call(_ service: SecretsManagerService, _ operation: String, _ body: String) -> (Int, JSONValue) {
        var request = AWSRequest(method: "POST", path: "/", headers: [
            (name: "Host", value: "secretsmanager.us-east-1.amazonaws.com"),
            (name: "Content-Type", value: "application/x-amz-json-1.1"),
            (name: "X-Amz-Target", value: "secretsmanager.\(operation)"),
        ], body: Array(body.utf8))
        let now = Date()
        request = SigV4.sign(request, accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                             secretAccessKey: SecureBytes(Array("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".utf8)),
                             region: "us-east-1", service: "secretsmanager", now: now)
        let response = service.handle(request, now: now)
        return (response.status, (try? JSONValue.parse(response.body)) ?? .null)
    }

    static func create(_ service: SecretsManagerService, _ name: String, _ value: String) -> Int {
        call(service, "CreateSecret", #"{"Name": "\#(name)", "SecretString": "\#(value)", "ClientRequestToken": "\#(UUID().uuidString)"}"#).0
    }

    @Test func concurrentWritesAreDurableAndRebuiltIdentically() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before: SecretState
        do {
            let opened = try Self.open(directory)
            let service = opened.service
            let statuses = await withTaskGroup(of: Int.self) { group in
                for i in 0..<64 {
                    group.addTask { Self.create(service, "s\(i % 48)", "value \(i)") }
                }
                return await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // 48 names: 48 creations win, the 16 repeats are refused (the name exists by then
            // or is pending: each write sees those queued before it).
            #expect(statuses.filter { $0 == 200 }.count == 48)
            #expect(statuses.filter { $0 == 400 }.count == 16)
            before = opened.storage.read { $0 }
            #expect(before.secrets.count == 48)
            opened.journal.close()
        }
        let reopened = try Self.open(directory)
        defer { reopened.journal.close() }
        #expect(reopened.storage.read { $0 } == before)
        // And once more through a snapshot plus a tail.
        try reopened.journal.snapshotNow()
        #expect(Self.create(reopened.service, "after-snapshot", "x") == 200)
        let withTail = reopened.storage.read { $0 }
        reopened.journal.close()
        let third = try Self.open(directory)
        defer { third.journal.close() }
        #expect(third.storage.read { $0 } == withTail)
    }

    /// Known values written, a snapshot taken, more written: no file of the data directory
    /// (segments, snapshot) holds any of the plaintexts.
    /// A record about a secret the state does not hold (a log from another node, a bug in
    /// replication) is not ignored: the storage counts it, names the first, and status shows it.
    @Test func aFactAboutAMissingSecretIsReportedAsADivergence() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (journal, _) = try Journal.open(directory: directory + "/journal", storage: FileJournalStorage()) { _ in }
            let gone = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"
            _ = try await journal.append(type: JournalSecretStorage.decisionRecordType, epoch: 1,
                                         payload: Fact.encode(list: [.secretDeleted(arn: gone, deletionDate: 0)]))
            journal.close()
        }
        let opened = try Self.open(directory)
        defer { opened.journal.close() }
        let divergence = opened.storage.divergence
        #expect(divergence.count == 1)
        #expect(divergence.first == "record 1 has a fact (secretDeleted) about arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf, which this node does not hold")
        let status = ReplicationService.standaloneStatus(nodeId: "n", region: "us-east-1", storage: opened.storage, journal: opened.journal)
        #expect(status["divergence"]?["facts"] == .number("1"))
        // A healthy state says so with null.
        let healthy = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: healthy) }
        let clean = try Self.open(healthy)
        defer { clean.journal.close() }
        #expect(clean.storage.divergence.count == 0)
        #expect(ReplicationService.standaloneStatus(nodeId: "n", region: "us-east-1", storage: clean.storage, journal: clean.journal)["divergence"] == .null)
    }

    @Test func noPlaintextInSegmentsOrSnapshots() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let opened = try Self.open(directory)
        let markers = (0..<20).map { "plain-marker-\($0)-\(UUID().uuidString)" }
        for (i, marker) in markers.enumerated() {
            #expect(Self.create(opened.service, "m\(i)", marker) == 200)
            if i == 10 { try opened.journal.snapshotNow() }
        }
        try opened.journal.snapshotNow()
        opened.journal.close()
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory)
        #expect(files.contains { $0.hasSuffix(".snap") })
        for file in files {
            guard let data = FileManager.default.contents(atPath: directory + "/" + file) else { continue }
            let bytes = [UInt8](data)
            for marker in markers + ["plain-marker"] {
                let needle = Array(marker.utf8)
                let found = bytes.count >= needle.count
                    && (0...(bytes.count - needle.count)).contains { bytes[$0] == needle[0] && Array(bytes[$0..<($0 + needle.count)]) == needle }
                #expect(!found, "\(marker) found in \(file)")
            }
        }
        let reopened = try Self.open(directory)
        defer { reopened.journal.close() }
        #expect(reopened.storage.read { $0.secrets.count } == 20)
        let (status, value) = Self.call(reopened.service, "GetSecretValue", #"{"SecretId": "m7"}"#)
        #expect(status == 200 && value["SecretString"] == .string(markers[7]))
    }

    @Test func failedAppendsLeaveNothingBehindAndWritesResume() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = FlakyStorage()
        let opened = try Self.open(directory, files: files)
        #expect(Self.create(opened.service, "kept", "1") == 200)

        files.failing.store(true, ordering: .releasing)
        let service = opened.service
        let outcomes = await withTaskGroup(of: (Int, JSONValue).self) { group in
            for i in 0..<16 {
                group.addTask {
                    Self.call(service, "CreateSecret",
                              #"{"Name": "lost\#(i)", "SecretString": "v", "ClientRequestToken": "\#(UUID().uuidString)"}"#)
                }
            }
            return await group.reduce(into: [(Int, JSONValue)]()) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.0 == 500 })
        #expect(outcomes.allSatisfy { $0.1["__type"] == .string("InternalServiceError") })
        #expect(opened.storage.read { $0.secrets.count } == 1)

        files.failing.store(false, ordering: .releasing)
        // A writer that read the failure count before those failures is refused (its next write
        // would be decided against a state without the ones that failed); a fresh count is not.
        let failures = opened.storage.appendFailures
        #expect(failures > 0)
        let refused = Mutex<Result<JSONValue, AWSError>?>(nil)
        opened.storage.write(unlessFailedSince: failures - 1, { _ in .success(WriteDecision(facts: [], answer: .null)) },
                             completion: { result in refused.withLock { $0 = result } })
        #expect(refused.withLock { if case .failure = $0 { true } else { false } })
        let allowed = Mutex<Result<JSONValue, AWSError>?>(nil)
        opened.storage.write(unlessFailedSince: failures, { _ in .success(WriteDecision(facts: [], answer: .null)) },
                             completion: { result in allowed.withLock { $0 = result } })
        #expect(allowed.withLock { if case .success = $0 { true } else { false } })
        // The failed creations left no trace: the names are free again.
        #expect(Self.create(opened.service, "lost0", "again") == 200)
        #expect(Self.create(opened.service, "kept", "dup") == 400)
        let state = opened.storage.read { $0 }
        #expect(Set(state.secrets.values.map(\.name)) == ["kept", "lost0"])
        opened.journal.close()
        let reopened = try Self.open(directory)
        defer { reopened.journal.close() }
        #expect(reopened.storage.read { $0 } == state)
    }

    @Test func readsDoNotSeeWritesBeforeTheyAreDurable() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let opened = try Self.open(directory)
        defer { opened.journal.close() }
        let seenInsideDecision = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        opened.storage.write({ state in
            .success(WriteDecision(facts: [.secretCreated(arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AAAAAA",
                                                           name: "x", accountId: "123456789012", description: nil,
                                                           kmsKeyId: nil, tags: [], date: 0)],
                                   answer: .null))
        }, completion: { _ in done.signal() })
        // A second write decided right after sees the first (pending) one.
        opened.storage.write({ state in
            seenInsideDecision.withLock { $0 = state.arn(name: "x", accountId: "123456789012") != nil }
            return .success(WriteDecision(facts: [], answer: .null))
        }, completion: { _ in done.signal() })
        done.wait()
        done.wait()
        #expect(seenInsideDecision.withLock { $0 } == true)
        #expect(opened.storage.read { $0.arn(name: "x", accountId: "123456789012") } != nil)
    }
}

/// The purge of secrets whose recovery window has ended is a logged fact, decided at the time
/// the purger passes in.
@Suite struct PurgerTests {
    @Test func purgesOnlyExpiredSecretsDurably() throws {
        let directory = JournalSecretStorageTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let opened = try JournalSecretStorageTests.open(directory)
        #expect(JournalSecretStorageTests.create(opened.service, "old", "1") == 200)
        #expect(JournalSecretStorageTests.create(opened.service, "kept", "2") == 200)
        #expect(JournalSecretStorageTests.call(opened.service, "DeleteSecret", #"{"SecretId": "old", "RecoveryWindowInDays": 7}"#).0 == 200)
        let purger = Purger(storage: opened.storage, region: "us-east-1", log: Logger(label: "test"))
        purger.purgeOnce(now: Date().addingTimeInterval(6 * 86_400))
        #expect(opened.storage.read { $0.secrets.count } == 2)
        purger.purgeOnce(now: Date().addingTimeInterval(7 * 86_400 + 60))
        // The purge is asynchronous (a journal write): wait for it, bounded.
        for _ in 0..<200 where opened.storage.read({ $0.secrets.count }) != 1 { OSThread.sleep(seconds: 0.01) }
        #expect(opened.storage.read { Set($0.secrets.values.map(\.name)) } == ["kept"])
        opened.journal.close()
        let reopened = try JournalSecretStorageTests.open(directory)
        defer { reopened.journal.close() }
        #expect(reopened.storage.read { Set($0.secrets.values.map(\.name)) } == ["kept"])
    }
}
