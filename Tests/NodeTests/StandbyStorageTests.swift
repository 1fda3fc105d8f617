import Foundation
import Journal
import JSON
import SecretStore
import Synchronization
import Testing
@testable import NodeStorage
@testable import SecretsAPI

/// A standby's storage: it appends its primary's records as they are (same LSNs, same epochs),
/// applies them, rebuilds the same state after a restart, refuses records out of order, and
/// answers client writes with a retryable error naming the primary.
@Suite struct StandbyStorageTests {
    typealias Store = JournalSecretStorageTests

    static func follow(_ standby: JournalSecretStorage, _ record: JournalRecord) -> Result<Void, JournalSecretStorage.FollowError> {
        let outcome = Mutex<Result<Void, JournalSecretStorage.FollowError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        standby.appendFollowed(epoch: record.epoch, lsn: record.lsn, payload: record.payload) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return outcome.withLock { $0! }
    }

    @Test func aStandbyHoldsThePrimarysLogRecordForRecord() throws {
        let primaryDirectory = Store.directory(), standbyDirectory = Store.directory()
        defer {
            try? FileManager.default.removeItem(atPath: primaryDirectory)
            try? FileManager.default.removeItem(atPath: standbyDirectory)
        }
        let primary = try Store.open(primaryDirectory)
        defer { primary.journal.close() }
        for index in 0..<20 { #expect(Store.create(primary.service, "s\(index)", "value \(index)") == 200) }
        let records = try primary.journal.read(from: 1)
        #expect(records.count == 20)

        var standbyState: SecretState
        do {
            let standby = try Store.open(standbyDirectory, standbyOf: "us-east-1-a")
            #expect(standby.storage.committedPosition == (0, 0))
            for record in records.prefix(15) { #expect(throws: Never.self) { try Self.follow(standby.storage, record).get() } }
            // Out of order, or again: refused, nothing appended.
            guard case .failure(let skipped) = Self.follow(standby.storage, records[16]) else { Issue.record("a gap was accepted"); return }
            #expect(skipped.description.contains("record 17 is not the next of this log (16)"))
            guard case .failure = Self.follow(standby.storage, records[3]) else { Issue.record("a record again was accepted"); return }
            for record in records.dropFirst(15) { #expect(throws: Never.self) { try Self.follow(standby.storage, record).get() } }
            #expect(standby.storage.committedPosition == (1, 20))
            #expect(standby.storage.read { $0 } == primary.storage.read { $0 })
            // Its journal is the primary's: the same records at the same positions.
            #expect(try standby.journal.read(from: 1) == records)
            // Client writes are refused, retryably, naming the primary.
            let (status, body) = Store.call(standby.service, "CreateSecret", #"{"Name": "x", "SecretString": "v", "ClientRequestToken": "\#(UUID().uuidString)"}"#)
            #expect(status == 500)
            #expect(body["__type"]?.stringValue == "InternalServiceError")
            #expect(body["Message"]?.stringValue?.contains("this node is a standby; send writes to its region's primary, us-east-1-a") == true)
            // Reads are served from what it holds.
            let (readStatus, read) = Store.call(standby.service, "GetSecretValue", #"{"SecretId": "s7"}"#)
            #expect(readStatus == 200 && read["SecretString"]?.stringValue == "value 7")
            standbyState = standby.storage.read { $0 }
            standby.journal.close()
        }
        let again = try Store.open(standbyDirectory, standbyOf: "us-east-1-a")
        defer { again.journal.close() }
        #expect(again.storage.read { $0 } == standbyState)
        #expect(again.storage.committedPosition == (1, 20))
    }

    @Test func thePrimaryFollowsNoOne() throws {
        let directory = Store.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let primary = try Store.open(directory)
        defer { primary.journal.close() }
        guard case .failure(let error) = Self.follow(primary.storage, JournalRecord(lsn: 1, epoch: 1, type: 2, payload: [])) else {
            Issue.record("a primary appended another node's record")
            return
        }
        #expect(error.description.contains("this node is its region's primary"))
    }
}

/// `syncStandbys: 1` on a primary: a write is answered, readable and shipped to other regions
/// only once a standby acknowledged it; past the bound it is answered with a retryable error and
/// still commits when the standby catches up; a retry with the same token then finds it.
@Suite struct SyncStandbyStorageTests {
    typealias Store = JournalSecretStorageTests

    final class Answers: Sendable {
        let list = Mutex<[(Int, JSONValue)]>([])
        var count: Int { list.withLock { $0.count } }
    }

    /// Starts a call on another thread; its answer lands in `answers`.
    static func callAsync(_ service: SecretsManagerService, _ operation: String, _ body: String, into answers: Answers) {
        Thread.detachNewThread {
            let answer = Store.call(service, operation, body)
            answers.list.withLock { $0.append(answer) }
        }
    }

    static func wait(_ answers: Answers, count: Int, seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while answers.count < count && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        return answers.count >= count
    }

    @Test func aWriteIsAnsweredOnceAStandbyHoldsIt() throws {
        let directory = Store.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let primary = try Store.open(directory, syncStandbys: 1)
        defer { primary.journal.close() }
        #expect(primary.storage.syncStandbys == 1)
        let answers = Answers()
        let token = UUID().uuidString
        Self.callAsync(primary.service, "CreateSecret", #"{"Name": "s", "SecretString": "v", "ClientRequestToken": "\#(token)"}"#, into: answers)
        // Durable here, not answered, not readable, not committed (other regions are not sent it).
        #expect(primary.storage.waitForDurable(beyond: 0, timeout: 5) == 1)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(answers.count == 0)
        #expect(primary.storage.committedLSN == 0)
        #expect(Store.call(primary.service, "GetSecretValue", #"{"SecretId": "s"}"#).0 == 400)
        primary.storage.standbyAcknowledged("us-east-1-b", through: 1)
        #expect(Self.wait(answers, count: 1))
        #expect(answers.list.withLock { $0[0].0 } == 200)
        #expect(primary.storage.committedLSN == 1)
        #expect(Store.call(primary.service, "GetSecretValue", #"{"SecretId": "s"}"#).1["SecretString"]?.stringValue == "v")
    }

    @Test func aWriteThatWaitsTooLongIsAnsweredRetryablyAndStillCommits() throws {
        let directory = Store.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let primary = try Store.open(directory, syncStandbys: 1)
        defer { primary.journal.close() }
        let answers = Answers()
        let token = UUID().uuidString
        let body = #"{"Name": "s", "SecretString": "v", "ClientRequestToken": "\#(token)"}"#
        Self.callAsync(primary.service, "CreateSecret", body, into: answers)
        #expect(primary.storage.waitForDurable(beyond: 0, timeout: 5) == 1)
        primary.storage.expireSyncWaits(nowSeconds: .greatestFiniteMagnitude)
        #expect(Self.wait(answers, count: 1))
        let (status, error) = answers.list.withLock { $0[0] }
        #expect(status == 500 && error["__type"]?.stringValue == "InternalServiceError")
        #expect(error["Message"]?.stringValue?.contains("not yet held by 1 standby") == true)
        // The retry, same token: an idempotent answer, released once the write commits.
        Self.callAsync(primary.service, "CreateSecret", body, into: answers)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(answers.count == 1)
        primary.storage.standbyAcknowledged("us-east-1-b", through: 1)
        #expect(Self.wait(answers, count: 2))
        #expect(answers.list.withLock { $0[1].0 } == 200)
        #expect(primary.storage.committedLSN == 1)
        // A later write still waits for its standby: the commit never runs ahead of the acks.
        Self.callAsync(primary.service, "PutSecretValue", #"{"SecretId": "s", "SecretString": "w", "ClientRequestToken": "\#(UUID().uuidString)"}"#, into: answers)
        #expect(primary.storage.waitForDurable(beyond: 1, timeout: 5) == 2)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(answers.count == 2 && primary.storage.committedLSN == 1)
        primary.storage.standbyAcknowledged("us-east-1-b", through: 2)
        #expect(Self.wait(answers, count: 3))
    }

    @Test func whatTheLogHoldsAtStartIsCommitted() throws {
        let directory = Store.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let primary = try Store.open(directory)
            #expect(Store.create(primary.service, "s", "v") == 200)
            primary.journal.close()
        }
        let again = try Store.open(directory, syncStandbys: 1)
        defer { again.journal.close() }
        #expect(again.storage.committedLSN == 1 && again.storage.durableLSN == 1)
        #expect(Store.call(again.service, "GetSecretValue", #"{"SecretId": "s"}"#).0 == 200)
    }
}
