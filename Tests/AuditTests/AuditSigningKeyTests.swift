import Foundation
import Testing
import Audit
import Cryptography
import Platform

@Suite struct AuditSigningKeyTests {
    @Test func createdOnceWithMode0600ThenLoaded() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/audit-signing.key"
        #expect((#expect(throws: AuditError.self) { _ = try AuditSigningKey.load(path: path) })?.code == .signingKey)
        let key = try AuditSigningKey.loadOrCreate(path: path)
        #expect(key.count == 32)
        #expect(try Files.permissions(of: path) == 0o600)
        #expect(try AuditSigningKey.loadOrCreate(path: path) == key)
        #expect(try AuditSigningKey.load(path: path) == key)
        #expect(!"\(key)".contains(Hex.encode(key.unsafeCopiedBytes)))
    }

    @Test func aKeyOfTheWrongSizeOrOpenToOthersIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/audit-signing.key"
        try Files.writeAtomically(Array(repeating: 1, count: 16), to: path, mode: 0o600)
        let short = #expect(throws: AuditError.self) { _ = try AuditSigningKey.loadOrCreate(path: path) }
        #expect(short?.code == .signingKey && short?.message.contains("16 bytes") == true)
        try Files.writeAtomically(Array(repeating: 1, count: 32), to: path, mode: 0o644)
        let open = #expect(throws: AuditError.self) { _ = try AuditSigningKey.load(path: path) }
        #expect(open?.message.contains("is readable by group or others (mode 0644); it must be 0600") == true)
    }
}
