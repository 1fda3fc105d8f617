import Foundation
import Testing
@testable import Audit
import JSON

@Suite struct AuditQueryTests {
    /// Eight records over two days, two users, three secrets, two denials, across files.
    func makeTrail(_ directory: TemporaryDirectory) throws {
        let trail = try openTrail(directory, maxFileBytes: 2048)
        let events: [JSONValue] = [
            event(1, name: "CreateSecret", user: "admin", secret: "prod/db", time: "2026-11-22T23:59:59Z"),
            event(2, name: "GetSecretValue", user: "admin", secret: "prod/db", time: "2026-11-23T09:00:00Z"),
            event(3, name: "GetSecretValue", user: "reader", secret: "prod/db", errorCode: "AccessDeniedException", time: "2026-11-23T10:00:00Z"),
            event(4, name: "PutSecretValue", user: "admin", secret: "prod/api-key", time: "2026-11-23T10:30:00.250Z"),
            event(5, name: "GetSecretValue", user: "reader", secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/db-XyZ123",
                  time: "2026-11-23T11:00:00Z"),
            event(6, name: "DeleteSecret", user: "reader", secret: "prod/api-key", errorCode: "AccessDeniedException", time: "2026-11-23T12:00:00+02:00"),
            event(7, name: "ListSecrets", user: "admin", secret: "", time: "2026-11-24T00:00:00Z"),
            event(8, name: "GetSecretValue", user: "admin", secret: "prod/db", errorCode: "ResourceNotFoundException", time: "2026-11-24T08:00:00Z"),
        ]
        for record in events {
            try trail.reserve()
            try trail.append(record)
        }
        try trail.close()
        try #require(directory.trailFiles().count > 1)
    }

    func requestIDs(_ directory: TemporaryDirectory, _ query: AuditQuery) throws -> [String] {
        var ids: [String] = []
        try query.run(directory: directory.audit) { ids.append($0.row.requestID) }
        return ids
    }

    @Test func filters() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        let cases: [(AuditQuery, [Int])] = [
            (try AuditQuery(), Array(1...8)),
            (try AuditQuery(since: "2026-11-23"), Array(2...8)),
            (try AuditQuery(until: "2026-11-23"), Array(1...6)),
            (try AuditQuery(since: "2026-11-23", until: "2026-11-23"), Array(2...6)),
            (try AuditQuery(since: "2026-11-23T10:00:00Z", until: "2026-11-23T10:30:00Z"), [3, 6]),
            (try AuditQuery(since: "2026-11-23T10:30:00.1Z", until: "2026-11-23T11:00:00Z"), [4, 5]),
            (try AuditQuery(until: "2026-11-23T12:00:00+01:00"), [1, 2, 3, 4, 5, 6]),
            (try AuditQuery(principal: "reader"), [3, 5, 6]),
            (try AuditQuery(principal: "arn:aws:iam::123456789012:user/reader"), [3, 5, 6]),
            (try AuditQuery(principal: "AKIAREADERKEY"), [3, 5, 6]),
            (try AuditQuery(principal: "AIDAADMINEXAMPLE"), [1, 2, 4, 7, 8]),
            (try AuditQuery(principal: "read"), []),
            (try AuditQuery(secret: "prod/db"), [1, 2, 3, 8]),
            (try AuditQuery(secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"), [1, 2]),
            (try AuditQuery(secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"), [1, 2]),
            (try AuditQuery(secret: "staging/db"), [5]),
            (try AuditQuery(secret: "staging/db-XyZ123"), [5]),
            (try AuditQuery(secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/db"), [5]),
            (try AuditQuery(secret: "prod"), []),
            (try AuditQuery(event: "getsecretvalue"), [2, 3, 5, 8]),
            (try AuditQuery(event: "DeleteSecret"), [6]),
            (try AuditQuery(deniedOnly: true), [3, 6]),
            (try AuditQuery(principal: "reader", secret: "prod/api-key", deniedOnly: true), [6]),
            (try AuditQuery(since: "2026-11-24", event: "GetSecretValue"), [8]),
        ]
        for (query, expected) in cases {
            #expect(try requestIDs(directory, query) == expected.map { "req-\($0)" }, "\(query)")
        }
    }

    @Test(arguments: ["yesterday", "2026-13-01", "2026-11-23 10:00", "10:00:00", ""])
    func invalidTimesAreRefused(_ text: String) {
        let error = #expect(throws: AuditError.self) { _ = try AuditQuery(since: text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("'\(text)'") == true)
    }

    @Test func matchesCarryTheStoredLineAndStatistics() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try makeTrail(directory)
        // A line that is not JSON is skipped and counted; an unterminated one is not read.
        let last = try #require(directory.trailFiles().last)
        directory.append(Array("garbage\n{\"partial".utf8), to: last)
        var matches: [AuditQuery.Match] = []
        let statistics = try AuditQuery(deniedOnly: true).run(directory: directory.audit) { matches.append($0) }
        #expect(statistics == AuditQuery.Statistics(files: directory.trailFiles().count, records: 8, matches: 2, skippedLines: 1))
        for match in matches {
            #expect(Array(match.text.utf8) == directory.lines(match.file)[match.line - 1])
            #expect(try JSONValue.parse(Array(match.text.utf8)) == match.record)
        }
    }

    @Test func table() throws {
        let rows = [
            AuditQuery.Row(event(1, name: "GetSecretValue", user: "admin", secret: "prod/db")),
            AuditQuery.Row(event(2, name: "DeleteSecret", user: "reader", secret: "x\u{1B}[2Jy\n", errorCode: "AccessDeniedException")),
            AuditQuery.Row(.object([])),
        ]
        #expect(rows[0] == AuditQuery.Row(time: "2026-11-23T10:00:00Z", event: "GetSecretValue",
                                          principal: "arn:aws:iam::123456789012:user/admin", secret: "prod/db", outcome: "OK", requestID: "req-1"))
        #expect(AuditQuery.table(rows) == """
            TIME                  EVENT           PRINCIPAL                              SECRET   OUTCOME                REQUEST ID
            2026-11-23T10:00:00Z  GetSecretValue  arn:aws:iam::123456789012:user/admin   prod/db  OK                     req-1
            2026-11-23T10:00:00Z  DeleteSecret    arn:aws:iam::123456789012:user/reader  x?[2Jy?  AccessDeniedException  req-2
            -                     -               -                                      -        OK                     -
            """)
    }
}
