import AWSTestSupport
import Cryptography
import Foundation
import JSON
import Synchronization
import Testing
@testable import SecretsAPI
import SigV4
import AWSProtocol

/// A pass's audit records wait in its `AuditBatch`: no answer leaves before `flush` has written
/// its record, all of a pass's records go to the sink in one call, and an answer whose record
/// was not written is the retryable audit failure, never the answer decided.
@Suite struct AuditBatchingTests {
    /// Counts the sink's batch calls; writes at most `limit` records of each.
    final class BatchSink: AuditSink {
        let batches = Mutex<[Int]>([])
        let written = Mutex<[JSONValue]>([])
        let limit = Atomic<Int>(Int.max)

        func reserve() throws {}
        func record(_ event: JSONValue) throws { written.withLock { $0.append(event) } }
        func record(contentsOf events: [JSONValue]) -> Int {
            batches.withLock { $0.append(events.count) }
            let n = min(events.count, limit.load(ordering: .relaxed))
            written.withLock { $0 += events.prefix(n) }
            return n
        }
    }

    /// The answers, by request index, as they arrive.
    final class Answers: Sendable {
        let received = Mutex<[Int: AWSResponse]>([:])
        func deliver(_ index: Int) -> @Sendable (AWSResponse) -> Void { { [self] response in received.withLock { $0[index] = response } } }
        var count: Int { received.withLock { $0.count } }
    }

    private func world() throws -> (AuthorizationTests.World, BatchSink) {
        let world = try AuthorizationTests.World()
        let sink = BatchSink()
        world.service.setAuditSink(sink)
        let created = try world.call("CreateSecret", #"{"Name":"batched","SecretString":"v","ClientRequestToken":"\#(String(repeating: "b", count: 32))"}"#)
        #expect(created.status == 200, "\(created.json)")
        return (world, sink)
    }

    private func request(_ world: AuthorizationTests.World) -> AWSRequest {
        SigV4.sign(Fixture.call("GetSecretValue", body: #"{"SecretId":"batched"}"#), accessKeyId: AuthorizationTests.admin.accessKeyId,
                   secretAccessKey: SecureBytes(Array(AuthorizationTests.admin.secret.utf8)), region: Fixture.region,
                   service: "secretsmanager", now: world.now)
    }

    @Test func answersWaitForTheirPassesOneWrite() throws {
        let (world, sink) = try world()
        let scheduled = Mutex(0)
        let batch = AuditBatch(isOwnThread: { true }) { _ in scheduled.withLock { $0 += 1 } }
        let answers = Answers()
        for index in 0..<5 { world.service.handle(request(world), now: world.now, batch: batch, respond: answers.deliver(index)) }
        #expect(answers.count == 0, "an answer left before its record was written")
        #expect(scheduled.withLock { $0 } == 1, "the flush is scheduled once per pass")
        world.service.flush(batch)
        #expect(sink.batches.withLock { $0 } == [5])
        #expect(answers.count == 5)
        #expect(answers.received.withLock { $0.values.allSatisfy { $0.status == 200 } })
        // The next pass schedules again.
        world.service.handle(request(world), now: world.now, batch: batch, respond: answers.deliver(5))
        #expect(scheduled.withLock { $0 } == 2)
        world.service.flush(batch)
        #expect(sink.batches.withLock { $0 } == [5, 1])
    }

    @Test func answersWhoseRecordsWereNotWrittenAreTheAuditFailure() throws {
        let (world, sink) = try world()
        let batch = AuditBatch(isOwnThread: { true }) { _ in }
        let answers = Answers()
        sink.limit.store(2, ordering: .relaxed)
        for index in 0..<4 { world.service.handle(request(world), now: world.now, batch: batch, respond: answers.deliver(index)) }
        world.service.flush(batch)
        let statuses = answers.received.withLock { received in (0..<4).map { received[$0]?.status } }
        #expect(statuses == [200, 200, 500, 500])
        let failed = try Answer(try #require(answers.received.withLock { $0[3] }))
        #expect(failed.type == AWSError.auditUnavailable.code.type)
        #expect(!String(decoding: answers.received.withLock { $0[3]!.body }, as: UTF8.self).contains("SecretString"))
    }

    /// An answer given on another thread than the batch's (a write, once durable) is audited at
    /// once, as without a batch.
    @Test func answersOffTheBatchThreadAreAuditedAtOnce() throws {
        let (world, sink) = try world()
        let batch = AuditBatch(isOwnThread: { false }) { _ in Issue.record("scheduled a flush off its thread") }
        let answers = Answers()
        world.service.handle(request(world), now: world.now, batch: batch, respond: answers.deliver(0))
        #expect(answers.count == 1)
        #expect(sink.batches.withLock { $0 }.isEmpty)
        #expect(sink.written.withLock { $0.count } == 2)
    }
}
