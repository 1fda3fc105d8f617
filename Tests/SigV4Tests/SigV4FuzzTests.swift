import Cryptography
import Foundation
import Testing
import TestSupport
import AWSProtocol
@testable import SigV4

/// Replays the SigV4 fuzz target's past findings and committed corpus (scripts/fuzz sigv4 grows
/// it) through ``SigV4Fuzz/run(_:)``, which traps when a property breaks, and checks that the
/// seeds say what their names say.
@Suite struct SigV4FuzzTests {
    /// Seeds, past findings and the committed corpus (scripts/fuzz sigv4 grows it).
    @Test func replaysRegressionsAndCorpus() throws {
        let counts = try FuzzReplay.replay("sigv4", bundle: .module, run: SigV4Fuzz.run)
        #expect(counts.regressions >= 4, "Regressions/ is missing or nearly empty")
        #expect(counts.corpus >= 20, "FuzzTesting/Corpus/sigv4 is missing or nearly empty")
    }

    /// The signed seeds verify as they stand, so the fuzzer starts from requests that reach the
    /// signature comparison (a format change in the verifier shows up here first).
    @Test(arguments: ["signed-post.txt", "presigned-get.txt"])
    func signedSeedsVerify(_ name: String) throws {
        let request = SigV4Fuzz.request(from: try Regressions.bytes(name, in: .module))
        let result = SigV4Fuzz.verify(request)
        guard case .success(let verified) = result else {
            Issue.record("\(name) does not verify: \(result)")
            return
        }
        #expect(verified.accessKeyId == SigV4Fuzz.accessKeyId)
    }

    @Test func requestFormat() {
        let request = SigV4Fuzz.request(from: Array("PUT\n/a b\nx=1\nHost: h\nEmpty\nX:  v \n\nline1\n\nline2".utf8))
        #expect(request.method == "PUT")
        #expect(request.path == "/a b")
        #expect(request.query == "x=1")
        #expect(request.headers.map(\.name) == ["Host", "Empty", "X"])
        #expect(request.headers.map(\.value) == ["h", "", "v "])
        #expect(request.body == Array("line1\n\nline2".utf8))
        // Short inputs: missing fields are empty.
        let short = SigV4Fuzz.request(from: Array("GET".utf8))
        #expect(short.method == "GET" && short.path.isEmpty && short.headers.isEmpty && short.body.isEmpty)
    }

    @Test func edgeInputs() {
        for text in ["", "\n", "\n\n\n\n", "GET\n/\n\nAuthorization: AWS4-\n\n", "GET\n/\nX-Amz-Algorithm=A\n\n"] {
            SigV4Fuzz.run(Array(text.utf8))
        }
        SigV4Fuzz.run([UInt8](repeating: 0xFF, count: 64))
    }
}
