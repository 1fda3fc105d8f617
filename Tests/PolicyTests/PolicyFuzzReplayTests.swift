import Foundation
import Policy
import Testing
import TestSupport

/// Replays the policy fuzz target's past findings and committed corpus (scripts/fuzz policy
/// grows it) through ``PolicyFuzz/run(_:)``, which traps when a property breaks.
@Suite struct PolicyFuzzReplayTests {
    /// Seeds, past findings and the committed corpus (scripts/fuzz policy grows it).
    @Test func replaysRegressionsAndCorpus() throws {
        let counts = try FuzzReplay.replay("policy", bundle: .module, run: PolicyFuzz.run)
        #expect(counts.regressions >= 5, "Regressions/ is missing or nearly empty")
        #expect(counts.corpus >= 20, "FuzzTesting/Corpus/policy is missing or nearly empty")
    }

    /// The valid seeds are accepted, so the fuzzer starts from documents that reach evaluation.
    @Test(arguments: ["identity-allow.json", "variables.json", "conditions.json"])
    func identitySeedsAreValid(_ name: String) throws {
        let text = String(decoding: try Regressions.bytes(name, in: .module), as: UTF8.self)
        #expect(throws: Never.self) { try PolicyDocument.parse(text, kind: .identity) }
    }

    @Test(arguments: ["resource-cross-account.json", "not-principal.json"])
    func resourceSeedsAreValid(_ name: String) throws {
        let text = String(decoding: try Regressions.bytes(name, in: .module), as: UTF8.self)
        #expect(throws: Never.self) { try PolicyDocument.parse(text, kind: .resource) }
    }

    @Test func edgeInputs() {
        for text in ["", "{}", "[]", "{\"Statement\":[]}", "{\"Statement\":{}}", "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"] {
            PolicyFuzz.run(Array(text.utf8))
        }
    }
}
