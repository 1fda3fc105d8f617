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
