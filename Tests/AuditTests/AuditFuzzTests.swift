import Foundation
import Testing
import TestSupport
@testable import Audit

/// Replays the audit fuzz target's past findings and committed corpus (scripts/fuzz audit grows
/// it) through ``AuditFuzz/run(_:)``, which traps when a property breaks.
@Suite struct AuditFuzzTests {
    /// Seeds, past findings and the committed corpus (scripts/fuzz audit grows it).
    @Test func replaysRegressionsAndCorpus() throws {
        let counts = try FuzzReplay.replay("audit", bundle: .module, run: AuditFuzz.run)
        #expect(counts.regressions >= 4, "Regressions/ is missing or nearly empty")
        #expect(counts.corpus >= 20, "FuzzTesting/Corpus/audit is missing or nearly empty")
    }

    /// The seeds say what their names say: the intact trail verifies clean, the edited one does
    /// not, and the seal parses.
    @Test func seedsAreWhatTheySay() throws {
        var intact = AuditVerifier.Run(directory: "", key: nil)
        #expect(AuditFuzz.verify(try Regressions.bytes("trail-three-records.jsonl", in: .module), run: &intact, isNewest: true).isEmpty)
        var edited = AuditVerifier.Run(directory: "", key: nil)
        let problems = AuditFuzz.verify(try Regressions.bytes("edited-record.jsonl", in: .module), run: &edited, isNewest: true)
        #expect(problems.map(\.kind) == [.edited])
        let seal = try AuditSeal.parse(try Regressions.bytes("seal.sig", in: .module))
        #expect(seal.seal.isAuthentic(hmac: seal.hmac, key: AuditFuzz.key))
    }

    @Test func edgeInputs() {
        for text in ["", "\n", "\n\n", "{}", "{}\n{}\n", "[1]\n", "{\"chain\":{\"sequence\":1,\"previousHash\":\"\"}}\n"] {
            AuditFuzz.run(Array(text.utf8))
        }
        AuditFuzz.run([UInt8](repeating: 0x0A, count: 300))
    }
}
