import Foundation
import Synchronization
@testable import Audit
import Cryptography
import JSON
import Platform

/// A fresh directory under /tmp, removed by `remove()`; the trail lives in `path + "/audit"`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = #function) {
        let name = "audit-test-\(label.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))"
        path = "/tmp/" + name
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A directory made by another `TemporaryDirectory` (an exit test's parent).
    init(existing path: String) { self.path = path }

    var audit: String { path + "/audit" }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// The names in the trail directory, sorted, without the lock file.
    func files() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: audit)) ?? []).filter { $0 != "LOCK" }.sorted()
    }

    func trailFiles() -> [String] { files().filter { $0.hasSuffix(".jsonl") } }

    func bytes(_ name: String) -> [UInt8] {
        Array((try? Data(contentsOf: URL(fileURLWithPath: audit + "/" + name))) ?? Data())
    }

    func write(_ bytes: [UInt8], to name: String) {
        _ = FileManager.default.createFile(atPath: audit + "/" + name, contents: Data(bytes))
    }

    func append(_ bytes: [UInt8], to name: String) {
        write(self.bytes(name) + bytes, to: name)
    }

    func removeFile(_ name: String) { try? FileManager.default.removeItem(atPath: audit + "/" + name) }

    /// The lines of a trail file (without newlines).
    func lines(_ name: String) -> [[UInt8]] {
        bytes(name).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map(Array.init)
    }

    func writeLines(_ lines: [[UInt8]], to name: String) {
        write(lines.flatMap { $0 + [0x0A] }, to: name)
    }

    /// Every record of the trail, in file order, with where it is.
    func records() -> [(file: String, line: Int, record: JSONValue, bytes: [UInt8])] {
        trailFiles().flatMap { file in
            lines(file).enumerated().compactMap { index, line in
                (try? JSONValue.parse(line)).map { (file: file, line: index + 1, record: $0, bytes: line) }
            }
        }
    }

    /// Where the record with `sequence` is.
    func locate(_ sequence: UInt64) -> (file: String, line: Int)? {
        records().first { AuditFormat.chain(of: $0.record)?.sequence == sequence }.map { ($0.file, $0.line) }
    }
}

let testKey = SecureBytes(Array(repeating: 0x5A, count: 32))

/// A CloudTrail-shaped event, about 600 bytes.
func event(_ n: Int, name: String = "GetSecretValue", user: String = "admin", secret: String = "prod/db",
           errorCode: String? = nil, time: String = "2026-11-23T10:00:00Z") -> JSONValue {
    var members: [(key: String, value: JSONValue)] = [
        (key: "eventVersion", value: .string("1.08")),
        (key: "eventTime", value: .string(time)),
        (key: "eventSource", value: .string("secretsmanager.amazonaws.com")),
        (key: "eventName", value: .string(name)),
        (key: "awsRegion", value: .string("us-east-1")),
        (key: "sourceIPAddress", value: .string("127.0.0.1")),
        (key: "userAgent", value: .string("aws-cli/2.15.0")),
        (key: "userIdentity", value: .object([
            (key: "type", value: .string("IAMUser")),
            (key: "principalId", value: .string("AIDA\(user.uppercased())EXAMPLE")),
            (key: "arn", value: .string("arn:aws:iam::123456789012:user/\(user)")),
            (key: "accountId", value: .string("123456789012")),
            (key: "accessKeyId", value: .string("AKIA\(user.uppercased())KEY")),
        ])),
        (key: "requestParameters", value: .object([(key: "secretId", value: .string(secret))])),
    ]
    if let errorCode {
        members.append((key: "responseElements", value: .null))
        members.append((key: "errorCode", value: .string(errorCode)))
        members.append((key: "errorMessage", value: .string("not allowed")))
    } else {
        members.append((key: "responseElements", value: .object([
            (key: "arn", value: .string("arn:aws:secretsmanager:us-east-1:123456789012:secret:\(secret)-AbCdEf")),
            (key: "name", value: .string(secret)),
        ])))
    }
    members += [
        (key: "requestID", value: .string("req-\(n)")),
        (key: "eventID", value: .string("evt-\(n)")),
        (key: "readOnly", value: .bool(name.hasPrefix("Get") || name.hasPrefix("Describe") || name.hasPrefix("List"))),
        (key: "recipientAccountId", value: .string("123456789012")),
    ]
    return .object(members)
}

