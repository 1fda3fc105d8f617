import Testing
@testable import SecretStore
import TestSupport

/// `VersionID` packs the canonical lowercase UUID and 32 lowercase hex digits into 16 bytes and keeps
/// any other text: it must
/// give back exactly the text it was made from, be equal exactly when the texts are, and order
/// as the texts do.
@Suite struct VersionIDTests {
    static func uuid(_ rng: inout SplitMix64) -> String {
        let hex = Array("0123456789abcdef")
        var text = ""
        for index in 0..<36 {
            text.append([8, 13, 18, 23].contains(index) ? "-" : hex[Int(rng.next() % 16)])
        }
        return text
    }

    /// UUIDs, near misses (one character changed, upper case, a hyphen moved, a length off by one)
    /// and other tokens.
    static func texts(seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        var texts: [String] = []
        for _ in 0..<200 {
            let base = uuid(&rng)
            var chars = Array(base)
            let position = Int(rng.next() % 36)
            switch rng.next() % 6 {
            case 0: texts.append(base)
            case 1: chars[position] = "G"; texts.append(String(chars))
            case 2: texts.append(base.uppercased())
            case 3: chars.swapAt(8, 9); texts.append(String(chars))
            case 4: texts.append(base + "0")
            case 5 where rng.next() % 2 == 0: texts.append(base.filter { $0 != "-" })
            default: texts.append(String(repeating: "a", count: 32 + Int(rng.next() % 33)))
            }
        }
        return texts + ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "é" + String(repeating: "b", count: 35)]
    }

    @Test(arguments: 0..<5)
    func textEqualityAndOrderAreTheText(seed: UInt64) {
        let texts = Self.texts(seed: seed)
        let ids = texts.map(VersionID.init)
        for (text, id) in zip(texts, ids) {
            #expect(id.text == text)
            let bytes = Array(text.utf8)
            let decoded = bytes.withUnsafeBytes { VersionID(validUTF8: $0) }
            #expect(decoded == id && decoded.text == text)
        }
        for i in 0..<ids.count {
            for j in stride(from: i % 7, to: ids.count, by: 7) {
                #expect((ids[i] == ids[j]) == (texts[i] == texts[j]), "\(texts[i]) vs \(texts[j])")
                #expect((ids[i] < ids[j]) == (texts[i] < texts[j]), "\(texts[i]) vs \(texts[j])")
            }
        }
    }

    /// A version's VersionId survives the snapshot and the log as the same text.
    @Test func versionsKeepTheirIdsThroughCoding() throws {
        var h = Harness()
        h.ok(.createSecret(name: "a", clientRequestToken: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", description: nil, kmsKeyId: nil,
                           value: sealed("1"), tags: []))
        h.ok(.putSecretValue(secretId: "a", clientRequestToken: "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9", value: sealed("2"), versionStages: nil))
        h.ok(.putSecretValue(secretId: "a", clientRequestToken: String(repeating: "z", count: 40), value: sealed("3"), versionStages: nil))
        let ids = try #require(h.secret("a")).versions.map(\.versionId)
        #expect(ids == ["0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9", String(repeating: "z", count: 40)])
        let decoded = try SecretState.decode(h.state.encode()).get()
        #expect(decoded == h.state)
        #expect(decoded.secrets.values.first?.versions.map(\.versionId) == ids)
        var replayed = SecretState()
        for fact in h.facts {
            let bytes = Fact.encode(list: [fact])
            for decodedFact in try Fact.decodeList(bytes).get() { replayed.apply(decodedFact) }
        }
        #expect(replayed == h.state)
    }
}