/// Collects log lines.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var sink: @Sendable (String) -> Void { { [self] line in lines.withLock { $0.append(line) } } }
}

/// Opens a trail over real files in `directory.audit`.
func openTrail(_ directory: TemporaryDirectory, maxFileBytes: Int = 64 << 20, storage: (any AuditStorage)? = nil,
               log: LogLines? = nil) throws -> AuditTrail {
    var sink: @Sendable (String) -> Void = { _ in }
    if let log { sink = log.sink }
    return try AuditTrail.open(directory: directory.audit, signingKey: testKey, maxFileBytes: maxFileBytes,
                               storage: storage ?? FileAuditStorage(), log: sink)
}

/// Appends events `numbers` (reserving before each, as the service does).
func appendEvents(_ trail: AuditTrail, _ numbers: ClosedRange<Int>) throws {
    for n in numbers {
        try trail.reserve()
        try trail.append(event(n))
    }
}

/// Real files whose calls can be made to fail with a chosen errno.
final class FaultyStorage: AuditStorage {
    struct Faults {
        /// errno for fallocate; nil: pass through.
        var allocate: Int32?
        /// errno for pwrite, after writing `partialWriteBytes` of the buffer for real.
        var write: Int32?
        var partialWriteBytes = 0
        /// errno for ftruncate, `truncateFailures` times.
        var truncate: Int32?
        var truncateFailures = 0
        var synchronize: Int32?
        var writeAtomically: Int32?
        var allocations = 0
        var writes = 0
        var syncs = 0
    }

    let base = FileAuditStorage()
    let faults = Mutex(Faults())

    func with<R>(_ body: (inout Faults) -> R) -> R { faults.withLock { body(&$0) } }

    func makeDirectory(_ path: String) throws(Errno) { try base.makeDirectory(path) }
    func listDirectory(_ directory: String) throws(Errno) -> [String] { try base.listDirectory(directory) }
    func openFile(_ path: String, create: Bool) throws(Errno) -> any AuditFile {
        FaultyFile(try base.openFile(path, create: create), storage: self)
    }
    func writeAtomically(_ bytes: [UInt8], to path: String) throws(Errno) {
        if let code = with({ $0.writeAtomically }) { throw Errno(code: code, operation: "write \(path).tmp") }
        try base.writeAtomically(bytes, to: path)
    }
    func remove(_ path: String) throws(Errno) { try base.remove(path) }
    func syncDirectory(_ directory: String) throws(Errno) { try base.syncDirectory(directory) }

    final class FaultyFile: AuditFile {
        let file: any AuditFile
        let storage: FaultyStorage
        init(_ file: any AuditFile, storage: FaultyStorage) {
            self.file = file
            self.storage = storage
        }

        func size() throws(Errno) -> Int { try file.size() }
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
            try file.read(into: buffer, at: offset)
        }
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) {
            let (code, partial) = storage.with { faults -> (Int32?, Int) in
                faults.writes += 1
                return (faults.write, faults.partialWriteBytes)
            }
            if let code {
                if partial > 0 { try file.write(UnsafeRawBufferPointer(rebasing: bytes.prefix(partial)), at: offset) }
                throw Errno(code: code, operation: "pwrite")
            }
            try file.write(bytes, at: offset)
        }
        func allocate(at offset: Int, count: Int) throws(Errno) {
            let code = storage.with { faults -> Int32? in
                faults.allocations += 1
                return faults.allocate
            }
            if let code { throw Errno(code: code, operation: "fallocate") }
            try file.allocate(at: offset, count: count)
        }
        func synchronize() throws(Errno) {
            let code = storage.with { faults -> Int32? in
                faults.syncs += 1
                return faults.synchronize
            }
            if let code { throw Errno(code: code, operation: "fdatasync") }
            try file.synchronize()
        }
        func truncate(to size: Int) throws(Errno) {
            let code = storage.with { faults -> Int32? in
                guard faults.truncateFailures > 0 else { return nil }
                faults.truncateFailures -= 1
                return faults.truncate
            }
            if let code { throw Errno(code: code, operation: "ftruncate") }
            try file.truncate(to: size)
        }
    }
}
